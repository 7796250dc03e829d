"""Text regression: one or more scores per text or text pair (sentiment intensity, similarity), as transformers'
`problem_type="regression"` (one linear output per score, MSE).

The label column holds a number per row, or a list of numbers (one per output). The teacher's predictions are the
student's soft targets, as they are: an MSE term with no temperature (`hfdistill.losses.regression`). Scored by
Pearson's and Spearman's correlation and MSE; the report's retention is the student's Pearson over the teacher's.
Transfer rows carry a NaN score, which the task loss skips.
"""

import datasets
import numpy as np
from datasets import Sequence, Value
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from hfdistill.config.data import DataArguments
from hfdistill.data.loading import held_out_splits, tokenize_splits, training_split, without_incomplete_rows
from hfdistill.numerics.bootstrap import bootstrap_against_baseline, pearson_of_pairs
from hfdistill.tasks.base import EncoderTask


def score_feature(split: datasets.Dataset, column: str, source: str, split_name: str):
    """The float feature the scores of `column` are stored as: a number per row, or a list of as many numbers in
    every row; anything else is refused, with an example of what the column holds."""
    feature = split.features[column]
    inner = getattr(feature, "feature", None)
    numeric = lambda f: isinstance(f, Value) and (f.dtype.startswith(("float", "int")) or f.dtype == "bool")  # noqa: E731
    if numeric(feature):
        return Value("float32")
    if inner is not None and numeric(inner):
        lengths = {len(row) for row in split[column]}
        if len(lengths) == 1 and 0 not in lengths:
            return Sequence(Value("float32"), length=lengths.pop())
        raise ValueError(
            f"label column {column!r} of split {split_name!r} in {source} holds lists of {sorted(lengths)} scores: "
            "every row needs as many scores as the model has outputs"
        )
    example = next((value for value in split[column] if value is not None), None)
    raise ValueError(
        f"label column {column!r} of split {split_name!r} in {source} holds {type(example).__name__} values such as "
        f"{example!r}, not scores: text-regression needs a number per row (or a list of numbers); for class names "
        "use --task text-classification"
    )


def as_scores(split: datasets.Dataset, data_args: DataArguments, split_name: str) -> datasets.Dataset:
    """`split` with its label column cast to float32 scores (`score_feature`)."""
    feature = score_feature(split, data_args.label_column, data_args.dataset_name, split_name)
    return split.cast_column(data_args.label_column, feature)


class TextRegression(EncoderTask):
    """Scores per text; Pearson's r is the headline, Spearman's rho and MSE beside it."""

    name = "text-regression"
    pipeline_tag = "text-classification"  # the Hub's and transformers' pipeline for a head of scores
    problem_type = "regression"
    auto_class = AutoModelForSequenceClassification
    columns = ("text", "label")
    metric_names = ("pearsonr", "spearmanr", "mse")
    headline_metric = "pearsonr"
    metric_keys = ("pearsonr", "spearmanr", "mse")
    output_axes = {0: "batch"}
    describes = "text regressor"
    example = "A warm, funny and beautifully acted film."
    supports_transfer = True
    paired_unit = "text"

    def load_splits(self, data_args):
        raw, train = training_split(data_args)
        columns = [c for c in (data_args.text_column, data_args.text_pair_column, data_args.label_column) if c]
        train = as_scores(
            without_incomplete_rows(train, columns, data_args, data_args.train_split), data_args, "train"
        )
        feature = train.features[data_args.label_column]
        outputs = getattr(feature, "length", None)
        names = [f"{data_args.label_column}_{i}" for i in range(outputs)] if outputs else [data_args.label_column]

        def align(split):
            if data_args.label_column not in split.column_names or len(split) == 0:
                return None
            split = as_scores(split, data_args, str(split.split))
            if split.features[data_args.label_column] != feature:
                raise ValueError(
                    f"split {split.split!r} of {data_args.dataset_name} has {split.features[data_args.label_column]} "
                    f"scores but train {feature}: give every split the same number of scores"
                )
            values = np.asarray(split[data_args.label_column], dtype=float).reshape(len(split), -1)
            unscored = np.isnan(values).any(axis=-1)
            if (unscored | (values == -1).all(axis=-1)).all():
                return None  # unlabelled (GLUE's test splits: all -1): carved from train instead
            if unscored.any():
                raise ValueError(
                    f"{int(unscored.sum())} of {len(split)} rows of split {split.split!r} of {data_args.dataset_name} "
                    f"have no score (the first: row {int(np.argmax(unscored)) + 1}): fill them in or remove them"
                )
            return split

        return held_out_splits(raw, train, data_args, align, stratify=None), names

    def tokenize(self, splits, tokenizer, data_args):
        return tokenize_splits(splits, tokenizer, data_args)

    def collator(self, tokenizer):
        return DataCollatorWithPadding(tokenizer)

    @staticmethod
    def pairs(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """(prediction, reference) per scored value, `(values, 2)`: every output of every text, pooled."""
        logits = np.asarray(logits, dtype=float)
        return np.stack([logits.reshape(-1), np.asarray(labels, dtype=float).reshape(-1)], axis=-1)

    def scores(self, logits, labels, label_names):
        pairs = self.pairs(logits, labels)
        results = {}
        for name in self.metric_names:
            results |= self.metrics[name].compute(predictions=pairs[:, 0], references=pairs[:, 1])
        return {name: float(results[name]) for name in self.metric_keys}

    def outcomes(self, logits, labels, label_names=None):
        """Each text's (prediction, reference) pairs, `(texts, outputs, 2)`."""
        return self.pairs(logits, labels).reshape(len(logits), -1, 2)

    def paired_test(self, distilled, baseline, scores):
        """A paired bootstrap over texts of the difference in Pearson's r."""
        statistic = lambda outcomes: pearson_of_pairs(outcomes.reshape(len(outcomes), -1, 2))  # noqa: E731
        return bootstrap_against_baseline(distilled, baseline, statistic, self.paired_unit, scores)

    def agreement(self, logits, reference, labels):
        """The percentage of scores within 1% of the test scores' range of the reference's."""
        labels = np.asarray(labels, dtype=float)
        tolerance = 0.01 * (np.nanmax(labels) - np.nanmin(labels))
        return round(100.0 * float((np.abs(logits - reference) <= tolerance).mean()), 2)

    def usage(self, folder_name: str) -> str:
        return (
            "from transformers import pipeline\n\n"
            f'model = pipeline("text-classification", model="path/to/{folder_name}", function_to_apply="none")\n'
            f'model("{self.example}")  # [{{"label": ..., "score": the predicted score}}]'
        )
