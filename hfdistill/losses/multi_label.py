"""The multi-label losses: every label is a yes/no question, so each label's sigmoid is a Bernoulli distribution.

The soft target of one label is the teacher's sigmoid at temperature T; the student matches it with a binary KL,
scaled by T² like Hinton et al.'s softmax form (`hfdistill.losses.soft_targets`). The task term is binary
cross-entropy with the gold 0/1 labels. Labels are `(batch, labels)` floats; a NaN row marks a transfer example,
which the soft-target term counts and the task term does not. Counting as in `hfdistill.losses.common`: one item
per label of each example, so a loss is a mean over (example, label) pairs, as transformers' own multi-label loss.
"""

import torch
import torch.nn.functional as F

from hfdistill.losses.common import DistillationLoss, TopKTargets, _normalise, blended


def binary_soft_target_kl(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Σ over labels of KL(Bernoulli(σ(teacher / T)) || Bernoulli(σ(student / T))) × T², per counted item.

    Args:
        student_logits: `(batch, labels)`.
        teacher_logits: same shape.
        temperature: T > 0.
        num_items_in_batch: divisor of the summed loss; the number of (example, label) pairs when None.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ: "
            "teacher and student must predict the same label set"
        )
    student, teacher = student_logits.float() / temperature, teacher_logits.float() / temperature
    teacher_yes = torch.sigmoid(teacher)
    per_item = teacher_yes * (F.logsigmoid(teacher) - F.logsigmoid(student)) + (1 - teacher_yes) * (
        F.logsigmoid(-teacher) - F.logsigmoid(-student)
    )
    denominator = per_item.numel() if num_items_in_batch is None else num_items_in_batch
    return _normalise(per_item, torch.ones_like(per_item), denominator) * temperature**2


def multi_label_task_loss(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy of each label's sigmoid with the gold 0/1 labels; NaN labels add 0 but are counted.

    Args:
        logits: `(batch, labels)`.
        labels: same shape, 1.0 where the label applies, 0.0 where it does not, NaN for a transfer example.
        num_items_in_batch: divisor of the summed loss; the number of (example, label) pairs when None.
    """
    if labels.shape != logits.shape:
        raise ValueError(f"labels {tuple(labels.shape)} do not fit logits {tuple(logits.shape)}: one 0/1 per label")
    labels = labels.float()
    labelled = ~labels.isnan()
    per_item = F.binary_cross_entropy_with_logits(logits.float(), labels.nan_to_num(), reduction="none")
    per_item = torch.where(labelled, per_item, 0.0)
    denominator = labels.numel() if num_items_in_batch is None else num_items_in_batch
    return _normalise(per_item, torch.ones_like(per_item), denominator)


def multi_label_distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None,
    temperature: float,
    kd_loss_weight: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> DistillationLoss:
    """`loss = kd_loss_weight · binary_soft_target_kl + (1 − kd_loss_weight) · multi_label_task_loss`.

    With `labels=None` the loss is the soft-target part alone.
    """
    if isinstance(teacher_logits, TopKTargets):
        raise ValueError("a multi-label teacher's top-k classes say nothing of the others: cache all its logits")
    kd = binary_soft_target_kl(student_logits, teacher_logits, temperature, num_items_in_batch)
    task = multi_label_task_loss(student_logits, labels, num_items_in_batch) if labels is not None else None
    return blended(kd, task, kd_loss_weight)
