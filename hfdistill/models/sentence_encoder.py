"""Sentence encoders for multilingual distillation: the student (a copy of the teacher, or another encoder with the
teacher's pooling), and a linear map fitted into the teacher's space.

Teacher and student are `sentence_transformers.SentenceTransformer` models, so pooling and normalisation are whatever
the teacher's own modules define, and the saved student loads in sentence-transformers (and its transformer in
`transformers.AutoModel`). Each model tokenises its own text, so the student may have another vocabulary."""

import logging

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, StaticEmbedding, Transformer
from sentence_transformers.util import is_sentence_transformer_model

from hfdistill.models.student import build_truncated_student

logger = logging.getLogger(__name__)

ENCODE_BATCH_SIZE = 64


def truncate_at(model: SentenceTransformer, max_seq_length: int) -> SentenceTransformer:
    """`model` reading at most `max_seq_length` tokens of a text; a saved static table reads whole texts (it has no
    positions to run out of, and sentence-transformers fixes its length)."""
    if not isinstance(model[0], StaticEmbedding):
        model.max_seq_length = max_seq_length
    return model


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
