"""Mean squared error between predictions and references.

A local copy of the `evaluate` Hub metric `mse` (same name, inputs and output, computed with scikit-learn), shipped
so that `evaluate.load` works with no network.
"""

import datasets
import evaluate
from sklearn.metrics import mean_squared_error

_DESCRIPTION = "MSE = mean((prediction - reference)²); 0 is perfect."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of float): predicted scores.
    references (list of float): ground-truth scores.
    sample_weight (list of float): per-example weights.
    squared (bool): the mean squared error (True, default) or its square root.
Returns:
    mse (float).
"""
_CITATION = "scikit-learn: Machine Learning in Python, Pedregosa et al., JMLR 12, pp. 2825-2830, 2011."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mse(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float32"), "references": datasets.Value("float32")}
            ),
        )

    def _compute(self, predictions, references, sample_weight=None, squared=True):
        score = mean_squared_error(references, predictions, sample_weight=sample_weight)
        return {"mse": float(score if squared else score**0.5)}
