"""Reorder a BERT teacher so that its most active hidden channels, heads and feed-forward units come first.

The reordering is a permutation, so the teacher computes exactly what it did before (LayerNorm, attention and the
feed-forward block are all equivariant to it). A narrow student sliced from the reordered teacher (`StudentShape`,
the leading slices of every tensor) then keeps the teacher's most active parts instead of its first ones: the
activation-based width pruning of Minitron (Muralidharan et al., 2024), measured on the training texts.

Importance, averaged over the real (unpadded) tokens of the calibration batches:
- a hidden channel: the mean |activation| of every LayerNorm output on the residual stream (embeddings, each layer);
- a head: the mean L2 norm of its context vectors (the input of the attention's output projection);
- a feed-forward unit: its mean |activation| after the non-linearity.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from datasets import Dataset
from torch import nn
from torch.utils.data import DataLoader
from transformers import PreTrainedModel


@dataclass(frozen=True)
class Importance:
    """How active each hidden channel, and, per layer, each head and each feed-forward unit is."""

    channels: torch.Tensor
    heads: list[torch.Tensor]
    units: list[torch.Tensor]


CALIBRATION_EXAMPLES = 1024


def check_reorderable(config) -> None:
    """A `ValueError` unless `config` is a BERT model's, the layout `reorder_by_importance` knows."""
    if config.model_type != "bert":
        raise ValueError(
            f"student_init='importance' reorders a BERT teacher, got model_type {config.model_type!r}: "
            "use student_init='teacher' (leading slices) for this teacher"
        )


def bert_encoder(model: PreTrainedModel) -> nn.Module:
    """The `BertModel` inside `model`; a `ValueError` for any other architecture."""
    check_reorderable(model.config)
    return model.base_model


@torch.no_grad()
def measure_importance(model: PreTrainedModel, batches: Iterable[dict]) -> Importance:
    """Importance of `model`'s channels, heads and units on `batches` (dicts of input tensors with an attention mask)."""
    bert = bert_encoder(model)
    layers = bert.encoder.layer
    heads = model.config.num_attention_heads
    sums = {
        "channels": torch.zeros(model.config.hidden_size, dtype=torch.float64),
        "heads": [torch.zeros(heads, dtype=torch.float64) for _ in layers],
        "units": [torch.zeros(model.config.intermediate_size, dtype=torch.float64) for _ in layers],
    }
    mask: dict[str, torch.Tensor] = {}

    def masked_mean(values: torch.Tensor) -> torch.Tensor:  # (batch, seq, n) -> (n,), over real tokens
        weights = mask["tokens"].to(values.dtype).unsqueeze(-1)
        return ((values * weights).sum((0, 1)) / weights.sum()).double().cpu()

    def add_channels(_module, _inputs, output):
        sums["channels"].add_(masked_mean(output.abs()))

    def add_units(index):
        def hook(_module, _inputs, output):
            sums["units"][index].add_(masked_mean(output.abs()))

        return hook

    def add_heads(index):
        def hook(_module, inputs):
            context = inputs[0]
            per_head = context.unflatten(-1, (heads, -1)).norm(dim=-1)
            sums["heads"][index].add_(masked_mean(per_head))

        return hook

    norms = [bert.embeddings.LayerNorm]
    handles = []
    for index, layer in enumerate(layers):
        norms += [layer.attention.output.LayerNorm, layer.output.LayerNorm]
        handles.append(layer.intermediate.register_forward_hook(add_units(index)))
        handles.append(layer.attention.output.dense.register_forward_pre_hook(add_heads(index)))
    handles += [norm.register_forward_hook(add_channels) for norm in norms]
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            batch = {name: value.to(model.device) for name, value in batch.items() if name != "labels"}
            mask["tokens"] = batch["attention_mask"]
            model(**batch)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return Importance(sums["channels"], sums["heads"], sums["units"])


def _rows(parameter: torch.Tensor, order: torch.Tensor) -> None:
    parameter.copy_(parameter[order])


def _columns(parameter: torch.Tensor, order: torch.Tensor) -> None:
    parameter.copy_(parameter[:, order])


@torch.no_grad()
def reorder_by_importance(model: PreTrainedModel, importance: Importance) -> PreTrainedModel:
    """Permute `model` in place so that the most important channel, head and unit come first; returns it.

    The model's outputs do not change. A classifier reading the sequence output (token classification) is permuted
    with the channels; one reading the pooler's output (sequence classification) is not, since the pooler's output
    is not the residual stream.
    """
    bert = bert_encoder(model)
    channels = importance.channels.argsort(descending=True)
    embeddings = bert.embeddings
    for table in (embeddings.word_embeddings, embeddings.position_embeddings, embeddings.token_type_embeddings):
        if table is not None:
            _columns(table.weight, channels)
    for parameter in embeddings.LayerNorm.parameters():
        _rows(parameter, channels)
    head_width = model.config.hidden_size // model.config.num_attention_heads
    for index, layer in enumerate(bert.encoder.layer):
        head_order = importance.heads[index].argsort(descending=True)
        dims = (head_order.unsqueeze(1) * head_width + torch.arange(head_width)).flatten()
        attention = layer.attention
        for projection in (attention.self.query, attention.self.key, attention.self.value):
            _columns(projection.weight, channels)
            _rows(projection.weight, dims)
            _rows(projection.bias, dims)
        _columns(attention.output.dense.weight, dims)
        _rows(attention.output.dense.weight, channels)
        _rows(attention.output.dense.bias, channels)
        units = importance.units[index].argsort(descending=True)
        _columns(layer.intermediate.dense.weight, channels)
        _rows(layer.intermediate.dense.weight, units)
        _rows(layer.intermediate.dense.bias, units)
        _columns(layer.output.dense.weight, units)
        _rows(layer.output.dense.weight, channels)
        _rows(layer.output.dense.bias, channels)
        for norm in (attention.output.LayerNorm, layer.output.LayerNorm):
            for parameter in norm.parameters():
                _rows(parameter, channels)
    pooler = getattr(bert, "pooler", None)
    if pooler is not None:
        _columns(pooler.dense.weight, channels)
    classifier = getattr(model, "classifier", None)
    if pooler is None and isinstance(classifier, nn.Linear) and classifier.in_features == model.config.hidden_size:
        _columns(classifier.weight, channels)
    return model


def reorder_on_training_texts(
    model: PreTrainedModel, train: Dataset, collator: Callable, seed: int, size: int = CALIBRATION_EXAMPLES
) -> PreTrainedModel:
    """`reorder_by_importance` measured on `size` training examples drawn with `seed` (labels are not read)."""
    sample = train.shuffle(seed=seed).select(range(min(size, len(train))))
    return reorder_by_importance(
        model, measure_importance(model, DataLoader(sample, batch_size=64, collate_fn=collator))
    )
