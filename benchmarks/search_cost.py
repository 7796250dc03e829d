"""What a search costs against plain fine-tuning, and what it finds, on the quickstart's pair and data.

    python benchmarks/search_cost.py --teacher_name_or_path outputs/quickstart/teacher      # a fine-tuned teacher
    python benchmarks/search_cost.py ... --max_train_samples 1500 --max_eval_samples 400    # a slice, to save time

1. The teacher-output cache is built once (`hfdistill cache-teacher`), timed apart.
2. `hfdistill search` with `--n_trials` trials (the quickstart's student and schedule, the cache warm), timed.
3. The same number of plain fine-tunings of the same student with the same schedule (`Trainer`, no teacher, the same
   per-epoch validation), each in the same process one after another, timed.
4. The quickstart's own values (`hfdistill distill`, T 2, KD weight 0.5, learning rate 1e-4) on the same data, for
   the test accuracy beside the chosen student's.

Each step runs in its own process, one at a time. Prints the figures and writes them to `--json`. Timings are
figures, never test assertions.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from flags import check_flags

PLAIN_FINE_TUNINGS = """
import copy, sys, time
from dataclasses import replace
from transformers import Trainer, set_seed

from hfdistill.cli.subcommands import pipeline_parser
from hfdistill.config.recipe import parse_with_recipe
from hfdistill.run.logit_plan import load_student, load_teacher, plan_student
from hfdistill.config.builtin import DEPTH_ONLY_DEFAULTS
from hfdistill.tasks.task_data import load_task

count, argv = int(sys.argv[1]), sys.argv[2:]
args, data_args, pipeline_args = parse_with_recipe(pipeline_parser("plain", ""), argv, DEPTH_ONLY_DEFAULTS)
layers = plan_student(args, args.teacher_name_or_path, args.output_dir)
data = load_task(args.teacher_name_or_path, data_args)
teacher = load_teacher(data.task, args.teacher_name_or_path, data.label_names, False, True)
set_seed(args.seed)
initial = load_student(args, data.task, teacher, layers, True)
start = time.perf_counter()
for number in range(count):
    set_seed(args.seed)
    trainer = Trainer(model=copy.deepcopy(initial), args=replace(args, save_strategy="no"), **data.trainer_kwargs())
    trainer.train()
print(f"PLAIN_SECONDS {time.perf_counter() - start:.1f}")
"""


def run(command: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher_name_or_path", required=True, help="A fine-tuned teacher folder.")
    parser.add_argument("--n_trials", type=int, default=16)
    parser.add_argument("--max_train_samples", type=int, default=None)
    parser.add_argument("--max_eval_samples", type=int, default=None, help="Validation and test examples kept.")
    parser.add_argument("--output_dir", default="benchmarks/results/search_cost")
    parser.add_argument("--json", default="benchmarks/search_cost_2cpu.json")
    args = parser.parse_args()
    check_flags(parser, args, ("n_trials", "max_train_samples", "max_eval_samples"), ("teacher_name_or_path",))
    output = Path(args.output_dir)
    subprocess.run(["rm", "-rf", str(output)], check=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    hfdistill = [sys.executable, "-m", "hfdistill.cli"]
    teacher = ["--teacher_name_or_path", args.teacher_name_or_path]
    data = ["--max_train_samples", str(args.max_train_samples)] if args.max_train_samples else []
    data += ["--max_eval_samples", str(args.max_eval_samples)] if args.max_eval_samples else []
    quiet = ["--disable_tqdm", "true"]
    cache = ["--teacher_cache_dir", str(output / "cache")]
    scored = [*teacher, *data, *quiet, "--teacher_num_train_epochs", "0", "--timing_rounds", "3"]

    print("1. the teacher-output cache", flush=True)
    cache_seconds, _ = run([*hfdistill, "cache-teacher", *teacher, *data, *cache], env)
    print(f"2. a {args.n_trials}-trial search on the warm cache", flush=True)
    search_flags = ["--output_dir", str(output / "search"), "--n_trials", str(args.n_trials), *cache]
    search_seconds, printed = run([*hfdistill, "search", *scored, *search_flags], env)
    print(f"3. {args.n_trials} plain fine-tunings", flush=True)
    plain_flags = [*teacher, *data, *quiet, "--output_dir", str(output / "plain")]
    _, plain_out = run([sys.executable, "-c", PLAIN_FINE_TUNINGS, str(args.n_trials), *plain_flags], env)
    plain_seconds = float(plain_out.split("PLAIN_SECONDS")[1].split()[0])
    print("4. the depth-only recipe's own values", flush=True)
    default_flags = ["--output_dir", str(output / "default"), "--train_baseline", "false", "--save_strategy", "no"]
    depth_only = ["--config", str(Path(__file__).parents[1] / "recipes" / "depth-only.yaml")]
    run([*hfdistill, "distill", *depth_only, *scored, *default_flags, *cache], env)

    report = json.loads((output / "search" / "report.json").read_text())
    default = json.loads((output / "default" / "report.json").read_text())
    search = report["search"]
    result = {
        "machine": report["machine"],
        "date": report["date"],
        "train_examples": report["settings"]["train_examples"],
        "test_examples": report["settings"]["test_examples"],
        "n_trials": args.n_trials,
        "cache_build_seconds": round(cache_seconds, 1),
        "search_seconds": round(search_seconds, 1),
        "plain_fine_tunings_seconds": round(plain_seconds, 1),
        "search_over_plain": round(search_seconds / plain_seconds, 3),
        "search_with_cache_build_over_plain": round((search_seconds + cache_seconds) / plain_seconds, 3),
        "trials_completed": search["trials_completed"],
        "trials_pruned": search["trials_pruned"],
        "chosen": search["chosen"],
        "chosen_validation_accuracy": search["best_validation"],
        "test_accuracy": {
            "teacher": report["models"][0]["metrics"]["accuracy"],
            "searched student": report["models"][1]["metrics"]["accuracy"],
            "quickstart values": default["models"][1]["metrics"]["accuracy"],
        },
        "trials": search["trials"],
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(printed)
    print(json.dumps({name: value for name, value in result.items() if name != "trials"}, indent=2))


if __name__ == "__main__":
    main()
