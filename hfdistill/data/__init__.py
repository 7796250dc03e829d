"""Data: labelled splits, transfer text, augmentation and parallel sentences, read and checked; the bundled
datasets lie in this folder."""
