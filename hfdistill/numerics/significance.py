"""Whether one model beats another on the same test examples: McNemar's exact test, and its form over seeds (scipy)."""

import numpy as np
from scipy.stats import binomtest, permutation_test


def mcnemar_exact(first_right: np.ndarray, second_right: np.ndarray) -> dict:
    """McNemar's exact test of two models on the same examples, from whether each got each example right: the
    discordant pairs (examples only `first` gets right, examples only `second` gets right) and the two-sided p-value
    (a binomial test of the first count among the discordant, at one half)."""
    first_right, second_right = np.asarray(first_right, bool), np.asarray(second_right, bool)
    first_only = int((first_right & ~second_right).sum())
    second_only = int((~first_right & second_right).sum())
    discordant = first_only + second_only
    p = binomtest(first_only, discordant, 0.5).pvalue if discordant else 1.0
    return {"only_this_right": first_only, "only_no_kd_right": second_only, "p_value": float(p)}


def paired_difference(first_only: int, second_only: int, n: int) -> tuple[float, float, float]:
    """From the discordant counts of `n` paired examples (`mcnemar_exact`'s): the difference in the share right,
    first minus second, in points, with its 95% interval (the normal approximation for paired proportions)."""
    difference = (first_only - second_only) / n
    spread = 1.96 * np.sqrt(max(first_only + second_only - (first_only - second_only) ** 2 / n, 0.0)) / n
    return 100 * difference, 100 * (difference - spread), 100 * (difference + spread)


def against_baseline(
    distilled_right: np.ndarray, baseline_right: np.ndarray, unit: str, scores: tuple[str, float, float] | None = None
) -> dict:
    """McNemar's exact test of the distilled student against the same student trained without the teacher, with the
    sentence a report, a card and the command line print. With `scores` (the headline metric, the distilled
    student's and the twin's), a distilled student that does not score higher gets a plain line saying so, with the
    difference and its interval."""
    test = mcnemar_exact(distilled_right, baseline_right)
    summary = (
        f"Against the same student trained without the teacher, on the same {len(distilled_right)} test {unit}s: "
        f"only the distilled one is right on {test['only_this_right']}, only the other on {test['only_no_kd_right']}; "
        f"McNemar's exact test p = {test['p_value']:.3g}."
    )
    difference, low, high = paired_difference(test["only_this_right"], test["only_no_kd_right"], len(distilled_right))
    paired = {**test, "unit": unit, "difference_points": round(difference, 2)}
    paired["interval_points"] = [round(low, 2), round(high, 2)]
    if scores is not None:
        metric, distilled, twin = scores
        paired["kd_helped"] = distilled > twin
        if not paired["kd_helped"]:
            paired["verdict"] = (
                f"The teacher did not help on this run: the distilled student's {metric} is {distilled:.4f}, its "
                f"no-KD twin's {twin:.4f}; the share of test {unit}s right differs by {difference:+.1f} points "
                f"(95% interval {low:+.1f} to {high:+.1f})."
            )
            summary += "\n\n" + paired["verdict"]
    return {**paired, "summary": summary}


def over_seeds(first_right: np.ndarray, second_right: np.ndarray, resamples: int = 100_000) -> dict:
    """Whether `first` beats `second` over several training seeds, both arrays shaped (seeds, examples): a paired
    sign-flip permutation test (scipy) of each test example's mean difference in correctness over the seeds. The
    example is the unit, as in McNemar's test (which it is for one seed: exactly up to 16 discordant examples, within
    Monte Carlo error of `resamples` sign flips beyond), so a test set shared by every seed is not counted once a
    seed; what the seeds add is a steadier estimate of each example's difference."""
    first_right, second_right = np.atleast_2d(first_right).astype(float), np.atleast_2d(second_right).astype(float)
    if first_right.shape != second_right.shape:
        raise ValueError(f"outcomes of different shapes: {first_right.shape} and {second_right.shape}")
    differences = first_right.mean(axis=0) - second_right.mean(axis=0)
    differences = differences[differences != 0]  # a tie flips to itself; dropping ties lets small tests be exact
    if differences.size == 0:
        p = 1.0
    else:
        p = permutation_test(
            (differences,),
            np.mean,
            permutation_type="samples",  # one sample: the signs are flipped
            vectorized=True,
            n_resamples=resamples,
            rng=0,
        ).pvalue
    return {
        "seeds": first_right.shape[0],
        "examples": first_right.shape[1],
        "mean_accuracy_difference": float(first_right.mean() - second_right.mean()),
        "p_value": float(p),
    }


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """Micro entity F1 from per-sentence counts (right, found, in the reference; `hfdistill.metrics.entities`)
    summed over the second-to-last axis (sentences): 2·right / (found + in the reference)."""
    totals = counts.sum(axis=-2)
    denominator = totals[..., 1] + totals[..., 2]
    return np.where(denominator > 0, 2 * totals[..., 0] / np.maximum(denominator, 1), 0.0)


def bootstrap_f1_difference(first: np.ndarray, second: np.ndarray, resamples: int = 10_000, seed: int = 0) -> dict:
    """A paired bootstrap over sentences of the entity-F1 difference, first minus second.

    `first` and `second` are per-sentence entity counts (`hfdistill.metrics.entities.entity_counts`), shaped
    (sentences, 3) or (seeds, sentences, 3) for runs over several seeds on the same test sentences. Each resample
    draws sentences with replacement, the same for both models and every seed, and scores each model's F1 pooled over
    the seeds' drawn sentences; the p-value is two-sided (twice the smaller share of resampled differences on either
    side of 0)."""
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.shape[-1] != 3:
        raise ValueError(f"entity counts of different or wrong shapes: {first.shape} and {second.shape}")
    first, second = first.reshape(-1, *first.shape[-2:]), second.reshape(-1, *second.shape[-2:])
    sentences = first.shape[1]
    pooled = lambda counts: f1_from_counts(counts.reshape(-1, 3))  # noqa: E731 - F1 over every seed's sentences
    difference = pooled(first) - pooled(second)
    draws = np.random.default_rng(seed).integers(0, sentences, size=(resamples, sentences))
    # (resamples, seeds, sentences, 3) summed over seeds and sentences: each resample's pooled counts
    first_totals, second_totals = first[:, draws].sum(axis=(0, 2)), second[:, draws].sum(axis=(0, 2))
    differences = f1_from_counts(first_totals[:, None]) - f1_from_counts(second_totals[:, None])
    p = min(1.0, 2 * min((differences <= 0).mean(), (differences >= 0).mean()))
    low, high = np.percentile(differences, [2.5, 97.5])
    return {
        "seeds": first.shape[0],
        "sentences": sentences,
        "difference_points": round(100 * float(difference), 2),
        "interval_points": [round(100 * float(low), 2), round(100 * float(high), 2)],
        "p_value": float(p),
        "resamples": resamples,
    }
