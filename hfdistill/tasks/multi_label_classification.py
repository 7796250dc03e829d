"""Multi-label classification: any number of labels per text (topics, tags), as transformers'
`problem_type="multi_label_classification"` (a sigmoid per label, binary cross-entropy).

The label column holds a list of label names per row (an empty list: no label applies), a `Sequence(ClassLabel)` as
on the Hub, or strings of names joined by `--label_separator`. Each label's sigmoid at temperature T is a Bernoulli
soft target (`hfdistill.losses.multi_label`). A label applies where its sigmoid passes the model's threshold (0.5,
`--label_threshold`, or chosen on validation with `--tune_label_threshold`; kept in its config.json). Scored by micro- and
macro-averaged F1 and subset accuracy (every label of the text right); the report's paired test is a bootstrap of
micro-F1 over texts. Transfer rows carry NaN labels, which the task loss skips.
"""

import logging
from functools import cached_property

import datasets
import numpy as np
from datasets import ClassLabel, Sequence, Value
from transformers import AutoConfig, AutoModelForSequenceClassification, DataCollatorWithPadding

from hfdistill.config.data import DataArguments
from hfdistill.data.loading import (
    STRING_DTYPES,
    held_out_splits,
    tokenize_splits,
    training_split,
    without_incomplete_rows,
)
from hfdistill.metrics import load_metric
from hfdistill.numerics.bootstrap import bootstrap_against_baseline, f1_from_counts
from hfdistill.tasks.base import EncoderTask

logger = logging.getLogger(__name__)


def label_lists(split: datasets.Dataset, data_args: DataArguments, split_name: str) -> list[list[str]]:
    """The label names of every row: lists as they are, `Sequence(ClassLabel)` ids by name, or strings split at
    `label_separator`; anything else is refused, saying what to give."""
    column, feature = data_args.label_column, split.features[data_args.label_column]
    inner = getattr(feature, "feature", None)
    rows = split[column]
    if isinstance(feature, Value) and feature.dtype in STRING_DTYPES and data_args.label_separator is not None:
        separator = data_args.label_separator  # an empty cell: no label applies
        return [[name.strip() for name in (row or "").split(separator) if name.strip()] for row in rows]
    missing = next((i for i, row in enumerate(rows) if row is None), None)
    if missing is not None and inner is not None:
        raise ValueError(
            f"row {missing + 1} of split {split_name!r} in {data_args.dataset_name} has no list in {column!r}: give "
            "[] for a text that no label applies to"
        )
    if isinstance(inner, ClassLabel):
        return [[inner.names[i] for i in row] for row in rows]
    if isinstance(inner, Value) and (inner.dtype in STRING_DTYPES or inner.dtype.startswith("int")):
        return [[str(label) for label in row] for row in rows]
    example = rows[0]
    hint = (
        "pass --label_separator with the string that joins them"
        if isinstance(example, str)
        else "give a list of label names per row"
    )
    raise ValueError(
        f"label column {column!r} of split {split_name!r} in {data_args.dataset_name} holds {type(example).__name__} "
        f"values such as {example!r}, not lists of labels: {hint} (or choose --task text-classification for one "
        "label per text)"
    )


def multi_hot(split: datasets.Dataset, data_args: DataArguments, names: list[str], split_name: str):
    """`split` with its label column as 0/1 floats, one per name in `names`; unknown labels are refused."""
    rows = label_lists(split, data_args, split_name)
    unknown = sorted({label for row in rows for label in row} - set(names))
    if unknown:
        raise ValueError(f"labels {unknown} appear in split {split_name!r} but not in train ({names})")
    index = {name: i for i, name in enumerate(names)}
    vectors = np.zeros((len(rows), len(names)), dtype=np.float32)
    for i, row in enumerate(rows):
        vectors[i, [index[label] for label in row]] = 1.0
    split = split.remove_columns(data_args.label_column)
    feature = Sequence(Value("float32"), length=len(names))
    return split.add_column(data_args.label_column, vectors.tolist(), feature=feature)


class MultiLabelClassification(EncoderTask):
    """A set of labels per text; micro-F1 is the headline, macro-F1 and subset accuracy beside it."""

    name = "multi-label-classification"
    pipeline_tag = "text-classification"  # transformers' pipeline, with top_k=None for every label's score
    problem_type = "multi_label_classification"
    auto_class = AutoModelForSequenceClassification
    columns = ("text", "labels")
    metric_names = ("f1", "accuracy")
    headline_metric = "f1_micro"
    metric_keys = ("f1_micro", "f1_macro", "subset_accuracy")
    output_axes = {0: "batch"}
    describes = "multi-label text classifier"
    example = "Heading to the Empire State Building with @john this afternoon"
    supports_transfer = True
    paired_unit = "text"

    label_sets = True

    def answers(self, logits, config):
        """Logits less the log-odds of the model's `label_threshold` (0.5 when it has none): a label applies above 0."""
        threshold = getattr(config, "label_threshold", 0.5)
        return np.asarray(logits) - np.log(threshold / (1 - threshold))

    def finish_model(self, folder, validation, data_args):
        """Keep in the folder's config.json the threshold its answers are read at: `--label_threshold`, or with
        `--tune_label_threshold` the one of 0.05 ... 0.95 whose micro-F1 on the validation predictions (`validation()`) is the best (the
        lowest of a tie)."""
        threshold = data_args.label_threshold
        if data_args.tune_label_threshold:
            prediction = validation()  # predicted only when asked
            logits, labels = prediction.predictions, prediction.label_ids
            grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
            counts = [self.outcomes(logits - np.log(t / (1 - t)), labels) for t in grid]
            scores = [f1_from_counts(c) for c in counts]
            threshold = float(grid[int(np.argmax(scores))])  # the lowest of a tie
            logger.info("%s: label threshold %.2f (validation micro-F1 %.4f; 0.5: %.4f)", folder, threshold,
                        max(scores), scores[9])  # fmt: skip
        config = AutoConfig.from_pretrained(folder)
        config.label_threshold = threshold
        config.save_pretrained(folder)

    @cached_property
    def metrics(self) -> dict:
        return {name: load_metric(name, "multilabel") for name in self.metric_names}

    def load_splits(self, data_args):
        raw, train = training_split(data_args)
        texts = [c for c in (data_args.text_column, data_args.text_pair_column) if c]  # an empty label set is one
        train = without_incomplete_rows(train, texts, data_args, data_args.train_split)
        names = sorted({label for row in label_lists(train, data_args, "train") for label in row})
        if len(names) < 2:
            raise ValueError(
                f"label column {data_args.label_column!r} of {data_args.dataset_name} has {len(names)} label name(s) "
                f"({names}) in train: multi-label classification needs at least two"
            )
        train = multi_hot(train, data_args, names, "train")

        def align(split):
            if data_args.label_column not in split.column_names or len(split) == 0:
                return None
            return multi_hot(split, data_args, names, str(split.split))

        return held_out_splits(raw, train, data_args, align, stratify=None), names

    def tokenize(self, splits, tokenizer, data_args):
        return tokenize_splits(splits, tokenizer, data_args)

    def collator(self, tokenizer):
        return DataCollatorWithPadding(tokenizer)

    def scores(self, logits, labels, label_names):
        predictions, references = (np.asarray(logits) > 0).astype(int), np.asarray(labels).astype(int)
        f1, accuracy = self.metrics["f1"], self.metrics["accuracy"]
        # A label absent from the references and never predicted scores 0 (a rare label of a small test split).
        f1_of = lambda average: f1.compute(  # noqa: E731
            predictions=predictions, references=references, average=average, zero_division=0
        )["f1"]
        results = {
            "f1_micro": f1_of("micro"),
            "f1_macro": f1_of("macro"),
            "subset_accuracy": accuracy.compute(predictions=predictions, references=references)["accuracy"],
        }
        return {name: float(results[name]) for name in self.metric_keys}

    def correct(self, logits, labels):
        """A text is right when every one of its labels is."""
        return ((np.asarray(logits) > 0) == (np.asarray(labels) > 0.5)).all(axis=-1)

    def outcomes(self, logits, labels, label_names=None):
        """Per text: labels predicted right, labels predicted, labels it has (`(texts, 3)`, for micro-F1)."""
        predicted, actual = np.asarray(logits) > 0, np.asarray(labels) > 0.5
        return np.stack([(predicted & actual).sum(-1), predicted.sum(-1), actual.sum(-1)], axis=-1)

    def paired_test(self, distilled, baseline, scores):
        """A paired bootstrap over texts of the difference in micro-F1."""
        return bootstrap_against_baseline(distilled, baseline, f1_from_counts, self.paired_unit, scores)

    def agreement(self, logits, reference, labels):
        """The percentage of (text, label) answers, applies or not, that are the reference's."""
        return round(100.0 * float(((logits > 0) == (reference > 0)).mean()), 2)

    def usage(self, folder_name: str) -> str:
        return (
            "from transformers import pipeline\n\n"
            f'model = pipeline("text-classification", model="path/to/{folder_name}", top_k=None)\n'
            f'model("{self.example}")  # every label with its sigmoid score\n'
            "threshold = model.model.config.label_threshold  # a label applies where its score passes this"
        )
