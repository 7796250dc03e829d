"""`ParallelDataArguments`: the parallel sentences of multilingual embedding distillation and the pairs held out."""

from dataclasses import dataclass, field
from typing import Literal

from hfdistill.config.data import BUNDLED_PREFIX

DEFAULT_PARALLEL_DATASET = BUNDLED_PREFIX + "bible_ot_en_es"
HELD_OUT_PARALLEL_DATASET = BUNDLED_PREFIX + "bible_nt_en_es"
SOFTWARE_UI_DATASET = BUNDLED_PREFIX + "software_ui_en_es"  # another domain and source than the Bible
TECHNICAL_TEXT = BUNDLED_PREFIX + "technical_text"  # English docstring prose, a source-only mix's part


@dataclass
class ParallelDataArguments:
    """Parallel sentences for multilingual embedding distillation, and how many pairs are held out."""

    task: Literal["sentence-embedding"] = field(
        default="sentence-embedding",
        metadata={
            "help": "The task: a sentence-embedding student distilled on parallel sentences (the only one here)."
        },
    )

    dataset_name: str = field(
        default=DEFAULT_PARALLEL_DATASET,
        metadata={
            "help": "A Hub dataset id, a local .tsv (no header: source<TAB>translation...), .csv, .json or .jsonl file, "
            f"or '{DEFAULT_PARALLEL_DATASET}' (bundled English-Spanish verse pairs of the Old Testament, public "
            "domain, offline)."
        },
    )
    eval_datasets: list[str] = field(
        default_factory=lambda: [HELD_OUT_PARALLEL_DATASET, SOFTWARE_UI_DATASET],
        metadata={
            "help": "Further parallel sources with the same columns, never trained on, each scored on `eval_pairs` "
            f"of its pairs: other kinds of text than the training pairs (default '{HELD_OUT_PARALLEL_DATASET}', the "
            f"New Testament's books, and '{SOFTWARE_UI_DATASET}', software interface messages; 'none' for none)."
        },
    )
    dataset_config_name: str | None = field(
        default=None, metadata={"help": "Hub dataset configuration, e.g. 'en-es'."}
    )
    train_split: str = field(default="train", metadata={"help": "Hub split holding the pairs."})
    source_column: str = field(
        default="en", metadata={"help": "Column of the sentences the teacher embeds (its language, e.g. English)."}
    )
    target_columns: list[str] = field(
        default_factory=lambda: ["es"],
        metadata={"help": "Columns holding translations of the source sentence, one per language."},
    )
    source_sentences: list[str] | None = field(
        default=None,
        metadata={
            "help": "Sentences in the source language alone, from one or more sources (bundled names such as "
            "'bundled:transfer_text' and 'bundled:technical_text', local .csv/.json/.jsonl/.parquet/.txt files or Hub "
            "ids, text in `source_sentences_column`): the teacher embeds each, and the student learns the teacher's "
            "space on that text too, beyond the parallel pairs' kind of text; 'none' for none."
        },
    )
    source_sentences_column: str = field(
        default="text", metadata={"help": "Text column of every `source_sentences` source."}
    )
    max_source_sentences: int | None = field(
        default=None,
        metadata={"help": "Use at most this many of `source_sentences`, drawn at random with `split_seed`."},
    )
    eval_pairs: int = field(
        default=500, metadata={"help": "Pairs held out (never trained on) for retrieval and MSE/cosine evaluation."}
    )
    max_train_pairs: int | None = field(default=None, metadata={"help": "Train on at most this many pairs."})
    split_seed: int = field(default=42, metadata={"help": "Seed of the held-out split."})
    max_seq_length: int = field(default=128, metadata={"help": "Longer sentences are truncated to this many tokens."})

    def __post_init__(self):
        if not self.target_columns:
            raise ValueError("target_columns is empty: name at least one translation column, e.g. --target_columns es")
        if self.source_column in self.target_columns or len(set(self.target_columns)) < len(self.target_columns):
            raise ValueError(f"source_column and target_columns must be distinct, got {self.columns}")
        if self.eval_pairs < 2:
            raise ValueError(f"eval_pairs must be >= 2 for retrieval to mean anything, got {self.eval_pairs}")
        if self.max_train_pairs is not None and self.max_train_pairs < 1:
            raise ValueError(f"max_train_pairs must be >= 1, got {self.max_train_pairs}")
        if self.max_seq_length < 2:
            raise ValueError(f"max_seq_length must be >= 2, got {self.max_seq_length}")
        if self.max_source_sentences is not None and self.max_source_sentences < 1:
            raise ValueError(f"max_source_sentences must be >= 1, got {self.max_source_sentences}")
        if self.source_sentences is not None and [name.lower() for name in self.source_sentences] == ["none"]:
            # none at all: a limit on their number (the command's default sample size) has nothing left to limit
            self.source_sentences, self.max_source_sentences = None, None
        if self.max_source_sentences is not None and self.source_sentences is None:
            raise ValueError(
                "max_source_sentences limits --source_sentences, which is not set: set it or drop the flag"
            )
        if [name.lower() for name in self.eval_datasets] == ["none"]:
            self.eval_datasets = []
        if self.dataset_name in self.eval_datasets:
            raise ValueError(f"{self.dataset_name} is the training data; --eval_datasets names data never trained on")

    @property
    def columns(self) -> list[str]:
        return [self.source_column, *self.target_columns]
