"""What the packaged correlation metrics (`pearsonr`, `spearmanr`) share: scores in, scipy's statistic out.

Each metric's module imports this module, not the class: `evaluate` takes the first metric class it finds in a
metric's module, which must be the metric's own.
"""

import datasets
import evaluate

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of float): predicted scores.
    references (list of float): ground-truth scores.
    return_pvalue (bool): also return the two-sided p-value of no correlation (default False).
Returns:
    the coefficient under the metric's name (float), and `p-value` (float) when asked.
"""
_CITATION = (
    "SciPy 1.0: Fundamental Algorithms for Scientific Computing in Python, Virtanen et al., Nature Methods 2020."
)


class CorrelationMetric(evaluate.Metric):
    """A correlation coefficient of predictions and references; subclasses set `key`, `description` and
    `statistic` (a scipy.stats function returning a result with `statistic` and `pvalue`)."""

    key: str
    description: str

    @staticmethod
    def statistic(references, predictions):
        raise NotImplementedError

    def _info(self):
        return evaluate.MetricInfo(
            description=self.description,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float32"), "references": datasets.Value("float32")}
            ),
        )

    def _compute(self, predictions, references, return_pvalue=False):
        result = self.statistic(references, predictions)
        scores = {self.key: float(result.statistic)}
        return scores | {"p-value": float(result.pvalue)} if return_pvalue else scores
