"""A task's data made ready for training and scoring: its splits, tokenised by the teacher's tokenizer."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from accelerate import PartialState
from datasets import DatasetDict
from transformers import AutoTokenizer, EvalPrediction, PreTrainedModel, PreTrainedTokenizerBase

from hfdistill.config.data import DataArguments
from hfdistill.data.transfer import with_transfer_data
from hfdistill.models.predict import predict_test_split
from hfdistill.tasks import task_for
from hfdistill.tasks.auto import resolved_task
from hfdistill.tasks.base import EncoderTask

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
    data_args: DataArguments  # as read, the task's default columns filled in

    def trainer_kwargs(self) -> dict:
        return dict(
            train_dataset=self.tokenized["train"],
            eval_dataset=self.tokenized["validation"],
            data_collator=self.collator,
            processing_class=self.tokenizer,
            compute_metrics=self.compute_metrics,
        )

    def training_rows(self, seed: int):
        """The tokenised training split, followed by the transfer texts and augmented copies the data arguments ask
        for (unlabelled rows whose only targets are the teacher's): what every distillation stage trains on."""
        rows = self.tokenized["train"]
        if self.data_args.has_transfer:
            rows = with_transfer_data(rows, self.splits, self.tokenizer, self.data_args, seed)
        return rows

    def score(self, model: PreTrainedModel) -> dict[str, float]:
        """The task's metrics of `model` on the test split."""
        prediction = predict_test_split(model, self.tokenized["test"], self.collator)
        return self.metrics_of(
            EvalPrediction(self.task.answers(prediction.predictions, model.config), prediction.label_ids)
        )

    def metrics_of(self, prediction: EvalPrediction) -> dict[str, float]:
        metrics = self.compute_metrics(prediction)
        return {name: round(metrics[name], 4) for name in self.task.metric_keys}


def load_task(tokenizer_path: str, data_args: DataArguments) -> TaskData:
    """Load, split and tokenise `data_args.task`'s data with the teacher's tokenizer (one rank fills the `datasets`
    cache, the others read it); `TaskData.trainer_kwargs()` gives a `Trainer` its datasets, collator and metrics.

    Args:
        tokenizer_path: the teacher's folder or Hub id, whose tokenizer reads the text.
        data_args: where the data comes from; the task's default columns fill in those left unset.
    """
    data_args = resolved_task(data_args)
    task = task_for(data_args.task)
    data_args = task.checked_arguments(data_args)
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
        data_args,
    )
