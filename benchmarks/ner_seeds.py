"""Does the NER recipe's distilled student beat its no-KD twin, over seeds, by entity F1 on the pooled test tweets?

    python benchmarks/ner_seeds.py --seeds 42 1 2          # `make ner` once per seed: 11 minutes, then 8 a seed

Runs `hfdistill distill --config recipes/ner.yaml` at each seed into `--work_dir/seed-S`. The first seed fine-tunes
the teacher; the others distil from that same teacher (`--teacher_num_train_epochs 0`) and read its cached outputs, so
the seeds vary what the students draw (new heads, dropout, batch order), not the teacher or the texts. Each seed's
saved teacher, student and no-KD twin are then reloaded and tag WNUT-16's test tweets, and the entities they find are
counted per tweet (`hfdistill.metrics.entities`). Per seed: each model's entity F1 (seqeval's), the student's
retention and CPU speed-up (from the run's `report.json`), and the run's wall time and peak memory. Over the seeds: a
paired bootstrap over tweets of the entity-F1 difference, every seed's tags pooled
(`hfdistill.numerics.bootstrap.bootstrap_f1_difference`). A seed whose run folder holds a `report.json` is read, not
run again. Writes `benchmarks/ner_seeds_2cpu.json`, and copies the first seed's `report.json` (what `make ner`
writes) to `benchmarks/ner_2cpu.json`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.flags import check_flags  # noqa: E402
from hfdistill.config.data import DataArguments  # noqa: E402
from hfdistill.config.recipe import load_recipe  # noqa: E402
from hfdistill.metrics.entities import entity_counts  # noqa: E402
from hfdistill.models.predict import predict_test_split  # noqa: E402
from hfdistill.numerics.bootstrap import bootstrap_f1_difference, f1_from_counts  # noqa: E402
from hfdistill.outputs.report import machine_description, write_json  # noqa: E402
from hfdistill.tasks.task_data import load_task  # noqa: E402

QUESTION = __doc__.splitlines()[0]
MODELS = {"teacher": "teacher", "distilled student": "student", "student without KD": "student-no-kd"}


def run_seed(recipe: Path, seed: int, folder: Path, teacher: Path | None) -> None:
    """`hfdistill distill --config recipe` at `seed` into `folder`, from `teacher` when given (not fine-tuned again);
    its wall time and the peak memory of its process go to `folder/cost.json`."""
    argv = ["hfdistill", "distill", "--config", str(recipe), "--seed", str(seed), "--output_dir", str(folder)]
    if teacher is not None:
        argv += ["--teacher_name_or_path", str(teacher), "--teacher_num_train_epochs", "0"]
    print("running", " ".join(argv), flush=True)
    start = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"seed {seed}: {' '.join(argv)} failed")
    cost = {
        "wall_minutes": round((time.perf_counter() - start) / 60, 1),
        "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
    }
    write_json(folder / "cost.json", {**cost, "teacher_fine_tuned": teacher is None})


def per_tweet_counts(folder: Path, teacher: Path, data) -> dict[str, np.ndarray]:
    """Each model's entity counts per test tweet: (right, found, in the reference); the students in `folder`."""
    counts = {}
    for name, subfolder in MODELS.items():
        model = data.task.load_model(str(teacher if name == "teacher" else folder / subfolder))
        prediction = predict_test_split(model, data.tokenized["test"], data.collator)
        predicted, reference = data.task.tag_lists(prediction.predictions, prediction.label_ids, data.label_names)
        counts[name] = entity_counts(predicted, reference)
    return counts


def seed_row(folder: Path, counts: dict[str, np.ndarray]) -> dict:
    """One seed's F1s, the student's retention and its CPU speed-ups (from the run's report)."""
    report = {model["name"]: model for model in json.loads((folder / "report.json").read_text())["models"]}
    f1 = {name: float(f1_from_counts(c)) for name, c in counts.items()}
    teacher = report["teacher"]
    row = {"f1": {name: round(value, 4) for name, value in f1.items()}}
    row["retention_percent"] = round(100 * f1["distilled student"] / f1["teacher"], 2)
    row["speedup_batch32"] = round(
        report["distilled student"]["throughput_batch32"] / teacher["throughput_batch32"], 2
    )
    row["speedup_batch1"] = round(teacher["latency_ms_batch1"] / report["distilled student"]["latency_ms_batch1"], 2)
    if (folder / "cost.json").is_file():  # run by this script (the first seed's includes the teacher's fine-tuning)
        row["cost"] = json.loads((folder / "cost.json").read_text())
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=QUESTION)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[42, 1, 2], help="Training seeds; the first trains the teacher."
    )
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "ner.yaml"), help="The recipe `make ner` runs.")
    parser.add_argument("--work_dir", default="outputs/ner-seeds", help="One run folder per seed, kept.")
    parser.add_argument("--resamples", type=int, default=10_000, help="Bootstrap resamples.")
    parser.add_argument("--json_file", default=str(ROOT / "benchmarks" / "ner_seeds_2cpu.json"))
    parser.add_argument(
        "--report_copy", default=str(ROOT / "benchmarks" / "ner_2cpu.json"), help="Where the first seed's report goes."
    )
    args = parser.parse_args(argv)
    check_flags(parser, args, ("resamples",))
    if not Path(args.recipe).is_file():
        parser.error(f"--recipe {args.recipe} does not exist")
    work, recipe = Path(args.work_dir), Path(args.recipe)
    first = work / f"seed-{args.seeds[0]}"
    for seed in args.seeds:
        folder = work / f"seed-{seed}"
        if not (folder / "report.json").is_file():
            run_seed(recipe, seed, folder, None if folder == first else first / "teacher")
    data_fields = set(DataArguments.__dataclass_fields__)
    values = {k: v for k, v in load_recipe(recipe, data_fields | {"pipeline", "training"}).items() if k in data_fields}
    data = load_task(str(first / "teacher"), DataArguments(**values))
    seeds, pooled = {}, {name: [] for name in MODELS}
    for seed in args.seeds:
        counts = per_tweet_counts(work / f"seed-{seed}", first / "teacher", data)
        seeds[str(seed)] = seed_row(work / f"seed-{seed}", counts)
        for name, value in counts.items():
            pooled[name].append(value)
        print(seed, seeds[str(seed)], flush=True)
    stacked = {name: np.stack(values) for name, values in pooled.items()}
    mean = {name: round(float(np.mean([s["f1"][name] for s in seeds.values()])), 4) for name in MODELS}
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": QUESTION,
        "machine": machine_description(),
        "recipe": str(recipe.relative_to(ROOT)) if recipe.is_relative_to(ROOT) else str(recipe),
        "test_tweets": int(stacked["teacher"].shape[1]),
        "seeds": seeds,
        "mean_f1": mean,
        "mean_retention_percent": round(100 * mean["distilled student"] / mean["teacher"], 2),
        "bootstrap_vs_no_kd": bootstrap_f1_difference(
            stacked["distilled student"], stacked["student without KD"], args.resamples
        ),
    }
    write_json(Path(args.json_file), result)
    shutil.copyfile(first / "report.json", args.report_copy)
    print(json.dumps({k: result[k] for k in ("mean_f1", "mean_retention_percent", "bootstrap_vs_no_kd")}, indent=2))


if __name__ == "__main__":
    main()
