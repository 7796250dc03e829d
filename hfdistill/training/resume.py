"""A run that survives a crash: a manifest of its settings and finished stages, checkpoints, and atomic folders.

Rerunning the same command on an output folder that holds an unfinished run continues it: finished stages (the
teacher's fine-tuning, the distilled student, the baseline) are kept, and a stage that was cut off continues from its
last checkpoint through `Trainer.train(resume_from_checkpoint=...)` (weights, optimizer, scheduler, RNG and data
order). Different settings are refused, naming the first that differs; a finished run is never written over without
`--overwrite_output_dir`, and is measured again, its stages kept, with `--remeasure`.

Layout of `output_dir` during a run: `run_manifest.json`, `checkpoints/<stage>/checkpoint-N` (rotated by
`save_total_limit`, removed when the stage finishes) and each stage's final folder, which appears only complete: it is
saved under a temporary name and renamed.
"""

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from accelerate import PartialState
from transformers import Trainer
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from hfdistill.config.paths import publish_folder, write_atomically
from hfdistill.models.static import STATIC_MODEL_TYPE

logger = logging.getLogger(__name__)

MANIFEST = "run_manifest.json"
CHECKPOINTS = "checkpoints"
# Settings that may differ between a run and its continuation without changing what it computes.
VOLATILE = {"logging_dir", "overwrite_output_dir", "remeasure", "resume_from_checkpoint", "run_name"}


def comparable(settings: dict) -> dict:
    """`settings` as JSON would read them back, without the volatile ones (at any depth)."""

    def strip(value):
        if isinstance(value, dict):
            return {name: strip(inner) for name, inner in value.items() if name not in VOLATILE}
        return value

    return strip(json.loads(json.dumps(settings, default=str)))


def first_difference(old: dict, new: dict, prefix: str = "") -> tuple[str, object, object] | None:
    """The first setting (dotted name) whose value differs between `old` and `new`, with both values."""
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if isinstance(before, dict) and isinstance(after, dict):
            found = first_difference(before, after, f"{prefix}{name}.")
            if found:
                return found
        elif before != after:
            return f"{prefix}{name}", before, after
    return None


@dataclass
class Run:
    """The manifest of the run in `folder`: its settings and the stages it has finished (stage -> folder)."""

    folder: Path
    settings: dict
    stages: dict[str, str] = field(default_factory=dict)
    finished: bool = False

    @property
    def path(self) -> Path:
        return self.folder / MANIFEST

    def save(self) -> None:
        if PartialState().is_main_process:
            content = {"settings": self.settings, "stages": self.stages, "finished": self.finished}
            write_atomically(self.path, json.dumps(content, indent=2) + "\n")

    def done(self, stage: str) -> str | None:
        """The final folder of `stage` when it finished in this run or the one it continues."""
        return self.stages.get(stage)

    def finish_stage(self, stage: str, folder: str) -> None:
        self.stages[stage] = folder
        self.save()

    def finish(self) -> None:
        self.finished = True
        self.save()
        if PartialState().is_main_process:
            shutil.rmtree(self.folder / CHECKPOINTS, ignore_errors=True)

    def checkpoints(self, stage: str) -> Path:
        """Where `stage`'s trainer writes its checkpoints."""
        return self.folder / CHECKPOINTS / stage


def open_run(output_dir: str, settings: dict, overwrite: bool, remeasure: bool = False) -> Run:
    """The run in `output_dir`: new, or the unfinished one there when its settings are `settings`, or with `remeasure`
    the finished one there, every stage kept, to be measured again.

    Raises `ValueError` for a folder that holds a finished run (unless `remeasure`), another run's files, or a run
    with other settings; with `remeasure`, for a folder without a finished run whose stage folders are all there.
    """
    folder = Path(output_dir)
    settings = comparable(settings)
    manifest = folder / MANIFEST
    if remeasure and not manifest.is_file():
        raise ValueError(f"--remeasure measures a finished run again, and output_dir {output_dir} holds none")
    if overwrite or not folder.is_dir() or not any(folder.iterdir()):
        run = Run(folder, settings)
        PartialState().wait_for_everyone()  # every rank has looked before the main one writes
        if PartialState().is_main_process:
            shutil.rmtree(run.folder / CHECKPOINTS, ignore_errors=True)  # an overwritten run's: never resumed from
        run.save()
        return run
    if not manifest.is_file():
        raise ValueError(
            f"output_dir {output_dir} already holds files: choose another --output_dir or pass --overwrite_output_dir"
        )
    try:
        earlier = json.loads(manifest.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{manifest} is damaged ({error}): pass --overwrite_output_dir to start again") from error
    if earlier.get("finished") and not remeasure:
        raise ValueError(
            f"output_dir {output_dir} holds a finished run: choose another --output_dir, pass --overwrite_output_dir, "
            "or --remeasure to measure it again"
        )
    if remeasure and not earlier.get("finished"):
        raise ValueError(f"output_dir {output_dir} holds an unfinished run: rerun it without --remeasure to finish it")
    difference = first_difference(earlier.get("settings", {}), settings)
    if difference is not None:
        name, before, after = difference
        state, goal = ("a finished", "measure it again") if remeasure else ("an unfinished", "continue")
        raise ValueError(
            f"output_dir {output_dir} holds {state} run with other settings ({name}: {before!r} there, "
            f"{after!r} now): rerun it with the same settings to {goal}, or choose another --output_dir or pass "
            "--overwrite_output_dir"
        )
    stages = {stage: path for stage, path in earlier.get("stages", {}).items() if Path(path).is_dir()}
    missing = sorted(set(earlier.get("stages", {})) - set(stages))
    if missing and remeasure:
        raise ValueError(f"--remeasure needs every stage's folder, and these are gone from {output_dir}: {missing}")
    if missing:
        logger.warning("finished stages whose folders are gone are trained again: %s", ", ".join(missing))
    if remeasure:
        logger.warning("measuring the finished run in %s again: its stages kept (%s)", output_dir, ", ".join(stages))
    else:
        logger.warning(
            "continuing the unfinished run in %s: finished stages kept (%s); a stage cut off resumes from its last "
            "checkpoint",
            output_dir,
            ", ".join(stages) or "none",
        )
    PartialState().wait_for_everyone()
    return Run(folder, settings, stages)


def last_complete_checkpoint(folder: Path, remove_partial: bool) -> str | None:
    """The newest checkpoint in `folder` that `Trainer` finished saving (it writes `trainer_state.json` last); newer
    ones cut off while saving are skipped, and removed when `remove_partial`."""
    numbered = [path for path in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if path.name.split("-")[-1].isdigit()]
    for checkpoint in sorted(numbered, key=lambda path: int(path.name.split("-")[-1]), reverse=True):
        if (checkpoint / TRAINER_STATE_NAME).is_file():
            return str(checkpoint)
        logger.warning("%s was cut off while it was saved: resuming from an earlier checkpoint", checkpoint)
        if remove_partial:
            shutil.rmtree(checkpoint, ignore_errors=True)
    return None


def train_stage(trainer: Trainer, run: Run, stage: str, save: Callable[[str], None] | None = None) -> str:
    """Train `trainer` (its `output_dir` is `run.checkpoints(stage)`) from its last checkpoint if any, then save the
    model, tokenizer and training state atomically as `<run folder>/<stage>`; its folder.

    `save(folder)` writes the model on the main process where `Trainer.save_model` would not write what users load
    (a sentence-transformers folder)."""
    checkpoints = Path(trainer.args.output_dir)
    last = last_complete_checkpoint(checkpoints, remove_partial=trainer.is_world_process_zero())
    trainer.accelerator.wait_for_everyone()
    if last is not None:
        logger.warning("%s: resuming from %s", stage, last)
    trainer.train(resume_from_checkpoint=last)
    final, staging = run.folder / stage, run.folder / f".{stage}.partial"
    if trainer.is_world_process_zero():
        shutil.rmtree(staging, ignore_errors=True)  # left by a crash while saving
    trainer.accelerator.wait_for_everyone()
    if save is None:
        trainer.save_model(str(staging))  # collective under FSDP and DeepSpeed; only the main process writes
    if trainer.is_world_process_zero():
        if save is not None:
            save(str(staging))
        trainer.state.save_to_json(str(staging / "trainer_state.json"))  # the loss history
        publish_folder(staging, final)  # a folder already there was left by a crash before the manifest
    trainer.accelerator.wait_for_everyone()
    run.finish_stage(stage, str(final))
    if trainer.is_world_process_zero():
        shutil.rmtree(checkpoints, ignore_errors=True)
    return str(final)


def pickle_free_save(trainer: Trainer, tokenizer) -> Callable[[str], None] | None:
    """For a static student, `train_stage`'s save without the `training_args.bin` pickle that `Trainer.save_model`
    adds: its folder is model2vec's layout, loaded where pickles are refused. None (the Trainer's save) otherwise."""
    if trainer.model.config.model_type != STATIC_MODEL_TYPE:
        return None

    def save(folder: str) -> None:
        trainer.accelerator.unwrap_model(trainer.model).save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return save


def train_and_save(trainer: Trainer) -> str:  # for a run of one stage (train-teacher); see `train_stage`
    """Train, then save model, tokenizer and training state to `args.output_dir` (main process only); return it."""
    trainer.train()
    trainer.save_model()
    trainer.save_state()  # trainer_state.json: the loss history
    return trainer.args.output_dir
