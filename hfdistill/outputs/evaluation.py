"""The measurement of saved models of a task with logits on its test split: scores, size and CPU speed."""

import logging

import numpy as np
from transformers import EvalPrediction

from hfdistill.models.predict import predict_test_split
from hfdistill.outputs.report import ModelReport, measure_all, timing_inputs
from hfdistill.tasks.task_data import TaskData

logger = logging.getLogger(__name__)


def compare_models(
    data: TaskData, folders: dict[str, str], rounds: int = 5
) -> tuple[list[ModelReport], dict[str, np.ndarray]]:
    """Reload each saved model as a user would, score it on the test split and time it (best of `rounds`): one row
    each, and how each model did on each test example (`EncoderTask.outcomes`)."""
    models = {name: data.task.load_model(folder) for name, folder in folders.items()}
    metrics, outcomes = {}, {}
    for name, model in models.items():
        logger.info("scoring %s (%s)", name, folders[name])
        prediction = predict_test_split(model, data.tokenized["test"], data.collator)
        prediction = EvalPrediction(data.task.answers(prediction.predictions, model.config), prediction.label_ids)
        metrics[name] = data.metrics_of(prediction)
        outcomes[name] = data.task.outcomes(prediction.predictions, prediction.label_ids, data.label_names)
    logger.info("timing %s on the CPU", ", ".join(models))
    singles, batches = timing_inputs(data.tokenized["test"], data.collator)
    return measure_all(models, folders, metrics, singles, batches, rounds), outcomes
