"""The losses of each kind of prediction, by transformers' `config.problem_type`: which blend of teacher and labels a
student trains on, and which task loss scores it without the teacher.

- `single_label_classification`: a softmax over classes (text and token classification): Hinton et al.'s KL at T.
- `multi_label_classification`: a sigmoid per label: a binary KL per label at T.
- `regression`: scores: the teacher's predictions as MSE targets; no temperature.
"""

from collections.abc import Callable
from typing import NamedTuple

from hfdistill.losses.multi_label import multi_label_distillation_loss, multi_label_task_loss
from hfdistill.losses.regression import regression_distillation_loss, regression_task_loss
from hfdistill.losses.soft_targets import distillation_loss, task_loss

SINGLE_LABEL = "single_label_classification"


class ProblemLosses(NamedTuple):
    """`distillation(student_logits, teacher_logits, labels, temperature, kd_loss_weight, num_items_in_batch)` and
    `task(logits, labels, num_items_in_batch)`; `uses_temperature`: whether the soft targets are softened."""

    distillation: Callable
    task: Callable
    uses_temperature: bool


def _regression_blend(student, teacher, labels, _temperature, kd_loss_weight, num_items_in_batch=None):
    return regression_distillation_loss(student, teacher, labels, kd_loss_weight, num_items_in_batch)


PROBLEM_LOSSES = {
    SINGLE_LABEL: ProblemLosses(distillation_loss, task_loss, True),
    "multi_label_classification": ProblemLosses(multi_label_distillation_loss, multi_label_task_loss, True),
    "regression": ProblemLosses(_regression_blend, regression_task_loss, False),
}


def losses_for(problem_type: str | None) -> ProblemLosses:
    """The losses of `problem_type` (a model config's; None: single-label classification, as for a plain module)."""
    problem_type = problem_type or SINGLE_LABEL
    if problem_type not in PROBLEM_LOSSES:
        raise ValueError(
            f"problem_type {problem_type!r} has no distillation loss; choose one of {list(PROBLEM_LOSSES)}"
        )
    return PROBLEM_LOSSES[problem_type]
