"""Choose the temperature and the loss weights by validation: an Optuna study over one recipe's distillation settings.

1. Check everything (ranges, data, student plan) before any work; fine-tune the teacher first when asked (a resumable
   stage, as in `hfdistill distill`).
2. Run the teacher once over the training rows (the transfer texts included, as `distill` trains on) into the
   teacher-output cache (`teacher_cache_dir`, by default `<output_dir>/teacher-cache`); no trial runs it. Terms the
   cache cannot hold (hidden states, attention) keep the teacher online.
3. The first trial runs the recipe's own values (when they lie in the ranges), so that the chosen student is never
   worse on validation than the recipe's. Each trial trains the same student (same initialisation, same seed, so the same batches) with the values Optuna
   suggests, evaluates it on the validation split after every epoch and is pruned there when it trails (Optuna's
   median pruner). A finished trial's student is kept in `<output_dir>/trials/trial-N` while it is the best.
4. The study lives in Optuna storage (`<output_dir>/study.db`, SQLite, unless `--storage`): the same command continues
   it after a crash, a larger `--n_trials` adds trials, and several processes on one storage share it.
5. The best trial's student, scored once on the test split beside the teacher, becomes `<output_dir>/student` with a
   model card that has a section on the search; `report.json` keeps every trial.

Optuna is used directly rather than through `Trainer.hyperparameter_search`: that runs `n_trials` more trials in each
process and takes no study callbacks, so a resumed or shared study could not stop at a total.
"""

import copy
import logging
import os
import shutil
import socket
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import optuna
from accelerate import PartialState
from transformers import TrainerCallback, set_seed

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.builtin import DEPTH_ONLY_DEFAULTS
from hfdistill.config.data import DataArguments
from hfdistill.config.paths import publish_folder
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.search import SEARCHABLE, WEIGHTS, SearchArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.problems import losses_for
from hfdistill.outputs.search_report import write_search_outputs
from hfdistill.run.logit_plan import (
    check_sequence_length,
    check_stages,
    distillation_arguments,
    plan_student,
    with_teacher_stage,
)
from hfdistill.run.logit_stages import teacher_and_student
from hfdistill.run.pipeline import open_pipeline_run, start_run
from hfdistill.run.student_stages import first_stage
from hfdistill.run.study import counted_trials, open_study
from hfdistill.tasks.task_data import TaskData, load_task
from hfdistill.training.trainer import DistillationTrainer, check_temperature

logger = logging.getLogger(__name__)
TRIALS = "trials"
# `hfdistill search` without flags: the pair, data and schedule of `recipes/depth-only.yaml` (`recipes/search.yaml`
# holds the same).
SEARCH_DEFAULTS = {
    **{name: value for name, value in DEPTH_ONLY_DEFAULTS.items() if name not in ("save_steps", "save_total_limit")},
    "output_dir": "outputs/search",
    "train_baseline": False,
    "save_strategy": "no",  # the study resumes trial by trial
}


def check_search_settings(args: DistillationArguments, pipeline_args: PipelineArguments) -> None:
    """Refuse, before any work, settings a search does not honour."""
    for flag in ("train_baseline", "remeasure"):
        if getattr(pipeline_args, flag):
            raise ValueError(f"{flag} applies to `distill`: drop --{flag}")
    if args.save_strategy != "no":
        raise ValueError(
            "a search resumes trial by trial (the study keeps every finished trial), not from checkpoints inside a "
            "trial: drop --save_strategy"
        )
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "a search runs one trial per process: start several `hfdistill search` processes on one --storage "
            "instead of `accelerate launch`"
        )


class ReportToTrial(TrainerCallback):
    """Report each epoch's validation score to the Optuna trial, and stop the trial when the pruner says so: never
    after its last epoch, when stopping saves nothing and the trained student must count as a finished trial."""

    def __init__(self, trial: optuna.Trial, key: str):
        self.trial, self.key = trial, key

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        epoch = round(state.epoch or 0)
        self.trial.report(metrics[self.key], step=epoch)
        if state.global_step < state.max_steps and self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.key} {metrics[self.key]:.4f} after epoch {epoch} is below the median")


@dataclass
class Trials:
    """What every trial shares: the initial student, its training arguments, the data, and where trials go."""

    student: object
    teacher: object | None
    args: DistillationArguments
    data: TaskData
    train: object
    folder: Path
    layers: list[int] | None
    teacher_path: str  # as given (a Hub id or folder): the card's base model
    teacher_folder: str  # the teacher the trials learn from: `teacher_path`, or its fine-tuned copy

    @property
    def key(self) -> str:
        return f"eval_{self.data.task.headline_metric}"

    def run(self, trial: optuna.Trial, ranges: dict[str, tuple[float, float]]) -> float:
        """Train one student with the values `trial` suggests; its final validation score."""
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        values = {
            name: trial.suggest_float(name, low, high, log=SEARCHABLE[name]) for name, (low, high) in ranges.items()
        }
        logger.info("trial %d: %s", trial.number, ", ".join(f"{name} {value:.4g}" for name, value in values.items()))
        staging = self.folder / TRIALS / f".trial-{trial.number}.partial"
        # the layer map follows from the trial's own weights (a copied-layer map when an intermediate term is on)
        args = distillation_arguments(replace(self.args, **values, save_strategy="no"), staging, self.layers)
        set_seed(args.seed)
        trainer = DistillationTrainer(
            model=copy.deepcopy(self.student),
            teacher_model=self.teacher,
            args=args,
            **{**self.data.trainer_kwargs(), "train_dataset": self.train},
            callbacks=[ReportToTrial(trial, self.key)],
        )
        trainer.train()
        evaluations = [entry[self.key] for entry in trainer.state.log_history if self.key in entry]
        score = evaluations[-1] if evaluations else trainer.evaluate()[self.key]
        trainer.save_model(str(staging))
        publish_folder(staging, self.folder / TRIALS / f"trial-{trial.number}")
        return score


def keep_best_trial_only(folder: Path, study: optuna.Study) -> None:
    """Remove the students of finished trials that are not the best (running trials' folders are left alone)."""
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not finished:
        return
    best = max(finished, key=lambda trial: trial.value).number
    for trial in study.get_trials(deepcopy=False):
        if trial.number != best and trial.state != optuna.trial.TrialState.RUNNING:
            shutil.rmtree(folder / TRIALS / f"trial-{trial.number}", ignore_errors=True)
            shutil.rmtree(folder / TRIALS / f".trial-{trial.number}.partial", ignore_errors=True)


def at_largest_weights(args: DistillationArguments, search_args: SearchArguments) -> DistillationArguments:
    """`args` with each searched intermediate weight at the top of its range: the plan every trial must fit."""
    highest = {name: high for name, (_, high) in search_args.ranges().items() if name in WEIGHTS[1:]}
    return replace(args, **highest)


def prepare_trials(args, data_args: DataArguments, pipeline_args: PipelineArguments, search_args) -> Trials:
    """Check everything, then fine-tune the teacher (when asked), build the student and fill the cache."""
    check_search_settings(args, pipeline_args)
    check_stages(args, pipeline_args)
    if pipeline_args.intermediate_epochs > 0 and set(search_args.search_params) & set(WEIGHTS[1:]):
        raise ValueError(
            "with --intermediate_epochs the search varies the second stage, which has no hidden-state or attention "
            "term: search temperature, kd_loss_weight and learning_rate"
        )
    output, teacher_path = start_run(args, pipeline_args)
    probe = at_largest_weights(args, search_args)
    check_sequence_length(data_args.max_seq_length, teacher_path)
    layers = plan_student(probe, teacher_path, output)  # the intermediate terms checked at their largest weights
    data = load_task(teacher_path, data_args)
    pipeline_args = with_teacher_stage(pipeline_args, teacher_path, data.task, baseline=False)
    if "temperature" in search_args.search_params and not losses_for(data.task.problem_type).uses_temperature:
        raise ValueError(
            f"--search_params temperature: {data.task.name} has no temperature (its soft targets are the teacher's "
            "scores); search kd_loss_weight and learning_rate, e.g. --search_params kd_loss_weight learning_rate"
        )
    check_temperature(args, data.task.problem_type)
    # `n_trials` may grow on a rerun (it adds trials); any other search setting must stay as the study began
    search = {name: value for name, value in asdict(search_args).items() if name != "n_trials"}
    run = open_pipeline_run(args, data_args, pipeline_args, search=search)
    if pipeline_args.overwrite_output_dir and search_args.storage is None and PartialState().is_main_process:
        (output / "study.db").unlink(missing_ok=True)  # a fresh study; one in a named storage is the user's to drop
        shutil.rmtree(output / TRIALS, ignore_errors=True)
    teacher, teacher_folder, student = teacher_and_student(args, pipeline_args, data, run, teacher_path, layers)
    teacher.eval()
    train = data.training_rows(args.seed)  # with the transfer texts, as `distill` trains its student
    if pipeline_args.intermediate_epochs > 0:  # once, before the trials, which search the second stage
        student, args = first_stage(student, teacher, teacher_folder, train, args, pipeline_args, data, run, layers)
        probe = at_largest_weights(args, search_args)
    if not (probe.needs_hidden_states or probe.needs_attention):
        cache_args = replace(args, teacher_cache_dir=args.teacher_cache_dir or str(output / "teacher-cache"))
        train = cache_teacher_logits(
            train, teacher_folder, data.tokenizer, cache_args, data.collator, data.preprocessing, lambda: teacher
        )
        teacher = None  # no trial runs it
    (output / TRIALS).mkdir(parents=True, exist_ok=True)
    return Trials(student, teacher, args, data, train, output, layers, teacher_path, teacher_folder)


def run_study(trials: Trials, search_args: SearchArguments) -> optuna.Study:
    """Run trials until the study counts `n_trials` (over every process sharing it); the study."""
    study = open_study(search_args, trials.folder, trials.args.seed)
    ranges = search_args.ranges()

    def after_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        keep_best_trial_only(trials.folder, study)
        if counted_trials(study) >= search_args.n_trials:
            study.stop()

    # the recipe's own values (the temperature as its loss takes it: unset is the default)
    recipe = {name: getattr(trials.args, "kd_temperature" if name == "temperature" else name) for name in ranges}
    if all(low <= recipe[name] <= high for name, (low, high) in ranges.items()):
        study.enqueue_trial(recipe, skip_if_exists=True)  # the recipe's own values: the search can only do better
    if counted_trials(study) < search_args.n_trials:
        logger.info("study %s: %d trials so far, %d asked for", search_args.study_name, counted_trials(study),
                    search_args.n_trials)  # fmt: skip
        study.optimize(lambda trial: trials.run(trial, ranges), callbacks=[after_trial], catch=(), gc_after_trial=True)
    keep_best_trial_only(trials.folder, study)
    return study


def run_search(args, data_args, pipeline_args, search_args) -> dict | None:
    """Run or continue an Optuna search over T, the loss weights and the learning rate; on the main process, the
    report of the chosen student (also `<output_dir>/report.json`), elsewhere None.

    Args:
        args: the recipe's `DistillationArguments`; the searched settings start from its values.
        data_args: the task's data.
        pipeline_args: the teacher's fine-tuning, when asked, runs once before the trials.
        search_args: what is searched, over which ranges, for how many trials, and where the study lives.
    """
    trials = prepare_trials(args, data_args, pipeline_args, search_args)
    study = run_study(trials, search_args)
    if not PartialState().is_main_process:
        return None
    return write_search_outputs(study, trials, data_args, pipeline_args, search_args)
