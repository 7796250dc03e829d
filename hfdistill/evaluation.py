"""A task's data made ready for training and scoring, and the measurement of saved models on its test split."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from accelerate import PartialState
from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import AutoTokenizer, EvalPrediction, PreTrainedModel, PreTrainedTokenizerBase
from transformers.trainer_pt_utils import nested_concat

from .config import DataArguments
from .report import ModelReport, measure_all, timing_inputs
from .tasks import EncoderTask, task_for

logger = logging.getLogger(__name__)
PREPROCESSING = ("task", "text_column", "text_pair_column", "max_seq_length")


@dataclass
class TaskData:
    """A task's tokenised splits and what training and scoring on them need."""

    task: EncoderTask
    tokenizer: PreTrainedTokenizerBase
    splits: DatasetDict
    tokenized: DatasetDict
    label_names: list[str]
    collator: Callable
    compute_metrics: Callable
    preprocessing: dict  # the settings that made `tokenized` from `splits`, part of a teacher-output cache key

    def trainer_kwargs(self) -> dict:
        return dict(
            train_dataset=self.tokenized["train"],
            eval_dataset=self.tokenized["validation"],
            data_collator=self.collator,
            processing_class=self.tokenizer,
            compute_metrics=self.compute_metrics,
        )

    def score(self, model: PreTrainedModel) -> dict[str, float]:
        """The task's metrics of `model` on the test split."""
        return self.metrics_of(predict_test_split(model, self.tokenized["test"], self.collator))

    def metrics_of(self, prediction: EvalPrediction) -> dict[str, float]:
        metrics = self.compute_metrics(prediction)
        return {name: round(metrics[name], 4) for name in self.task.metric_keys}

    def compare(self, folders: dict[str, str], rounds: int = 5) -> tuple[list[ModelReport], dict[str, np.ndarray]]:
        """Reload each saved model as a user would, score it on the test split and time it (best of `rounds`):
        one row each, and whether each model got each test example right (`EncoderTask.correct`)."""
        models = {name: self.task.load_model(folder) for name, folder in folders.items()}
        metrics, outcomes = {}, {}
        for name, model in models.items():
            logger.info("scoring %s (%s)", name, folders[name])
            prediction = predict_test_split(model, self.tokenized["test"], self.collator)
            metrics[name] = self.metrics_of(prediction)
            outcomes[name] = self.task.correct(prediction.predictions, prediction.label_ids)
        logger.info("timing %s on the CPU", ", ".join(models))
        singles, batches = timing_inputs(self.tokenized["test"], self.collator)
        return measure_all(models, folders, metrics, singles, batches, rounds), outcomes


def load_task(tokenizer_path: str, data_args: DataArguments) -> TaskData:
    """Load, split and tokenise `data_args.task`'s data with the teacher's tokenizer (one rank fills the `datasets`
    cache, the others read it)."""
    task = task_for(data_args.task)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    with PartialState().main_process_first():
        splits, label_names = task.load_splits(data_args)
        tokenized = task.tokenize(splits, tokenizer, data_args)
    logger.info("data: %s, labels %s", {k: len(v) for k, v in tokenized.items()}, label_names)
    preprocessing = {name: getattr(data_args, name) for name in PREPROCESSING}
    return TaskData(
        task,
        tokenizer,
        splits,
        tokenized,
        label_names,
        task.collator(tokenizer),
        task.compute_metrics(label_names),
        preprocessing,
    )


def predict(run: Callable[[dict], np.ndarray], dataset, collator, batch_size: int = 64) -> EvalPrediction:
    """Logits of `run(batch)` and the labels over a tokenised split, on this process alone (no collectives).

    Per-token logits of batches padded to different lengths are padded alike (labels with -100), as `Trainer` does.
    """
    logits, labels = None, None
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
        batch_labels, batch_logits = batch.pop("labels").numpy(), run(batch)
        labels = batch_labels if labels is None else nested_concat(labels, batch_labels, padding_index=-100)
        logits = batch_logits if logits is None else nested_concat(logits, batch_logits, padding_index=-100)
    return EvalPrediction(predictions=logits, label_ids=labels)


def predict_test_split(model, test_dataset, collator, batch_size: int = 64) -> EvalPrediction:
    """`model`'s logits and the labels over the test split, on this process alone (so the main rank can run it by
    itself)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()

    @torch.inference_mode()
    def run(batch):
        return model(**{name: value.to(device) for name, value in batch.items()}).logits.float().cpu().numpy()

    return predict(run, test_dataset, collator, batch_size)
