"""The student's training stages: distillation in one stage, TinyBERT's first stage of intermediate terms, and the
same student trained without the teacher (the no-KD twin). `LogitStages` (distill) and `search` run them."""

import logging
from dataclasses import replace

from transformers import PreTrainedModel, Trainer

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.pipeline import PipelineArguments, own_or_default
from hfdistill.config.training import DistillationArguments
from hfdistill.models.static import model_kind
from hfdistill.models.student import freeze_input_embeddings
from hfdistill.run.logit_plan import distillation_arguments
from hfdistill.tasks.task_data import TaskData
from hfdistill.training.resume import Run, pickle_free_save, train_stage
from hfdistill.training.trainer import DistillationTrainer

logger = logging.getLogger(__name__)

STAGE, FIRST_STAGE = "student", "student-intermediate"  # the student's stage; the first of two (`intermediate_epochs`)


def distil(student, teacher, teacher_folder: str, train, args, data: TaskData, run: Run, layers, stage=STAGE) -> str:
    """Distil `student` from `teacher` on `train` into `<output>/<stage>` (through the teacher-output cache when
    `teacher_cache_dir` is set); its folder."""
    logger.info("%s: distilling a %s student", stage, model_kind(student.config))
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
    return train_stage(trainer, run, stage, pickle_free_save(trainer, data.tokenizer))


def train_without_teacher(baseline, args, data: TaskData, run: Run, pipeline_args: PipelineArguments) -> str:
    """Fine-tune the same student without the teacher into `<output>/student-no-kd`, at the baseline's own rate and
    epochs where `pipeline_args` gives them; its folder."""
    logger.info("fine-tuning the same student without the teacher (baseline)")
    plain = replace(
        args,
        output_dir=str(run.checkpoints("student-no-kd")),
        push_to_hub=False,
        learning_rate=own_or_default(pipeline_args.baseline_learning_rate, args.learning_rate),
        num_train_epochs=own_or_default(pipeline_args.baseline_num_train_epochs, args.num_train_epochs),
    )
    trainer = Trainer(model=baseline, args=plain, **data.trainer_kwargs())
    return train_stage(trainer, run, "student-no-kd", pickle_free_save(trainer, data.tokenizer))


def first_stage(
    student,
    teacher,
    teacher_folder: str,
    train,
    args,
    pipeline_args: PipelineArguments,
    data: TaskData,
    run: Run,
    layers,
) -> tuple[PreTrainedModel, DistillationArguments]:
    """TinyBERT's first stage: every weighted term (hidden states, attention, soft targets), the teacher online, at
    the first stage's epochs, rate and weight, into `<output>/student-intermediate` (or that finished stage's).

    Returns:
        Its student, reloaded from the folder (its saved weights, without the projections; word embeddings frozen
        when asked), and the second stage's arguments: `args` without the intermediate terms.
    """
    online = replace(
        args,
        num_train_epochs=pipeline_args.intermediate_epochs,
        learning_rate=own_or_default(pipeline_args.intermediate_learning_rate, args.learning_rate),
        kd_loss_weight=own_or_default(pipeline_args.intermediate_kd_loss_weight, args.kd_loss_weight),
        teacher_cache_dir=None,
    )
    folder = run.done(FIRST_STAGE) or distil(
        student, teacher, teacher_folder, train, online, data, run, layers, FIRST_STAGE
    )
    student = data.task.load_model(folder)
    if pipeline_args.freeze_word_embeddings:
        freeze_input_embeddings(student)
    second = replace(
        args, hidden_loss_weight=0.0, attention_loss_weight=0.0, distill_layer_map=None, relation_heads=None
    )
    return student, second
