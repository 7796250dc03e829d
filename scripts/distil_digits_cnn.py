"""Distil a small CNN from a larger one on real handwritten digits, offline: the classic teacher-student case.

Neither model is a transformers model: both are plain `torch.nn.Module`s whose forward takes `pixel_values` and
returns a tensor of logits, and `hfdistill.DistillationTrainer` distils one into the other all the same.

Data: scikit-learn's bundled digits (1,797 grey-scale 8x8 images of the digits 0-9, from the UCI ML hand-written
digits set; shipped with scikit-learn, BSD-3-Clause), split 60/20/20, stratified and seeded. The regime is Hinton
et al.'s with few labels: the teacher learns from every training label, the students see the labels of only
`--label_fraction` (10%) of the training images, and the distilled student also learns the teacher's soft targets on
the other 90% (transfer images, unlabelled). For each seed:

1. train the teacher CNN (two conv layers, ~150k parameters) with the plain `Trainer`;
2. distil the student CNN (one conv layer with 4 channels, ~1.3k parameters) at every temperature of
   `--temperatures`, and keep the one with the best validation accuracy;
3. train the same student, from the same initial weights, without the teacher, on the labelled images alone, for as
   many optimiser steps as the distilled student took;
4. score all three on the test split, with McNemar's exact test of the distilled student against the no-KD one; over
   several seeds, the same test on every seed's test images pooled.

    python scripts/distil_digits_cnn.py                        # one seed, about a minute on 2 CPU cores
    python scripts/distil_digits_cnn.py --seeds 0 1 2 3 4 --report_json benchmarks/digits_low_label_2cpu.json
    python scripts/distil_digits_cnn.py --seeds 0 1 2 --label_fraction 1 --temperatures 1 2 4 8 \\
        --report_json benchmarks/digits_cnn_2cpu.json            # every label for every student
"""

import copy
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from datasets import Array3D, ClassLabel, Dataset, DatasetDict, Features, Value
from sklearn.datasets import load_digits
from torch import nn
from transformers import HfArgumentParser, Trainer, TrainingArguments, default_data_collator, set_seed

from hfdistill import DistillationArguments, DistillationTrainer
from hfdistill.losses.common import UNLABELLED
from hfdistill.losses.soft_targets import task_loss
from hfdistill.models.predict import predict
from hfdistill.numerics.significance import mcnemar_exact
from hfdistill.outputs.report import markdown_table, write_json
from hfdistill.training.trainer import model_output

logger = logging.getLogger("distil_digits_cnn")


@dataclass
class DigitsArguments:
    """The example's settings."""

    output_dir: str = field(default="outputs/digits", metadata={"help": "Where the trainers write."})
    report_json: str = field(default="outputs/digits/report.json", metadata={"help": "Where the results go."})
    temperatures: list[float] = field(
        default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0],
        metadata={"help": "Temperatures tried; validation picks one."},
    )
    kd_loss_weight: float = field(default=0.9, metadata={"help": "Weight of the soft-target term."})
    teacher_epochs: int = field(default=30, metadata={"help": "Epochs of teacher training."})
    student_epochs: int = field(default=60, metadata={"help": "Epochs of student training, with or without KD."})
    learning_rate: float = field(default=3e-3, metadata={"help": "Peak learning rate of every model."})
    batch_size: int = field(default=64, metadata={"help": "Training batch size."})
    seeds: list[int] = field(default_factory=lambda: [0], metadata={"help": "One full run per seed."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training images."})
    label_fraction: float = field(
        default=0.1,
        metadata={
            "help": "Share of the training images whose labels the students see (stratified, seeded). The distilled "
            "student learns the others from the teacher's soft targets alone, as transfer images; the no-KD student "
            "has only the labelled ones. The teacher trains on every label. 1: every student sees every label."
        },
    )

    def __post_init__(self):
        if not self.temperatures or min(self.temperatures) <= 0:
            raise ValueError(f"temperatures must be > 0, got {self.temperatures}")
        if not 0.0 <= self.kd_loss_weight <= 1.0:
            raise ValueError(f"kd_loss_weight must be in [0, 1], got {self.kd_loss_weight}")
        if not 0.0 < self.label_fraction <= 1.0:
            raise ValueError(f"label_fraction must be in (0, 1], got {self.label_fraction}")
        for name in ("teacher_epochs", "student_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class DigitCNN(nn.Module):
    """Convolutions (3x3, ReLU), pooled to 4x4, then a hidden layer and the 10 logits."""

    def __init__(self, channels: tuple[int, ...], hidden: int, num_labels: int = 10):
        super().__init__()
        layers, width = [], 1
        for out in channels:
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU()]
            width = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(width * 16, hidden), nn.ReLU(), nn.Linear(hidden, num_labels))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixel_values))


def teacher_cnn() -> DigitCNN:
    return DigitCNN((32, 64), 128)


def student_cnn() -> DigitCNN:
    return DigitCNN((4,), 16)


# the tensors a model takes; the image's index stays a plain column beside them
TORCH = {"type": "torch", "columns": ["pixel_values", "labels"], "output_all_columns": True}


def digit_splits(seed: int, max_train_samples: int | None = None) -> DatasetDict:
    """Train, validation and test (60/20/20), stratified by digit; pixels scaled to [0, 1]."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8)
    features = Features(
        {"pixel_values": Array3D((1, 8, 8), "float32"), "labels": ClassLabel(names=[str(d) for d in range(10)])}
    )
    features["index"] = Value("int32")  # which image a row is, to tell the labelled share from the transfer images
    data = Dataset.from_dict(
        {"pixel_values": images, "labels": digits.target, "index": np.arange(len(images))}, features=features
    )
    first = data.train_test_split(test_size=0.4, seed=seed, stratify_by_column="labels")
    second = first["test"].train_test_split(test_size=0.5, seed=seed, stratify_by_column="labels")
    train = first["train"]
    if max_train_samples is not None:
        train = train.select(range(min(max_train_samples, len(train))))
    held_out = {"validation": second["train"], "test": second["test"]}
    held_out = {role: split.remove_columns("index").with_format("torch") for role, split in held_out.items()}
    return DatasetDict(train=train.with_format(**TORCH), **held_out)


def student_splits(train: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """The labelled share of `train` (stratified, seeded), and every image of `train` with the others' labels set to
    `UNLABELLED`: what the no-KD student and the distilled student train on."""
    if fraction == 1.0:
        train = train.remove_columns("index")
        return train, train
    train = train.with_format(None)
    keep = train.train_test_split(train_size=fraction, seed=seed, stratify_by_column="labels")["train"]
    kept = {int(index) for index in keep["index"]}
    transfer = train.map(lambda row: {"labels": row["labels"] if row["index"] in kept else UNLABELLED})
    return (split.remove_columns("index").with_format("torch") for split in (keep, transfer))


def training_arguments(cls, run: DigitsArguments, name: str, epochs: int, seed: int, **extra):
    return cls(
        output_dir=str(Path(run.output_dir) / name),
        num_train_epochs=epochs,
        learning_rate=run.learning_rate,
        per_device_train_batch_size=run.batch_size,
        warmup_steps=0.1,
        weight_decay=1e-4,
        save_strategy="no",
        logging_steps=1000,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        seed=seed,
        disable_tqdm=True,
        label_names=["labels"],  # a plain module's forward names no labels for `Trainer` to find
        **extra,
    )


def cross_entropy(outputs, labels, num_items_in_batch=None):
    """`Trainer`'s `compute_loss_func` for a module that returns a tensor of logits."""
    return task_loss(model_output(outputs)["logits"], labels, num_items_in_batch)


def train_plain(model: nn.Module, train: Dataset, run: DigitsArguments, name: str, epochs: int, seed: int):
    args = training_arguments(TrainingArguments, run, name, epochs, seed)
    trainer = Trainer(model=model, args=args, train_dataset=train, compute_loss_func=cross_entropy)
    trainer.train()
    return model.eval()


def distil(student, teacher, train: Dataset, run: DigitsArguments, temperature: float, seed: int) -> nn.Module:
    args = training_arguments(
        DistillationArguments,
        run,
        f"student-T{temperature:g}",
        run.student_epochs,
        seed,
        temperature=temperature,
        kd_loss_weight=run.kd_loss_weight,
    )
    DistillationTrainer(model=student, teacher_model=teacher, args=args, train_dataset=train).train()
    return student.eval()


def predictions(model: nn.Module, split: Dataset) -> np.ndarray:
    model = model.to("cpu").eval()

    @torch.inference_mode()
    def run(batch):
        return model_output(model(**batch))["logits"].numpy()

    return predict(run, split, default_data_collator).predictions.argmax(-1)


def run_seed(run: DigitsArguments, seed: int) -> dict:
    """Teacher, distilled student (T chosen on validation) and no-KD student for one seed; their accuracies."""
    splits = digit_splits(seed, run.max_train_samples)
    labels = {role: np.asarray(splits[role]["labels"]) for role in ("validation", "test")}

    def accuracy(model, role):
        return float((predictions(model, splits[role]) == labels[role]).mean())

    set_seed(seed)
    teacher_train = splits["train"].remove_columns("index")
    teacher = train_plain(teacher_cnn(), teacher_train, run, "teacher", run.teacher_epochs, seed)
    labelled, with_transfer = student_splits(splits["train"], run.label_fraction, seed)
    set_seed(seed)
    initial = student_cnn()
    validation = {}
    students = {}
    for temperature in run.temperatures:
        students[temperature] = distil(copy.deepcopy(initial), teacher, with_transfer, run, temperature, seed)
        validation[temperature] = accuracy(students[temperature], "validation")
        logger.info("seed %d, T=%g: validation accuracy %.4f", seed, temperature, validation[temperature])
    best = max(run.temperatures, key=lambda t: (validation[t], -t))
    # as many optimiser steps as the distilled student: more epochs over fewer images, so that it is not undertrained
    no_kd_epochs = round(run.student_epochs * len(with_transfer) / len(labelled))
    plain = train_plain(copy.deepcopy(initial), labelled, run, "student-no-kd", no_kd_epochs, seed)
    test_predictions = {
        "teacher": predictions(teacher, splits["test"]),
        "distilled student": predictions(students[best], splits["test"]),
        "student without KD": predictions(plain, splits["test"]),
    }
    return {
        "seed": seed,
        "chosen_temperature": best,
        "no_kd_epochs": no_kd_epochs,
        "validation_accuracy_by_temperature": {str(t): round(v, 4) for t, v in validation.items()},
        "test_accuracy": {name: round(float((p == labels["test"]).mean()), 4) for name, p in test_predictions.items()},
        "right": {  # whether each model got each test image right, for the test pooled over seeds
            name: "".join("1" if right else "0" for right in p == labels["test"])
            for name, p in test_predictions.items()
        },
        "mcnemar_distilled_vs_no_kd": mcnemar_exact(
            test_predictions["distilled student"] == labels["test"],
            test_predictions["student without KD"] == labels["test"],
        ),
        "examples": {role: len(split) for role, split in splits.items()} | {"labelled_for_students": len(labelled)},
    }


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def pooled(results: list[dict]) -> dict:
    """The distilled student against the no-KD one over every seed: mean accuracies, their difference, and McNemar's
    exact test on the test images of every seed pooled (each seed draws its own split, so each image of each seed is
    one paired decision)."""

    def right(name):
        return np.array([c == "1" for r in results for c in r["right"][name]])

    mean = {name: float(np.mean([r["test_accuracy"][name] for r in results])) for name in results[0]["test_accuracy"]}
    return {
        "seeds": len(results),
        "mean_test_accuracy": {name: round(value, 4) for name, value in mean.items()},
        "mean_difference_points": round(100 * (mean["distilled student"] - mean["student without KD"]), 2),
        "seeds_ahead": sum(
            r["test_accuracy"]["distilled student"] > r["test_accuracy"]["student without KD"] for r in results
        ),
        "pooled_mcnemar": mcnemar_exact(right("distilled student"), right("student without KD")),
    }


def summary_table(results: list[dict]) -> str:
    columns = ["seed", "chosen T", "teacher", "distilled student", "student without KD", "McNemar p"]
    rows = [
        [
            r["seed"],
            f"{r['chosen_temperature']:g}",
            *(f"{r['test_accuracy'][name]:.4f}" for name in ("teacher", "distilled student", "student without KD")),
            f"{r['mcnemar_distilled_vs_no_kd']['p_value']:.3g}",
        ]
        for r in results
    ]
    means = [np.mean([r["test_accuracy"][name] for r in results]) for name in ("teacher", "distilled student")]
    means.append(np.mean([r["test_accuracy"]["student without KD"] for r in results]))
    rows.append(
        ["mean", "", *(f"{m:.4f}" for m in means), f"{pooled(results)['pooled_mcnemar']['p_value']:.3g} pooled"]
    )
    return markdown_table(columns, rows)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    parser = HfArgumentParser(DigitsArguments, description=__doc__.split("\n\n")[0])
    try:
        (run,) = parser.parse_args_into_dataclasses(args=sys.argv[1:] if argv is None else argv)
    except ValueError as error:
        print(f"distil_digits_cnn: error: {error}", file=sys.stderr)
        return 2
    results = [run_seed(run, seed) for seed in run.seeds]
    table = summary_table(results)
    Path(run.report_json).parent.mkdir(parents=True, exist_ok=True)
    write_json(
        run.report_json,
        {
            "settings": asdict(run),
            "parameters": {"teacher": parameters(teacher_cnn()), "student": parameters(student_cnn())},
            "seeds": results,
            "summary": pooled(results),
            "table": table,
        },
    )
    print(
        f"\ntest accuracy on {results[0]['examples']['test']} held-out digits\n\n{table}\n\nreport: {run.report_json}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
