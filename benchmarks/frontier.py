"""The speed/accuracy frontier: how much of the teacher a student of each size keeps, and what the teacher adds.

    python benchmarks/frontier.py                      # every rung: hours on 2 CPU cores, 15-45 minutes a rung
    python benchmarks/frontier.py --rungs 2x192 2x128  # some rungs; finished rungs stay in the JSON

On the bundled Rotten Tomatoes reviews, with the quickstart's teacher (all-MiniLM-L6-v2 fine-tuned for one epoch,
trained once into the work folder, or `--teacher_name_or_path`), each rung is a DistilBERT student shape (layers ×
width; heads keep the teacher's head width, the feed-forward its 4× ratio unless the name says otherwise: "f384"). Every student starts from the same slices
of the teacher's weights (`StudentShape`, init 'teacher': the initialisation that uses no teacher outputs and beat a
random one in pilot runs) and is trained three ways, with the same schedule and seed:

- no KD:       fine-tuned on the labels alone (a plain `Trainer`);
- logit KD:    `DistillationTrainer` with soft targets at T (read from the teacher-output cache, built once);
- full recipe: logit KD with the soft targets alone (`kd_loss_weight` 1) on the labelled reviews mixed with all the
               bundled unlabelled transfer text and 4 perturbed copies of every training review (`--augment_copies`,
               Tang et al.), about 62,000 texts, from the teacher-output cache (built once, shared by every rung);
               with `--intermediate_epochs N`, N epochs of hidden-state MSE + MiniLM relations with the teacher online
               come first (TinyBERT's two stages), saved in `full-recipe-stage-1` and read again by a run with the
               same first-stage settings, so that `--stage_two_epochs` and `--stage_two_learning_rate` (the cached
               second stage's own schedule) are compared from the same first stage for the second stage's cost.

For each student: test accuracy, retention against the teacher of the same run, McNemar's exact test against the
same shape's no-KD student (paired test predictions), parameters, size on disk, CPU latency at batch 1 and
throughput at batch 32 in PyTorch (timed round-robin with the teacher, in the same process) and in ONNX Runtime int8
(`hfdistill export`, the teacher exported and timed the same way). Each finished rung is written to the JSON at once,
so a run that is cut off continues where it stopped; `--redo` measures rungs again. Prints the table and draws
the frontier (accuracy against CPU speed-up, one line per method, and the static rung of `static_students.py`) as a
PNG beside the JSON; with every rung asked for already in the JSON it only redraws.
Timings are figures, never test assertions.
"""

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import matplotlib
from flags import parse_flags
from frontier_students import (
    METHODS,
    RUNGS,
    FrontierArguments,
    gold_labels,
    predicted_classes,
    teacher_and_task,
    train_student,
)
from transformers import AutoModelForSequenceClassification

from hfdistill.config.data import DataArguments
from hfdistill.numerics.significance import mcnemar_exact
from hfdistill.outputs.export import export_and_check
from hfdistill.outputs.report import markdown_table, measure_all, percent, retention, timing_inputs, write_json

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

logger = logging.getLogger("frontier")


def int8_figures(folder: str, data_args: DataArguments) -> dict:
    """`hfdistill export --quantize`'s int8 row: accuracy, agreement with PyTorch, size and CPU speed."""
    report = export_and_check(folder, data_args, quantize=True)
    form = next(form for form in report["forms"] if form["name"] == "ONNX int8")
    return {
        name: form[name]
        for name in ("metrics", "agreement_percent", "size_mb", "latency_ms_batch1", "throughput_batch32")
    }


def run_rung(bench, shape_name, teacher_folder, teacher, task, data_args) -> dict:
    """Train the rung's three students, then score, test and time them beside the teacher; the rung's results."""
    cache_dir = Path(bench.output_dir) / "teacher-cache"
    folders, seconds = {}, {}
    for method in bench.methods:
        logger.info("rung %s: training the %s student", shape_name, method)
        folders[method], seconds[method] = train_student(
            bench, method, shape_name, teacher, task, data_args, cache_dir
        )
    labels = gold_labels(task)
    predictions = {
        name: predicted_classes(folder, task) for name, folder in {"teacher": teacher_folder, **folders}.items()
    }
    accuracy = {name: float((values == labels).mean()) for name, values in predictions.items()}
    logger.info("rung %s: timing the teacher and the students", shape_name)
    models = {
        name: AutoModelForSequenceClassification.from_pretrained(folder)
        for name, folder in {"teacher": teacher_folder, **folders}.items()
    }
    rows = measure_all(
        models,
        {"teacher": teacher_folder, **folders},
        {name: {"accuracy": accuracy[name]} for name in models},
        *timing_inputs(task.tokenized["test"], task.collator),
        rounds=3,
    )
    int8 = {name: int8_figures(folder, data_args) for name, folder in {"teacher": teacher_folder, **folders}.items()}
    teacher_row = rows[0]
    result = {
        "settings": asdict(bench),
        "layers": RUNGS[shape_name][0],
        "width": RUNGS[shape_name][1],
        "feed_forward": RUNGS[shape_name][2],
        "teacher": {**asdict(teacher_row), "int8": int8["teacher"]},
    }
    for row in rows[1:]:
        method = row.name
        result[method] = {
            **asdict(row),
            "accuracy": round(accuracy[method], 4),
            "retention_percent": retention(accuracy[method], accuracy["teacher"]),
            "speedup_batch32": round(row.throughput_batch32 / teacher_row.throughput_batch32, 2),
            "speedup_batch1": round(teacher_row.latency_ms_batch1 / row.latency_ms_batch1, 2),
            "int8": int8[method],
            "int8_speedup_batch32_vs_teacher_int8": round(
                int8[method]["throughput_batch32"] / int8["teacher"]["throughput_batch32"], 2
            ),
            "train_seconds": seconds[method],
            "mcnemar_vs_no_kd": None
            if method == "no KD"
            else mcnemar_exact(predictions[method] == labels, predictions["no KD"] == labels),
        }
    for folder in folders.values():
        shutil.rmtree(Path(folder) / "onnx", ignore_errors=True)  # ~100 MB a student, measured already
    return result


def frontier_table(results: dict) -> str:
    """Markdown: one row per rung and method."""
    columns = ["rung", "method", "accuracy", "retention", "McNemar p vs no KD", "params", "size MB", "speed-up b=32"]
    columns += ["speed-up b=1", "int8 speed-up b=32 (vs teacher int8)", "train s"]
    cells = []
    for name, rung in results.items():
        for method in (method for method in METHODS if method in rung):
            row = rung[method]
            p = row["mcnemar_vs_no_kd"]
            cells.append(
                [
                    name,
                    method,
                    f"{row['accuracy']:.4f}",
                    percent(row["retention_percent"]),
                    "—" if p is None else format(p["p_value"], ".3g"),
                    f"{row['parameters'] / 1e6:.1f}M",
                    f"{row['size_mb']:.1f}",
                    f"{row['speedup_batch32']:.1f}×",
                    f"{row['speedup_batch1']:.1f}×",
                    f"{row['int8_speedup_batch32_vs_teacher_int8']:.1f}×",
                    f"{row['train_seconds']:.0f}",
                ]
            )
    return markdown_table(columns, cells)


STATIC_JSON = Path(__file__).parent / "static_students_2cpu.json"  # the static rung, from static_students.py


def static_points() -> list[tuple[str, float, float]]:
    """The static rung as (label, speed-up at batch 32, accuracy): the means over `static_students.py`'s seeds (its
    teacher is trained the same way as this benchmark's), or none before it has run."""
    if not STATIC_JSON.is_file():
        return []
    static = json.loads(STATIC_JSON.read_text())
    points = []
    for row, label in (("static student (KD)", "static, KD"), ("static head on labels alone", "static, no KD")):
        speedups = [seed["harness"][row]["speedup_batch32"] for seed in static["seeds"].values()]
        points.append((label, sum(speedups) / len(speedups), static["mean_accuracy"][row]))
    return points


def frontier_chart(results: dict, teacher_accuracy: float, path: Path) -> None:
    """Accuracy against CPU speed-up (PyTorch, batch 32), one line per method, the teacher at 1×, and the static
    rung's two students (`static_points`)."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method, marker in zip(METHODS, "osD", strict=True):
        points = sorted(
            (rung[method]["speedup_batch32"], rung[method]["accuracy"], name)
            for name, rung in results.items()
            if method in rung
        )
        axes.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=method)
        if method == "full recipe":
            for x, y, name in points:
                axes.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    for (label, x, y), color in zip(static_points(), ("tab:green", "tab:blue"), strict=False):  # as their methods
        axes.scatter([x], [y], marker="P", s=80, color=color, label=f"{label} (mean of seeds)", zorder=3)
    axes.scatter([1.0], [teacher_accuracy], marker="*", s=160, color="black", label="teacher", zorder=3)
    axes.axhline(0.97 * teacher_accuracy, color="grey", linestyle=":", linewidth=1, label="97% of the teacher")
    axes.axhline(0.99 * teacher_accuracy, color="grey", linestyle="--", linewidth=1, label="99% of the teacher")
    axes.set_xscale("log")
    axes.set_xlabel("CPU throughput at batch 32, × the teacher's (PyTorch)")
    axes.set_ylabel("test accuracy")
    axes.set_title("Students of the quickstart teacher on Rotten Tomatoes")
    axes.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
    for name in ("frontier", "hfdistill"):  # onnxruntime's quantiser logs every tensor on the root logger at INFO
        logging.getLogger(name).setLevel(logging.INFO)
    (bench,) = parse_flags(FrontierArguments)
    json_path = Path(bench.json_file)
    previous = json.loads(json_path.read_text())["rungs"] if json_path.is_file() else {}
    data_args = DataArguments()
    results = dict(previous)
    todo = [name for name in bench.rungs if name not in results or bench.redo]
    for name in sorted(set(bench.rungs) - set(todo)):
        logger.info("rung %s is in %s already (--redo measures it again)", name, json_path)
    if todo:  # no teacher is needed to redraw the chart of finished rungs
        teacher_folder, task, teacher = teacher_and_task(bench, data_args)
    for name in todo:
        results[name] = run_rung(bench, name, teacher_folder, teacher, task, data_args)
        ordered = {rung: results[rung] for rung in RUNGS if rung in results}
        write_json(
            json_path, {"teacher": teacher_folder, "test_examples": len(task.tokenized["test"]), "rungs": ordered}
        )
        logger.info("rung %s written to %s", name, json_path)
    ordered = {rung: results[rung] for rung in RUNGS if rung in results}
    teacher_accuracy = next(iter(ordered.values()))["teacher"]["metrics"]["accuracy"]
    frontier_chart(ordered, teacher_accuracy, json_path.with_suffix(".png"))
    print(frontier_table(ordered))


if __name__ == "__main__":
    main()
