"""Spearman correlation: how well the predictions rank the references (Pearson's r of their ranks).

A local copy of the `evaluate` Hub metric `spearmanr` (same name, inputs and output, computed with scipy), shipped
so that `evaluate.load` works with no network.
"""

from scipy.stats import spearmanr

from hfdistill.metrics import scores


class Spearmanr(scores.CorrelationMetric):
    key = "spearmanr"
    description = "Spearman's rho between predictions and references, in [-1, 1]; 1 is the same order."
    statistic = staticmethod(spearmanr)
