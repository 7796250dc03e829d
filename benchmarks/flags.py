"""The benchmarks' command lines: a refused flag ends the run with argparse's one-line error, before any work."""

from transformers import HfArgumentParser


def parse_flags(*dataclass_types, argv: list[str] | None = None, description: str | None = None) -> tuple:
    """The script's flags (`argv`, default the command line's) into `dataclass_types`; a value they refuse ends the
    run with argparse's one-line error (exit status 2) before any work."""
    parser = HfArgumentParser(dataclass_types, description=description)
    try:
        return parser.parse_args_into_dataclasses(args=argv)
    except ValueError as error:
        parser.error(str(error))
