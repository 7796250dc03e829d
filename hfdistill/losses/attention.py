"""Attention losses: KL between attention distributions (TinyBERT) and MiniLM v2's self-attention relations, per
token (`token_weights`), with the soft-target loss's divisor."""

import torch

from hfdistill.losses.common import _kl_rows, _normalise


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
