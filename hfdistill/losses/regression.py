"""The regression losses: the teacher's predictions as the targets of a mean squared error, beside the gold scores.

A regression teacher's output is a score, not a distribution, so there is nothing to soften: no temperature. Labels
are floats shaped like the predictions (`(batch,)` for one output is read as `(batch, 1)`); a NaN label marks a
transfer example, which the soft-target term counts and the task term does not. Counting as in
`hfdistill.losses.common`: one item per output of each example.
"""

import torch

from hfdistill.losses.common import DistillationLoss, _normalise, blended


def _as_predictions(labels: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    if labels.numel() != predictions.numel():
        raise ValueError(
            f"labels {tuple(labels.shape)} do not fit predictions {tuple(predictions.shape)}: give one score per output"
        )
    return labels.float().view_as(predictions)


def regression_task_loss(
    predictions: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error with the gold scores; NaN labels add 0 but are counted.

    Args:
        predictions: `(batch, outputs)`.
        labels: the gold scores, `(batch, outputs)` or `(batch,)` for one output; NaN for a transfer example.
        num_items_in_batch: divisor of the summed loss; the number of scores when None.
    """
    labels = _as_predictions(labels, predictions)
    labelled = ~labels.isnan()
    per_item = torch.where(labelled, (predictions.float() - labels.nan_to_num()) ** 2, 0.0)
    denominator = labels.numel() if num_items_in_batch is None else num_items_in_batch
    return _normalise(per_item, torch.ones_like(per_item), denominator)


def prediction_mse(
    student: torch.Tensor, teacher: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Mean squared error between the student's and the teacher's predictions, `(batch, outputs)` each."""
    if student.shape != teacher.shape:
        raise ValueError(
            f"student predictions {tuple(student.shape)} and teacher predictions {tuple(teacher.shape)} differ: "
            "teacher and student must predict the same outputs"
        )
    per_item = (student.float() - teacher.float()) ** 2
    denominator = per_item.numel() if num_items_in_batch is None else num_items_in_batch
    return _normalise(per_item, torch.ones_like(per_item), denominator)


def regression_distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    labels: torch.Tensor | None,
    kd_loss_weight: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> DistillationLoss:
    """`loss = kd_loss_weight · MSE(student, teacher) + (1 − kd_loss_weight) · MSE(student, label)`.

    With `labels=None` the loss is the teacher term alone.
    """
    kd = prediction_mse(student, teacher, num_items_in_batch)
    task = regression_task_loss(student, labels, num_items_in_batch) if labels is not None else None
    return blended(kd, task, kd_loss_weight)
