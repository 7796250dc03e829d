"""The embedding loss: MSE between a student's and a teacher's embeddings, one row per item."""

import torch

from hfdistill.losses.common import _normalise


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
