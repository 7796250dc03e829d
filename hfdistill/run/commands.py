"""The commands of one stage beside `distill`: fine-tune a teacher, cache its outputs, score and time saved models.

Each shares the pipeline's data loading, teacher checks and report, and runs on its own (`hfdistill train-teacher`,
`hfdistill cache-teacher`, `hfdistill evaluate`).
"""

from dataclasses import asdict, fields

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.data import DataArguments
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.outputs.evaluation import compare_models
from hfdistill.outputs.report import comparison_table, write_report
from hfdistill.run.logit_plan import check_top_k, load_teacher
from hfdistill.run.logit_stages import fresh_teacher, teacher_trainer, write_teacher_card_of
from hfdistill.run.pipeline import start_run
from hfdistill.tasks.task_data import load_task
from hfdistill.training.resume import train_and_save


def cache_teacher(args: DistillationArguments, data_args: DataArguments) -> dict:
    """Run the fine-tuned `teacher_name_or_path` once over the training split (and the transfer text, when
    `transfer_dataset` is set) into `teacher_cache_dir`.

    `hfdistill distill` with the same teacher, data and cache settings then reads the outputs instead of running the
    teacher. Returns what was cached.
    """
    if args.teacher_name_or_path is None or args.teacher_cache_dir is None:
        raise ValueError(
            "cache-teacher needs --teacher_name_or_path (the fine-tuned teacher, e.g. outputs/quickstart/teacher) "
            "and --teacher_cache_dir (where its outputs go)"
        )
    data = load_task(args.teacher_name_or_path, data_args)
    check_top_k(args, data.label_names)

    def fine_tuned_teacher():
        return load_teacher(data.task, args.teacher_name_or_path, data.label_names, False, False)

    cached = cache_teacher_logits(
        data.training_rows(args.seed),  # the rows `distill` trains on, so that it finds them cached
        args.teacher_name_or_path,
        data.tokenizer,
        args,
        data.collator,
        data.preprocessing,
        load_teacher=fine_tuned_teacher,
    )
    return {"rows": len(cached), "columns": [name for name in cached.column_names if name.startswith("teacher_")]}


def train_teacher(
    args: DistillationArguments, data_args: DataArguments, pipeline_args: PipelineArguments
) -> dict | None:
    """Fine-tune `teacher_name_or_path` on the task into `output_dir` at `num_train_epochs` and `learning_rate`, as
    the quickstart's teacher stage does (the same teacher from the same settings); test metrics on the main process."""
    given = [
        f"--{name}" for name in ("teacher_num_train_epochs", "teacher_learning_rate") if is_set(pipeline_args, name)
    ]
    if given:
        raise ValueError(
            f"{', '.join(given)} set the teacher stage of distill; train-teacher trains the teacher with "
            "--num_train_epochs and --learning_rate"
        )
    _, teacher_path = start_run(args, pipeline_args)
    data = load_task(teacher_path, data_args)
    teacher = fresh_teacher(data, teacher_path, args.seed, pipeline_args.freeze_word_embeddings)
    trainer = teacher_trainer(teacher, args, data)
    train_and_save(trainer)
    if not trainer.is_world_process_zero():
        return None
    metrics = data.score(teacher)
    write_teacher_card_of(args.output_dir, metrics, teacher_path, data, args, pipeline_args.freeze_word_embeddings)
    return metrics


def is_set(arguments, name: str) -> bool:
    """Whether `arguments`' field `name` differs from its default (the user set it)."""
    default = next(field.default for field in fields(arguments) if field.name == name)
    return getattr(arguments, name) != default


def evaluate_folders(
    teacher: str, students: list[str], data_args: DataArguments, output_file: str | None, timing_rounds: int = 5
) -> dict:
    """Score and time `teacher` and each of `students` on the test split; the report, with its table."""
    data = load_task(teacher, data_args)
    folders = {"teacher": teacher, **{student: student for student in students}}
    rows, _ = compare_models(data, folders, timing_rounds)
    metric = data.task.headline_metric
    report = {"models": [asdict(row) for row in rows]}
    if output_file is not None:
        report = write_report(output_file, rows, metric, extra={"dataset": data_args.dataset_name})
    report["table"] = comparison_table(rows, metric)
    return report
