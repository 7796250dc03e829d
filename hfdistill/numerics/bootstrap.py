"""Paired bootstrap tests of a metric that is not a share of examples right (entity F1, micro-F1, Pearson's r): the
test examples are drawn with replacement, the same draw for both models (and every seed), and the metric difference
is taken on each draw (scipy's percentile interval, numpy's draws)."""

from collections.abc import Callable

import numpy as np

from hfdistill.numerics.significance import with_verdict

CHUNK = 500  # resamples scored at once: bounds the memory of (resamples, examples, ...) arrays


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """Micro F1 from per-example counts (right, found, in the reference: entities of a sentence, labels of a text)
    summed over the second-to-last axis (examples): 2·right / (found + in the reference)."""
    totals = counts.sum(axis=-2)
    denominator = totals[..., 1] + totals[..., 2]
    return np.where(denominator > 0, 2 * totals[..., 0] / np.maximum(denominator, 1), 0.0)


def pearson_of_pairs(pairs: np.ndarray) -> np.ndarray:
    """Pearson's r of per-example (prediction, reference) pairs `(..., examples, 2)`, over the examples."""
    centred = pairs - pairs.mean(axis=-2, keepdims=True)
    x, y = centred[..., 0], centred[..., 1]
    spread = np.sqrt((x * x).sum(-1) * (y * y).sum(-1))
    return np.where(spread > 0, (x * y).sum(-1) / np.maximum(spread, 1e-300), 0.0)


def paired_bootstrap(
    first: np.ndarray,
    second: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = 10_000,
    seed: int = 0,
) -> dict:
    """The difference `statistic(first) − statistic(second)`, its 95% percentile interval and a two-sided p-value
    (twice the smaller share of resampled differences on either side of 0), in points (× 100).

    Args:
        first, second: per-example outcomes `(seeds, examples, ...)` on the same test examples; each seed's outcomes
            are pooled (a draw takes the same examples from every seed).
        statistic: the metric of pooled outcomes `(..., examples, ...)` over the examples axis (the second).
        resamples: bootstrap draws.
        seed: the draws' seed.
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim < 2:
        raise ValueError(f"outcomes of different or wrong shapes: {first.shape} and {second.shape}")
    seeds, examples, rest = first.shape[0], first.shape[1], first.shape[2:]

    def pooled(outcomes: np.ndarray) -> np.ndarray:  # (seeds, draws, examples, ...) -> (draws,)
        return statistic(np.moveaxis(outcomes, 0, 1).reshape(outcomes.shape[1], seeds * examples, *rest))

    difference = pooled(first[:, None]) - pooled(second[:, None])
    draws = np.random.default_rng(seed).integers(0, examples, size=(resamples, examples))
    differences = np.concatenate(
        [pooled(first[:, chunk]) - pooled(second[:, chunk]) for chunk in np.array_split(draws, -(-resamples // CHUNK))]
    )
    p = min(1.0, 2 * min((differences <= 0).mean(), (differences >= 0).mean()))
    low, high = np.percentile(differences, [2.5, 97.5])
    return {
        "seeds": seeds,
        "examples": examples,
        "difference_points": round(100 * float(difference[0]), 2),
        "interval_points": [round(100 * float(low), 2), round(100 * float(high), 2)],
        "p_value": float(p),
        "resamples": resamples,
    }


def bootstrap_f1_difference(first: np.ndarray, second: np.ndarray, resamples: int = 10_000, seed: int = 0) -> dict:
    """A paired bootstrap over sentences of the entity-F1 difference, first minus second: `paired_bootstrap` of
    per-sentence entity counts (`hfdistill.metrics.entities.entity_counts`) shaped (sentences, 3) or
    (seeds, sentences, 3), each model's F1 pooled over the seeds' drawn sentences."""
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.shape[-1] != 3:
        raise ValueError(f"entity counts of different or wrong shapes: {first.shape} and {second.shape}")
    first, second = first.reshape(-1, *first.shape[-2:]), second.reshape(-1, *second.shape[-2:])
    result = paired_bootstrap(first, second, f1_from_counts, resamples, seed)
    return {"sentences" if key == "examples" else key: value for key, value in result.items()}


def bootstrap_against_baseline(
    distilled: np.ndarray,
    baseline: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    unit: str,
    scores: tuple[str, float, float],
) -> dict:
    """A paired bootstrap of the headline metric of the distilled student against the same student trained without
    the teacher, with the sentence a report, a card and the command line print; a distilled student that does not
    score higher gets a plain line saying so (`with_verdict`).

    Args:
        distilled, baseline: per-example outcomes `(examples, ...)` that `statistic` scores (the task's).
        statistic: the headline metric from outcomes, over the examples axis.
        unit: what an example is ("text", "sentence").
        scores: the headline metric's name, the distilled student's and the twin's scores.
    """
    test = paired_bootstrap(distilled[None], baseline[None], statistic)
    low, high = test["interval_points"]
    summary = (
        f"Against the same student trained without the teacher, on the same {test['examples']} test {unit}s: "
        f"{scores[0]} {scores[1]:.4f} against {scores[2]:.4f}, a difference of {test['difference_points']:+.2f} "
        f"points (95% interval {low:+.2f} to {high:+.2f}); paired bootstrap over {unit}s, p = {test['p_value']:.3g}."
    )
    paired = {"test": "bootstrap", "unit": unit, **test}
    summary = with_verdict(paired, scores, unit, scores[0], summary)
    return {**paired, "summary": summary}
