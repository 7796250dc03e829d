"""Hidden-state losses (TinyBERT's MSE, DistilBERT's cosine) between paired student and teacher layers, per token
(`token_weights`), with the soft-target loss's divisor."""

import torch
import torch.nn.functional as F

from hfdistill.losses.common import _check_same_shape, _normalise


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
