"""`PipelineArguments`: the run's optional steps (fine-tune the teacher, two stages, a no-KD baseline), and how a
stage's own setting falls back to the shared one."""

from dataclasses import dataclass, field

DEFAULT_TEACHER_EPOCHS = (
    1.0  # a teacher without a head for the task is fine-tuned this long first, as the quickstart's
)
# The first stage's own settings (None: the second stage's value); each needs intermediate_epochs > 0.
FIRST_STAGE_OPTIONS = ("intermediate_learning_rate", "intermediate_kd_loss_weight")


# The static student's, measured on the bundled reviews (docs/research.md, "Static students").
STATIC_LEARNING_RATE = 1e-3
STATIC_EPOCHS = 5.0
STATIC_DIMENSIONS = 256  # model2vec's default


def own_or_default(own, default):
    """A stage's own setting (the first stage's rate or weight, the baseline's rate), or, unset (None), the value it
    falls back to: what the pipeline trains with and what the card reports."""
    return default if own is None else own


@dataclass
class PipelineArguments:
    """The pipeline's optional steps: fine-tune the teacher first, distil in two stages, train a no-KD baseline, and
    one CPU saver."""

    teacher_num_train_epochs: float | None = field(
        default=None,
        metadata={
            "help": "Fine-tune the teacher on the task for this many epochs first; 0: it is already fine-tuned. "
            f"Default: {DEFAULT_TEACHER_EPOCHS:g} (the quickstart's) when the teacher has no head for the task (a "
            "pretrained encoder such as the default all-MiniLM-L6-v2), else 0."
        },
    )
    teacher_learning_rate: float = field(
        default=1e-4, metadata={"help": "Peak learning rate of teacher fine-tuning (the quickstart's)."}
    )
    train_baseline: bool | None = field(
        default=None,
        metadata={
            "help": "Also fine-tune the same student without the teacher, for the comparison and its paired test. "
            "Default: on for `distill` and the quickstart; `search` and `multilingual` have none."
        },
    )
    baseline_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the no-KD baseline (default: learning_rate, the distilled student's), for a "
            "baseline tuned on its own."
        },
    )
    baseline_num_train_epochs: float | None = field(
        default=None,
        metadata={
            "help": "Epochs of the no-KD baseline (default: num_train_epochs, the distilled student's last stage), for "
            "a baseline given as many passes over the labels as the distilled student's two stages."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": "Keep every model's word-embedding table at its pretrained values. On a CPU its dense gradient and "
            "optimizer update are most of a small student's step; all models are trained alike, so comparisons stay fair."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Write over the results of an earlier run in output_dir."}
    )
    remeasure: bool = field(
        default=False,
        metadata={
            "help": "Measure the finished run in output_dir again, with the same settings and this version: its trained "
            "models are kept, and report.json, the card and the charts are written again."
        },
    )
    timing_rounds: int = field(
        default=5, metadata={"help": "Rounds of CPU timing per model in the comparison; each keeps its best round."}
    )
    intermediate_epochs: float = field(
        default=0.0,
        metadata={
            "help": "TinyBERT's two stages: first train the student this many epochs with every weighted term and the "
            "teacher online (hidden states and attention need it), then num_train_epochs on the soft targets and "
            "labels alone, through the teacher-output cache when teacher_cache_dir is set. 0: one stage."
        },
    )

    intermediate_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the first stage (default: learning_rate, which the second stage and the "
            "no-KD baseline keep)."
        },
    )
    intermediate_kd_loss_weight: float | None = field(
        default=None,
        metadata={
            "help": "Soft-target weight of the first stage (default: kd_loss_weight, which the second stage keeps); "
            "e.g. 1 for the teacher alone beside the intermediate terms, and kd_loss_weight 0.5 for labels after."
        },
    )
    static_student: bool = field(
        default=False,
        metadata={
            "help": "Also distil a static student from the same teacher (no transformer at inference: model2vec's "
            "table of the teacher's vocabulary, a text as the mean of its tokens' rows, a linear head), on the same "
            "texts and soft targets as the last stage (the teacher-output cache serves both): a row of its own."
        },
    )
    static_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": f"Peak learning rate of the static student, its table and head together (default "
            f"{STATIC_LEARNING_RATE:g}); needs --static_student true."
        },
    )
    static_dimensions: int | None = field(
        default=None,
        metadata={
            "help": f"PCA dimensions of the static student's table (default {STATIC_DIMENSIONS}, or the teacher's "
            "width where that is narrower); needs --static_student true."
        },
    )
    static_num_train_epochs: float | None = field(
        default=None,
        metadata={"help": f"Epochs of the static student (default {STATIC_EPOCHS:g}); needs --static_student true."},
    )

    def __post_init__(self):
        if self.timing_rounds < 1:
            raise ValueError(f"timing_rounds must be >= 1, got {self.timing_rounds}")
        if self.remeasure and self.overwrite_output_dir:
            raise ValueError("remeasure keeps the run's models and overwrite_output_dir discards them: drop one")
        if self.teacher_num_train_epochs is not None and self.teacher_num_train_epochs < 0:
            raise ValueError(f"teacher_num_train_epochs must be >= 0, got {self.teacher_num_train_epochs}")
        if self.intermediate_epochs < 0:
            raise ValueError(f"intermediate_epochs must be >= 0, got {self.intermediate_epochs}")
        if self.baseline_learning_rate is not None and not self.baseline_learning_rate > 0:
            raise ValueError(f"baseline_learning_rate must be > 0, got {self.baseline_learning_rate}")
        if self.baseline_num_train_epochs is not None and not self.baseline_num_train_epochs > 0:
            raise ValueError(f"baseline_num_train_epochs must be > 0, got {self.baseline_num_train_epochs}")
        for name in ("baseline_learning_rate", "baseline_num_train_epochs"):
            if getattr(self, name) is not None and self.train_baseline is False:
                raise ValueError(f"{name} is the no-KD baseline's: set --train_baseline true, or drop it")
        rate, weight = self.intermediate_learning_rate, self.intermediate_kd_loss_weight
        if rate is not None and rate <= 0:
            raise ValueError(f"intermediate_learning_rate must be > 0, got {rate}")
        if weight is not None and not 0 <= weight <= 1:
            raise ValueError(f"intermediate_kd_loss_weight must be in [0, 1], got {weight}")
        for name in ("static_learning_rate", "static_dimensions", "static_num_train_epochs"):
            value = getattr(self, name)
            if value is not None and not self.static_student:
                raise ValueError(f"{name} is the static student's: set --static_student true, or drop it")
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        for name in FIRST_STAGE_OPTIONS:
            if getattr(self, name) is not None and self.intermediate_epochs == 0:
                raise ValueError(f"{name} is the first stage's: set --intermediate_epochs N, or drop it")
