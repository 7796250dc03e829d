"""Which teacher layers a student keeps: evenly spread by default, or the ones named, checked against the teacher."""

from torch import nn

from hfdistill.config.training import validate_layer_choice


def evenly_spread_layers(num_teacher_layers: int, num_student_layers: int) -> list[int]:
    """Layer indices from the first to the last, evenly spaced: 12 -> 6 gives DistilBERT's [0, 2, 4, 7, 9, 11].

    Args:
        num_teacher_layers: the teacher's depth.
        num_student_layers: how many of its layers the student keeps, in 1..num_teacher_layers.
    """
    if not 1 <= num_student_layers <= num_teacher_layers:
        raise ValueError(
            f"student_num_layers must be in 1..{num_teacher_layers} for a {num_teacher_layers}-layer teacher, "
            f"got {num_student_layers}"
        )
    if num_student_layers == 1:
        return [num_teacher_layers - 1]
    step = (num_teacher_layers - 1) / (num_student_layers - 1)
    return [round(i * step) for i in range(num_student_layers)]


def find_layer_list(model: nn.Module) -> str:
    """Dotted path of the encoder's layer `ModuleList`: the one whose length is the config's layer count."""
    num_layers = model.config.num_hidden_layers
    paths = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == num_layers
    ]
    if len(paths) != 1:
        raise ValueError(
            f"cannot tell which module list of {type(model).__name__} holds its {num_layers} layers "
            f"(candidates: {paths or 'none'}); build this student yourself and pass student_name_or_path"
        )
    return paths[0]


def resolve_layers(num_teacher_layers: int, layers: list[int] | None, num_layers: int | None) -> list[int]:
    """The teacher layers to keep: `layers` when given (validated), else `num_layers` (default half) spread evenly."""
    if layers is not None:
        validate_layer_choice(layers, num_layers, num_teacher_layers)
        return list(layers)
    return evenly_spread_layers(num_teacher_layers, num_layers or (num_teacher_layers + 1) // 2)


def layers_to_keep(args, teacher_config, keep_all_by_default: bool = False) -> list[int] | None:
    """The teacher layers a student built from the teacher keeps, from `student_layers` / `student_num_layers`.

    None for a named student (`student_name_or_path`), and, with `keep_all_by_default`, when neither flag is given
    (the student is a whole copy of the teacher); otherwise the layers chosen, or half of them spread evenly.
    """
    if args.student_name_or_path is not None:
        return None
    if keep_all_by_default and args.student_layers is None and args.student_num_layers is None:
        return None
    return resolve_layers(teacher_config.num_hidden_layers, args.student_layers, args.student_num_layers)
