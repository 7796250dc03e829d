"""`EmbeddingDistillationTrainer`: a `DistillationTrainer` whose student learns the teacher's embeddings."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from hfdistill.cache.teacher_outputs import TEACHER_EMBEDDING
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.embedding import embedding_contrastive, embedding_mse
from hfdistill.training.trainer import DistillationTrainer


class EmbeddingDistillationTrainer(DistillationTrainer):
    """Train a sentence encoder onto a teacher's sentence embeddings (multilingual distillation).

    Every training row is one sentence, tokenised for the student, with the teacher's embedding of its source sentence
    in the column `teacher_embedding`: for an English sentence that is its own embedding, for a translation it is the
    embedding of the English original. With `embedding_loss='mse'`, averaging `embedding_mse` over a batch that mixes
    both gives the paper's loss, MSE(student(en), teacher(en)) + MSE(student(xx), teacher(en)), up to a constant
    factor. With 'contrastive', `embedding_contrastive` ranks each row's target first among the batch's targets and
    `contrastive_negatives` rows drawn from `target_bank` at every step; 'mse+contrastive' adds the two, MSE weighted
    by `embedding_mse_weight`. The targets are computed once before training
    (`hfdistill.cache.embeddings.teacher_targets`), so no teacher is held or run here.

    Args:
        model: a `sentence_transformers.SentenceTransformer` (any module mapping token features to a dict with
            `sentence_embedding`).
        args: `DistillationArguments`; `temperature` and `kd_loss_weight` do not apply to embeddings.
        target_bank: `(n, dim)` teacher embeddings the contrastive negatives are drawn from (the training targets);
            None for the batch's own.
        retrieval: called with the student at every evaluation (`eval_strategy`), on the main process; the figures
            it returns (retrieval in the teacher's index, say) are logged beside the held-out loss, so
            `trainer_state.json` holds their curve over the steps.
        **kwargs: passed to `Trainer`.
    """

    def __init__(
        self,
        model: nn.Module,
        args: DistillationArguments,
        target_bank: torch.Tensor | None = None,
        retrieval: Callable[[nn.Module], dict[str, float]] | None = None,
        **kwargs: Any,
    ):
        # Evaluation then computes the held-out loss (the targets are the "labels") and gathers nothing else.
        args = replace(args, label_names=[TEACHER_EMBEDDING], prediction_loss_only=True)
        super().__init__(model=model, teacher_model=None, args=args, **kwargs)
        self.target_bank, self.retrieval = target_bank, retrieval

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """The held-out loss, then `retrieval`'s figures (prefixed like it), logged at this step."""
        metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
        if self.retrieval is not None and self.is_world_process_zero():
            found = {f"{metric_key_prefix}_{name}": value for name, value in self.retrieval(self.model).items()}
            self.log(found)
            metrics.update(found)
        return metrics

    def negatives(self, device: torch.device) -> torch.Tensor | None:
        """`contrastive_negatives` rows of the target bank drawn at random (all of it when smaller), or None."""
        if self.target_bank is None or self.args.contrastive_negatives == 0:
            return None
        if self.target_bank.device != device:  # moved once, not at every step
            self.target_bank = self.target_bank.to(device)
        bank = self.target_bank
        if len(bank) > self.args.contrastive_negatives:
            bank = bank[torch.randperm(len(bank), device=device)[: self.args.contrastive_negatives]]
        return bank

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ):
        features = {name: value for name, value in inputs.items() if name != TEACHER_EMBEDDING}
        outputs = model(features)
        embeddings, targets = outputs["sentence_embedding"], inputs[TEACHER_EMBEDDING]
        kind = self.args.embedding_loss
        loss = 0.0
        if kind in ("contrastive", "mse+contrastive"):
            negatives = self.negatives(targets.device)
            loss = embedding_contrastive(
                embeddings, targets, negatives, self.args.contrastive_temperature, num_items_in_batch
            )
        if kind == "mse":
            loss = embedding_mse(embeddings, targets, num_items_in_batch)
        elif kind == "mse+contrastive":
            loss = loss + self.args.embedding_mse_weight * embedding_mse(embeddings, targets, num_items_in_batch)
        return (loss, outputs) if return_outputs else loss
