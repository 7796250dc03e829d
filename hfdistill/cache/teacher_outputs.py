"""Dataset columns that carry a teacher's precomputed outputs, and the collator that batches them.

A training row may carry, instead of the teacher running on its batch:
- `teacher_logits`: the teacher's logits, `(num_labels,)` for a sequence or `(tokens, num_labels)` for token tasks,
  one row per real token (padding removed);
- `teacher_topk_ids`, `teacher_topk_logprobs`, `teacher_rest_logprob`: the teacher's k most likely classes, their
  log-probabilities at temperature T, and the log of the probability mass left to all other classes;
- `teacher_embedding`: a sentence embedding `(dim,)`.
Values are per example, so shuffling, dynamic padding and `group_by_length` work as they do without them.
"""

import numpy as np
import torch

from hfdistill.losses.common import TopKTargets

TEACHER_LOGITS = "teacher_logits"
TEACHER_TOPK_IDS = "teacher_topk_ids"
TEACHER_TOPK_LOGPROBS = "teacher_topk_logprobs"
TEACHER_REST_LOGPROB = "teacher_rest_logprob"
TEACHER_EMBEDDING = "teacher_embedding"
TEACHER_TOPK = (TEACHER_TOPK_IDS, TEACHER_TOPK_LOGPROBS, TEACHER_REST_LOGPROB)
TEACHER_OUTPUTS = (TEACHER_LOGITS, *TEACHER_TOPK, TEACHER_EMBEDDING)
NOT_TEACHER_INPUTS = ("labels", *TEACHER_OUTPUTS)


def carries_teacher_outputs(dataset) -> bool:
    """True when `dataset` has a column of precomputed teacher outputs, so no teacher needs to run."""
    return bool(set(getattr(dataset, "column_names", None) or []) & set(TEACHER_OUTPUTS))


def teacher_input_columns(column_names: list[str]) -> list[str]:
    """The columns a teacher reads: all but the labels and the teacher's own outputs."""
    return [name for name in column_names if name not in NOT_TEACHER_INPUTS]


def soft_targets_in(inputs: dict[str, torch.Tensor]) -> torch.Tensor | TopKTargets | None:
    """The teacher's soft targets carried by the batch, or None when the teacher must run."""
    if TEACHER_LOGITS in inputs:
        return inputs[TEACHER_LOGITS]
    if TEACHER_TOPK_IDS in inputs:
        return TopKTargets(inputs[TEACHER_TOPK_IDS], inputs[TEACHER_TOPK_LOGPROBS], inputs[TEACHER_REST_LOGPROB])
    return None


def _is_token_level(features: list[dict]) -> bool:
    first = features[0]
    name = TEACHER_LOGITS if TEACHER_LOGITS in first else TEACHER_TOPK_IDS
    return name in first and np.ndim(first[name]) == 2


def _pad_tokens(rows: list, attention_mask: torch.Tensor) -> torch.Tensor:
    """Place each example's per-token rows at its attended positions of the padded batch (either padding side)."""
    flat = torch.cat([torch.as_tensor(np.asarray(row)) for row in rows])
    attended = attention_mask.bool()
    if attended.sum() != len(flat):
        raise ValueError(
            f"cached teacher outputs cover {len(flat)} tokens but the batch attends to {int(attended.sum())}: "
            "the cache was built from other token ids; rebuild it"
        )
    padded = flat.new_zeros((*attention_mask.shape, *flat.shape[1:]))
    padded[attended] = flat
    return padded


class TeacherOutputCollator:
    """Collate the teacher-output columns beside whatever `collator` makes of the other columns.

    Sequence-level outputs are stacked; token-level ones are padded to the batch's length with zeros (padding is
    never counted by the losses). Batches without teacher outputs (evaluation) pass straight through.
    """

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, features: list[dict]) -> dict:
        names = [name for name in TEACHER_OUTPUTS if name in features[0]]
        if not names:
            return self.collator(features)
        token_level = _is_token_level(features)
        batch = self.collator([{k: v for k, v in row.items() if k not in names} for row in features])
        for name in names:
            rows = [row[name] for row in features]
            if token_level:
                if "attention_mask" not in batch:
                    raise ValueError("token-level teacher outputs need an attention_mask in the batch to be padded")
                batch[name] = _pad_tokens(rows, batch["attention_mask"])
            else:
                batch[name] = torch.as_tensor(np.asarray(rows))
        for name in (TEACHER_LOGITS, TEACHER_TOPK_LOGPROBS, TEACHER_REST_LOGPROB, TEACHER_EMBEDDING):
            if name in batch:
                batch[name] = batch[name].float()
        return batch
