"""Load labelled text, give it train/validation/test splits and label names, and tokenise it."""

import bz2
import csv
import gzip
import logging
import lzma
from collections.abc import Callable
from pathlib import Path

import datasets
from datasets import ClassLabel, DatasetDict
from datasets.exceptions import DatasetGenerationError, DatasetNotFoundError

from hfdistill.config.data import BUNDLED_PREFIX, DataArguments
from hfdistill.data.bundled import BUNDLED_PARTS, bundled_path

logger = logging.getLogger(__name__)

LOCAL_BUILDERS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".txt": "text",  # one text per line, in a column named "text"
}
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
STRING_DTYPES = ("string", "large_string")  # how `datasets` stores text (a CSV's columns: large_string)


def check_header(path: Path, delimiter: str) -> None:
    """Refuse a delimited file whose header names a column twice (the CSV reader would rename the second, and a run
    would train on the first without a word)."""
    with open_text(path) as lines:
        header = next(csv.reader(lines, delimiter=delimiter), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(
            f"{path}: the header names column {repeated[0]!r} {header.count(repeated[0])} times: give each column its "
            "own name"
        )


def open_text(path: Path):
    """A text file, read through its compression (`.gz`, `.bz2`, `.xz`) when it has one."""
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", errors="replace", newline="")


def load_local_file(builder: str, path: Path, **kwargs) -> DatasetDict:
    """One local file as the train split; an empty or unreadable file raises a one-line `ValueError`."""
    if builder == "csv":
        check_header(path, kwargs.get("delimiter", ","))
    try:
        return datasets.load_dataset(builder, data_files={"train": str(path)}, **kwargs)
    except DatasetGenerationError as error:
        cause = error.__cause__ or error
        raise ValueError(f"cannot read {path} as {builder}: {str(cause).splitlines()[0]}") from error
    except ValueError as error:
        if "corresponds to no data" in str(error):
            raise ValueError(f"{path} is empty: it holds no examples to train on") from error
        raise


def load_source(data_args: DataArguments) -> DatasetDict:
    """The raw dataset named by `data_args.dataset_name`: bundled, a local file, or a Hub id; its text columns text."""
    texts = [column for column in (data_args.text_column, data_args.text_pair_column) if column]
    return load_named(data_args.dataset_name, data_args.dataset_config_name, texts)


def as_text(raw: DatasetDict, columns: list[str]) -> DatasetDict:
    """`raw` with each of `columns` that holds numbers (codes, ids) cast to strings: a text column is text."""
    for name, split in raw.items():
        for column in columns:
            feature = split.features.get(column)
            if isinstance(feature, datasets.Value) and feature.dtype not in STRING_DTYPES:
                raw[name] = split = split.cast_column(column, datasets.Value("string"))
    return raw


def load_named(name: str, config_name: str | None = None, text_columns: list[str] | None = None) -> DatasetDict:
    """A bundled dataset (`bundled:NAME`), a local file, or a Hub id; `text_columns` read as text (a CSV's as written,
    leading zeros kept; other sources' numbers cast to strings)."""
    text_columns = text_columns or []
    return as_text(_load_named(name, config_name, text_columns), text_columns)


def _load_named(name: str, config_name: str | None, text_columns: list[str]) -> DatasetDict:
    part = BUNDLED_PARTS.get(name[len(BUNDLED_PREFIX) :]) if name.startswith(BUNDLED_PREFIX) else None
    if part is not None:
        whole, column, value = part
        raw = _load_named(BUNDLED_PREFIX + whole, None, text_columns)
        return raw.filter(lambda row: row[column] == value, desc=name)
    path = Path(name)
    if name.startswith(BUNDLED_PREFIX):
        path = bundled_path(name[len(BUNDLED_PREFIX) :])
    suffix = "".join(s for s in path.suffixes if s not in {".gz", ".bz2", ".xz", ".zst"})[-8:]
    builder = next((b for ext, b in LOCAL_BUILDERS.items() if suffix.endswith(ext)), None)
    if path.is_file() and builder is not None:
        kwargs = {"delimiter": "\t"} if suffix.endswith(".tsv") else {}
        if builder == "csv":
            kwargs["converters"] = {column: str for column in text_columns}  # pandas would read codes as numbers
        return load_local_file(builder, path, **kwargs)
    if path.suffix and not path.exists() and builder is not None:
        raise FileNotFoundError(f"dataset file {name} does not exist")
    if path.is_file() or (builder is None and path.suffix and "/" not in name):
        raise ValueError(
            f"dataset file {name}: cannot read {path.suffix or 'files without an extension'}; give a "
            f"{'/'.join(LOCAL_BUILDERS)} file or a Hub dataset id"
        )
    try:
        return datasets.load_dataset(name, config_name)
    except (ConnectionError, FileNotFoundError, DatasetNotFoundError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"dataset {name} is not a local file and could not be loaded from the Hub (offline or a wrong id): "
            f"give a {'/'.join(LOCAL_BUILDERS)} file or check the id ({reason})"
        ) from error


def check_columns(dataset: datasets.Dataset, data_args: DataArguments, split: str) -> None:
    """Raise `ValueError` naming the missing column and the columns there are."""
    wanted = [data_args.text_column, data_args.label_column, data_args.text_pair_column]
    for column in filter(None, wanted):
        if column not in dataset.column_names:
            raise ValueError(
                f"column {column!r} not found in split {split!r} of {data_args.dataset_name}; "
                f"available columns: {dataset.column_names} (set text_column / label_column)"
            )


def _has_labels(dataset: datasets.Dataset, label_column: str) -> bool:
    """False for the unlabelled test splits of GLUE-style datasets (all labels -1)."""
    if label_column not in dataset.column_names or len(dataset) == 0:
        return False
    feature = dataset.features[label_column]
    return not (isinstance(feature, ClassLabel) or feature.dtype.startswith("int")) or min(dataset[label_column]) >= 0


def training_split(data_args: DataArguments) -> tuple[DatasetDict, datasets.Dataset]:
    """The raw dataset and its training split, its columns checked and not empty."""
    raw = load_source(data_args)
    if data_args.train_split not in raw:
        raise ValueError(f"split {data_args.train_split!r} not found in {data_args.dataset_name}; found {list(raw)}")
    train = raw[data_args.train_split]
    check_columns(train, data_args, data_args.train_split)
    if len(train) == 0:
        raise ValueError(f"split {data_args.train_split!r} of {data_args.dataset_name} is empty: nothing to train on")
    return raw, train


def is_missing(value) -> bool:
    """An empty cell: None, a blank string, or NaN (how a CSV's empty cell in a column of numbers reads)."""
    return (
        value is None
        or (isinstance(value, str) and not value.strip())
        or (isinstance(value, float) and value != value)
    )


def without_incomplete_rows(
    split: datasets.Dataset, columns: list[str], data_args: DataArguments, split_name: str
) -> datasets.Dataset:
    """`split` when every row has a value in each of `columns`. Otherwise a `ValueError` with the count and the first
    rows, or, with `data_args.drop_incomplete_rows`, the split without them and a warning that says how many."""
    values = [split[column] for column in columns]
    rows = [index for index, row in enumerate(zip(*values, strict=True)) if any(is_missing(value) for value in row)]
    if not rows:
        return split
    first = ", ".join(str(index + 1) for index in rows[:5]) + (", …" if len(rows) > 5 else "")
    what = (
        f"{len(rows)} of {len(split)} rows of split {split_name!r} of {data_args.dataset_name} have an empty "
        f"{' or '.join(columns)} (rows {first}, counting from 1 after the header)"
    )
    if not data_args.drop_incomplete_rows:
        raise ValueError(f"{what}: fill them in, or pass --drop_incomplete_rows true to leave them out")
    logger.warning("%s: left out (--drop_incomplete_rows)", what)
    return split.select(sorted(set(range(len(split))) - set(rows)))


def load_splits(data_args: DataArguments) -> tuple[DatasetDict, list[str]]:
    """Train, validation and test splits with integer labels, and the label names (index = label id).

    A missing validation or test split (or a test split without labels) is carved from train with
    `data_args.split_seed`, stratified by label.
    """
    raw, train = training_split(data_args)
    columns = [c for c in (data_args.text_column, data_args.text_pair_column, data_args.label_column) if c]
    train = without_incomplete_rows(train, columns, data_args, data_args.train_split)
    check_class_labels(train, data_args.label_column)
    if not isinstance(train.features[data_args.label_column], ClassLabel):
        train = train.class_encode_column(data_args.label_column)
    label_names = list(train.features[data_args.label_column].names)

    def align(split: datasets.Dataset) -> datasets.Dataset | None:
        if not _has_labels(split, data_args.label_column):
            return None
        return _align_labels(split, data_args.label_column, label_names)

    return held_out_splits(raw, train, data_args, align, stratify=data_args.label_column), label_names


def check_class_labels(train: datasets.Dataset, label_column: str) -> None:
    """Refuse a label column of scores (floats with fractions): every distinct score would become a class."""
    feature = train.features[label_column]
    if not getattr(feature, "dtype", "").startswith("float"):
        return
    scores = [value for value in train[label_column] if value != int(value)]
    if scores:
        raise ValueError(
            f"label column {label_column!r} holds scores, not classes (e.g. {scores[0]}): text classification "
            "predicts one of a few labels; for scores use --task text-regression (or --task auto), or give class "
            "labels (binned scores, integers or names)"
        )


def held_out_splits(
    raw: DatasetDict,
    train: datasets.Dataset,
    data_args: DataArguments,
    align: Callable[[datasets.Dataset], datasets.Dataset | None],
    stratify: str | None,
) -> DatasetDict:
    """`train` with validation and test splits: the source's own where `align` accepts them (labels encoded as in
    train), else carved from train with `data_args.split_seed` (stratified by the column `stratify`, when given).
    Then the sample limits, and a check that no split is empty."""
    splits = {"train": train}
    for role, split_name, size in (
        ("test", data_args.test_split, data_args.test_size),
        ("validation", data_args.validation_split, data_args.validation_size),
    ):
        aligned = align(raw[split_name]) if split_name in raw else None
        if aligned is not None:
            check_columns(aligned, data_args, split_name)
            splits[role] = aligned
        else:
            fraction = size / (len(splits["train"]) / len(train))  # a fraction of the original train size
            carved = splits["train"].train_test_split(
                test_size=fraction, seed=data_args.split_seed, stratify_by_column=stratify
            )
            logger.info("no labelled %r split: carved %d examples from train", split_name, len(carved["test"]))
            splits["train"], splits[role] = carved["train"], carved["test"]

    if data_args.max_train_samples is not None:
        splits["train"] = splits["train"].select(range(min(data_args.max_train_samples, len(splits["train"]))))
    if data_args.max_eval_samples is not None:
        for role in ("validation", "test"):
            splits[role] = splits[role].select(range(min(data_args.max_eval_samples, len(splits[role]))))
    for role, split in splits.items():
        if len(split) == 0:
            raise ValueError(f"the {role} split of {data_args.dataset_name} is empty after filtering and splitting")
    return DatasetDict(splits)


def _align_labels(dataset: datasets.Dataset, label_column: str, label_names: list[str]) -> datasets.Dataset:
    """Encode an evaluation split's labels with the training split's label ids."""
    feature = dataset.features[label_column]
    if isinstance(feature, ClassLabel):
        if list(feature.names) != label_names:
            raise ValueError(f"label names differ between splits: {feature.names} vs train {label_names}")
        return dataset
    if feature.dtype.startswith("int"):
        return dataset.cast_column(label_column, ClassLabel(names=label_names))
    unknown = sorted(set(dataset[label_column]) - set(label_names))
    if unknown:
        raise ValueError(f"labels {unknown} appear in an evaluation split but not in train ({label_names})")
    return dataset.cast_column(label_column, ClassLabel(names=label_names))


def tokenize_splits(splits: DatasetDict, tokenizer, data_args: DataArguments) -> DatasetDict:
    """Token ids, attention masks (and token types where the tokenizer makes them) plus `labels`; nothing else.

    Padding is left to the collator (`DataCollatorWithPadding`), so each batch pads only to its own longest input.
    """

    def encode(batch):
        pair = batch[data_args.text_pair_column] if data_args.text_pair_column else None
        encoded = tokenizer(batch[data_args.text_column], pair, truncation=True, max_length=data_args.max_seq_length)
        encoded["labels"] = batch[data_args.label_column]
        return encoded

    def tokenize(split: datasets.Dataset) -> datasets.Dataset:
        encoded = split.map(encode, batched=True, desc="Tokenizing")
        keep = [c for c in encoded.column_names if c in MODEL_INPUTS or c == "labels"]
        return encoded.select_columns(keep)

    return DatasetDict({role: tokenize(split) for role, split in splits.items()})
