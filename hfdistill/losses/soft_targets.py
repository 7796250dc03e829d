"""The soft-target losses: Hinton et al.'s KL at temperature T (scaled by T²), its top-k form for a cached teacher,
the task loss and the blend of the two (`distillation_loss`). Counting as in `hfdistill.losses.common`."""

import torch
import torch.nn.functional as F

from hfdistill.losses.common import DistillationLoss, TopKTargets, _normalise, blended, counted_mask


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


def topk_targets(teacher_logits: torch.Tensor, k: int, temperature: float) -> TopKTargets:
    """The teacher's `TopKTargets` at `temperature` from its full logits `(..., num_classes)`."""
    log_probs = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    top = log_probs.topk(k, dim=-1)
    rest = log_probs.scatter(-1, top.indices, -torch.inf).logsumexp(-1)
    return TopKTargets(top.indices, top.values, rest)


def topk_soft_target_kl(
    student_logits: torch.Tensor,
    teacher: TopKTargets,
    temperature: float,
    mask: torch.Tensor | None = None,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(teacher_T || student_T) x T² over k + 1 outcomes: the teacher's top-k classes and "any other class".

    For large output spaces whose full logits are too big to store. Both distributions are folded onto the same k + 1
    outcomes (the student's "other" is the softmax mass outside the teacher's k classes), so the value is exact when
    the k classes hold all the teacher's mass and otherwise a lower bound on the full KL.

    Args:
        student_logits: `(..., num_classes)`.
        teacher: `TopKTargets` computed at the same `temperature`.
        temperature: T > 0, the temperature the teacher's log-probabilities were computed at.
        mask: `student_logits.shape[:-1]`, 1 for counted items; all counted when None.
        num_items_in_batch: divisor for the summed loss; the mask's count when None.
    """
    if teacher.ids.shape[:-1] != student_logits.shape[:-1] or teacher.ids.shape != teacher.logprobs.shape:
        raise ValueError(
            f"teacher top-k ids {tuple(teacher.ids.shape)} and log-probs {tuple(teacher.logprobs.shape)} do not fit "
            f"student logits {tuple(student_logits.shape)}"
        )
    student_log_probs = F.log_softmax(student_logits.float() / temperature, dim=-1)
    student_top = student_log_probs.gather(-1, teacher.ids)
    # A finite fill, not -inf, keeps the gradient finite when the k classes are all the classes.
    outside = student_log_probs.scatter(-1, teacher.ids, torch.finfo(student_log_probs.dtype).min)
    student_rest = outside.logsumexp(-1)
    teacher_top, teacher_rest = teacher.logprobs.float(), teacher.rest_logprob.float()
    per_item = (teacher_top.exp() * (teacher_top - student_top)).sum(-1)
    rest = torch.where(teacher_rest > -torch.inf, teacher_rest.exp() * (teacher_rest - student_rest), 0.0)
    per_item = per_item + rest
    if mask is None:
        mask = torch.ones_like(per_item)
    return _normalise(per_item, mask, num_items_in_batch) * temperature**2


def task_loss(
    logits: torch.Tensor, labels: torch.Tensor, num_items_in_batch: int | torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy with the gold labels; labels of -100 are ignored, `UNLABELLED` ones add 0 but are counted.

    Args:
        logits: `(..., num_classes)`.
        labels: `logits.shape[:-1]`, class ids, `UNLABELLED` or -100.
        num_items_in_batch: divisor for the summed loss; the number of labels that are not -100 when None.
    """
    labelled = labels.ge(0)
    per_item = F.cross_entropy(logits.float().flatten(0, -2), labels.clamp(min=0).flatten(), reduction="none").view_as(
        labels
    )
    per_item = per_item * labelled
    denominator = counted_mask(labels, logits).sum() if num_items_in_batch is None else num_items_in_batch
    return _normalise(per_item, labelled.float(), denominator)


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor | TopKTargets,
    labels: torch.Tensor | None,
    temperature: float,
    kd_loss_weight: float,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> DistillationLoss:
    """`loss = kd_loss_weight · soft_target_kl + (1 − kd_loss_weight) · task_loss`.

    With `labels=None` the loss is the soft-target part alone (pure distillation on unlabelled data).

    Args:
        student_logits: `(..., num_classes)`.
        teacher_logits: same shape as `student_logits`, or the teacher's `TopKTargets` (`topk_soft_target_kl`).
        labels: `student_logits.shape[:-1]` class ids, -100 where ignored, or None.
        temperature: T > 0 for the soft-target part.
        kd_loss_weight: in [0, 1], the weight of the soft-target part.
        num_items_in_batch: divisor shared by both parts; the local count of labels that are not -100 when None.
    """
    mask = counted_mask(labels, student_logits)
    if isinstance(teacher_logits, TopKTargets):
        kd = topk_soft_target_kl(student_logits, teacher_logits, temperature, mask, num_items_in_batch)
    else:
        kd = soft_target_kl(student_logits, teacher_logits, temperature, mask, num_items_in_batch)
    task = task_loss(student_logits, labels, num_items_in_batch) if labels is not None else None
    return blended(kd, task, kd_loss_weight)
