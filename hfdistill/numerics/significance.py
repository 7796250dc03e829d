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
    paired = {**test, "test": "McNemar", "unit": unit, "difference_points": round(difference, 2)}
    paired["interval_points"] = [round(low, 2), round(high, 2)]
    if scores is not None:
        summary = with_verdict(paired, scores, unit, "the share of test {unit}s right", summary)
    return {**paired, "summary": summary}


def with_verdict(paired: dict, scores: tuple[str, float, float], unit: str, what: str, summary: str) -> str:
    """Set `paired["kd_helped"]` from `scores` (the headline metric, the distilled student's and its twin's); where
    the teacher did not help, add a plain `verdict` saying so, with `what` differed by how much (`paired`'s
    difference and interval, in points), to `paired` and to `summary`; the summary."""
    metric, distilled, twin = scores
    paired["kd_helped"] = distilled > twin
    if paired["kd_helped"]:
        return summary
    (low, high), what = paired["interval_points"], what.format(unit=unit)
    paired["verdict"] = (
        f"The teacher did not help on this run: the distilled student's {metric} is {distilled:.4f}, its no-KD "
        f"twin's {twin:.4f}; {what} differs by {paired['difference_points']:+.1f} points (95% interval {low:+.1f} "
        f"to {high:+.1f})."
    )
    return summary + "\n\n" + paired["verdict"]


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
