"""Sentence encoders for multilingual distillation: the student, the teacher's targets, the training rows, the scores.

Teacher and student are `sentence_transformers.SentenceTransformer` models, so pooling and normalisation are whatever
the teacher's own modules define, and the saved student loads in sentence-transformers (and its transformer in
`transformers.AutoModel`). Each model tokenises its own text: the teacher reads only the source sentences, the student
reads source sentences and translations with its own tokenizer, which may have another vocabulary.
"""

import logging
import time
from dataclasses import dataclass

import datasets
import numpy as np
import torch
import torch.nn.functional as F
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
from sentence_transformers.util import cos_sim, is_sentence_transformer_model

from .cache import cached_outputs, embedding_key
from .config import DistillationArguments
from .report import markdown_table
from .student import build_truncated_student
from .teacher_outputs import TEACHER_EMBEDDING

logger = logging.getLogger(__name__)

ENCODE_BATCH_SIZE = 64
WRITE_ROWS = 10_000


def student_from_teacher(teacher_path: str, layers: list[int] | None, max_seq_length: int) -> SentenceTransformer:
    """A copy of the teacher (same tokenizer, pooling and normalisation), keeping only `layers` when given."""
    student = SentenceTransformer(teacher_path, device="cpu")
    student.max_seq_length = max_seq_length
    if layers is not None:
        student[0].model = build_truncated_student(student[0].auto_model, layers)
    return student


def student_from_encoder(path: str, teacher: SentenceTransformer, max_seq_length: int) -> SentenceTransformer:
    """The encoder at `path` (its own tokenizer) with the teacher's pooling, and normalisation when the teacher has it.

    A sentence-transformers folder is loaded as it is; a plain encoder gets the teacher's pooling mode, a Dense layer
    when its width differs from the teacher's embedding size, and a final `Normalize` when the teacher ends with one.
    """
    if is_sentence_transformer_model(path):
        student = SentenceTransformer(path, device="cpu")
        if student.get_embedding_dimension() != teacher.get_embedding_dimension():
            raise ValueError(
                f"student {path} embeds into {student.get_embedding_dimension()} dimensions but the teacher "
                f"into {teacher.get_embedding_dimension()}: add a Dense module to the student or use a plain encoder"
            )
        student.max_seq_length = max_seq_length
        return student
    encoder = Transformer(path, max_seq_length=max_seq_length)
    teacher_pooling = next(module for module in teacher if isinstance(module, Pooling))
    width = encoder.get_embedding_dimension()
    modules = [encoder, Pooling(width, pooling_mode=teacher_pooling.pooling_mode)]
    if width != teacher.get_embedding_dimension():
        modules.append(Dense(width, teacher.get_embedding_dimension()))
    if isinstance(teacher[-1], Normalize):
        modules.append(Normalize())
    return SentenceTransformer(modules=modules, device="cpu")


def with_linear_map(student: SentenceTransformer, sentences: list[str], targets: np.ndarray) -> SentenceTransformer:
    """The student followed by a `Dense` layer fitted by least squares from its embeddings of `sentences` onto
    `targets` (the teacher's embeddings), then normalised again when the teacher's are unit length.

    A pretrained encoder of another model family embeds into a space of its own (cosine about 0 to the teacher's);
    its cross-lingual alignment survives a linear map, which fine-tuning then refines. Starting from there, training
    moves the student into the teacher's space instead of collapsing it onto the targets' mean first.
    """
    embeddings = torch.from_numpy(encode(student, sentences))
    dense = Dense(embeddings.shape[1], targets.shape[1], bias=True, activation_function=torch.nn.Identity())
    dense.linear, r2 = least_squares_map(embeddings, torch.from_numpy(targets))
    unit = np.allclose(np.linalg.norm(targets, axis=1), 1.0, atol=1e-3)
    modules = [*student, dense, *([Normalize()] if unit else [])]
    logger.info(
        "fitted a linear map from the student's embeddings onto the teacher's on %d sentences (R² %.3f)",
        len(sentences),
        r2,
    )
    return SentenceTransformer(modules=modules, device=str(student.device))


def least_squares_map(inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.nn.Linear, float]:
    """The linear layer (weights and bias) fitted by least squares from `inputs` onto `targets`, one row each, and the
    fit's R² over all target dimensions."""
    design = torch.cat([inputs, torch.ones(len(inputs), 1, dtype=inputs.dtype)], dim=1)
    solution = torch.linalg.lstsq(design, targets).solution  # [input width + 1, target width]
    residual = (design @ solution - targets).pow(2).sum() / (targets - targets.mean(0)).pow(2).sum()
    linear = torch.nn.Linear(inputs.shape[1], targets.shape[1], dtype=inputs.dtype)
    with torch.no_grad():
        linear.weight.copy_(solution[:-1].T)
        linear.bias.copy_(solution[-1])
    return linear, round(1 - residual.item(), 4)


def encode(model: SentenceTransformer, sentences: list[str], progress: bool = False) -> np.ndarray:
    """Float32 embeddings, one row per sentence."""
    return model.encode(
        list(sentences), batch_size=ENCODE_BATCH_SIZE, convert_to_numpy=True, show_progress_bar=progress
    ).astype(np.float32)


def teacher_targets(teacher: SentenceTransformer, sentences: list[str]) -> np.ndarray:
    """The teacher's embedding of each source sentence, computed once: a pair's target never changes."""
    logger.info("embedding %d source sentences with the teacher (once, reused every epoch)", len(sentences))
    return encode(teacher, sentences, progress=True)


def cached_teacher_targets(
    teacher: SentenceTransformer, teacher_path: str, sentences: list[str], args: DistillationArguments
) -> np.ndarray:
    """`teacher_targets` through the on-disk cache `args.teacher_cache_dir`: computed by the main process when absent,
    read by every process, and reused by later runs with the same teacher and sentences."""
    key = embedding_key(teacher_path, teacher, sentences, args)
    storage = args.teacher_cache_torch_dtype

    def compute():
        targets = torch.from_numpy(teacher_targets(teacher, sentences)).to(storage).numpy()
        for start in range(0, len(targets), WRITE_ROWS):
            yield {TEACHER_EMBEDDING: list(targets[start : start + WRITE_ROWS])}

    outputs = cached_outputs(args.teacher_cache_dir, key, compute)
    return np.asarray(outputs.with_format("numpy")[TEACHER_EMBEDDING], dtype=np.float32)


def pair_sentences(pairs: datasets.Dataset, targets: np.ndarray, columns: list[str]) -> tuple[list[str], np.ndarray]:
    """Every sentence of the pairs with its pair's target (the teacher's embedding of the source, one row per pair).
    A pair's sentences are adjacent (source, then each translation), so even an unshuffled batch mixes languages."""
    texts = [sentence for pair in zip(*(pairs[column] for column in columns), strict=True) for sentence in pair]
    return texts, np.repeat(targets, len(columns), axis=0)


def training_rows(texts: list[str], targets: np.ndarray, tokenizer, max_seq_length: int) -> datasets.Dataset:
    """One row per sentence, tokenised for the student, with its `teacher_embedding` (one target row per text)."""
    rows = datasets.Dataset.from_dict({"text": texts})
    rows = rows.add_column(TEACHER_EMBEDDING, list(targets))

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_seq_length)

    return rows.map(tokenize, batched=True, remove_columns=["text"], desc="Tokenizing for the student")


def encoding_speed(model: SentenceTransformer, sentences: list[str], rounds: int = 3) -> float:
    """Sentences per second encoded on the model's device at batch 32, best of `rounds` passes (after a warm-up)."""
    model.encode(sentences[:32], batch_size=32)
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        model.encode(sentences, batch_size=32)
        best = min(best, time.perf_counter() - start)
    return len(sentences) / best


def top1(queries: np.ndarray, index: np.ndarray) -> float:
    """How often query i's nearest row of `index` by cosine similarity is row i (what sentence-transformers'
    `TranslationEvaluator` reports, from embeddings already computed)."""
    nearest = cos_sim(torch.from_numpy(queries), torch.from_numpy(index)).argmax(dim=-1)
    return round((nearest == torch.arange(len(queries))).float().mean().item(), 4)


@dataclass
class EmbeddingScores:
    """One model's held-out figures for one translation column."""

    source_to_target_top1: float
    target_to_source_top1: float
    source_mse: float
    source_cosine: float
    target_mse: float
    target_cosine: float
    target_to_teacher_index_top1: (
        float  # the translation, embedded by this model, finds its source in the teacher's index
    )


def _agreement(embeddings: np.ndarray, targets: np.ndarray) -> tuple[float, float]:
    """Mean squared error and mean cosine similarity, row by row."""
    embeddings, targets = torch.from_numpy(embeddings), torch.from_numpy(targets)
    mse = F.mse_loss(embeddings, targets).item()
    return mse, F.cosine_similarity(embeddings, targets, dim=-1).mean().item()


def score_embeddings(
    model: SentenceTransformer, held_out: datasets.Dataset, source: str, target: str, teacher_source: np.ndarray
) -> EmbeddingScores:
    """Translation retrieval (top-1, both directions, `model` embedding both sides), agreement with the teacher's
    source embeddings, and the promise itself: top-1 retrieval of each translation, embedded by `model`, among the
    teacher's embeddings of the sources (an index built with the teacher). Pass the teacher as `model` for its row.
    """
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
    )


def scores_table(rows: dict[str, dict], source: str) -> str:
    """A Markdown table: one line per model, evaluation set and translation column."""
    columns = ["model", "evaluation set", "pair", f"top-1 {source}→xx", f"top-1 xx→{source}"]
    columns += [f"top-1 xx→teacher's {source} index", f"cos {source}", "cos xx", f"MSE {source}", "MSE xx"]
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
                        f"{s.source_to_target_top1:.4f}",
                        f"{s.target_to_source_top1:.4f}",
                        f"{s.target_to_teacher_index_top1:.4f}",
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
