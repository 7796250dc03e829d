"""What several sub-commands read before their parser is built: a flag's value, the logits-or-embeddings mode, and
the sentence-embedding stages' module (imported only when a command embeds)."""

import argparse

from transformers import HfArgumentParser


def embeddings():
    """The sentence-embedding stages' module, imported when a command embeds: sentence-transformers loads only then."""
    from hfdistill.run import embedding_stages

    return embedding_stages


CACHE_MODES = ("logits", "embeddings")


def mode_of(argv: list[str]) -> str:
    """`--mode` (logits or embeddings), read before the parser for that mode is built."""
    mode_flag = argparse.ArgumentParser(add_help=False)
    mode_flag.add_argument("--mode", choices=CACHE_MODES, default="logits")
    return mode_flag.parse_known_args(argv)[0].mode


def flag_value(argv: list[str], flag: str) -> str | None:
    """The value of `flag` in `argv` (`--flag value` or `--flag=value`), read before the parser is chosen."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument(flag)
    return getattr(peek.parse_known_args(argv)[0], flag.lstrip("-"))


def add_mode_flag(parser: HfArgumentParser, deprecated: bool = False) -> None:
    help_text = (
        "logits: a fine-tuned classifier on a task (the data flags of `distill`); embeddings: a sentence-embedding "
        "teacher on parallel sentences (the data flags of `multilingual`, whose defaults apply)."
    )
    if deprecated:
        help_text = "Deprecated: the task is read from the teacher. " + help_text
    parser.add_argument("--mode", choices=CACHE_MODES, default=None if deprecated else "logits", help=help_text)
