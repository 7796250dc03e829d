"""`EmbeddingDistillationTrainer`: a `DistillationTrainer` whose student regresses onto the teacher's embeddings."""

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from hfdistill.cache.teacher_outputs import TEACHER_EMBEDDING
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.embedding import embedding_mse
from hfdistill.training.trainer import DistillationTrainer


class EmbeddingDistillationTrainer(DistillationTrainer):
    """Train a sentence encoder to reproduce a teacher's sentence embeddings (multilingual distillation).

    Every training row is one sentence, tokenised for the student, with the teacher's embedding of its source sentence
    in the column `teacher_embedding`: for an English sentence that is its own embedding, for a translation it is the
    embedding of the English original. Averaging `embedding_mse` over a batch that mixes both gives the paper's loss,
    MSE(student(en), teacher(en)) + MSE(student(xx), teacher(en)), up to a constant factor. The targets are computed
    once before training (`hfdistill.cache.embeddings.teacher_targets`), so no teacher is held or run here.

    Args:
        model: a `sentence_transformers.SentenceTransformer` (any module mapping token features to a dict with
            `sentence_embedding`).
        args: `DistillationArguments`; `temperature` and `kd_loss_weight` do not apply to embeddings.
        **kwargs: passed to `Trainer`.
    """

    def __init__(self, model: nn.Module, args: DistillationArguments, **kwargs: Any):
        # Evaluation then computes the held-out MSE (the targets are the "labels") and gathers nothing else.
        args = replace(args, label_names=[TEACHER_EMBEDDING], prediction_loss_only=True)
        super().__init__(model=model, teacher_model=None, args=args, **kwargs)

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ):
        features = {name: value for name, value in inputs.items() if name != TEACHER_EMBEDDING}
        outputs = model(features)
        loss = embedding_mse(outputs["sentence_embedding"], inputs[TEACHER_EMBEDDING], num_items_in_batch)
        return (loss, outputs) if return_outputs else loss
