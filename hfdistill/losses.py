"""Distillation losses as pure tensor functions: tensors in, scalar out, no model or trainer inside.

Every loss sums over the counted items and divides once, by `num_items_in_batch` when the Trainer gives it (the
count over the whole accumulated, all-rank batch) and by the local count otherwise. That makes batch 4 x accumulation
1 and batch 2 x accumulation 2 give the same gradients. Items whose label is -100 are not counted, so token-level
tasks reuse the same functions.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


class DistillationLoss(NamedTuple):
    """The blended loss and its two parts, each already normalised."""

    loss: torch.Tensor
    kd: torch.Tensor
    task: torch.Tensor


def _normalise(per_item: torch.Tensor, mask: torch.Tensor, num_items_in_batch: int | torch.Tensor | None):
    """Masked sum of `per_item` divided by the number of counted items; 0, not NaN, when nothing is counted."""
    total = (per_item * mask).sum()
    denominator = mask.sum() if num_items_in_batch is None else num_items_in_batch
    if torch.is_tensor(denominator):
        denominator = denominator.to(total.device)
        return total / denominator.clamp(min=1)
    return total / max(denominator, 1)


def counted_mask(labels: torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """Float mask of shape `logits.shape[:-1]`: 1 where the label is not -100 (everywhere when there are no labels)."""
    if labels is None:
        return logits.new_ones(logits.shape[:-1], dtype=torch.float32)
    return labels.ne(IGNORE_INDEX).float()


def soft_target_kl(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    mask: torch.Tensor | None = None,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(teacher_T || student_T) x T², the soft-target loss of Hinton et al. (2015).

    Both distributions are softened by `temperature`; the T² factor keeps the gradient scale independent of T.

    Args:
        student_logits: `(..., num_classes)`, e.g. `(batch, classes)` or `(batch, seq, classes)`.
        teacher_logits: same shape as `student_logits`.
        temperature: T > 0.
        mask: `student_logits.shape[:-1]`, 1 for counted items; all counted when None.
        num_items_in_batch: divisor for the summed loss; the mask's count when None.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student logits {tuple(student_logits.shape)} and teacher logits {tuple(teacher_logits.shape)} differ: "
            "teacher and student must predict the same label set"
        )
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    per_item = F.kl_div(student_log_probs, teacher_log_probs, reduction="none", log_target=True).sum(-1)
    if mask is None:
        mask = torch.ones_like(per_item)
    return _normalise(per_item, mask, num_items_in_batch) * temperature**2


def task_loss(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy with the gold labels; labels of -100 are ignored.

    Args:
        logits: `(..., num_classes)`.
        labels: `logits.shape[:-1]`, class ids or -100.
        num_items_in_batch: divisor for the summed loss; the number of labels that are not -100 when None.
    """
    mask = counted_mask(labels, logits)
    per_item = F.cross_entropy(
        logits.float().flatten(0, -2), labels.flatten(), ignore_index=IGNORE_INDEX, reduction="none"
    ).view_as(mask)
    return _normalise(per_item, mask, num_items_in_batch)


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor | None,
    temperature: float,
    kd_loss_weight: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> DistillationLoss:
    """`loss = kd_loss_weight · soft_target_kl + (1 − kd_loss_weight) · task_loss`.

    With `labels=None` the loss is the soft-target part alone (pure distillation on unlabelled data).

    Args:
        student_logits: `(..., num_classes)`.
        teacher_logits: same shape as `student_logits`.
        labels: `student_logits.shape[:-1]` class ids, -100 where ignored, or None.
        temperature: T > 0 for the soft-target part.
        kd_loss_weight: in [0, 1], the weight of the soft-target part.
        num_items_in_batch: divisor shared by both parts; the local count of labels that are not -100 when None.
    """
    mask = counted_mask(labels, student_logits)
    kd = soft_target_kl(student_logits, teacher_logits, temperature, mask, num_items_in_batch)
    task = task_loss(student_logits, labels, num_items_in_batch) if labels is not None else torch.zeros_like(kd)
    if labels is None:
        return DistillationLoss(kd, kd, task)
    return DistillationLoss(kd_loss_weight * kd + (1.0 - kd_loss_weight) * task, kd, task)


def embedding_mse(
    student_embeddings: torch.Tensor,
    teacher_embeddings: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error between student and teacher sentence embeddings (Reimers & Gurevych, 2020).

    Each sentence counts once: its squared error is averaged over the embedding dimensions, then summed over the
    batch and divided by `num_items_in_batch` (the batch size when None), so an unaccumulated batch gives exactly
    `F.mse_loss(student_embeddings, teacher_embeddings)`.

    Args:
        student_embeddings: `(batch, dim)`.
        teacher_embeddings: `(batch, dim)`, the targets.
        num_items_in_batch: divisor for the summed loss; the batch size when None.
    """
    if student_embeddings.shape != teacher_embeddings.shape:
        raise ValueError(
            f"student embeddings {tuple(student_embeddings.shape)} and teacher embeddings "
            f"{tuple(teacher_embeddings.shape)} differ: give the student a Dense layer to the teacher's dimension"
        )
    per_item = (student_embeddings.float() - teacher_embeddings.float()).pow(2).mean(-1)
    return _normalise(per_item, torch.ones_like(per_item), num_items_in_batch)
