"""`DataArguments`: where the labelled data of a task with logits comes from, and how it is split and tokenised.

The configuration knows no task: the columns left unset here are the task's defaults, filled in by
`EncoderTask.checked_arguments` (`hfdistill.tasks`) when the task's data is loaded.
"""

from dataclasses import dataclass, field
from typing import Literal

BUNDLED_PREFIX = "bundled:"
DEFAULT_DATASET = BUNDLED_PREFIX + "rotten_tomatoes"
DEFAULT_TRANSFER_DATASET = BUNDLED_PREFIX + "transfer_text"
# `--task`'s values for a task with logits; `hfdistill.tasks.task_for` maps each to its module, and 'auto' is the
# one the label column implies (`hfdistill.tasks.auto`).
AUTO_TASK = "auto"
TaskName = Literal["text-classification", "token-classification", "text-regression", "multi-label-classification"]
TASK_NAMES: tuple[str, ...] = TaskName.__args__


@dataclass
class DataArguments:
    """Where the labelled data comes from and how it is split and tokenised."""

    dataset_name: str = field(
        default=DEFAULT_DATASET,
        metadata={
            "help": f"A Hub dataset id, a local .csv/.json/.jsonl/.parquet file, or '{DEFAULT_DATASET}' (the bundled "
            "Rotten Tomatoes movie reviews, offline)."
        },
    )
    task: str = field(
        default=AUTO_TASK,
        metadata={
            "help": "What the models predict: a label per text ('text-classification'), a tag per word "
            "('token-classification', e.g. NER), one or more scores per text ('text-regression') or any number of "
            "labels per text ('multi-label-classification'). Default 'auto': the label column decides (class names "
            "or integers: classification; floats: regression; lists: multi-label, or tags when the text column "
            "holds lists of words too), and the log says which and why.",
            "choices": [AUTO_TASK, *TASK_NAMES],
        },
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "Hub dataset configuration, e.g. 'sst2'."})
    text_column: str | None = field(
        default=None,
        metadata={"help": "Column holding the input text (token classification: the words); default: the task's."},
    )
    text_pair_column: str | None = field(
        default=None, metadata={"help": "Second text column for sentence-pair tasks (e.g. 'hypothesis')."}
    )
    label_column: str | None = field(
        default=None,
        metadata={"help": "Column holding the label (token classification: a tag per word); default: the task's."},
    )
    label_separator: str | None = field(
        default=None,
        metadata={
            "help": "Multi-label classification: the label column holds strings of label names joined by this "
            "separator (e.g. ',' or '|'). Default: the column holds lists of label names."
        },
    )
    label_threshold: float = field(
        default=0.5,
        metadata={
            "help": "Multi-label classification: a label applies where its sigmoid passes this, in (0, 1); each "
            "trained model keeps its threshold in its config.json (`label_threshold`)."
        },
    )
    tune_label_threshold: bool = field(
        default=False,
        metadata={
            "help": "Multi-label classification: choose each trained model's threshold on the validation split "
            "(the one of 0.05, 0.10, ..., 0.95 with the best micro-F1) instead of --label_threshold."
        },
    )
    train_split: str = field(default="train", metadata={"help": "Split to train on."})
    validation_split: str = field(
        default="validation", metadata={"help": "Split to evaluate on; carved from train (seeded) when absent."}
    )
    test_split: str = field(
        default="test",
        metadata={
            "help": "Held-out split for the final report; carved from train (seeded) when absent or unlabelled."
        },
    )
    validation_size: float = field(
        default=0.1, metadata={"help": "Fraction of train held out as validation when the source has none."}
    )
    test_size: float = field(
        default=0.1, metadata={"help": "Fraction of train held out as test when the source has none."}
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the validation/test carving."})
    max_seq_length: int = field(default=128, metadata={"help": "Longer inputs are truncated to this many tokens."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training examples."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N validation and test examples."}
    )
    transfer_dataset: str | None = field(
        default=None,
        metadata={
            "help": "Unlabelled text on which the student learns only the teacher's soft targets (and hidden states), "
            "mixed into the distillation's training set: a Hub dataset id, a local .csv/.json/.jsonl/.parquet/.txt "
            f"file, or '{DEFAULT_TRANSFER_DATASET}' (14,098 bundled English reviews, editorials, tweets and plot "
            "summaries, offline). A text that is also in the test or validation split is refused."
        },
    )
    transfer_text_column: str = field(default="text", metadata={"help": "Column of the transfer data's text."})
    transfer_split: str = field(default="train", metadata={"help": "Split of a Hub transfer dataset."})
    max_transfer_samples: int | None = field(default=None, metadata={"help": "Use only the first N transfer texts."})
    drop_incomplete_rows: bool = field(
        default=False,
        metadata={
            "help": "Leave out training rows with an empty text or label (counted in a warning). Default: refuse "
            "them, naming the first rows."
        },
    )
    augment_copies: int = field(
        default=0,
        metadata={
            "help": "Perturbed copies of each training text (words masked or swapped, some cut to n-grams; Tang et "
            "al. 2019) added to the transfer data: the student learns the teacher's soft targets on them. 0: none."
        },
    )

    def __post_init__(self):
        for name in ("validation_size", "test_size"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {value}")
        if self.validation_size + self.test_size >= 1.0:
            raise ValueError(
                f"validation_size + test_size must leave data to train on, got {self.validation_size + self.test_size}"
            )
        if self.max_seq_length < 2:
            raise ValueError(f"max_seq_length must be >= 2, got {self.max_seq_length}")
        for name in ("max_train_samples", "max_eval_samples", "max_transfer_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if not 0.0 < self.label_threshold < 1.0:
            raise ValueError(f"label_threshold must be in (0, 1), got {self.label_threshold}")
        if self.label_separator is not None and not self.label_separator:
            raise ValueError("label_separator is empty: give the string that joins the label names, e.g. ','")
        if self.task not in (AUTO_TASK, *TASK_NAMES):
            raise ValueError(f"unknown task {self.task!r}; choose one of {[AUTO_TASK, *TASK_NAMES]}")
        if self.augment_copies < 0:
            raise ValueError(f"augment_copies must be >= 0, got {self.augment_copies}")

    @property
    def has_transfer(self) -> bool:
        """Whether the distillation's training set gets unlabelled rows (transfer data or augmented copies)."""
        return self.transfer_dataset is not None or self.augment_copies > 0
