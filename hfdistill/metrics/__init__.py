"""Metrics through `evaluate`, offline: the metric modules hfdistill uses ship inside this package.

`evaluate.load("accuracy")` fetches a script from the Hub (and first looks in `./accuracy/` under the working
directory). Loading the packaged module by its absolute path needs no network and cannot pick up a stray folder.
A metric that is not packaged goes to `evaluate.load(name)` unchanged, which needs the Hub.
"""

from pathlib import Path

import evaluate
import numpy as np

PACKAGED = Path(__file__).parent


def load_metric(name: str) -> evaluate.EvaluationModule:
    """The `evaluate` module `name`: the packaged copy when there is one, else the Hub's."""
    local = PACKAGED / name / f"{name}.py"
    if local.is_file():
        return evaluate.load(str(local.parent))
    try:
        return evaluate.load(name)
    except (FileNotFoundError, ConnectionError, OSError) as error:
        packaged = sorted(p.name for p in PACKAGED.iterdir() if (p / f"{p.name}.py").is_file())
        raise ValueError(
            f"metric {name!r} is not packaged with hfdistill (packaged: {packaged}) and could not be fetched from the "
            f"Hub: {error}"
        ) from error


def classification_metrics(metric_names: list[str], num_labels: int):
    """A `compute_metrics` for `Trainer`: argmax of the logits scored by each named `evaluate` metric.

    F1 is binary for two labels and macro-averaged otherwise.
    """
    metrics = {name: load_metric(name) for name in metric_names}

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        logits = logits[0] if isinstance(logits, tuple) else logits
        predictions = np.argmax(logits, axis=-1)
        results = {}
        for name, metric in metrics.items():
            kwargs = {"average": "binary" if num_labels == 2 else "macro"} if name == "f1" else {}
            results.update(metric.compute(predictions=predictions, references=labels, **kwargs))
        return results

    return compute_metrics
