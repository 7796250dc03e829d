"""The teacher-output cache: fingerprints of what the teacher's outputs depend on, an on-disk store keyed by them,
the columns that carry the outputs, and the collator that batches them."""
