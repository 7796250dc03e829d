"""Pearson correlation: how well a straight line relates the predictions to the references.

A local copy of the `evaluate` Hub metric `pearsonr` (same name, inputs and output, computed with scipy), shipped so
that `evaluate.load` works with no network.
"""

from scipy.stats import pearsonr

from hfdistill.metrics import scores


class Pearsonr(scores.CorrelationMetric):
    key = "pearsonr"
    description = "Pearson's r between predictions and references, in [-1, 1]; 1 is a perfect increasing line."
    statistic = staticmethod(pearsonr)
