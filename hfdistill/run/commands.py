"""The commands of one stage beside `distill`: fine-tune a teacher, cache its outputs, score and time saved models.

Each shares the pipeline's data loading, teacher checks and report, and runs on its own (`hfdistill train-teacher`,
`hfdistill cache-teacher`, `hfdistill evaluate`).
"""

from dataclasses import asdict

from transformers import Trainer, set_seed

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.data import DataArguments
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.outputs.evaluation import compare_models
from hfdistill.outputs.report import comparison_table, write_report
from hfdistill.run.logit_plan import check_top_k, load_teacher
from hfdistill.run.pipeline import start_run
from hfdistill.tasks.task_data import load_task
from hfdistill.training.resume import train_and_save


def cache_teacher(args: DistillationArguments, data_args: DataArguments) -> dict:
    """Run the fine-tuned `teacher_name_or_path` once over the training split into `teacher_cache_dir`.

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
        data.tokenized["train"],
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
    """Fine-tune `teacher_name_or_path` on the task into `output_dir`; test metrics on the main process."""
    _, teacher_path = start_run(args, pipeline_args)
    data = load_task(teacher_path, data_args)
    set_seed(args.seed)
    teacher = load_teacher(data.task, teacher_path, data.label_names, True, pipeline_args.freeze_word_embeddings)
    trainer = Trainer(model=teacher, args=args, **data.trainer_kwargs())
    train_and_save(trainer)
    if not trainer.is_world_process_zero():
        return None
    return data.score(teacher)


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
