"""Does the teacher still add to a small student when both students are tuned? KD and no KD each get a search.

    python benchmarks/searched_students.py --teacher_name_or_path outputs/quickstart/teacher   # ~12 min on 2 cores

One student shape (default: the frontier's 3 layers × 192, feed-forward 384, importance-ordered slices of the
teacher, 3 epochs, word embeddings trained) and two `hfdistill search` runs of `--n_trials` trials each, chosen on
the validation split, the teacher's outputs from the cache:

- no KD: `kd_loss_weight` 0, the task loss alone, searching the learning rate;
- KD: searching T, the KD weight (at least 0.1, so it is a KD student) and the learning rate.

Each chosen student is scored once on the test split (by its search, beside the teacher, with its CPU speed-up),
then McNemar's exact test compares their paired test predictions. The comparison gives no-KD the same tuning budget
as KD, so a gain cannot come from tuning alone. Prints the figures and writes `--json`; timings are figures, never
test assertions.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from flags import check_flags
from frontier_students import predicted_classes  # the saved model's test predictions

from hfdistill.config.data import DataArguments
from hfdistill.numerics.significance import mcnemar_exact
from hfdistill.tasks.task_data import load_task

SEARCHES = {
    "no KD": ["--kd_loss_weight", "0", "--search_params", "learning_rate"],
    "KD": ["--search_params", "temperature", "kd_loss_weight", "learning_rate", "--kd_loss_weight_range", "0.1", "1"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher_name_or_path", required=True, help="A fine-tuned teacher folder.")
    parser.add_argument("--n_trials", type=int, default=8)
    parser.add_argument("--shape", nargs=3, type=int, default=[3, 192, 384], metavar=("LAYERS", "WIDTH", "FFN"))
    parser.add_argument("--num_train_epochs", default="3")
    parser.add_argument("--learning_rate_range", nargs=2, default=["1e-4", "2e-3"])
    parser.add_argument("--output_dir", default="benchmarks/results/searched_students")
    parser.add_argument("--json", default="benchmarks/searched_students_2cpu.json")
    args = parser.parse_args()
    check_flags(parser, args, ("n_trials",), ("teacher_name_or_path",))
    output = Path(args.output_dir)
    layers, width, feed_forward = args.shape
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    common = [
        "--teacher_name_or_path", args.teacher_name_or_path, "--teacher_num_train_epochs", "0",
        "--student_num_layers", str(layers), "--student_hidden_size", str(width),
        "--student_intermediate_size", str(feed_forward), "--student_init", "importance",
        "--freeze_word_embeddings", "false", "--num_train_epochs", args.num_train_epochs, "--learning_rate", "5e-4",
        "--learning_rate_range", *args.learning_rate_range, "--n_trials", str(args.n_trials),
        "--teacher_cache_dir", str(output / "teacher-cache"), "--timing_rounds", "3", "--disable_tqdm", "true",
        "--overwrite_output_dir", "true",
    ]  # fmt: skip
    reports = {}
    for name, flags in SEARCHES.items():
        print(f"searching the {name} student", flush=True)
        folder = output / name.replace(" ", "-")
        command = [sys.executable, "-m", "hfdistill.cli", "search", *common, "--output_dir", str(folder), *flags]
        subprocess.run(command, env=env, check=True)
        reports[name] = json.loads((folder / "report.json").read_text())

    data = load_task(args.teacher_name_or_path, DataArguments())
    labels = np.asarray(data.tokenized["test"]["labels"])
    predictions = {
        name: predicted_classes(str(output / name.replace(" ", "-") / "student"), data) for name in SEARCHES
    }
    result = {
        "machine": reports["KD"]["machine"],
        "date": reports["KD"]["date"],
        "shape": {"layers": layers, "width": width, "feed_forward": feed_forward, "init": "importance"},
        "n_trials": args.n_trials,
        "test_examples": int(len(labels)),
        "teacher_accuracy": reports["KD"]["models"][0]["metrics"]["accuracy"],
        "mcnemar_kd_vs_no_kd": mcnemar_exact(predictions["KD"] == labels, predictions["no KD"] == labels),
    }
    for name, report in reports.items():
        teacher, student = report["models"]
        result[name] = {
            "chosen": report["search"]["chosen"],
            "validation_accuracy": report["search"]["best_validation"],
            "trials_completed": report["search"]["trials_completed"],
            "trials_pruned": report["search"]["trials_pruned"],
            "test_accuracy": student["metrics"]["accuracy"],
            "test_accuracy_from_predictions": float((predictions[name] == labels).mean()),
            "retention_percent": student["retention_percent"],
            "speedup_batch32": round(student["throughput_batch32"] / teacher["throughput_batch32"], 2),
            "parameters": student["parameters"],
        }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
