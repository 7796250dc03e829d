"""Build a student from its teacher: pick layers, copy weights, check every shape.

Two kinds of student:
- `build_distilbert_student`: the `transformers` DistilBERT classes, initialised from a BERT-family teacher
  (embeddings plus the chosen layers), as in the DistilBERT paper;
- `build_truncated_student`: the teacher's own architecture with fewer layers, for any encoder transformers has.

Either may also be narrower than its teacher (`StudentShape`: hidden size, heads, feed-forward size). A narrower
student starts from the leading slices of the teacher's weights: the first hidden dimensions of every tensor
(word-embedding table included), the first heads and the first feed-forward units; or from random weights.
"""

import copy
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, DistilBertConfig, PreTrainedModel

from hfdistill.models.layers import find_layer_list, resolve_layers

# DistilBERT block parameter -> the BERT layer parameter it is copied from (both relative to one layer).
DISTILBERT_FROM_BERT_LAYER = {
    "attention.q_lin": "attention.self.query",
    "attention.k_lin": "attention.self.key",
    "attention.v_lin": "attention.self.value",
    "attention.out_lin": "attention.output.dense",
    "sa_layer_norm": "attention.output.LayerNorm",
    "ffn.lin1": "intermediate.dense",
    "ffn.lin2": "output.dense",
    "output_layer_norm": "output.LayerNorm",
}


@dataclass(frozen=True)
class StudentShape:
    """The widths of a built student and where its weights start. None: as the teacher."""

    hidden_size: int | None = None
    num_attention_heads: int | None = None
    intermediate_size: int | None = None
    init: Literal["teacher", "importance", "random"] = "teacher"

    def resolve(self, teacher_config) -> "StudentShape":
        """Every width filled in (the teacher's head width and feed-forward ratio kept) and checked."""
        teacher_hidden = teacher_config.hidden_size
        hidden = self.hidden_size or teacher_hidden
        head_width = teacher_hidden // teacher_config.num_attention_heads
        heads = self.num_attention_heads or max(1, hidden // head_width)
        intermediate = self.intermediate_size or round(hidden * teacher_config.intermediate_size / teacher_hidden)
        if hidden % heads:
            raise ValueError(
                f"student_hidden_size {hidden} is not a multiple of student_num_attention_heads {heads}: choose "
                "sizes where each head gets the same width"
            )
        teacher_sizes = (teacher_hidden, teacher_config.num_attention_heads, teacher_config.intermediate_size)
        if self.init != "random" and any(
            mine > theirs for mine, theirs in zip((hidden, heads, intermediate), teacher_sizes, strict=True)
        ):
            raise ValueError(
                f"a student initialised from the teacher cannot be wider than it: hidden {hidden}, heads {heads}, "
                f"feed-forward {intermediate} vs the teacher's {teacher_sizes}; use student_init='random' or smaller sizes"
            )
        return StudentShape(hidden, heads, intermediate, self.init)


def slice_leading(tensor: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The leading block of `tensor` with `shape` (each dimension cut to its first entries)."""
    return tensor[tuple(slice(0, size) for size in shape)]


def load_mapped_weights(student: nn.Module, sources: dict[str, torch.Tensor]) -> list[str]:
    """Copy `sources` (student parameter name -> tensor) into `student`; return the names left at their init.

    Raises `ValueError` naming the first parameter whose shape does not fit, or a name the student lacks.
    """
    targets = student.state_dict()
    for name, tensor in sources.items():
        if name not in targets:
            raise ValueError(f"the student has no parameter {name!r} to copy into")
        if targets[name].shape != tensor.shape:
            raise ValueError(
                f"shape mismatch for student parameter {name!r}: student {tuple(targets[name].shape)}, "
                f"teacher {tuple(tensor.shape)}"
            )
    student.load_state_dict(sources, strict=False)
    return sorted(set(targets) - set(sources))


def _layer_sources(teacher: PreTrainedModel, layers: list[int]) -> tuple[str, dict[int, dict[str, torch.Tensor]]]:
    """Path of the teacher's layer list, and for each kept teacher layer its parameters (relative names)."""
    path = find_layer_list(teacher)
    prefix = path + "."
    per_layer: dict[int, dict[str, torch.Tensor]] = {index: {} for index in layers}
    for name, tensor in teacher.state_dict().items():
        if name.startswith(prefix):
            index, _, rest = name[len(prefix) :].partition(".")
            if int(index) in per_layer:
                per_layer[int(index)][rest] = tensor
    return path, per_layer


def load_sliced_weights(student: nn.Module, sources: dict[str, torch.Tensor], shape: StudentShape) -> list[str]:
    """`load_mapped_weights` after cutting each source to the student's shape (a no-op at the teacher's widths);
    nothing is loaded for a random initialisation. Returns the names left at their initialisation."""
    if shape.init == "random":
        return []
    targets = student.state_dict()
    fitted = {
        name: slice_leading(tensor, targets[name].shape) if name in targets else tensor
        for name, tensor in sources.items()
    }
    return load_mapped_weights(student, {name: tensor.detach().clone() for name, tensor in fitted.items()})


def truncated_config(teacher_config, layers: list[int], shape: StudentShape | None = None):
    """The teacher's config with only `layers` and `shape`'s widths (default the teacher's)."""
    shape = (shape or StudentShape()).resolve(teacher_config)
    config = copy.deepcopy(teacher_config)
    config.num_hidden_layers = len(layers)
    config.hidden_size, config.num_attention_heads = shape.hidden_size, shape.num_attention_heads
    config.intermediate_size = shape.intermediate_size
    if isinstance(getattr(config, "layer_types", None), list):  # per-layer attention kinds (e.g. ModernBERT)
        config.layer_types = [config.layer_types[i] for i in layers]
    return config


def student_config(teacher_config, architecture: str, layers: list[int], shape: StudentShape | None = None):
    """The config of the student `build_student` makes, without building it (to check a run before any work)."""
    if architecture == "distilbert":
        return distilbert_config_from(teacher_config, len(layers), shape)
    if architecture == "same":
        return truncated_config(teacher_config, layers, shape)
    raise ValueError(f"student_architecture must be 'distilbert' or 'same', got {architecture!r}")


def build_truncated_student(
    teacher: PreTrainedModel,
    layers: list[int] | None = None,
    num_layers: int | None = None,
    shape: StudentShape | None = None,
) -> PreTrainedModel:
    """The teacher's architecture with only `layers` kept, every other weight (embeddings, head) copied.

    Args:
        teacher: any transformers encoder model (with or without a task head).
        layers: teacher layer indices to keep, in student order; default `num_layers` spread evenly.
        num_layers: student depth when `layers` is None; default half the teacher's.
        shape: narrower widths and the initialisation; default the teacher's widths, copied.
    """
    layers = resolve_layers(teacher.config.num_hidden_layers, layers, num_layers)
    shape = (shape or StudentShape()).resolve(teacher.config)
    student = type(teacher)(truncated_config(teacher.config, layers, shape))

    path, per_layer = _layer_sources(teacher, layers)
    sources = {name: tensor for name, tensor in teacher.state_dict().items() if not name.startswith(path + ".")}
    for student_index, teacher_index in enumerate(layers):
        for rest, tensor in per_layer[teacher_index].items():
            sources[f"{path}.{student_index}.{rest}"] = tensor
    left = load_sliced_weights(student, sources, shape)
    if left:
        raise ValueError(f"these student parameters have no teacher counterpart: {left}")
    return student.to(teacher.dtype)


def distilbert_config_from(teacher_config, num_layers: int, shape: StudentShape | None = None) -> DistilBertConfig:
    """A DistilBERT config with the teacher's vocabulary, activation, dropout and labels, and `shape`'s widths
    (default the teacher's)."""
    shape = (shape or StudentShape()).resolve(teacher_config)
    dropout = teacher_config.hidden_dropout_prob
    classifier_dropout = getattr(teacher_config, "classifier_dropout", None)
    return DistilBertConfig(
        vocab_size=teacher_config.vocab_size,
        max_position_embeddings=teacher_config.max_position_embeddings,
        dim=shape.hidden_size,
        n_layers=num_layers,
        n_heads=shape.num_attention_heads,
        hidden_dim=shape.intermediate_size,
        activation=teacher_config.hidden_act,
        dropout=dropout,
        attention_dropout=teacher_config.attention_probs_dropout_prob,
        seq_classif_dropout=classifier_dropout if classifier_dropout is not None else dropout,
        pad_token_id=teacher_config.pad_token_id,
        id2label=dict(teacher_config.id2label),
        label2id=dict(teacher_config.label2id),
        problem_type=teacher_config.problem_type,  # what it predicts (scores, several labels), and so its losses
    )


def build_distilbert_student(
    teacher: PreTrainedModel,
    layers: list[int] | None = None,
    num_layers: int | None = None,
    student_class: type = AutoModelForSequenceClassification,
    shape: StudentShape | None = None,
) -> PreTrainedModel:
    """A DistilBERT student initialised from a BERT-family teacher: embeddings plus the chosen layers.

    BERT adds a token-type embedding that DistilBERT lacks; segment 0's vector is folded into the position
    embeddings, so for single-segment input the untrained student reproduces the teacher cut to `layers`.
    The task head (pre-classifier and classifier) starts fresh, as DistilBERT's did.

    Args:
        teacher: a BERT-family model (`BertModel` or `BertFor…`), absolute position embeddings.
        layers: teacher layer indices to copy, in student order; default `num_layers` spread evenly.
        num_layers: student depth when `layers` is None; default half the teacher's.
        student_class: the auto class the student is built with (its head matches the task).
        shape: narrower widths and the initialisation; default the teacher's widths, copied.
    """
    if getattr(teacher.config, "position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            "a DistilBERT student needs a teacher with absolute position embeddings, got "
            f"{teacher.config.position_embedding_type!r}; use student_architecture='same'"
        )
    layers = resolve_layers(teacher.config.num_hidden_layers, layers, num_layers)
    shape = (shape or StudentShape()).resolve(teacher.config)
    student = student_class.from_config(distilbert_config_from(teacher.config, len(layers), shape))

    embeddings = teacher.base_model.embeddings
    position = embeddings.position_embeddings.weight
    if getattr(embeddings, "token_type_embeddings", None) is not None:
        position = position + embeddings.token_type_embeddings.weight[0]
    sources = {
        "distilbert.embeddings.word_embeddings.weight": embeddings.word_embeddings.weight,
        "distilbert.embeddings.position_embeddings.weight": position,
        "distilbert.embeddings.LayerNorm.weight": embeddings.LayerNorm.weight,
        "distilbert.embeddings.LayerNorm.bias": embeddings.LayerNorm.bias,
    }
    _, per_layer = _layer_sources(teacher, layers)
    for student_index, teacher_index in enumerate(layers):
        for student_name, teacher_name in DISTILBERT_FROM_BERT_LAYER.items():
            for kind in ("weight", "bias"):
                key = f"{teacher_name}.{kind}"
                if key not in per_layer[teacher_index]:
                    raise ValueError(
                        f"teacher layer {teacher_index} has no parameter {key!r}: a DistilBERT student needs a "
                        "BERT-family teacher; use student_architecture='same'"
                    )
                target = f"distilbert.transformer.layer.{student_index}.{student_name}.{kind}"
                sources[target] = per_layer[teacher_index][key]
    load_sliced_weights(student, sources, shape)
    return student.to(teacher.dtype)


def build_student(
    teacher: PreTrainedModel,
    architecture: str,
    layers: list[int] | None = None,
    num_layers: int | None = None,
    shape: StudentShape | None = None,
    student_class: type = AutoModelForSequenceClassification,
) -> PreTrainedModel:
    """Build a student of `architecture` and `shape` from `teacher`, its layers copied from the teacher's.

    Args:
        teacher: the fine-tuned teacher the student starts from.
        architecture: 'distilbert' (the DistilBERT classes, a BERT-family teacher) or 'same' (the teacher's own
            architecture with fewer layers, any encoder).
        layers: teacher layer indices to copy, in student order; default `num_layers` spread evenly.
        num_layers: student depth when `layers` is None; default half the teacher's, rounded up.
        shape: narrower widths and the initialisation; default the teacher's widths, copied.
        student_class: the auto class whose head a DistilBERT student gets (the task's); a truncated copy keeps the
            teacher's head.
    """
    if architecture == "distilbert":
        return build_distilbert_student(teacher, layers, num_layers, student_class, shape)
    if architecture == "same":
        return build_truncated_student(teacher, layers, num_layers, shape)
    raise ValueError(f"student_architecture must be 'distilbert' or 'same', got {architecture!r}")


def count_parameters(model: nn.Module) -> int:
    """Number of parameters, each shared tensor counted once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def freeze_input_embeddings(model: PreTrainedModel) -> None:
    """Keep the word-embedding table at its pretrained values (no gradient, no optimizer state). A static student's
    table is itself a parameter."""
    table = model.get_input_embeddings()
    (table if isinstance(table, nn.Parameter) else table.weight).requires_grad_(False)
