"""The benchmarks' command lines: a refused flag ends the run with argparse's one-line error, before any work."""

from pathlib import Path

from transformers import HfArgumentParser


def parse_flags(*dataclass_types, argv: list[str] | None = None, description: str | None = None) -> tuple:
    """The script's flags (`argv`, default the command line's) into `dataclass_types`; a value they refuse ends the
    run with argparse's one-line error (exit status 2) before any work."""
    parser = HfArgumentParser(dataclass_types, description=description)
    try:
        return parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        parser.error(str(error))


def check_flags(parser, args, at_least_one: tuple[str, ...] = (), folders: tuple[str, ...] = ()) -> None:
    """Refuse, with argparse's one-line error (exit status 2) before any work, a count under 1 among `at_least_one`
    or a missing folder among `folders` (flag names as `args` holds them)."""
    for name in at_least_one:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be >= 1, got {value}")
    for name in folders:
        if not Path(getattr(args, name)).is_dir():
            parser.error(f"--{name} {getattr(args, name)} is not a folder: give a fine-tuned model's folder")
