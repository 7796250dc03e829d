"""Whether one model beats another on the same test examples: McNemar's exact test (scipy)."""

import numpy as np
from scipy.stats import binomtest


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


def against_baseline(distilled_right: np.ndarray, baseline_right: np.ndarray, unit: str) -> dict:
    """McNemar's exact test of the distilled student against the same student trained without the teacher, with the
    sentence a report, a card and the command line print."""
    test = mcnemar_exact(distilled_right, baseline_right)
    summary = (
        f"Against the same student trained without the teacher, on the same {len(distilled_right)} test {unit}s: "
        f"only the distilled one is right on {test['only_this_right']}, only the other on {test['only_no_kd_right']}; "
        f"McNemar's exact test p = {test['p_value']:.3g}."
    )
    return {**test, "unit": unit, "summary": summary}
