"""The checks and models of a task with logits, before training: the teacher and its labels, the student planned or
loaded, the stages and the cache asked for, each refused before any work."""

import logging
from dataclasses import replace
from pathlib import Path

from transformers import AutoModelForSequenceClassification, PreTrainedModel, PreTrainedTokenizerBase

from hfdistill.config.embedding_loss import check_no_embedding_loss
from hfdistill.config.paths import model_config
from hfdistill.config.pipeline import (
    DEFAULT_TEACHER_EPOCHS,
    STATIC_DIMENSIONS,
    STATIC_EPOCHS,
    STATIC_LEARNING_RATE,
    PipelineArguments,
    own_or_default,
)
from hfdistill.config.training import DistillationArguments
from hfdistill.models.layers import layers_to_keep
from hfdistill.models.reorder import check_reorderable
from hfdistill.models.static import build_static_student
from hfdistill.models.student import StudentShape, build_student, freeze_input_embeddings, student_config
from hfdistill.tasks import task_of_model
from hfdistill.tasks.base import EncoderTask
from hfdistill.training.intermediate import check_intermediate_plan, layer_map_of_copied_layers

logger = logging.getLogger(__name__)

SHAPE_FLAGS = (
    "student_num_layers",
    "student_layers",
    "student_hidden_size",
    "student_num_attention_heads",
    "student_intermediate_size",
)


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


def with_teacher_stage(pipeline_args: PipelineArguments, teacher_path: str, task: EncoderTask, baseline: bool):
    """`pipeline_args` with its defaults made concrete for this teacher and task: the teacher fine-tuned first
    (`DEFAULT_TEACHER_EPOCHS`) when it has no head for the task, and the no-KD baseline `baseline` when unset."""
    epochs = pipeline_args.teacher_num_train_epochs
    if epochs is None:
        try:
            has_head = task_of_model(teacher_path, "teacher_name_or_path") == task.name
        except ValueError:  # a bare encoder: no head at all
            has_head = False
        epochs = 0.0 if has_head else DEFAULT_TEACHER_EPOCHS
        if not has_head:
            logger.info(
                "the teacher %s has no %s head: fine-tuning it first for %g epoch(s) (--teacher_num_train_epochs)",
                teacher_path, task.name, epochs,
            )  # fmt: skip
    train_baseline = baseline if pipeline_args.train_baseline is None else pipeline_args.train_baseline
    return replace(pipeline_args, teacher_num_train_epochs=epochs, train_baseline=train_baseline)


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
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> PreTrainedModel:
    """The student named by `student_name_or_path` (fresh head, the teacher's labels), or one built from the teacher
    (a static one reads its vocabulary from `tokenizer`)."""
    if args.student_architecture == "static":
        # model2vec's default width, or the teacher's own where that is narrower (PCA cannot widen)
        dimensions = args.student_hidden_size or min(STATIC_DIMENSIONS, teacher.config.hidden_size)
        logger.info("distilling the teacher's vocabulary into a static table of %d dimensions (model2vec)", dimensions)
        student = build_static_student(teacher, tokenizer, dimensions, args.student_intermediate_size or 0)
    elif args.student_name_or_path is None:
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
    if args.student_architecture == "static":
        check_static_plan(args, teacher_config)
        return None
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


def check_static_plan(args: DistillationArguments, teacher_config) -> None:
    """Refuse, before any work, what a static student has not: layers, heads, an initialisation to choose, hidden
    states and attentions to match, or a name (it is always distilled from the teacher); and a table wider than the
    teacher's vectors, which PCA cannot make."""
    if args.student_hidden_size is not None:
        check_static_width("--student_hidden_size", args.student_hidden_size, teacher_config)
    given = [f"--{name}" for name in ("student_num_layers", "student_layers", "student_num_attention_heads")]
    given = [flag for flag in given if getattr(args, flag[2:]) is not None]
    given += [f"--student_init {args.student_init}"] if args.student_init != "teacher" else []
    given += ["--student_name_or_path"] if args.student_name_or_path is not None else []
    given += [f"--{name}" for name in ("hidden_loss_weight", "attention_loss_weight") if getattr(args, name) > 0]
    if given:
        raise ValueError(
            f"{', '.join(given)} describe a transformer student, but --student_architecture static has no layers, "
            "heads or attention (its table is distilled from the teacher; --student_hidden_size sets its width and "
            "--student_intermediate_size its head's hidden layer): drop them"
        )


def check_static_width(flag: str, width: int, teacher_config) -> None:
    """Refuse a static table wider than the teacher's vectors, which PCA cannot make."""
    if width > teacher_config.hidden_size:
        raise ValueError(
            f"{flag} {width} is wider than the teacher's vectors ({teacher_config.hidden_size}): a static table is "
            "the teacher's token vectors reduced by PCA, so choose at most that"
        )


def static_arguments(args: DistillationArguments, pipeline_args: PipelineArguments) -> DistillationArguments:
    """The arguments of a static student beside a transformer one: its own shape, rate and epochs, no intermediate
    terms; the rest (soft targets, schedule, cache) the last stage's."""
    return replace(
        args,
        student_architecture="static",
        student_num_layers=None,
        student_layers=None,
        student_hidden_size=pipeline_args.static_dimensions,  # None: the builder's default width
        student_num_attention_heads=None,
        student_intermediate_size=None,
        student_init="teacher",
        hidden_loss_weight=0.0,
        attention_loss_weight=0.0,
        distill_layer_map=None,
        relation_heads=None,
        learning_rate=own_or_default(pipeline_args.static_learning_rate, STATIC_LEARNING_RATE),
        num_train_epochs=own_or_default(pipeline_args.static_num_train_epochs, STATIC_EPOCHS),
    )


def check_static_task(args: DistillationArguments, pipeline_args: PipelineArguments, task: EncoderTask) -> None:
    """Refuse a static student for a task whose labels are per token (a static student reads a whole text as one
    vector), and a second static student beside a static one."""
    static = args.student_architecture == "static"
    asked = "--student_architecture static" if static else "--static_student"
    if (static or pipeline_args.static_student) and task.auto_class is not AutoModelForSequenceClassification:
        raise ValueError(
            f"{asked} reads each text as one mean vector, so it cannot label {task.name}'s tokens one by one: "
            "choose --student_architecture distilbert or same for this task"
        )
    if static and pipeline_args.static_student:
        raise ValueError(
            "--static_student adds a static student beside a transformer one, and this run's student is "
            "already static (--student_architecture static): drop --static_student"
        )


def check_stages(args: DistillationArguments, pipeline_args: PipelineArguments) -> None:
    """Refuse, before any work, a first stage with nothing to train, intermediate terms the cache cannot serve, or
    an embedding loss (which no task with logits reads)."""
    check_no_embedding_loss(args)
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


def check_top_k(args: DistillationArguments, label_names: list[str]) -> None:
    """Refuse, before any work, a top-k cache that would keep every class."""
    if args.teacher_cache_top_k is not None and args.teacher_cache_top_k >= len(label_names):
        raise ValueError(
            f"teacher_cache_top_k is {args.teacher_cache_top_k} but the task has {len(label_names)} labels: "
            "leave it unset to cache all logits"
        )


def check_sequence_length(max_seq_length: int, teacher_path: str) -> None:
    """Refuse inputs longer than the teacher has positions for (they would fail inside its first batch)."""
    positions = getattr(model_config(teacher_path, "teacher_name_or_path"), "max_position_embeddings", None)
    if positions is not None and max_seq_length > positions:
        raise ValueError(
            f"--max_seq_length {max_seq_length} is longer than the teacher's {positions} positions: give at most "
            f"--max_seq_length {positions}"
        )
