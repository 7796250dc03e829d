"""What the intermediate-layer losses read from teacher and student: the layer map, projections, queries/keys/values.

- The layer map pairs each student hidden state with a teacher one (index 0 is the embeddings' output).
- `attach_projections` gives the student one learned linear map per mapped hidden state when the widths differ.
  They live on the student, so the optimizer, DDP, FSDP and DeepSpeed treat them like its own weights, and they are
  listed in the student's `_keys_to_ignore_on_save`: the saved student has exactly its own parameters (checkpoints
  keep them, `projections_saved`, so that a resumed run continues them).
- `capture_qkv` records the query, key and value projections of chosen layers with forward hooks, for attention
  and relation losses, without switching either model to eager attention.
- `mapped_hidden_loss` and `paired_attention_loss` apply the pure losses of `hfdistill.losses` over the layer map.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from transformers import PreTrainedModel

from hfdistill.losses.attention import attention_kl, relation_log_probs, self_attention_relation_kl
from hfdistill.losses.hidden_states import hidden_state_cosine, hidden_state_mse
from hfdistill.models.layers import find_layer_list

PROJECTIONS = "distillation_projections"
# Last name of the query/key/value linear maps inside one layer, by model family (BERT, DistilBERT, most others).
QKV_NAMES = (("query", "q_lin", "q_proj"), ("key", "k_lin", "k_proj"), ("value", "v_lin", "v_proj"))


def default_layer_map(student_num_layers: int, teacher_num_layers: int) -> list[int]:
    """Teacher hidden-state index for each student hidden state, TinyBERT's uniform map: embeddings to embeddings,
    student layer m to teacher layer m · L_teacher / L_student (a 3-layer student of a 6-layer teacher: [0, 2, 4, 6])."""
    return [round(m * teacher_num_layers / student_num_layers) for m in range(student_num_layers + 1)]


def layer_map_of_copied_layers(layers: list[int]) -> list[int]:
    """The layer map of a student built from teacher `layers` (0-based): each student layer matches the teacher layer
    it started as, so the hidden-state loss starts near 0 ([0, 2, 5] -> [0, 1, 3, 6])."""
    return [0, *(index + 1 for index in layers)]


def resolve_layer_map(layer_map: list[int] | None, student_config, teacher_config) -> list[int]:
    """`layer_map` checked against both models' depths (from their configs), or the default one."""
    student_layers, teacher_layers = student_config.num_hidden_layers, teacher_config.num_hidden_layers
    if layer_map is None:
        return default_layer_map(student_layers, teacher_layers)
    if len(layer_map) != student_layers + 1:
        raise ValueError(
            f"distill_layer_map has {len(layer_map)} entries but the student has {student_layers + 1} hidden states "
            f"(embeddings and {student_layers} layers): give one teacher index per student hidden state"
        )
    bad = [index for index in layer_map if not 0 <= index <= teacher_layers]
    if bad:
        raise ValueError(
            f"distill_layer_map entries {bad} out of range: the teacher's hidden states are 0..{teacher_layers} "
            "(0 is the embeddings' output)"
        )
    return list(layer_map)


def width(model: PreTrainedModel) -> int:
    return model.config.hidden_size


def relation_heads(args, student_config) -> int:
    """Heads of relation distillation: `relation_heads`, or the student's attention head count."""
    return args.relation_heads or student_config.num_attention_heads


def check_intermediate_plan(args, student_config, teacher_config) -> list[int] | None:
    """Refuse, before any work, intermediate losses the two models cannot give; the resolved layer map (None when
    no intermediate loss is weighted)."""
    if not (args.needs_hidden_states or args.needs_attention):
        unused = [f"--{name}" for name in ("distill_layer_map", "relation_heads") if getattr(args, name) is not None]
        if unused:
            raise ValueError(
                f"{', '.join(unused)} only shape the intermediate losses: set --hidden_loss_weight or "
                "--attention_loss_weight > 0, or drop them"
            )
        return None
    layer_map = resolve_layer_map(args.distill_layer_map, student_config, teacher_config)
    if not args.needs_attention:
        return layer_map
    student_heads, teacher_heads = student_config.num_attention_heads, teacher_config.num_attention_heads
    if args.attention_loss == "kl" and student_heads != teacher_heads:
        raise ValueError(
            f"attention_loss='kl' needs equal head counts, but the student has {student_heads} and the teacher "
            f"{teacher_heads}: use attention_loss='relation' (any head counts) or a student with {teacher_heads} heads"
        )
    heads = relation_heads(args, student_config)
    widths = student_config.hidden_size, teacher_config.hidden_size
    if args.attention_loss == "relation" and (widths[0] % heads or widths[1] % heads):
        raise ValueError(
            f"relation_heads={heads} must divide both widths (student {widths[0]}, teacher {widths[1]}): "
            "set --relation_heads to a common divisor"
        )
    return layer_map


def attach_projections(student: PreTrainedModel, teacher_width: int) -> nn.ModuleList | None:
    """Give `student` one `Linear(student width -> teacher width)` per hidden state, never saved with it.

    Each starts by placing the student's dimensions on the teacher's leading ones, where a student sliced from the
    teacher (`StudentShape`) took them from.

    While they are attached, a forward asked for hidden states returns them projected to the teacher's width: the
    projections must run inside the forward, where DDP's search for unused parameters sees them, and the output must
    keep its own fields for DDP to rebuild it. Returns the projections, or None when the widths agree (the states are
    compared directly).
    """
    if width(student) == teacher_width:
        return None
    num_states = student.config.num_hidden_layers + 1
    projections = nn.ModuleList(nn.Linear(width(student), teacher_width) for _ in range(num_states))
    with torch.no_grad():  # start as the inverse of slicing: student dimension i -> teacher dimension i
        for projection in projections:
            projection.weight.copy_(torch.eye(teacher_width, width(student)))
            projection.bias.zero_()
    projections.to(device=student.device, dtype=student.dtype)
    student.add_module(PROJECTIONS, projections)
    student._keys_to_ignore_on_save = {*(student._keys_to_ignore_on_save or ()), *projection_keys(student)}

    def project(_module, _inputs, outputs):
        states = getattr(outputs, "hidden_states", None)
        if states is not None:
            outputs.hidden_states = tuple(map(lambda projection, state: projection(state), projections, states))
        return outputs

    student.register_forward_hook(project)
    return projections


def projection_keys(model: nn.Module) -> list[str]:
    """State-dict keys of the projections attached to `model`."""
    return [name for name in model.state_dict() if name.startswith(PROJECTIONS + ".")]


@contextmanager
def projections_saved(model: nn.Module) -> Iterator[None]:
    """While open, `save_pretrained` writes the projections too: a checkpoint must hold them for a resumed run to
    continue with their trained values, while the student's own saves leave them out."""
    ignored = getattr(model, "_keys_to_ignore_on_save", None)
    if ignored:
        model._keys_to_ignore_on_save = set(ignored) - set(projection_keys(model))
    try:
        yield
    finally:
        if ignored:
            model._keys_to_ignore_on_save = ignored


def _qkv_modules(layer: nn.Module, model_name: str) -> list[nn.Module]:
    modules = []
    for names in QKV_NAMES:
        found = [module for name, module in layer.named_modules() if name.rpartition(".")[2] in names]
        if len(found) != 1:
            raise ValueError(
                f"cannot find one {'/'.join(names)} projection in a layer of {model_name}: attention and relation "
                "losses need a BERT-style attention; set attention_loss_weight to 0"
            )
        modules.append(found[0])
    return modules


@contextmanager
def capture_qkv(model: nn.Module, layers: list[int]) -> Iterator[dict[int, list[torch.Tensor]]]:
    """Record the queries, keys and values `(batch, seq, width)` of `layers` (0-based) while the block runs.

    Yields a dict filled by the forward pass: layer index -> [queries, keys, values].
    """
    captured: dict[int, list[torch.Tensor]] = {index: [None, None, None] for index in layers}
    layer_list = model.get_submodule(find_layer_list(model)) if layers else []
    handles = []
    for index in layers:
        for slot, module in enumerate(_qkv_modules(layer_list[index], type(model).__name__)):

            def hook(_module, _inputs, output, index=index, slot=slot):
                captured[index][slot] = output

            handles.append(module.register_forward_hook(hook))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def mapped_hidden_loss(
    student_states, teacher_states, layer_map: list[int], kind: str, token_weights, num_items_in_batch
) -> torch.Tensor:
    """`kind` ('mse' or 'cosine') between each student hidden state (at the teacher's width) and the teacher state
    the layer map gives it, averaged over the map.

    Args:
        student_states: the student's hidden states, embeddings first, each `(batch, seq, teacher_width)`.
        teacher_states: the teacher's, embeddings first.
        layer_map: teacher index for each student index.
        kind: 'mse' or 'cosine'.
        token_weights: `(batch, seq)`, from `hfdistill.losses.token_weights`.
        num_items_in_batch: the divisor shared with the other losses.
    """
    loss_fn = hidden_state_mse if kind == "mse" else hidden_state_cosine
    losses = [
        loss_fn(student_states[index], teacher_states[teacher_index], token_weights, num_items_in_batch)
        for index, teacher_index in enumerate(layer_map)
    ]
    return torch.stack(losses).mean()


def paired_attention_loss(pairs, kind: str, heads: int, attention_mask, token_weights, num_items_in_batch):
    """Attention KL (`kind` 'kl', from queries and keys) or MiniLM relation KL ('relation', from queries, keys and
    values) for each (student layer, teacher layer) pair, averaged over the pairs.

    Args:
        pairs: `[(student [q, k, v], teacher [q, k, v]), ...]`, each tensor `(batch, seq, width)`.
        kind: 'kl' or 'relation'.
        heads: the head count both sides are split into (the models' own for 'kl', the relation heads otherwise).
        attention_mask: `(batch, seq)`, 1 for real tokens.
        token_weights: `(batch, seq)`, from `hfdistill.losses.token_weights`.
        num_items_in_batch: the divisor shared with the other losses.
    """
    losses = []
    for (student_q, student_k, student_v), (teacher_q, teacher_k, teacher_v) in pairs:
        if kind == "kl":
            student = relation_log_probs(student_q, student_k, attention_mask, heads)
            teacher = relation_log_probs(teacher_q, teacher_k, attention_mask, heads)
            losses.append(attention_kl(student, teacher, token_weights, num_items_in_batch))
        else:
            student_qkv, teacher_qkv = (student_q, student_k, student_v), (teacher_q, teacher_k, teacher_v)
            losses.append(
                self_attention_relation_kl(
                    student_qkv, teacher_qkv, attention_mask, token_weights, heads, num_items_in_batch
                )
            )
    return torch.stack(losses).mean()
