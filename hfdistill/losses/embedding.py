"""The embedding losses, one row per item: MSE to the teacher's embedding, and InfoNCE against the teacher's bank."""

import torch
import torch.nn.functional as F

from hfdistill.losses.common import _normalise

# Two targets whose cosine reaches this are one sentence's (a sentence and its translation share their source's).
SAME_TARGET_COSINE = 1 - 1e-5


def _check_shapes(student_embeddings: torch.Tensor, teacher_embeddings: torch.Tensor) -> None:
    if student_embeddings.shape != teacher_embeddings.shape:
        raise ValueError(
            f"student embeddings {tuple(student_embeddings.shape)} and teacher embeddings "
            f"{tuple(teacher_embeddings.shape)} differ: give the student a Dense layer to the teacher's dimension"
        )


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
    _check_shapes(student_embeddings, teacher_embeddings)
    per_item = (student_embeddings.float() - teacher_embeddings.float()).pow(2).mean(-1)
    return _normalise(per_item, torch.ones_like(per_item), num_items_in_batch)


def embedding_contrastive(
    student_embeddings: torch.Tensor,
    teacher_embeddings: torch.Tensor,
    negatives: torch.Tensor | None = None,
    temperature: float = 0.05,
    num_items_in_batch: int | torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE of each student embedding against the teacher's embeddings: the ranking a query of the teacher's index
    needs, rather than the position MSE asks for.

    Row i's candidates are the batch's teacher embeddings, then `negatives` (more teacher embeddings, for example of
    other training sentences); its positive is `teacher_embeddings[i]`. Scores are cosine similarities divided by
    `temperature`; the loss of a row is `-log softmax(scores)[positive]`. A candidate equal to the row's own target
    (cosine >= `SAME_TARGET_COSINE`: the target of the row's translation, or the row's sentence drawn again among the
    negatives) is the same answer, not a negative, and is left out. Rows are summed and divided by
    `num_items_in_batch` (the batch size when None).

    Args:
        student_embeddings: `(batch, dim)`.
        teacher_embeddings: `(batch, dim)`, each row's target.
        negatives: `(n, dim)` further teacher embeddings, or None for the batch's alone.
        temperature: > 0; smaller sharpens the softmax.
        num_items_in_batch: divisor for the summed loss; the batch size when None.
    """
    _check_shapes(student_embeddings, teacher_embeddings)
    targets = F.normalize(teacher_embeddings.float(), dim=-1)
    candidates = targets if negatives is None else torch.cat([targets, F.normalize(negatives.float(), dim=-1)])
    scores = F.normalize(student_embeddings.float(), dim=-1) @ candidates.T / temperature
    rows = torch.arange(len(targets), device=targets.device)
    same_answer = (targets @ candidates.T) >= SAME_TARGET_COSINE
    same_answer[rows, rows] = False  # the positive itself stays
    scores = scores.masked_fill(same_answer, float("-inf"))
    per_item = torch.logsumexp(scores, dim=-1) - scores[rows, rows]
    return _normalise(per_item, torch.ones_like(per_item), num_items_in_batch)
