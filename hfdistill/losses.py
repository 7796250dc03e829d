"""Distillation losses as pure tensor functions: tensors in, scalar out, no model or trainer inside.

Every loss sums over the counted items and divides once, by `num_items_in_batch` when the Trainer gives it (the
count over the whole accumulated, all-rank batch) and by the local count otherwise. That makes batch 4 x accumulation
1 and batch 2 x accumulation 2 give the same gradients. Items whose label is -100 are not counted, so token-level
tasks reuse the same functions. Items whose label is `UNLABELLED` (-1) are transfer examples: they count for the
soft-target and intermediate losses (and in the divisor) but not for the task loss.

The intermediate losses (hidden states, attention, self-attention relations) are per-token quantities. Each takes
`token_weights` `(batch, seq)` saying how much each token counts towards one item (`token_weights` builds them: a
sequence-level item spreads 1 over its attended tokens, a token-level item is its token), so they share the divisor
of the soft-target loss.
"""

from typing import NamedTuple

import torch
import torch.nn.functional as F

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


def token_weights(attention_mask: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """How much each token counts towards one item, `(batch, seq)`, for the per-token intermediate losses.

    Sequence-level labels `(batch,)` (or none): each counted sequence spreads a weight of 1 evenly over its attended
    tokens. Token-level labels `(batch, seq)`: each counted token weighs 1. Either way the weights sum to the number of
    counted items, the divisor the soft-target loss uses.
    """
    attended = attention_mask.float()
    if labels is not None and labels.dim() == attention_mask.dim():
        return labels.ne(IGNORE_INDEX).float() * attended
    per_sequence = attended / attended.sum(-1, keepdim=True).clamp(min=1)
    if labels is None:
        return per_sequence
    return per_sequence * labels.ne(IGNORE_INDEX).float().unsqueeze(-1)


def hidden_state_mse(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    token_weights: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error between hidden states, averaged over the width, weighted per token (TinyBERT).

    Args:
        student_hidden: `(batch, seq, width)`, already projected to the teacher's width.
        teacher_hidden: same shape.
        token_weights: `(batch, seq)`, from `token_weights`.
        num_items_in_batch: divisor for the summed loss; `token_weights.sum()` when None.
    """
    _check_same_shape("hidden states", student_hidden, teacher_hidden)
    per_token = (student_hidden.float() - teacher_hidden.float()).pow(2).mean(-1)
    return _normalise(per_token, token_weights, num_items_in_batch)


def hidden_state_cosine(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    token_weights: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """`1 − cos(student, teacher)` per token, weighted per token: matches directions, blind to scale (DistilBERT).

    Args:
        student_hidden: `(batch, seq, width)`, already projected to the teacher's width.
        teacher_hidden: same shape.
        token_weights: `(batch, seq)`, from `token_weights`.
        num_items_in_batch: divisor for the summed loss; `token_weights.sum()` when None.
    """
    _check_same_shape("hidden states", student_hidden, teacher_hidden)
    per_token = 1.0 - F.cosine_similarity(student_hidden.float(), teacher_hidden.float(), dim=-1)
    return _normalise(per_token, token_weights, num_items_in_batch)


def _check_same_shape(what: str, student: torch.Tensor, teacher: torch.Tensor) -> None:
    if student.shape != teacher.shape:
        raise ValueError(f"student {what} {tuple(student.shape)} and teacher {what} {tuple(teacher.shape)} differ")


def _kl_rows(teacher_log_probs: torch.Tensor, student_log_probs: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) over the last dimension; keys the teacher gives probability 0 add nothing."""
    teacher_probs = teacher_log_probs.exp()
    terms = teacher_probs * (teacher_log_probs - student_log_probs)
    return torch.where(teacher_probs > 0, terms, 0.0).sum(-1)


def _heads(states: torch.Tensor, num_heads: int) -> torch.Tensor:
    """`(batch, seq, width)` -> `(batch, heads, seq, width / heads)`."""
    batch, seq, width = states.shape
    if width % num_heads:
        raise ValueError(f"width {width} cannot be split into {num_heads} heads")
    return states.float().view(batch, seq, num_heads, width // num_heads).transpose(1, 2)


def relation_log_probs(
    left: torch.Tensor, right: torch.Tensor, attention_mask: torch.Tensor, num_heads: int
) -> torch.Tensor:
    """Log of `softmax(left · rightᵀ / sqrt(d))` per head over attended keys: `(batch, heads, seq, seq)`.

    With `left` the queries and `right` the keys of a layer and `num_heads` its own head count, this is the layer's
    attention distribution (absolute-position encoders: BERT, DistilBERT, RoBERTa).

    Args:
        left: `(batch, seq, width)`.
        right: `(batch, seq, width)`.
        attention_mask: `(batch, seq)`, 1 for real tokens.
        num_heads: heads to split the width into; `d = width / num_heads`.
    """
    left, right = _heads(left, num_heads), _heads(right, num_heads)
    scores = left @ right.transpose(-1, -2) / left.shape[-1] ** 0.5
    keys = attention_mask.bool()[:, None, None, :]
    return scores.masked_fill(~keys, torch.finfo(scores.dtype).min).log_softmax(-1)


def attention_kl(
    student_log_probs: torch.Tensor,
    teacher_log_probs: torch.Tensor,
    token_weights: torch.Tensor,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(teacher || student) between attention (or relation) distributions, mean over heads, weighted per query.

    Args:
        student_log_probs: `(batch, heads, seq, seq)` log-probabilities over keys (`relation_log_probs`).
        teacher_log_probs: same shape: head counts must agree.
        token_weights: `(batch, seq)`, from `token_weights`, weighting each query token.
        num_items_in_batch: divisor for the summed loss; `token_weights.sum()` when None.
    """
    if student_log_probs.shape != teacher_log_probs.shape:
        raise ValueError(
            f"student attention {tuple(student_log_probs.shape)} and teacher attention "
            f"{tuple(teacher_log_probs.shape)} differ: attention KL needs equal head counts; use relation distillation"
        )
    per_query = _kl_rows(teacher_log_probs.float(), student_log_probs.float()).mean(1)
    return _normalise(per_query, token_weights, num_items_in_batch)


def self_attention_relation_kl(
    student_qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    teacher_qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    attention_mask: torch.Tensor,
    token_weights: torch.Tensor,
    num_relation_heads: int,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """MiniLM v2's self-attention relation distillation (Wang et al., 2021), mean over the Q-Q, K-K and V-V relations.

    Each of queries, keys and values is split into `num_relation_heads` and related to itself by scaled dot product
    and softmax; the student's relations match the teacher's by KL. Relations are `seq × seq` whatever the widths, so
    teacher and student may differ in width and head count.

    Args:
        student_qkv: the student layer's queries, keys and values, each `(batch, seq, student_width)`.
        teacher_qkv: the teacher layer's, each `(batch, seq, teacher_width)`.
        attention_mask: `(batch, seq)`, 1 for real tokens.
        token_weights: `(batch, seq)`, from `token_weights`, weighting each query token.
        num_relation_heads: heads both widths are split into.
        num_items_in_batch: divisor for the summed loss; `token_weights.sum()` when None.
    """
    losses = [
        attention_kl(
            relation_log_probs(student, student, attention_mask, num_relation_heads),
            relation_log_probs(teacher, teacher, attention_mask, num_relation_heads),
            token_weights,
            num_items_in_batch,
        )
        for student, teacher in zip(student_qkv, teacher_qkv, strict=True)
    ]
    return torch.stack(losses).mean()
