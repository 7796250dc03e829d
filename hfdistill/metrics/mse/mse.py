"""Mean squared error between predictions and references.

A local copy of the `evaluate` Hub metric `mse` (same name, inputs and output, computed with scikit-learn), shipped
so that `evaluate.load` works with no network.
"""

from sklearn.metrics import mean_squared_error

from hfdistill.metrics import scores


class Mse(scores.ScoreMetric):
    description = "MSE = mean((prediction - reference)²); 0 is perfect."
    arguments = """
Args:
    predictions (list of float): predicted scores.
    references (list of float): ground-truth scores.
    sample_weight (list of float): per-example weights.
    squared (bool): the mean squared error (True, default) or its square root.
Returns:
    mse (float).
"""
    citation = "scikit-learn: Machine Learning in Python, Pedregosa et al., JMLR 12, pp. 2825-2830, 2011."

    def _compute(self, predictions, references, sample_weight=None, squared=True):
        score = mean_squared_error(references, predictions, sample_weight=sample_weight)
        return {"mse": float(score if squared else score**0.5)}
