"""`DistillationTrainer`: a `Trainer` whose loss blends the teacher's soft targets with the task loss."""

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel, Trainer

from hfdistill.cache.teacher_outputs import (
    NOT_TEACHER_INPUTS,
    TEACHER_OUTPUTS,
    TeacherOutputCollator,
    carries_teacher_outputs,
    soft_targets_in,
)
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.common import counted_mask, token_weights
from hfdistill.losses.problems import losses_for
from hfdistill.models.placement import prepare_teacher
from hfdistill.numerics.finite import check_finite_terms
from hfdistill.training.intermediate import (
    attach_projections,
    capture_qkv,
    check_intermediate_plan,
    mapped_hidden_loss,
    paired_attention_loss,
    projections_saved,
    relation_heads,
    width,
)

logger = logging.getLogger(__name__)


def model_output(outputs) -> Mapping:
    """A model's outputs as a mapping with `logits`: a `ModelOutput` (or dict) as it is; a tensor, or a tuple whose
    first item is the logits, as `{"logits": ...}`. So any `nn.Module` with logits can teach or learn."""
    if isinstance(outputs, Mapping):
        if "logits" not in outputs:
            raise ValueError(f"the model's outputs have no 'logits' (they hold {list(outputs)})")
        return outputs
    if isinstance(outputs, tuple | list) and outputs:
        outputs = outputs[0]
    if not isinstance(outputs, torch.Tensor):
        raise TypeError(
            f"a model must return its logits as a tensor, a tuple whose first item is the logits, or a ModelOutput; "
            f"got {type(outputs).__name__}"
        )
    return {"logits": outputs}


def check_label_counts(teacher: nn.Module, student: nn.Module) -> None:
    """Raise `ValueError` before any work when teacher and student predict different numbers of labels (known from
    their configs; for plain modules the first batch's logits are compared instead)."""
    teacher_labels = getattr(getattr(teacher, "config", None), "num_labels", None)
    student_labels = getattr(getattr(student, "config", None), "num_labels", None)
    if None not in (teacher_labels, student_labels) and teacher_labels != student_labels:
        raise ValueError(
            f"teacher has {teacher_labels} labels but student has {student_labels}: build the student with "
            f"num_labels={teacher_labels} (and the teacher's id2label)"
        )


def problem_type_of(model: nn.Module) -> str | None:
    """What `model` predicts, as transformers' `config.problem_type` says (None: single-label classification)."""
    return getattr(getattr(model, "config", None), "problem_type", None)


def check_temperature(args: DistillationArguments, problem_type: str | None) -> None:
    """Refuse a temperature where the soft targets are not softened (regression: the teacher's scores)."""
    if args.temperature is not None and not losses_for(problem_type).uses_temperature:
        raise ValueError(
            f"temperature {args.temperature} does not apply to {problem_type}: the student learns the teacher's "
            "predictions as they are (an MSE term), with nothing to soften; drop --temperature"
        )


def check_logit_shapes(student_logits: torch.Tensor, teacher_logits) -> None:
    """Refuse a teacher and a student whose logits differ in the number of classes (a clear message, not a broadcast
    error inside the loss)."""
    if isinstance(teacher_logits, torch.Tensor) and teacher_logits.shape[-1] != student_logits.shape[-1]:
        raise ValueError(
            f"the teacher's logits have {teacher_logits.shape[-1]} classes but the student's "
            f"{student_logits.shape[-1]}: give both models the same label set"
        )


class DistillationTrainer(Trainer):
    """Train `model` (the student) to match a frozen `teacher_model` and the gold labels.

    The student's `config.problem_type` chooses the losses (`hfdistill.losses.problems`): a softmax KL for
    single-label classification (the default, and for a plain module), a per-label binary KL for multi-label
    classification, and an MSE to the teacher's scores for regression.

    The teacher is frozen (evaluation mode, no gradients) and placed by the Accelerator for inference: on the
    student's device, never wrapped by DDP, sharded under FSDP and DeepSpeed ZeRO-3 (`hfdistill.models.placement`). It runs
    once per training batch, optionally in half precision (`teacher_dtype`), and is neither optimised nor saved.
    With `hidden_loss_weight` or `attention_loss_weight` > 0 that one pass also returns the hidden states or the
    queries, keys and values the intermediate losses need (`hfdistill.training.intermediate`); otherwise neither model is
    asked for them. Training logs `kd_loss`, `task_loss` (and `hidden_loss`, `attention_loss`) beside `loss`.
    Evaluation reports the student's task loss alone, comparable with a model trained without a teacher.

    Teacher and student may be any `nn.Module`s whose outputs carry logits of the same shape (a `ModelOutput`, a
    tensor, or a tuple whose first item is the logits), whatever their architectures: a BERT and a DistilBERT, or two
    CNNs of different depth. The batch's inputs other than `labels` are passed to both by name.

    Args:
        model: the student.
        teacher_model: the fine-tuned teacher; same label set as the student. Leave it None when the training set
            carries the teacher's outputs (`hfdistill.cache.cache_teacher_logits`, or `teacher_embedding` for
            embeddings): then no teacher is held or run, and the loss is the same.
        args: `DistillationArguments` (temperature, loss weights, and everything `TrainingArguments` has).
        **kwargs: passed to `Trainer` (datasets, collator, processing_class, compute_metrics, callbacks, …).
    """

    def __init__(self, model: nn.Module, teacher_model: nn.Module | None, args: DistillationArguments, **kwargs: Any):
        if not isinstance(args, DistillationArguments):
            raise TypeError(f"args must be DistillationArguments, got {type(args).__name__}")
        if teacher_model is None and not carries_teacher_outputs(kwargs.get("train_dataset")):
            raise ValueError(
                "DistillationTrainer needs a teacher_model (the fine-tuned model whose soft targets it learns) or a "
                f"train_dataset carrying the teacher's precomputed outputs in a column named one of {TEACHER_OUTPUTS}"
            )
        cached = carries_teacher_outputs(kwargs.get("train_dataset"))
        if cached and args.remove_unused_columns:
            raise ValueError(
                "the training set carries the teacher's outputs, which the student's forward does not take: set "
                "remove_unused_columns=False so that they reach the loss"
            )
        intermediate = args.needs_hidden_states or args.needs_attention
        if cached and intermediate:
            raise ValueError(
                "hidden_loss_weight / attention_loss_weight need the teacher's hidden states or attention, which the "
                "teacher-output cache does not hold: train without teacher_cache_dir, or set both weights to 0"
            )
        if teacher_model is not None and cached:
            logger.warning(
                "the training set carries the teacher's outputs: the teacher_model is not held or run (pass "
                "teacher_model=None to say so and silence this)"
            )
            teacher_model = None
        if teacher_model is not None:
            check_label_counts(teacher_model, model)
        self.losses = losses_for(problem_type_of(model))  # the student's config says what it predicts
        check_temperature(args, problem_type_of(model))
        self.layer_map = None
        if intermediate:
            self.layer_map = check_intermediate_plan(args, model.config, teacher_model.config)
            if args.needs_hidden_states:  # before the Trainer sees the model, so they are optimised and placed
                attach_projections(model, width(teacher_model))
        if args.label_names is None and not isinstance(model, PreTrainedModel):
            # `Trainer` finds a model's label columns in its forward's signature; a plain module's takes no labels.
            args = replace(args, label_names=["labels"])
        super().__init__(model=model, args=args, **kwargs)
        if cached:
            self.data_collator = TeacherOutputCollator(self.data_collator)
        # The losses divide by num_items_in_batch themselves, so the Trainer must count it and not rescale for GA.
        self.model_accepts_loss_kwargs = True
        self.teacher = None
        if teacher_model is not None:
            self.teacher = prepare_teacher(teacher_model, self.accelerator, args.teacher_torch_dtype)
        self._loss_parts: dict[str, list[torch.Tensor]] = defaultdict(list)

    @property
    def attention_pairs(self) -> list[tuple[int, int]]:
        """(student layer, teacher layer), 0-based, for every student layer the layer map sends to a teacher layer."""
        return [(s - 1, t - 1) for s, t in enumerate(self.layer_map or []) if s > 0 and t > 0]

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ):
        model_inputs = {name: value for name, value in inputs.items() if name not in NOT_TEACHER_INPUTS}
        labels = inputs.get("labels")
        if not model.training:
            outputs = model_output(model(**model_inputs))
            loss = self.losses.task(outputs["logits"], labels, num_items_in_batch)
            return (loss, outputs) if return_outputs else loss

        args = self.args
        extra = {"output_hidden_states": True} if args.needs_hidden_states else {}
        pairs = self.attention_pairs if args.needs_attention else []
        student = self.accelerator.unwrap_model(model)
        with capture_qkv(student, [s for s, _ in pairs]) as student_qkv:
            outputs = model_output(model(**model_inputs, **extra))
        teacher_logits = soft_targets_in(inputs)  # cached beforehand: no teacher pass
        if teacher_logits is None:
            if self.teacher is None:
                raise ValueError(
                    f"this batch has none of the columns {TEACHER_OUTPUTS} and the trainer has no teacher"
                )
            teacher = self.accelerator.unwrap_model(self.teacher)
            with torch.no_grad(), capture_qkv(teacher, [t for _, t in pairs]) as teacher_qkv:
                teacher_outputs = model_output(self.teacher(**model_inputs, **extra))
            teacher_logits = teacher_outputs["logits"]
        check_logit_shapes(outputs["logits"], teacher_logits)
        parts = self.losses.distillation(
            outputs["logits"], teacher_logits, labels, args.kd_temperature, args.kd_loss_weight, num_items_in_batch
        )
        loss = parts.loss
        logged = {"kd_loss": parts.kd, "task_loss": parts.task}
        if self.layer_map is not None:
            logged |= self.intermediate_losses(
                student, outputs, teacher_outputs, student_qkv, teacher_qkv, inputs, num_items_in_batch
            )
            loss = loss + args.hidden_loss_weight * logged.get("hidden_loss", 0.0)
            loss = loss + args.attention_loss_weight * logged.get("attention_loss", 0.0)
        check_finite_terms(
            {
                "the teacher's outputs": teacher_logits if torch.is_tensor(teacher_logits) else None,
                "loss": loss,
                **logged,
            },
            self.state.global_step + 1,
        )
        if num_items_in_batch is not None and args.average_tokens_across_devices:
            # The divisor counts items on all ranks and DDP averages gradients, so scale back up by the rank count.
            loss = loss * self.accelerator.num_processes
        # Log per-batch means whatever the divisor, so the parts read the same with or without accumulation.
        to_batch_mean = 1.0
        if num_items_in_batch is not None:
            to_batch_mean = num_items_in_batch / counted_mask(labels, outputs["logits"]).sum().clamp(min=1)
        for name, value in logged.items():
            self._loss_parts[name].append((value * to_batch_mean).detach())
        return (loss, outputs) if return_outputs else loss

    def intermediate_losses(
        self, student, outputs, teacher_outputs, student_qkv, teacher_qkv, inputs, num_items_in_batch
    ) -> dict[str, torch.Tensor]:
        """`hidden_loss` and `attention_loss` of one batch, for the terms whose weight is > 0."""
        args, pairs, losses = self.args, self.attention_pairs, {}
        per_token = outputs["logits"].dim() == 3  # a label per token (NER), not per sequence
        weights = token_weights(inputs["attention_mask"], inputs.get("labels"), per_token)
        if args.needs_hidden_states:
            losses["hidden_loss"] = mapped_hidden_loss(  # the student's states come at the teacher's width
                outputs.hidden_states, teacher_outputs.hidden_states, self.layer_map, args.hidden_loss, weights,
                num_items_in_batch,
            )  # fmt: skip
        if args.needs_attention:
            heads = student.config.num_attention_heads
            if args.attention_loss == "relation":
                heads = relation_heads(args, student.config)
            losses["attention_loss"] = paired_attention_loss(
                [(student_qkv[s], teacher_qkv[t]) for s, t in pairs], args.attention_loss, heads,
                inputs["attention_mask"], weights, num_items_in_batch,
            )  # fmt: skip
        return losses

    def _save_checkpoint(self, model, trial) -> None:
        with projections_saved(self.model):  # a run resumed from this checkpoint continues the trained projections
            super()._save_checkpoint(model, trial)

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the mean KD and task losses since the last training log, averaged over ranks."""
        if "loss" in logs and self._loss_parts:
            for name, values in self._loss_parts.items():
                mean = torch.stack(values).mean()
                logs[name] = round(self.accelerator.reduce(mean, reduction="mean").item(), 4)
            self._loss_parts.clear()
        super().log(logs, start_time)
