"""Distillation losses as pure tensor functions (tensors in, scalar out, no model or trainer inside): the counting
every loss shares.

Every loss sums over the counted items and divides once, by `num_items_in_batch` when the Trainer gives it (the
count over the whole accumulated, all-rank batch) and by the local count otherwise. That makes batch 4 x accumulation
1 and batch 2 x accumulation 2 give the same gradients. Items whose label is -100 are not counted, so token-level
tasks reuse the same functions. Items whose label is `UNLABELLED` (-1) are transfer examples: they count for the
soft-target and intermediate losses (and in the divisor) but not for the task loss; a float label (regression,
multi-label) of NaN marks a transfer example the same way.

The intermediate losses (hidden states, attention, self-attention relations) are per-token quantities. Each takes
`token_weights` `(batch, seq)` saying how much each token counts towards one item (`token_weights` builds them: a
sequence-level item spreads 1 over its attended tokens, a token-level item is its token), so they share the divisor
of the soft-target loss."""

from typing import NamedTuple

import torch

IGNORE_INDEX = -100
UNLABELLED = -1


class TopKTargets(NamedTuple):
    """A teacher's distribution at temperature T kept sparse: its k most likely classes and the mass of the rest.

    Shapes: `ids` and `logprobs` `(..., k)`; `rest_logprob` `(...)`, the log of `1 - sum(exp(logprobs))` (-inf when
    the k classes hold all the mass).
    """

    ids: torch.Tensor
    logprobs: torch.Tensor
    rest_logprob: torch.Tensor


class DistillationLoss(NamedTuple):
    """The blended loss of soft targets and task, and its two parts, each already normalised."""

    loss: torch.Tensor
    kd: torch.Tensor
    task: torch.Tensor


def blended(kd: torch.Tensor, task: torch.Tensor | None, kd_loss_weight: float) -> DistillationLoss:
    """`kd_loss_weight · kd + (1 − kd_loss_weight) · task` with its parts; the soft-target part alone (and a task
    part of 0) when there are no labels (`task` None)."""
    if task is None:
        return DistillationLoss(kd, kd, torch.zeros_like(kd))
    return DistillationLoss(kd_loss_weight * kd + (1.0 - kd_loss_weight) * task, kd, task)


def _normalise(per_item: torch.Tensor, mask: torch.Tensor, num_items_in_batch: int | torch.Tensor | None):
    """Masked sum of `per_item` divided by the number of counted items; 0, not NaN, when nothing is counted."""
    total = (per_item * mask).sum()
    denominator = mask.sum() if num_items_in_batch is None else num_items_in_batch
    if torch.is_tensor(denominator):
        denominator = denominator.to(total.device)
        return total / denominator.clamp(min=1)
    return total / max(denominator, 1)


def counted_mask(labels: torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """Float mask of shape `logits.shape[:-1]`: 1 where the label is not -100 (everywhere when there are no labels).

    Transfer items (`UNLABELLED`) are counted: they carry the teacher's soft targets.
    """
    if labels is None:
        return logits.new_ones(logits.shape[:-1], dtype=torch.float32)
    return labels.ne(IGNORE_INDEX).float()


def token_weights(attention_mask: torch.Tensor, labels: torch.Tensor | None, per_token: bool = False) -> torch.Tensor:
    """How much each token counts towards one item, `(batch, seq)`, for the per-token intermediate losses.

    Token-level labels (`per_token`, `(batch, seq)`): each counted token weighs 1. Sequence-level labels, one per
    sequence `(batch,)` or several (`(batch, outputs)`: regression outputs, multi-label labels), or none: each
    sequence spreads the number of its counted labels (1 without labels) evenly over its attended tokens. Either way
    the weights sum to the number of counted items, the divisor the soft-target loss uses.
    """
    attended = attention_mask.float()
    if per_token:
        return labels.ne(IGNORE_INDEX).float() * attended
    per_sequence = attended / attended.sum(-1, keepdim=True).clamp(min=1)
    if labels is None:
        return per_sequence
    counted = labels.ne(IGNORE_INDEX).float().reshape(len(labels), -1).sum(-1, keepdim=True)
    return per_sequence * counted


def _check_same_shape(what: str, student: torch.Tensor, teacher: torch.Tensor) -> None:
    if student.shape != teacher.shape:
        raise ValueError(f"student {what} {tuple(student.shape)} and teacher {what} {tuple(teacher.shape)} differ")


def _kl_rows(teacher_log_probs: torch.Tensor, student_log_probs: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) over the last dimension; keys the teacher gives probability 0 add nothing."""
    teacher_probs = teacher_log_probs.exp()
    terms = teacher_probs * (teacher_log_probs - student_log_probs)
    return torch.where(teacher_probs > 0, terms, 0.0).sum(-1)
