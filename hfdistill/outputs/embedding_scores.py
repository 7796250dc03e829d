"""Sentence-embedding models scored and timed: retrieval in the teacher's index (the promise, first), translation
retrieval both ways, agreement with the teacher's embeddings, and their tables."""

import time
from dataclasses import asdict, dataclass

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import cos_sim

from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.models.sentence_encoder import encode
from hfdistill.outputs.report import markdown_table


def encoding_speed(model: SentenceTransformer, sentences: list[str], rounds: int = 3) -> float:
    """Sentences per second encoded on the model's device at batch 32, best of `rounds` passes (after a warm-up)."""
    model.encode(sentences[:32], batch_size=32)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        model.encode(sentences, batch_size=32)
        best = min(best, time.perf_counter() - start)
    return len(sentences) / best


def ranks(queries: np.ndarray, index: np.ndarray) -> torch.Tensor:
    """The rank (1 = nearest by cosine similarity) of row i of `index` among all its rows, for each query i."""
    scores = cos_sim(torch.from_numpy(queries), torch.from_numpy(index))
    answer = scores.diagonal().unsqueeze(-1)
    return (scores > answer).sum(dim=-1) + 1  # a tie counts in the answer's favour, as argmax's first index would


def top1(queries: np.ndarray, index: np.ndarray) -> float:
    """How often query i's nearest row of `index` by cosine similarity is row i (what sentence-transformers'
    `TranslationEvaluator` reports, from embeddings already computed)."""
    return round((ranks(queries, index) == 1).float().mean().item(), 4)


def mrr_at_10(queries: np.ndarray, index: np.ndarray) -> float:
    """Mean reciprocal rank of row i of `index` for query i, counting 0 where it is not among the 10 nearest."""
    rank = ranks(queries, index).float()
    return round(torch.where(rank <= 10, 1 / rank, 0.0).mean().item(), 4)


@dataclass
class EmbeddingScores:
    """One model's held-out figures for one translation column."""

    source_to_target_top1: float
    target_to_source_top1: float
    source_mse: float
    source_cosine: float
    target_mse: float
    target_cosine: float
    target_to_teacher_index_top1: float  # the translation, embedded by this model, finds its source in the teacher's
    target_to_teacher_index_mrr10: float | None = None  # index; the same as MRR@10 (None in reports older than it)


def _agreement(embeddings: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Mean squared error and mean cosine similarity, row by row."""
    embeddings, targets = torch.from_numpy(embeddings), torch.from_numpy(targets)
    mse = F.mse_loss(embeddings, targets).item()
    return mse, F.cosine_similarity(embeddings, targets, dim=-1).mean().item()


def score_embeddings(
    model: SentenceTransformer, held_out: datasets.Dataset, source: str, target: str, teacher_source: np.ndarray
) -> EmbeddingScores:
    """The promise first: retrieval (top-1 and MRR@10) of each translation, embedded by `model`, among the teacher's
    embeddings of the sources (an index built with the teacher); then translation retrieval (top-1, both directions,
    `model` embedding both sides) and agreement with the teacher's source embeddings. Pass the teacher as `model` for
    its row."""
    source_embeddings = encode(model, list(held_out[source]))
    target_embeddings = encode(model, list(held_out[target]))  # each side encoded once, for every figure below
    source_mse, source_cosine = _agreement(source_embeddings, teacher_source)
    target_mse, target_cosine = _agreement(target_embeddings, teacher_source)
    return EmbeddingScores(
        source_to_target_top1=top1(source_embeddings, target_embeddings),
        target_to_source_top1=top1(target_embeddings, source_embeddings),
        source_mse=round(source_mse, 6),
        source_cosine=round(source_cosine, 4),
        target_mse=round(target_mse, 6),
        target_cosine=round(target_cosine, 4),
        target_to_teacher_index_top1=top1(target_embeddings, teacher_source),
        target_to_teacher_index_mrr10=mrr_at_10(target_embeddings, teacher_source),
    )


def scores_table(rows: dict[str, dict], source: str) -> str:
    """A Markdown table: one line per model, evaluation set and translation column."""
    columns = ["model", "evaluation set", "pair", f"top-1 xx→teacher's {source} index", "MRR@10"]
    columns += [f"top-1 {source}→xx", f"top-1 xx→{source}", f"cos {source}", "cos xx", f"MSE {source}", "MSE xx"]
    cells = []
    for name, by_set in rows.items():
        for evaluation_set, by_target in by_set.items():
            for target, s in by_target.items():
                s = EmbeddingScores(**s)
                cells.append(
                    [
                        name,
                        evaluation_set,
                        f"{source}-{target}",
                        f"{s.target_to_teacher_index_top1:.4f}",
                        "—" if s.target_to_teacher_index_mrr10 is None else f"{s.target_to_teacher_index_mrr10:.4f}",
                        f"{s.source_to_target_top1:.4f}",
                        f"{s.target_to_source_top1:.4f}",
                        f"{s.source_cosine:.4f}",
                        f"{s.target_cosine:.4f}",
                        f"{s.source_mse:.6f}",
                        f"{s.target_mse:.6f}",
                    ]
                )
    return markdown_table(columns, cells)


def speed_table(speeds: dict[str, float]) -> str:
    """A Markdown table of CPU encoding speed, each model against the teacher (the first)."""
    teacher = next(iter(speeds.values()))
    cells = [[name, f"{value:.1f}", f"{value / teacher:.2f}×"] for name, value in speeds.items()]
    return markdown_table(["model", "sentences/s (CPU, batch 32)", "vs teacher"], cells)


def score_all(model: SentenceTransformer, sets: dict, data_args: ParallelDataArguments, teacher_sources) -> dict:
    """`EmbeddingScores` as dicts, by evaluation set and translation column."""
    source = data_args.source_column
    return {
        name: {
            target: asdict(score_embeddings(model, pairs, source, target, teacher_sources[name]))
            for target in data_args.target_columns
        }
        for name, pairs in sets.items()
    }
