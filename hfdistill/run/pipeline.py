"""The run every task shares: its start, its task's stages, the push of its student and its end.

`run_pipeline` is the one pipeline. What differs between tasks (their checks and data, how the teacher and the
students are trained, how they are measured and written up) is the task's `Stages`: those every task with logits
shares in `hfdistill.run.logit_stages`, those of sentence embeddings in `hfdistill.run.embedding_stages`.
"""

from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from accelerate import PartialState

from hfdistill.config.data import DataArguments
from hfdistill.config.paths import model_config
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.models.default_teacher import default_teacher_path
from hfdistill.outputs.hub import push_student
from hfdistill.outputs.report import STUDENT
from hfdistill.run.logit_stages import LogitStages
from hfdistill.tasks import EncoderTask, task_for
from hfdistill.tasks.auto import resolved_task
from hfdistill.training.resume import MANIFEST, Run, open_run


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse, before any work, to write over the results of an earlier run."""
    path = Path(output_dir)
    if (path / MANIFEST).is_file():
        return  # a resumable run's folder: `training.resume.open_run` decides whether this run continues it
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ValueError(
            f"output_dir {output_dir} already holds files: choose another --output_dir or pass --overwrite_output_dir"
        )


def start_run(args: DistillationArguments, pipeline_args: PipelineArguments) -> tuple[Path, str]:
    """Check the output folder on every rank before any rank writes to it; the folder and the teacher's path."""
    check_output_dir(args.output_dir, pipeline_args.overwrite_output_dir)
    PartialState().wait_for_everyone()  # no rank may see another's first files as an earlier run's
    teacher_path = args.teacher_name_or_path or default_teacher_path()
    model_config(teacher_path, "teacher_name_or_path")
    return Path(args.output_dir), teacher_path


def open_pipeline_run(args: DistillationArguments, data_args, pipeline_args: PipelineArguments, **more) -> Run:
    """The run in `output_dir`, new or continued (`training.resume.open_run`), keyed by every setting (and the dicts in
    `more`); call it after every check of the inputs and before any work."""
    settings = {"training": args.to_dict(), "data": asdict(data_args), "pipeline": asdict(pipeline_args), **more}
    return open_run(args.output_dir, settings, pipeline_args.overwrite_output_dir, pipeline_args.remeasure)


class Stages(Protocol):
    """A task's run between its start and its push. Made once every input is checked and the data is loaded: its
    constructor refuses bad input before any work."""

    data_args: object  # the data arguments as the task reads them (its default columns filled in), for the run's key

    def train(self, run: Run) -> dict[str, str]:
        """Train (or, in a run that continues, find the finished stages of) the teacher and the students; their
        folders by report row, the distilled student's under `STUDENT`."""

    def report(self, folders: dict[str, str]) -> dict:
        """On the main process: measure every model, write `report.json` and the model cards; the report."""


def stages_for(task) -> type[Stages]:
    """The stages that run `task`: every task with logits (an `EncoderTask`) shares `LogitStages`; sentence
    embeddings have their own (imported only then, with sentence-transformers)."""
    if isinstance(task, EncoderTask):
        return LogitStages
    from hfdistill.run.embedding_stages import EmbeddingStages

    return EmbeddingStages


def run_pipeline(args: DistillationArguments, data_args, pipeline_args: PipelineArguments) -> dict | None:
    """Run `data_args.task` from its teacher to a saved, measured student; on the main process return the report
    (also written to `<output_dir>/report.json`), elsewhere None. A run cut off continues when called again.

    Args:
        args: the teacher, the student's shape, T, the loss weights and everything `TrainingArguments` has.
        data_args: `DataArguments` for a task with logits, `ParallelDataArguments` for sentence embeddings.
        pipeline_args: the optional steps: fine-tune the teacher first, two stages, the no-KD baseline.
    """
    _, teacher_path = start_run(args, pipeline_args)
    if isinstance(data_args, DataArguments):
        data_args = resolved_task(data_args)  # --task auto: the label column's task, before any model loads
    stages = stages_for(task_for(data_args.task))(args, data_args, pipeline_args, teacher_path)
    run = open_pipeline_run(args, stages.data_args, pipeline_args)  # after every check, before work
    folders = stages.train(run)
    if not PartialState().is_main_process:
        return None
    report = stages.report(folders)
    pushed = push_student(args, folders[STUDENT])
    if pushed is not None:
        report["pushed"] = pushed
    run.finish()
    return report
