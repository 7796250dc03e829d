"""What a search leaves: the chosen student scored once on the test split, `report.json` with every trial, and a card
with a section on the search and a plot of the validation score against T and the KD weight."""

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import optuna

from hfdistill.config.paths import publish_folder, write_atomically
from hfdistill.outputs.card import write_task_card
from hfdistill.outputs.chart import CHART_FILE, plt, tradeoff_chart  # pyplot with chart.py's file-only backend
from hfdistill.outputs.evaluation import compare_models
from hfdistill.outputs.hub import push_student
from hfdistill.outputs.report import comparison_table, markdown_table, run_settings, write_report

logger = logging.getLogger(__name__)

PLOT_FILE = "search.png"
CHOSEN = "distilled student (searched)"


def trial_rows(study: optuna.Study) -> list[dict]:
    """Every trial of the study: its number, state, values, validation score (last epoch reported) and epochs run."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        reported = trial.intermediate_values
        value = trial.value if trial.value is not None else (reported[max(reported)] if reported else None)
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name.lower(),
                "params": trial.params,
                "validation": value,
                "epochs": len(reported),
            }
        )
    return rows


def search_summary(study: optuna.Study, ranges: dict, storage: str) -> dict:
    """The search as `report.json` keeps it: ranges, counts by state, every trial, and the chosen values."""
    rows = trial_rows(study)
    counts = {state: sum(row["state"] == state for row in rows) for state in ("complete", "pruned", "fail")}
    return {
        "study_name": study.study_name,
        "storage": storage,
        "ranges": {name: list(bounds) for name, bounds in ranges.items()},
        "trials_completed": counts["complete"],
        "trials_pruned": counts["pruned"],
        "trials_failed": counts["fail"],
        "chosen": {"trial": study.best_trial.number, **study.best_trial.params},
        "best_validation": study.best_value,
        "trials": rows,
    }


def trials_table(summary: dict, metric: str) -> str:
    """One Markdown row per finished or pruned trial, best first."""
    names = list(summary["ranges"])
    shown = [row for row in summary["trials"] if row["state"] in ("complete", "pruned")]
    shown.sort(key=lambda row: -(row["validation"] or 0.0))
    rows = [
        [str(row["number"]), row["state"], *(f"{row['params'][name]:.4g}" for name in names),
         f"{row['validation']:.4f}" if row["validation"] is not None else "-", str(row["epochs"])]
        for row in shown
    ]  # fmt: skip
    return markdown_table(["trial", "state", *names, f"validation {metric}", "epochs"], rows)


def search_plot(summary: dict, metric: str, path: Path) -> Path:
    """The validation score of every trial against T (x) and the KD weight (y), pruned trials as crosses."""
    figure, axis = plt.subplots(figsize=(6, 4.5), dpi=100)
    x_name = "temperature" if "temperature" in summary["ranges"] else next(iter(summary["ranges"]))
    y_name = "kd_loss_weight" if "kd_loss_weight" in summary["ranges"] else None
    for state, marker in (("complete", "o"), ("pruned", "x")):
        rows = [row for row in summary["trials"] if row["state"] == state and row["validation"] is not None]
        if not rows:
            continue
        points = axis.scatter(
            [row["params"][x_name] for row in rows],
            [row["params"][y_name] if y_name else row["validation"] for row in rows],
            c=[row["validation"] for row in rows],
            cmap="viridis",
            marker=marker,
            s=70,
            label=state,
        )
    figure.colorbar(points, ax=axis, label=f"validation {metric}")
    chosen = summary["chosen"]
    axis.scatter(chosen[x_name], chosen[y_name] if y_name else summary["best_validation"], s=260, facecolors="none",
                 edgecolors="red", label="chosen")  # fmt: skip
    axis.set_xlabel(x_name)
    axis.set_ylabel(y_name or f"validation {metric}")
    axis.legend(loc="best", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def search_section(summary: dict, metric: str) -> str:
    """The model card's section on the search."""
    ranges = ", ".join(f"{name} in [{low:g}, {high:g}]" for name, (low, high) in summary["ranges"].items())
    chosen = ", ".join(f"{name} {value:.4g}" for name, value in summary["chosen"].items() if name != "trial")
    return f"""
## How its settings were chosen

An Optuna study (TPE sampler, median pruner after each epoch) over {ranges}, on the validation split: \
{summary["trials_completed"]} trials finished, {summary["trials_pruned"]} pruned, {summary["trials_failed"]} failed. \
The chosen trial ({summary["chosen"]["trial"]}: {chosen}) reached validation {metric} \
{summary["best_validation"]:.4f}; this student is that trial's, scored once on the test split above.

![validation {metric} against the searched settings]({PLOT_FILE})

{trials_table(summary, metric)}
"""


def install_chosen(best: Path, output: Path) -> Path:
    """Copy the chosen trial's student to `<output>/student`, which appears only complete; its folder."""
    final, staging = output / "student", output / f".student.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(best, staging)
    publish_folder(staging, final)
    return final


def write_search_outputs(study, trials, data_args, pipeline_args, search_args) -> dict | None:
    """Score the chosen student on the test split beside the teacher, then write `report.json`, its card (with the
    search section and plot) and push it when asked; the report. None when another process holds its folder."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise ValueError(f"no trial of study {study.study_name} finished: widen the ranges or turn --prune off")
    best = trials.folder / "trials" / f"trial-{study.best_trial.number}"
    if not best.is_dir():
        logger.warning(
            "the best trial (%d) ran in another process, which writes the chosen student", study.best_trial.number
        )
        return None
    student = install_chosen(best, trials.folder)
    data, metric = trials.data, trials.data.task.headline_metric
    rows, _ = compare_models(
        data, {"teacher": trials.teacher_folder, CHOSEN: str(student)}, pipeline_args.timing_rounds
    )
    chosen_args = replace(trials.args, **study.best_trial.params)
    settings = run_settings(
        chosen_args, data_args, pipeline_args, trials.teacher_path, trials.layers, data.task.problem_type
    )
    settings |= {"train_examples": len(data.tokenized["train"]), "test_examples": len(data.tokenized["test"])}
    storage = search_args.storage or f"sqlite:///{trials.folder / 'study.db'}"
    summary = search_summary(study, search_args.ranges(), storage)
    report = write_report(trials.folder / "report.json", rows, metric, extra={"settings": settings, "search": summary})
    report["table"] = comparison_table(rows, metric)
    report["trials_table"] = trials_table(summary, metric)
    tradeoff_chart(rows, metric, student / CHART_FILE)
    search_plot(summary, metric, student / PLOT_FILE)
    card = write_task_card(student, report, CHOSEN, trials.teacher_path, CHART_FILE, data.task)
    write_atomically(card, card.read_text() + search_section(summary, metric))
    pushed = push_student(trials.args, student)
    if pushed is not None:
        report["pushed"] = pushed
    return report
