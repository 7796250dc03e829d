"""Token classification (NER): a tag per word, BIO-encoded, scored at the entity level by seqeval.

The data holds one sentence per row, already split into words (`tokens`) with one tag per word (`ner_tags`: tag
strings such as `B-person`, or a `Sequence(ClassLabel)` as on the Hub). A word's tag goes to its first sub-token;
the other sub-tokens and the special tokens get -100, so the loss, the teacher's soft targets and the scores see one
position per word. A word past `max_seq_length` is cut, as a served model would cut it.
"""

import datasets
import numpy as np
from datasets import ClassLabel, DatasetDict, Sequence
from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

from hfdistill.config.data import DataArguments
from hfdistill.data.loading import MODEL_INPUTS, held_out_splits, training_split
from hfdistill.data.words import first_subtoken_labels
from hfdistill.metrics.entities import entity_counts
from hfdistill.numerics.bootstrap import bootstrap_against_baseline, f1_from_counts
from hfdistill.tasks.base import EncoderTask

OUTSIDE = "O"


def tag_names(feature, tags: list[list]) -> list[str]:
    """The label names: a `Sequence(ClassLabel)`'s, or the tag strings with `O` first, then sorted by type."""
    inner = getattr(feature, "feature", None)
    if isinstance(inner, ClassLabel):
        return list(inner.names)
    found = {tag for row in tags for tag in row}
    if not all(isinstance(tag, str) for tag in found):
        raise ValueError(
            "the tag column holds numbers without names: give the tags as strings (B-PER, I-PER, O) or as a "
            "Sequence(ClassLabel) with names"
        )
    return sorted(found, key=lambda tag: (tag != OUTSIDE, tag[2:], tag))


def encoded_tags(split: datasets.Dataset, label_column: str, names: list[str], split_name: str) -> datasets.Dataset:
    """`split` with its tags as ids of `names` (a `Sequence(ClassLabel)`); unknown tags are refused."""
    inner = getattr(split.features[label_column], "feature", None)
    if isinstance(inner, ClassLabel):
        if list(inner.names) != names:
            raise ValueError(f"tag names differ between splits: {inner.names} in {split_name!r} vs train {names}")
        return split
    unknown = sorted({tag for row in split[label_column] for tag in row} - set(names))
    if unknown:
        raise ValueError(f"tags {unknown} appear in split {split_name!r} but not in train ({names})")
    index = {name: i for i, name in enumerate(names)}
    features = split.features.copy()
    features[label_column] = Sequence(ClassLabel(names=names))
    return split.map(
        lambda row: {label_column: [index[tag] for tag in row[label_column]]}, features=features, desc="Encoding tags"
    )


def check_rows(split: datasets.Dataset, data_args: DataArguments, split_name: str) -> None:
    """Refuse rows whose words and tags are missing or differ in number, naming the first such row."""
    words, tags = split[data_args.text_column], split[data_args.label_column]
    for column, values, what in ((data_args.text_column, words, "words"), (data_args.label_column, tags, "tags")):
        given = next((value for value in values if isinstance(value, str)), None)
        if given is not None:
            raise ValueError(
                f"column {column!r} of split {split_name!r} in {data_args.dataset_name} holds a string per row "
                f"({given[:40]!r}), not a list of {what}: give each sentence's {what} as a list, one per word "
                '(JSON Lines: {"tokens": ["Paris", "is", "big"], "ner_tags": ["B-loc", "O", "O"]})'
            )
    for i, (row_words, row_tags) in enumerate(zip(words, tags, strict=True)):
        if not row_words or row_tags is None or len(row_words) != len(row_tags):
            count = "no" if not row_words else len(row_words)
            raise ValueError(
                f"row {i} of split {split_name!r} in {data_args.dataset_name} has {count} words in "
                f"{data_args.text_column!r} but {len(row_tags or [])} tags in {data_args.label_column!r}: every word "
                "needs exactly one tag"
            )


class TokenClassification(EncoderTask):
    """A tag per word; entity-level precision, recall and F1 (seqeval) and token accuracy."""

    name = "token-classification"
    supports_transfer = True  # unlabelled text, split into words: the teacher's tag distribution on each is the target
    supports_augmentation = False
    auto_class = AutoModelForTokenClassification
    columns = ("tokens", "ner_tags")
    metric_names = ("seqeval",)
    headline_metric = "f1"
    metric_keys = ("f1", "precision", "recall", "accuracy")
    output_axes = {0: "batch", 1: "sequence"}
    describes = "named-entity tagger"
    example = "Empire State Building is in New York"

    def load_splits(self, data_args):
        raw, train = training_split(data_args)
        check_rows(train, data_args, data_args.train_split)
        names = tag_names(train.features[data_args.label_column], train[data_args.label_column])
        train = encoded_tags(train, data_args.label_column, names, data_args.train_split)

        def align(split):
            if data_args.label_column not in split.column_names or len(split) == 0:
                return None
            check_rows(split, data_args, split.split or "evaluation")
            return encoded_tags(split, data_args.label_column, names, str(split.split))

        return held_out_splits(raw, train, data_args, align, stratify=None), names

    def tokenize(self, splits: DatasetDict, tokenizer, data_args: DataArguments) -> DatasetDict:
        if not tokenizer.is_fast:
            raise ValueError(
                f"token classification needs a fast tokenizer (it maps sub-tokens to words); "
                f"{type(tokenizer).__name__} is not one"
            )

        def encode(batch):
            encoded = tokenizer(
                batch[data_args.text_column],
                is_split_into_words=True,
                truncation=True,
                max_length=data_args.max_seq_length,
            )
            encoded["labels"] = [
                first_subtoken_labels(encoded.word_ids(i), tags)
                for i, tags in enumerate(batch[data_args.label_column])
            ]
            return encoded

        def tokenize(split):
            encoded = split.map(encode, batched=True, desc="Tokenizing")
            keep = [c for c in encoded.column_names if c in MODEL_INPUTS or c == "labels"]
            return encoded.select_columns(keep)

        return DatasetDict({role: tokenize(split) for role, split in splits.items()})

    def collator(self, tokenizer):
        return DataCollatorForTokenClassification(tokenizer)

    @staticmethod
    def tag_lists(logits, labels, label_names) -> tuple[list[list[str]], list[list[str]]]:
        """The predicted and the reference tags of each sentence, at its scored positions (first sub-tokens)."""
        predictions = np.argmax(logits, axis=-1)
        predicted, reference = [], []
        for row_predictions, row_labels in zip(predictions, labels, strict=True):
            scored = row_labels != -100
            predicted.append([label_names[i] for i in row_predictions[scored]])
            reference.append([label_names[i] for i in row_labels[scored]])
        return predicted, reference

    def scores(self, logits, labels, label_names):
        predicted, reference = self.tag_lists(logits, labels, label_names)
        result = self.metrics["seqeval"].compute(predictions=predicted, references=reference, zero_division=0)
        return {key: float(result[f"overall_{key}"]) for key in self.metric_keys}

    paired_unit = "sentence"

    def correct(self, logits, labels):
        """A sentence is right when every scored token's tag is."""
        return ((np.argmax(logits, axis=-1) == labels) | (labels == -100)).all(axis=-1)

    def outcomes(self, logits, labels, label_names):
        """Per sentence: entities found that are right, entities found, entities in the reference (`(sentences, 3)`:
        seqeval's micro-F1 over any set of sentences is a sum of them away)."""
        return entity_counts(*self.tag_lists(logits, labels, label_names))

    def paired_test(self, distilled, baseline, scores):
        """A paired bootstrap over sentences of the entity-F1 difference (the headline), not McNemar's test of whole
        sentences right, which a tagger rarely gets on a few hundred sentences."""
        return bootstrap_against_baseline(distilled, baseline, f1_from_counts, self.paired_unit, scores)
