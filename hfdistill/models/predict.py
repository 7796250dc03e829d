"""A model's logits and the labels over a tokenised split, on this process alone (no collectives)."""

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader
from transformers import EvalPrediction
from transformers.trainer_pt_utils import nested_concat


def predict(run: Callable[[dict], np.ndarray], dataset, collator, batch_size: int = 64) -> EvalPrediction:
    """Logits of `run(batch)` and the labels over a tokenised split, on this process alone (no collectives).

    Per-token logits of batches padded to different lengths are padded alike (labels with -100), as `Trainer` does.
    """
    logits, labels = None, None
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
        batch_labels, batch_logits = batch.pop("labels").numpy(), run(batch)
        labels = batch_labels if labels is None else nested_concat(labels, batch_labels, padding_index=-100)
        logits = batch_logits if logits is None else nested_concat(logits, batch_logits, padding_index=-100)
    return EvalPrediction(predictions=logits, label_ids=labels)


def predict_test_split(model, test_dataset, collator, batch_size: int = 64) -> EvalPrediction:
    """`model`'s logits and the labels over the test split, on this process alone (so the main rank can run it by
    itself)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = model.to(device).eval()

    @torch.inference_mode()
    def run(batch):
        return model(**{name: value.to(device) for name, value in batch.items()}).logits.float().cpu().numpy()

    return predict(run, test_dataset, collator, batch_size)
