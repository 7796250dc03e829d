"""Transfer data: unlabelled text on which the student learns the teacher's function, mixed into the labelled set.

Hinton et al.'s "transfer set": the soft targets carry the teacher's knowledge on any input, so a student that sees
more inputs than the labelled set learns more of it. The rows come from a transfer dataset, from perturbed copies of
the training texts (`augment.py`), or both. They are tokenised like the training rows and labelled `UNLABELLED`: the
soft-target and intermediate losses count them, the task loss does not. A transfer text that is also a test (or
validation) text is refused, since the teacher's outputs on it would leak into the student; a generated copy that
happens to equal one is left out, and counted in the log.
"""

import logging
import re

import datasets
from datasets import Dataset, DatasetDict

from hfdistill.config.data import DataArguments
from hfdistill.data.augment import augmented_texts
from hfdistill.data.loading import MODEL_INPUTS, load_named
from hfdistill.data.words import first_subtoken_labels
from hfdistill.losses.common import UNLABELLED

logger = logging.getLogger(__name__)


def normalised(text: str | list[str]) -> str:
    """Case- and whitespace-insensitive form of a text (or of a sentence given as its words), for the leak check."""
    text = " ".join(text) if isinstance(text, list) else text
    return re.sub(r"\s+", " ", text.strip().lower())


def load_transfer_texts(data_args: DataArguments) -> list[str]:
    """The transfer texts named by `data_args.transfer_dataset`; empty texts are dropped, and counted in the log."""
    return load_texts(
        data_args.transfer_dataset,
        data_args.transfer_text_column,
        data_args.transfer_split,
        data_args.max_transfer_samples,
        role="transfer data",
        column_flag="--transfer_text_column",
    )


def load_texts(name: str, column: str, split_name: str, limit: int | None, role: str, column_flag: str) -> list[str]:
    """The first `limit` (all when None) non-empty texts of `column` in a bundled dataset, local file or Hub id;
    empty ones are left out and counted in the log. Errors name the `role` of the data and the flag to fix."""
    raw = load_named(name)
    if split_name not in raw:
        raise ValueError(f"split {split_name!r} not found in {role} {name}; found {list(raw)}")
    split = raw[split_name]
    if column not in split.column_names:
        raise ValueError(
            f"column {column!r} not found in {role} {name}; available columns: {split.column_names} "
            f"(set {column_flag})"
        )
    texts = [text for text in split[column] if isinstance(text, str) and text.strip()]
    if len(texts) < len(split):
        logger.warning(
            "%s %s: %d of %d rows have no text and are left out", role, name, len(split) - len(texts), len(split)
        )
    if not texts:
        raise ValueError(f"{role} {name} has no text in column {column!r}")
    return texts if limit is None else texts[:limit]


def held_out_texts(splits: DatasetDict, text_column: str) -> dict[str, set[str]]:
    """The normalised test and validation texts, by split."""
    return {role: {normalised(text) for text in splits[role][text_column]} for role in ("test", "validation")}


def check_no_leak(transfer_texts: list[str], splits: DatasetDict, text_column: str, source: str) -> None:
    """Refuse transfer texts that are also test or validation texts (compared case- and space-insensitively)."""
    for role, held_out in held_out_texts(splits, text_column).items():
        leaked = [text for text in transfer_texts if normalised(text) in held_out]
        if leaked:
            raise ValueError(
                f"transfer data {source} holds {len(leaked)} text(s) of the {role} split, e.g. {leaked[0][:80]!r}: "
                f"remove them from the transfer data, since a {role} text must never be trained on"
            )


def unlabelled(label_feature):
    """The label of a transfer row, as the losses read it: NaN (one per output) for float labels (scores, 0/1 per
    label), `UNLABELLED` for class ids; None for class ids per word, set word by word (`transfer_rows`)."""
    inner = getattr(label_feature, "feature", None)
    if holds_floats(label_feature):
        return float("nan") if inner is None else [float("nan")] * label_feature.length
    return None if inner is not None else UNLABELLED


def holds_floats(label_feature) -> bool:
    """Whether a label feature holds floats (a score, or a list of them), not class ids."""
    return getattr(getattr(label_feature, "feature", label_feature), "dtype", "").startswith("float")


def transfer_rows(texts: list[str], tokenizer, max_seq_length: int, label_feature) -> Dataset:
    """Tokenised transfer texts with the training rows' columns and label feature, labelled as `unlabelled` says.
    For a tag per word (class ids per word) each text is split into words at whitespace, as the training rows come,
    and each word's first sub-token is `UNLABELLED` (the others and the special tokens -100, as in the training
    rows)."""
    label = unlabelled(label_feature)
    per_word = label is None
    words = [text.split() for text in texts] if per_word else texts
    encoded = tokenizer(words, truncation=True, max_length=max_seq_length, is_split_into_words=per_word)
    columns = {name: encoded[name] for name in MODEL_INPUTS if name in encoded}
    labels = (
        [first_subtoken_labels(encoded.word_ids(i), [UNLABELLED] * len(row)) for i, row in enumerate(words)]
        if per_word
        else [label] * len(texts)
    )
    return Dataset.from_dict({**columns, "labels": labels}).cast_column("labels", label_feature)


def augmented_copies(splits: DatasetDict, tokenizer, data_args: DataArguments, seed: int) -> list[str]:
    """`data_args.augment_copies` perturbed copies of each training text, none equal to a held-out text."""
    copies = augmented_texts(
        list(splits["train"][data_args.text_column]), data_args.augment_copies, tokenizer.mask_token, seed
    )
    held_out = set().union(*held_out_texts(splits, data_args.text_column).values())
    kept = [text for text in copies if normalised(text) not in held_out]
    if len(kept) < len(copies):
        logger.warning(
            "augmentation: %d copies equal a test or validation text and are left out", len(copies) - len(kept)
        )
    return kept


def with_transfer_data(
    train: Dataset, splits: DatasetDict, tokenizer, data_args: DataArguments, seed: int = 42
) -> Dataset:
    """The tokenised training rows followed by the transfer rows (the Trainer's sampler mixes them)."""
    if data_args.text_pair_column is not None:
        raise ValueError(
            "transfer data and augmented copies are single texts; they cannot be mixed into a sentence-pair task"
        )
    texts = []
    if data_args.transfer_dataset is not None:
        texts = load_transfer_texts(data_args)
        check_no_leak(texts, splits, data_args.text_column, data_args.transfer_dataset)
    copies = augmented_copies(splits, tokenizer, data_args, seed) if data_args.augment_copies else []
    label_feature = train.features["labels"]
    if not holds_floats(label_feature):  # class ids (a ClassLabel, or one per word): integers, which UNLABELLED fits
        per_word = getattr(label_feature, "feature", None) is not None
        label_feature = datasets.List(datasets.Value("int64")) if per_word else datasets.Value("int64")
    rows = transfer_rows(texts + copies, tokenizer, data_args.max_seq_length, label_feature)
    logger.info(
        "transfer data: %d texts of %s and %d augmented copies, beside %d labelled rows",
        len(texts),
        data_args.transfer_dataset,
        len(copies),
        len(train),
    )
    return datasets.concatenate_datasets([train.cast_column("labels", label_feature), rows])
