"""A sentence-embedding teacher's embeddings of the source sentences: computed once, or read from the store."""

import logging

import datasets
import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from hfdistill.cache.fingerprint import data_fingerprint, teacher_fingerprint, tokenizer_fingerprint
from hfdistill.cache.store import CacheKey, cached_outputs
from hfdistill.cache.teacher_outputs import (
    TEACHER_EMBEDDING,
)
from hfdistill.config.training import DistillationArguments
from hfdistill.models.sentence_encoder import encode

logger = logging.getLogger(__name__)
WRITE_ROWS = 10_000


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


def embedding_key(teacher_path: str, teacher, sentences: list[str], args: DistillationArguments) -> CacheKey:
    """The key of a sentence-transformers teacher's embeddings of `sentences`."""
    outputs = {"kind": "embedding", "dtype": args.teacher_cache_dtype, "teacher_dtype": args.teacher_dtype}
    data = data_fingerprint(datasets.Dataset.from_dict({"sentence": sentences}), ["sentence"])
    preprocessing = {"max_seq_length": teacher.max_seq_length}
    return CacheKey(
        teacher_fingerprint(teacher_path), tokenizer_fingerprint(teacher.tokenizer), preprocessing, data, outputs
    )
