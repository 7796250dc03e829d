"""Entity-level counts per sentence, from which seqeval's micro F1 over any set of sentences is a sum away.

seqeval scores a test set by the entities (type, first token, last token) each sentence's tags spell, pooled over
the sentences. Keeping each sentence's three counts (entities found that are right, entities found, entities in the
reference) lets a paired bootstrap resample sentences and recompute F1 without tagging anything again
(`hfdistill.numerics.bootstrap.f1_from_counts`).
"""

import numpy as np
from seqeval.metrics.sequence_labeling import get_entities


def entity_counts(predicted: list[list[str]], reference: list[list[str]]) -> np.ndarray:
    """One row per sentence: (right entities, predicted entities, reference entities), seqeval's default matching
    (the BIO tags of a sentence read into typed spans; a span is right when type and both ends agree)."""
    rows = []
    for tags, gold in zip(predicted, reference, strict=True):
        found, wanted = set(get_entities(list(tags))), set(get_entities(list(gold)))
        rows.append((len(found & wanted), len(found), len(wanted)))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)
