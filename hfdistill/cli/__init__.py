"""The `hfdistill` command line: picks a sub-command by name and maps its bad input to one line and exit status 2.

The sub-commands (`hfdistill.cli.subcommands`) import transformers and torch, which take seconds; they load only once a
command is named, so `hfdistill --help` and a misspelt command answer at once.
"""

import argparse
import logging
import sys

# name -> what it does, in the order `hfdistill --help` lists them
COMMANDS = {
    "quickstart": "the offline demo",
    "distill": "teacher -> student",
    "train-teacher": "fine-tune a teacher",
    "cache-teacher": "run a teacher once and keep its outputs for later runs",
    "evaluate": "compare saved models",
    "multilingual": "make a sentence-embedding model multilingual",
    "push": "upload a student to the Hub",
    "export": "ONNX (and int8) with an accuracy check",
    "search": "choose T and the loss weights by validation (Optuna)",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="hfdistill",
        description="Knowledge distillation for Hugging Face encoders. `hfdistill COMMAND --help` for a command's flags.",
    )
    parser.add_argument(
        "command", choices=list(COMMANDS), help="; ".join(f"{name}: {what}" for name, what in COMMANDS.items())
    )
    if not argv or argv[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if argv else 2
    command = parser.parse_args(argv[:1]).command
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)

    import transformers
    from huggingface_hub.errors import HfHubHTTPError

    from hfdistill.cli import subcommands
    from hfdistill.numerics.finite import NonFiniteError

    transformers.logging.set_verbosity_warning()
    try:
        status = subcommands.COMMANDS[command](argv[1:])
    except (ValueError, FileNotFoundError, HfHubHTTPError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"hfdistill {command}: error: {message}", file=sys.stderr)
        close_processes(together=False)
        return 2
    except NonFiniteError as error:  # not the input's fault: the run itself went wrong, and says what to try
        print(f"hfdistill {command}: error: {error}", file=sys.stderr)
        close_processes(together=False)
        return 1
    close_processes(together=True)
    return status


def close_processes(together: bool) -> None:
    """Under `accelerate launch`, end this rank's process group before the process exits: after the other ranks
    (`together`, a run that ended well: the main rank is last, writing the report) or at once (an error). A rank that
    exits with the group open can abort in gloo's threads as the interpreter shuts down."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()
