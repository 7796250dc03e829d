"""The students of the frontier (`frontier.py`): its flags, its rungs, and how each method trains a student.

Shared by `frontier.py` (which also times and draws them) and `frontier_seeds.py` (several seeds of one rung).
"""

import json
import logging
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np
from transformers import AutoModelForSequenceClassification, PreTrainedModel, Trainer, set_seed

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.builtin import DEPTH_ONLY_DEFAULTS
from hfdistill.config.data import DEFAULT_TRANSFER_DATASET, DataArguments
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.data.transfer import with_transfer_data
from hfdistill.models.layers import evenly_spread_layers
from hfdistill.models.reorder import reorder_on_training_texts
from hfdistill.models.student import StudentShape, build_student, freeze_input_embeddings
from hfdistill.outputs import evaluation
from hfdistill.run.commands import train_teacher
from hfdistill.run.logit_plan import load_teacher
from hfdistill.tasks.task_data import load_task
from hfdistill.training.intermediate import layer_map_of_copied_layers
from hfdistill.training.trainer import DistillationTrainer

logger = logging.getLogger("frontier")
METHODS = ("no KD", "logit KD", "full recipe")
# name -> (layers, width, feed-forward width); heads keep the teacher's head width (32); the feed-forward is the
# teacher's 4x ratio, or the width the name gives ("f384"): a deeper student for the cost of a shallower one.
RUNGS = {
    "3x384": (3, 384, 1536),
    "3x384f768": (3, 384, 768),
    "3x384f384": (3, 384, 384),
    "2x384": (2, 384, 1536),
    "2x384f1024": (2, 384, 1024),
    "6x192f768": (6, 192, 768),  # every teacher layer at half width: about a quarter of its arithmetic per token
    "3x256": (3, 256, 1024),
    "3x192f384": (3, 192, 384),
    "2x192": (2, 192, 768),
    "2x128": (2, 128, 512),
}


@dataclass
class FrontierArguments:
    """What the frontier benchmark trains and where it keeps its work."""

    output_dir: str = field(
        default="benchmarks/results/frontier", metadata={"help": "Work folder: teacher, cache, one folder a student."}
    )
    json_file: str = field(
        default="benchmarks/frontier_2cpu.json", metadata={"help": "The results JSON (read first, kept per rung)."}
    )
    rungs: list[str] = field(
        default_factory=lambda: list(RUNGS), metadata={"help": f"Rungs to run, of {list(RUNGS)}."}
    )
    redo: bool = field(
        default=False,
        metadata={
            "help": "Train and measure again the rungs already in the JSON (frontier_seeds.py: measure its seeds again, "
            "reading the students already saved and training only the missing ones)."
        },
    )
    methods: list[str] = field(
        default_factory=lambda: list(METHODS),
        metadata={
            "help": f"Methods to train at each rung, of {list(METHODS)}; 'no KD' always (the McNemar baseline)."
        },
    )
    teacher_name_or_path: str | None = field(
        default=None, metadata={"help": "A fine-tuned teacher; default: the quickstart's, trained once in output_dir."}
    )
    num_train_epochs: float = field(default=3.0, metadata={"help": "Epochs of every student."})
    learning_rate: float = field(
        default=5e-4,
        metadata={"help": "Peak learning rate of every student."},
    )
    no_kd_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the no-KD students alone, e.g. one `hfdistill search` chose for them "
            "(default: --learning_rate). Their folders then name it, so that both baselines can share a work folder."
        },
    )
    student_init: Literal["teacher", "importance"] = field(
        default="teacher",
        metadata={
            "help": "'teacher': leading slices of the teacher's weights; 'importance': slices of the teacher reordered "
            "by activity on the training texts (the same start for all three methods)."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={"help": "Keep the students' sliced word-embedding tables frozen."},
    )
    temperature: float = field(default=2.0, metadata={"help": "T of both KD methods."})
    kd_loss_weight: float = field(default=0.5, metadata={"help": "Soft-target weight of both KD methods."})
    full_kd_loss_weight: float = field(default=1.0, metadata={"help": "Soft-target weight of the full recipe."})
    augment_copies: int = field(default=4, metadata={"help": "Perturbed copies of each review in the full recipe."})
    max_transfer_samples: int | None = field(
        default=None, metadata={"help": "Transfer texts mixed into the full recipe's training set (default: all)."}
    )
    intermediate_epochs: float = field(
        default=0.0,
        metadata={"help": "Epochs of hidden-state and relation distillation (teacher online) before the full recipe."},
    )
    stage_two_epochs: float | None = field(
        default=None,
        metadata={"help": "Epochs of the full recipe's cached soft-target stage (default: --num_train_epochs)."},
    )
    stage_two_learning_rate: float | None = field(
        default=None,
        metadata={"help": "Peak learning rate of that stage (default: --learning_rate)."},
    )
    stage_two_kd_loss_weight: float | None = field(
        default=None,
        metadata={
            "help": "Soft-target weight of that stage; below 1 its labelled reviews also train on their labels "
            "(default: --full_kd_loss_weight)."
        },
    )
    hidden_loss_weight: float = field(default=1.0, metadata={"help": "Hidden-state MSE weight of the first stage."})
    attention_loss_weight: float = field(default=1.0, metadata={"help": "Relation KL weight of the first stage."})
    seed: int = field(default=42, metadata={"help": "Seed of every student (its head, dropout and batches)."})

    def __post_init__(self):
        unknown = sorted(set(self.rungs) - set(RUNGS))
        if unknown:
            raise ValueError(f"unknown rungs {unknown}: choose from {list(RUNGS)}")
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ValueError(f"unknown methods {unknown}: choose from {list(METHODS)}")
        self.methods = [method for method in METHODS if method in self.methods or method == "no KD"]
        if self.stage_two_kd_loss_weight is not None and not 0 <= self.stage_two_kd_loss_weight <= 1:
            raise ValueError(f"--stage_two_kd_loss_weight must be in [0, 1], got {self.stage_two_kd_loss_weight}")
        if self.no_kd_learning_rate is not None and self.no_kd_learning_rate <= 0:
            raise ValueError(f"--no_kd_learning_rate must be > 0, got {self.no_kd_learning_rate}")


def training_arguments(bench: FrontierArguments, output_dir: Path, **overrides) -> DistillationArguments:
    """The quickstart's training settings with the benchmark's epochs, rate, T and weights."""
    training_fields = {f.name for f in fields(DistillationArguments)}
    settings = {name: value for name, value in DEPTH_ONLY_DEFAULTS.items() if name in training_fields}
    settings |= dict(
        output_dir=str(output_dir),
        num_train_epochs=bench.num_train_epochs,
        learning_rate=bench.learning_rate,
        temperature=bench.temperature,
        kd_loss_weight=bench.kd_loss_weight,
        seed=bench.seed,
        eval_strategy="no",
        save_strategy="no",  # each student trains in one go; its folder holds only the final model
        disable_tqdm=True,
        logging_steps=100,
    )
    return DistillationArguments(**(settings | overrides))


def fine_tuned_teacher(bench: FrontierArguments, data_args: DataArguments) -> str:
    """The teacher's folder: given, already trained in the work folder, or fine-tuned now like the quickstart's."""
    if bench.teacher_name_or_path is not None:
        return bench.teacher_name_or_path
    folder = Path(bench.output_dir) / "teacher"
    if (folder / "config.json").is_file():
        return str(folder)
    args = training_arguments(
        bench,
        folder,
        num_train_epochs=DEPTH_ONLY_DEFAULTS["teacher_num_train_epochs"],
        learning_rate=DEPTH_ONLY_DEFAULTS["teacher_learning_rate"],
    )
    train_teacher(args, data_args, PipelineArguments(freeze_word_embeddings=True, overwrite_output_dir=True))
    return str(folder)


def student_folder(bench: FrontierArguments, shape_name: str, method: str) -> Path:
    """Where `train_student` saves the student of `method` at the rung `shape_name`."""
    name = method.replace(" ", "-")
    if method == "no KD" and bench.no_kd_learning_rate is not None:
        name += f"-lr{bench.no_kd_learning_rate:g}"
    return Path(bench.output_dir) / shape_name / name


def teacher_and_task(bench: FrontierArguments, data_args: DataArguments) -> tuple[str, object, object]:
    """The teacher's folder, the loaded reviews and the teacher, reordered for the 'importance' start (measured with
    `bench.seed`: a permutation, so the teacher's outputs, and its cache, stay the same)."""
    teacher_folder = fine_tuned_teacher(bench, data_args)
    task = load_task(teacher_folder, data_args)
    teacher = load_teacher(task.task, teacher_folder, task.label_names, False, False).eval()
    if bench.student_init == "importance":
        reorder_on_training_texts(teacher, task.tokenized["train"], task.collator, bench.seed)
    return teacher_folder, task, teacher


# Flags that cannot change the full recipe's first stage (where results go, what else runs, the other methods and the
# second stage). Every other flag is part of what a saved first stage depends on, so that a flag added later makes the
# stage train again rather than be read back stale.
NOT_STAGE_ONE = {
    "output_dir",
    "json_file",
    "rungs",
    "redo",
    "methods",
    "num_train_epochs",
    "kd_loss_weight",
    "no_kd_learning_rate",
    "stage_two_epochs",
    "stage_two_learning_rate",
    "stage_two_kd_loss_weight",
}


def stage_one_settings(bench: FrontierArguments) -> dict:
    """What the first stage's student depends on besides the rung and the work folder (one seed's students)."""
    return {f.name: getattr(bench, f.name) for f in fields(bench) if f.name not in NOT_STAGE_ONE}


def stage_one(bench, student, layers, teacher, task, mixed, folder: Path) -> None:
    """The full recipe's first stage, hidden states and relations with the teacher online, into `student`; saved
    beside the student (`full-recipe-stage-1`, with its settings) and read from there by a later run with the same
    settings, so that second-stage variants do not pay for it again (their training seconds then leave it out)."""
    saved = folder.parent / "full-recipe-stage-1"
    settings = stage_one_settings(bench)
    settings_file = saved / "stage_one_settings.json"
    if settings_file.is_file() and json.loads(settings_file.read_text()) == settings:
        logger.info("reading the first stage from %s (trained before with the same settings)", saved)
        student.load_state_dict(AutoModelForSequenceClassification.from_pretrained(saved).state_dict())
        return
    intermediate = training_arguments(
        bench,
        saved,
        num_train_epochs=bench.intermediate_epochs,
        kd_loss_weight=bench.full_kd_loss_weight,
        hidden_loss_weight=bench.hidden_loss_weight,
        attention_loss_weight=bench.attention_loss_weight,
        distill_layer_map=layer_map_of_copied_layers(layers),
    )
    trainer = DistillationTrainer(
        model=student, teacher_model=teacher, args=intermediate, **task.trainer_kwargs() | {"train_dataset": mixed}
    )
    trainer.train()
    trainer.save_model()
    settings_file.write_text(json.dumps(settings))


def full_recipe_trainer(bench, student, layers, teacher, task, data_args, folder: Path, cache_dir: Path):
    """The full recipe's trainer on the labelled reviews mixed with transfer text, from the teacher-output cache;
    with `--intermediate_epochs`, after the online first stage."""
    transfer_args = replace(
        task.data_args,  # as the task reads them: its default columns filled in
        transfer_dataset=DEFAULT_TRANSFER_DATASET,
        max_transfer_samples=bench.max_transfer_samples,
        augment_copies=bench.augment_copies,
    )
    mixed = with_transfer_data(task.tokenized["train"], task.splits, task.tokenizer, transfer_args, bench.seed)
    if bench.intermediate_epochs > 0:
        stage_one(bench, student, layers, teacher, task, mixed, folder)
    args = training_arguments(
        bench,
        folder,
        num_train_epochs=bench.stage_two_epochs or bench.num_train_epochs,
        learning_rate=bench.stage_two_learning_rate or bench.learning_rate,
        kd_loss_weight=bench.full_kd_loss_weight
        if bench.stage_two_kd_loss_weight is None
        else bench.stage_two_kd_loss_weight,
        teacher_cache_dir=str(cache_dir),
    )
    cached = cache_teacher_logits(mixed, teacher, task.tokenizer, args, task.collator, task.preprocessing)
    return DistillationTrainer(
        model=student, teacher_model=None, args=args, **task.trainer_kwargs() | {"train_dataset": cached}
    )


def train_student(bench, method, shape_name, teacher, task, data_args, cache_dir: Path) -> tuple[str, float]:
    """Train one student of the rung `shape_name` by `method` into its folder; its folder and training seconds."""
    num_layers, width, feed_forward = RUNGS[shape_name]
    folder = student_folder(bench, shape_name, method)
    layers = evenly_spread_layers(teacher.config.num_hidden_layers, num_layers)
    set_seed(bench.seed)
    student = build_student(
        teacher,
        "distilbert",
        layers,
        shape=StudentShape(hidden_size=width, intermediate_size=feed_forward, init=bench.student_init),
    )
    if bench.freeze_word_embeddings:
        freeze_input_embeddings(student)
    start = time.perf_counter()
    if method == "no KD":
        args = training_arguments(bench, folder, learning_rate=bench.no_kd_learning_rate or bench.learning_rate)
        trainer = Trainer(model=student, args=args, **task.trainer_kwargs())
    elif method == "logit KD":
        args = training_arguments(bench, folder, teacher_cache_dir=str(cache_dir))
        train = task.tokenized["train"]
        cached = cache_teacher_logits(train, teacher, task.tokenizer, args, task.collator, task.preprocessing)
        trainer = DistillationTrainer(
            model=student, teacher_model=None, args=args, **task.trainer_kwargs() | {"train_dataset": cached}
        )
    else:
        trainer = full_recipe_trainer(bench, student, layers, teacher, task, data_args, folder, cache_dir)
    trainer.train()
    trainer.save_model()
    return str(folder), round(time.perf_counter() - start, 1)


def gold_labels(task, split: str = "test") -> np.ndarray:
    """The split's labels."""
    return np.asarray(task.tokenized[split]["labels"])


def predicted_classes(folder: str | PreTrainedModel, task, split: str = "test") -> np.ndarray:
    """The saved model's (or a loaded one's) predicted class for every example of the split."""
    model = AutoModelForSequenceClassification.from_pretrained(folder) if isinstance(folder, str) else folder
    return evaluation.predict_test_split(model, task.tokenized[split], task.collator).predictions.argmax(-1)
