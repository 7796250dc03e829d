"""Parallel sentences for multilingual distillation: read, check line by line, de-duplicate and hold pairs out.

A source of parallel data has one source-language column and one or more translation columns:

- `.tsv` (optionally `.gz`): no header; each line is `source<TAB>translation[<TAB>translation ...]`, the columns named
  by `source_column` and `target_columns` in that order (the sentence-transformers parallel-sentences layout);
- `.csv`: a header row naming the columns;
- `.jsonl`: one object per line; `.json`: a list of objects or an object of equally long column lists;
- anything else is a Hub dataset id (`datasets.load_dataset`).

A malformed file (a wrong number of fields, an empty line or field, columns of different lengths) raises a one-line
`ValueError` that names the file and the line.
"""

import csv
import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path

import datasets
from datasets import DatasetDict

from hfdistill.config.data import BUNDLED_PREFIX
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.data.bundled import bundled_path

logger = logging.getLogger(__name__)


LOCAL_FORMATS = (".tsv", ".csv", ".jsonl", ".json")
# The languages of the bundled pairs, in their files' order: a bundled set's columns are these, whatever the flags say.
BUNDLED_COLUMNS = {name: ("en", "es") for name in ("bible_ot_en_es", "bible_nt_en_es", "software_ui_en_es")}


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")


def _checked_row(path: Path, where: str, values: list, columns: list[str]) -> dict[str, str]:
    """The row as a dict; raise naming `where` in `path` when it has the wrong number of fields or an empty one."""
    if len(values) != len(columns):
        raise ValueError(
            f"{path}, {where}: {len(values)} fields, expected {len(columns)} ({', '.join(columns)}); "
            "every line needs the source sentence and one translation per target column"
        )
    for column, value in zip(columns, values, strict=True):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{path}, {where}: column {column!r} is empty; remove the line or fill it in")
    return dict(zip(columns, values, strict=True))


def _read_delimited(path: Path, columns: list[str], delimiter: str, header: bool) -> list[dict[str, str]]:
    with _open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else 0)
        if header:
            names = next(reader, None)
            if names is None:
                raise ValueError(f"{path} is empty: it holds no sentence pairs")
            missing = [c for c in columns if c not in names]
            if missing:
                raise ValueError(
                    f"{path}: column {missing[0]!r} not in the header {names}; set source_column / target_columns"
                )
            positions = [names.index(c) for c in columns]
        rows = []
        for fields in reader:
            where = f"line {reader.line_num}"
            if not fields or not any(f.strip() for f in fields):
                raise ValueError(f"{path}, {where}: the line is empty; remove it")
            if header:
                if len(fields) != len(names):
                    raise ValueError(f"{path}, {where}: {len(fields)} fields, expected {len(names)} as in the header")
                fields = [fields[i] for i in positions]
            rows.append(_checked_row(path, where, fields, columns))
    return rows


def _read_json(path: Path, columns: list[str]) -> list[dict[str, str]]:
    rows = []
    with _open_text(path) as handle:
        if ".jsonl" in path.suffixes:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    raise ValueError(f"{path}, line {number}: the line is empty; remove it")
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg})") from error
                rows.append(_record(path, f"line {number}", record, columns))
            return rows
        try:
            content = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}, line {error.lineno}: not valid JSON ({error.msg})") from error
    if isinstance(content, dict):  # columns of equal length
        missing = [c for c in columns if c not in content]
        if missing:
            raise ValueError(f"{path}: column {missing[0]!r} not found; columns are {sorted(content)}")
        lengths = {c: len(content[c]) for c in columns}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{path}: columns hold different numbers of sentences {lengths}; each needs one per pair")
        return [
            _checked_row(path, f"pair {i + 1}", [content[c][i] for c in columns], columns)
            for i in range(lengths[columns[0]])
        ]
    if not isinstance(content, list):
        raise ValueError(f"{path}: expected a list of objects or an object of columns, got {type(content).__name__}")
    return [_record(path, f"record {i + 1}", record, columns) for i, record in enumerate(content)]


def _record(path: Path, where: str, record, columns: list[str]) -> dict[str, str]:
    if not isinstance(record, dict):
        raise ValueError(f"{path}, {where}: expected an object with keys {columns}, got {type(record).__name__}")
    missing = [c for c in columns if c not in record]
    if missing:
        raise ValueError(f"{path}, {where}: key {missing[0]!r} missing; it has {sorted(record)}")
    return _checked_row(path, where, [record[c] for c in columns], columns)


def read_parallel_file(path: str | Path, columns: list[str]) -> datasets.Dataset:
    """A local parallel file as a `Dataset` with `columns` (source first); errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parallel data file {path} does not exist")
    kind = next((s for s in reversed(path.suffixes) if s in LOCAL_FORMATS), None)
    if kind == ".tsv":
        rows = _read_delimited(path, columns, "\t", header=False)
    elif kind == ".csv":
        rows = _read_delimited(path, columns, ",", header=True)
    elif kind in (".json", ".jsonl"):
        rows = _read_json(path, columns)
    else:
        raise ValueError(f"{path}: unknown parallel file type; use .tsv, .csv, .json or .jsonl (optionally .gz)")
    if not rows:
        raise ValueError(f"{path} is empty: it holds no sentence pairs")
    return datasets.Dataset.from_dict({c: [row[c] for row in rows] for c in columns})


def load_parallel(data_args: ParallelDataArguments) -> datasets.Dataset:
    """All pairs of the source named by `data_args.dataset_name`, columns `[source_column, *target_columns]`."""
    columns = data_args.columns
    name = data_args.dataset_name
    if name.startswith(BUNDLED_PREFIX):
        bundled = name[len(BUNDLED_PREFIX) :]
        languages = list(BUNDLED_COLUMNS.get(bundled, columns))
        missing = [column for column in columns if column not in languages]
        if missing:
            raise ValueError(
                f"{name} holds the columns {languages}, not {missing[0]!r}: set --source_column and --target_columns "
                "to its languages, or give pairs in that language with --dataset_name (and --eval_datasets)"
            )
        return read_parallel_file(bundled_path(bundled), languages).select_columns(columns)
    path = Path(name)
    if path.is_file() or any(s in LOCAL_FORMATS for s in path.suffixes):
        return read_parallel_file(path, columns)
    dataset = datasets.load_dataset(name, data_args.dataset_config_name, split=data_args.train_split)
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise ValueError(
            f"column {missing[0]!r} not found in {name}; available: {dataset.column_names} "
            "(set source_column / target_columns)"
        )
    complete = dataset.select_columns(columns).filter(lambda row: all(row[c] and row[c].strip() for c in columns))
    if len(complete) < len(dataset):
        logger.warning("%s: skipped %d pairs with an empty sentence", name, len(dataset) - len(complete))
    return complete


def distinct_sources(pairs: datasets.Dataset, source: str) -> datasets.Dataset:
    """The pairs with each source sentence once (its first pair): a retrieval pool needs one answer per query."""
    first_of = {}
    for index, sentence in enumerate(pairs[source]):
        first_of.setdefault(sentence, index)
    unique = pairs.select(sorted(first_of.values()))
    if len(unique) < len(pairs):
        logger.info("dropped %d pairs whose %s sentence repeats an earlier one", len(pairs) - len(unique), source)
    return unique


def split_pairs(pairs: datasets.Dataset, data_args: ParallelDataArguments) -> DatasetDict:
    """`train` and held-out `test` pairs; a source sentence that occurs twice is kept once, so none is in both."""
    unique = distinct_sources(pairs, data_args.source_column)
    if data_args.eval_pairs >= len(unique):
        raise ValueError(
            f"eval_pairs={data_args.eval_pairs} leaves nothing to train on: the data has {len(unique)} distinct pairs"
        )
    splits = unique.train_test_split(test_size=data_args.eval_pairs, seed=data_args.split_seed)
    if data_args.max_train_pairs is not None:
        splits["train"] = splits["train"].select(range(min(data_args.max_train_pairs, len(splits["train"]))))
    logger.info("parallel data: %d training pairs, %d held out", len(splits["train"]), len(splits["test"]))
    return splits


def set_name(name: str) -> str:
    """A short name for a parallel source in tables: the bundled name, the file's stem, or the Hub id."""
    if name.startswith(BUNDLED_PREFIX):
        return name[len(BUNDLED_PREFIX) :]
    path = Path(name)
    return path.name.split(".")[0] if path.suffix else name


def unseen_pairs(name: str, train: datasets.Dataset, data_args: ParallelDataArguments) -> datasets.Dataset:
    """`eval_pairs` pairs of the source `name` (all when it has fewer), sampled with `split_seed`, none sharing a
    sentence with the training pairs: data the student never trained on."""
    pairs = distinct_sources(
        load_parallel(replace(data_args, dataset_name=name, eval_datasets=[])), data_args.source_column
    )
    seen = {sentence for column in data_args.columns for sentence in train[column]}
    unseen = pairs.filter(lambda row: not any(row[c] in seen for c in data_args.columns))
    if len(unseen) < len(pairs):
        logger.warning(
            "%s: left out %d pairs that share a sentence with the training pairs", name, len(pairs) - len(unseen)
        )
    if len(unseen) < 2:
        raise ValueError(f"{name} has {len(unseen)} pairs that are not in the training data: nothing to score on")
    return unseen.shuffle(seed=data_args.split_seed).select(range(min(data_args.eval_pairs, len(unseen))))
