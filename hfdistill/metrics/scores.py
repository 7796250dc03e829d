"""What the packaged metrics of scores (`pearsonr`, `spearmanr`, `mse`) share: float predictions and references in.

Each metric's module imports this module, not the class: `evaluate` takes the first metric class it finds in a
metric's module, which must be the metric's own.
"""

import datasets
import evaluate

_CITATION = (
    "SciPy 1.0: Fundamental Algorithms for Scientific Computing in Python, Virtanen et al., Nature Methods 2020."
)
_CORRELATION_ARGS = """
Args:
    predictions (list of float): predicted scores.
    references (list of float): ground-truth scores.
    return_pvalue (bool): also return the two-sided p-value of no correlation (default False).
Returns:
    the coefficient under the metric's name (float), and `p-value` (float) when asked.
"""


class ScoreMetric(evaluate.Metric):
    """A metric of float predictions against float references; subclasses set `description` (and may set
    `arguments` and `citation`) and implement `_compute`."""

    description: str
    arguments: str = ""
    citation: str = _CITATION

    def _info(self):
        return evaluate.MetricInfo(
            description=self.description,
            citation=self.citation,
            inputs_description=self.arguments,
            features=datasets.Features(
                {"predictions": datasets.Value("float32"), "references": datasets.Value("float32")}
            ),
        )


class CorrelationMetric(ScoreMetric):
    """A correlation coefficient; subclasses set `key`, `description` and `statistic` (a scipy.stats function
    returning a result with `statistic` and `pvalue`)."""

    key: str
    arguments = _CORRELATION_ARGS

    @staticmethod
    def statistic(references, predictions):
        raise NotImplementedError

    def _compute(self, predictions, references, return_pvalue=False):
        result = self.statistic(references, predictions)
        scores = {self.key: float(result.statistic)}
        return scores | {"p-value": float(result.pvalue)} if return_pvalue else scores
