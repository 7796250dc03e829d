"""`EmbeddingLossArguments`: how a sentence-embedding student is pulled onto its teacher's embeddings.

`DistillationArguments` takes these fields; only `hfdistill multilingual` (the sentence-embedding task) reads them,
and every task with logits refuses them when changed (`check_no_embedding_loss`)."""

from dataclasses import dataclass, field, fields
from typing import Literal

EMBEDDING_LOSSES = ("mse", "contrastive", "mse+contrastive")


@dataclass
class EmbeddingLossArguments:
    """The embedding loss: MSE to the teacher's embedding, InfoNCE against the teacher's bank of embeddings, or both."""

    embedding_loss: Literal["mse", "contrastive", "mse+contrastive"] = field(
        default="mse",
        metadata={
            "help": "Sentence embeddings: 'mse' (each sentence regresses onto the teacher's embedding of its source, "
            "Reimers & Gurevych 2020), 'contrastive' (InfoNCE: the teacher's embedding of its source must be the "
            "nearest among the teacher's embeddings of the batch and of --contrastive_negatives other training "
            "sentences, the ranking a query of the teacher's index needs) or 'mse+contrastive' (the sum, MSE weighted "
            "by --embedding_mse_weight)."
        },
    )
    contrastive_temperature: float = field(
        default=0.05,
        metadata={"help": "Temperature (> 0) of the contrastive loss's softmax over cosine similarities."},
    )
    contrastive_negatives: int = field(
        default=4096,
        metadata={
            "help": "Teacher embeddings of other training sentences drawn as extra negatives at every step, beside "
            "the batch's own (they are computed before training, so a step costs one more matrix product); 0 for the "
            "batch's alone."
        },
    )
    embedding_mse_weight: float = field(
        default=1000.0,
        metadata={
            "help": "Weight (>= 0) of the MSE term in 'mse+contrastive' (the MSE of unit vectors is about 1e-3 a "
            "dimension, the contrastive loss about 1)."
        },
    )


def check_embedding_loss(args: EmbeddingLossArguments) -> None:
    """Raise `ValueError` naming the fix when an embedding-loss setting is out of range."""
    if args.embedding_loss not in EMBEDDING_LOSSES:
        raise ValueError(f"embedding_loss must be one of {', '.join(EMBEDDING_LOSSES)}, got {args.embedding_loss!r}")
    if not args.contrastive_temperature > 0:
        raise ValueError(f"contrastive_temperature must be > 0, got {args.contrastive_temperature}")
    if args.contrastive_negatives < 0:
        raise ValueError(f"contrastive_negatives must be >= 0, got {args.contrastive_negatives}")
    if not args.embedding_mse_weight >= 0:
        raise ValueError(f"embedding_mse_weight must be >= 0, got {args.embedding_mse_weight}")


def embedding_loss_settings(args: EmbeddingLossArguments) -> dict:
    """The settings the chosen embedding loss reads, for a report."""
    settings = {"embedding_loss": args.embedding_loss}
    if "contrastive" in args.embedding_loss:
        settings |= {"contrastive_temperature": args.contrastive_temperature}
        settings |= {"contrastive_negatives": args.contrastive_negatives}
    if args.embedding_loss == "mse+contrastive":
        settings |= {"embedding_mse_weight": args.embedding_mse_weight}
    return settings


def changed_embedding_settings(args: EmbeddingLossArguments) -> list[str]:
    """The embedding-loss flags set to other than their defaults."""
    return [
        f"--{setting.name}"
        for setting in fields(EmbeddingLossArguments)
        if getattr(args, setting.name) != setting.default
    ]


def check_no_embedding_loss(args: EmbeddingLossArguments) -> None:
    """Refuse, before any work, embedding-loss settings in a task with logits, which would not read them."""
    given = changed_embedding_settings(args)
    if given:
        raise ValueError(
            f"{', '.join(given)} apply to sentence embeddings (hfdistill multilingual), not to distilling logits: "
            "drop them"
        )
