"""Whether one classifier beats another on the same test examples: McNemar's exact test (scipy)."""

import numpy as np
from scipy.stats import binomtest


def mcnemar_exact(labels: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    """McNemar's exact test of two classifiers' predictions on the same examples: the discordant pairs (examples only
    `first` gets right, examples only `second` gets right) and the two-sided p-value."""
    first_only = int(((first == labels) & (second != labels)).sum())
    second_only = int(((first != labels) & (second == labels)).sum())
    discordant = first_only + second_only
    p = binomtest(first_only, discordant, 0.5).pvalue if discordant else 1.0
    return {"only_this_right": first_only, "only_no_kd_right": second_only, "p_value": float(p)}
