"""`EncoderTask`: what every task of a Hugging Face encoder with a classification head shares."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property

import numpy as np
from datasets import DatasetDict
from transformers import EvalPrediction, PreTrainedModel

from hfdistill.config.data import DataArguments
from hfdistill.metrics import load_metric
from hfdistill.models.static import register_static_classes
from hfdistill.numerics.significance import against_baseline


class EncoderTask(ABC):
    """A task: its models, data, metrics, card and export, as the rest of hfdistill asks for them.

    Subclasses set the class attributes and implement `load_splits`, `tokenize`, `collator` and `scores`.
    """

    name: str  # the value of `--task`, and the Hub pipeline tag of its models unless `pipeline_tag` says otherwise
    auto_class: type  # the transformers auto class with this task's head
    columns: tuple[str, str]  # default input and label columns
    metric_names: tuple[str, ...]  # the `evaluate` modules its scores come from
    headline_metric: str  # the report's and the chart's metric; retention is computed on it
    metric_keys: tuple[str, ...]  # the scores reported for every model
    output_axes: dict[int, str]  # the dynamic axes of the ONNX export's `logits`
    describes: str  # what a student is, in the card ("text classifier")
    example: str  # an input for the card's usage snippet
    supports_transfer: bool = False  # whether unlabelled text (`--transfer_dataset`, `--augment_copies`) applies
    supports_augmentation: bool = True  # whether `--augment_copies` applies where unlabelled text does
    problem_type = "single_label_classification"  # transformers' `config.problem_type`: it chooses the losses
    label_sets = False  # whether a text has a set of labels: --label_separator and the label threshold apply

    @property
    def pipeline_tag(self) -> str:
        """The Hub pipeline tag of its models (the card's `pipeline_tag`): its name, unless a task says otherwise."""
        return self.name

    @abstractmethod
    def load_splits(self, data_args: DataArguments) -> tuple[DatasetDict, list[str]]:
        """Train, validation and test splits with integer labels, and the label names (index = label id)."""

    @abstractmethod
    def tokenize(self, splits: DatasetDict, tokenizer, data_args: DataArguments) -> DatasetDict:
        """Model inputs and `labels` for every split; nothing else (the collator pads)."""

    @abstractmethod
    def collator(self, tokenizer) -> Callable:
        """Pads a list of tokenised rows (labels included) into a batch."""

    @abstractmethod
    def scores(self, logits: np.ndarray, labels: np.ndarray, label_names: list[str]) -> dict[str, float]:
        """The `metric_keys` of `logits` against `labels` (-100: not scored)."""

    paired_unit = "example"  # what an outcome is about, for the report's paired test

    def correct(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Whether each example is right: its predicted class."""
        return np.argmax(logits, axis=-1) == labels

    def outcomes(self, logits: np.ndarray, labels: np.ndarray, label_names: list[str]) -> np.ndarray:
        """Each test example's outcome, `(examples, ...)`, that `paired_test` compares between two models on the
        same examples: by default whether it is right (`correct`)."""
        return self.correct(logits, labels)

    def paired_test(self, distilled: np.ndarray, baseline: np.ndarray, scores: tuple[str, float, float]) -> dict:
        """The report's test of the distilled student's `outcomes` against its no-KD twin's; `scores` names the
        headline metric and gives both models' values. By default McNemar's exact test of the examples right."""
        return against_baseline(distilled, baseline, self.paired_unit, scores)

    def agreement(self, logits: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> float:
        """The percentage of scored test answers (`labels` not -100) of `logits` that are those of `reference`, the
        same model's logits in another form (ONNX, int8): by default the predicted class."""
        scored = labels != -100
        return round(100.0 * float((logits.argmax(-1) == reference.argmax(-1))[scored].mean()), 2)

    def answers(self, logits: np.ndarray, config) -> np.ndarray:
        """`logits` as `scores` reads them, for a model of `config` (a multi-label model's threshold moves them)."""
        return logits

    def finish_model(self, folder: str, validation: Callable[[], EvalPrediction], data_args: DataArguments) -> None:
        """What a trained model's folder keeps of how to read it, from its predictions on the validation split
        (`validation()`, made only when called); by default nothing."""
        return None

    def compute_metrics(self, label_names: list[str]) -> Callable:
        """A `compute_metrics` for `Trainer`: `scores` of an `EvalPrediction`."""

        def compute(eval_pred) -> dict[str, float]:
            logits = eval_pred.predictions
            logits = logits[0] if isinstance(logits, tuple) else logits
            return self.scores(logits, eval_pred.label_ids, label_names)

        return compute

    @cached_property
    def metrics(self) -> dict:
        """The task's `evaluate` modules, loaded once from the packaged copies (offline)."""
        return {name: load_metric(name) for name in self.metric_names}

    def checked_arguments(self, data_args: DataArguments) -> DataArguments:
        """`data_args` with this task's default columns where none is named, refused (`ValueError`) when it asks for
        unlabelled text that this task does not use."""
        if data_args.has_transfer and not self.supports_transfer:
            raise ValueError(
                f"transfer_dataset and augment_copies give unlabelled text, which {self.name} does not use: drop them"
            )
        if data_args.augment_copies and not self.supports_augmentation:
            raise ValueError(
                f"augment_copies perturbs whole texts, which {self.name} does not tag word by word: drop it (a "
                "--transfer_dataset of unlabelled text is taken)"
            )
        if not self.label_sets:
            given = [f"--{name}" for name in ("label_separator", "label_threshold", "tune_label_threshold")
                     if getattr(data_args, name) != getattr(DataArguments, name)]  # fmt: skip
            if given:
                raise ValueError(
                    f"{', '.join(given)} read sets of labels (multi-label classification), which {self.name} does "
                    "not have: drop them"
                )
        text_column = data_args.text_column or self.columns[0]
        return replace(data_args, text_column=text_column, label_column=data_args.label_column or self.columns[1])

    def model_for_labels(self, path: str, label_names: list[str]) -> PreTrainedModel:
        """The encoder at `path` with a fresh head for `label_names` (kept in its config)."""
        return self.auto_class.from_pretrained(
            path,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            problem_type=self.problem_type,
        )

    def load_model(self, path: str) -> PreTrainedModel:
        """A trained model of this task, as a user would load it (a static student too)."""
        register_static_classes()
        return self.auto_class.from_pretrained(path)

    def usage(self, folder_name: str) -> str:
        """The card's usage snippet."""
        return (
            "from transformers import pipeline\n\n"
            f'model = pipeline("{self.pipeline_tag}", model="path/to/{folder_name}")\n'
            f'model("{self.example}")'
        )
