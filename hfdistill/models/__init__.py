"""Models: students built from their teacher, layer choice and reordering, teacher placement, sentence encoders,
the e5 converter, and plain inference over a split."""
