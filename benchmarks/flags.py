"""The benchmarks' command lines: a refused flag ends the run with argparse's one-line error, before any work."""

from transformers import HfArgumentParser


def parse_flags(*dataclass_types) -> tuple:
    """The script's flags into `dataclass_types`; a value they refuse ends the run with argparse's one-line error
    (exit status 2) before any work."""
    parser = HfArgumentParser(dataclass_types)
    try:
        return parser.parse_args_into_dataclasses()
    except ValueError as error:
        parser.error(str(error))
