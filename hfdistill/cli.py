"""The `hfdistill` command line: thin sub-commands over the library."""

import argparse
import logging
import sys

import transformers
from transformers import HfArgumentParser

from .config import DataArguments, DistillationArguments
from .quickstart import DEFAULTS, QuickstartArguments, run_quickstart

logger = logging.getLogger("hfdistill")


def quickstart(argv: list[str]) -> int:
    parser = HfArgumentParser(
        (DistillationArguments, DataArguments, QuickstartArguments),
        prog="hfdistill quickstart",
        description="Fine-tune all-MiniLM-L6-v2 on movie reviews, distil a 3-layer DistilBERT from it, fine-tune "
        "the same student without the teacher, and compare all three. Offline; about 10 minutes on 2 CPU cores.",
    )
    parser.set_defaults(**DEFAULTS)
    args, data_args, quickstart_args = parser.parse_args_into_dataclasses(args=argv)
    report = run_quickstart(args, data_args, quickstart_args)
    print(f"\n{report['table']}\n\nreport: {args.output_dir}/report.json")
    return 0


COMMANDS = {"quickstart": quickstart}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="hfdistill", description="Knowledge distillation for Hugging Face encoders.")
    parser.add_argument(
        "command", choices=sorted(COMMANDS), help="what to run; `hfdistill COMMAND --help` for its flags"
    )
    if not argv or argv[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if argv else 2
    command = parser.parse_args(argv[:1]).command
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.logging.set_verbosity_warning()
    try:
        return COMMANDS[command](argv[1:])
    except (ValueError, FileNotFoundError) as error:
        print(f"hfdistill {command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
