"""Whether a `hfdistill search` killed with `kill -9` mid-trial continues its study when the same command runs again.

    python benchmarks/search_kill_check.py --teacher_name_or_path outputs/quickstart/teacher   # a few minutes

1. `hfdistill search` on the quickstart's pair and a slice of its data, in its own process, killed with SIGKILL once
   `--kill_after` trials have finished and the next one has trained for a few seconds.
2. The same command again, on the same folder and study.

It checks, and writes to `--json`: the trials finished before the kill are kept with their values, the trial cut off
is marked failed, the study ends with `--n_trials` finished trials (completed or pruned) and no trial twice, and the
chosen student loads with `pipeline()` and has its card's search section and plot. Timings are figures, never test
assertions.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
from flags import check_flags
from kill import kill_when  # benchmarks/kill.py
from transformers import pipeline

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def trials_of(storage: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name="hfdistill-search", storage=storage).get_trials()
    except KeyError:  # not created yet
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher_name_or_path", required=True, help="A fine-tuned teacher folder.")
    parser.add_argument("--n_trials", type=int, default=6)
    parser.add_argument("--kill_after", type=int, default=2, help="Trials finished before the kill.")
    parser.add_argument("--max_train_samples", type=int, default=500)
    parser.add_argument("--max_eval_samples", type=int, default=200)
    parser.add_argument("--output_dir", default="benchmarks/results/search_kill_check")
    parser.add_argument("--json", default="benchmarks/search_kill_check_2cpu.json")
    args = parser.parse_args()
    check_flags(
        parser, args, ("n_trials", "kill_after", "max_train_samples", "max_eval_samples"), ("teacher_name_or_path",)
    )
    if args.kill_after >= args.n_trials:
        parser.error(
            f"--kill_after {args.kill_after} must be below --n_trials {args.n_trials}: the kill comes mid-study"
        )
    output = Path(args.output_dir)
    subprocess.run(["rm", "-rf", str(output)], check=True)
    storage = f"sqlite:///{(output / 'study.db').resolve()}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [
        sys.executable, "-m", "hfdistill.cli", "search", "--teacher_name_or_path", args.teacher_name_or_path,
        "--output_dir", str(output), "--n_trials", str(args.n_trials), "--teacher_num_train_epochs", "0",
        "--max_train_samples", str(args.max_train_samples), "--max_eval_samples", str(args.max_eval_samples),
        "--timing_rounds", "1", "--disable_tqdm", "true",
    ]  # fmt: skip

    print(f"1. a search killed once {args.kill_after} trials have finished", flush=True)
    start = time.perf_counter()

    def trial_under_way() -> bool:
        states = [trial.state for trial in trials_of(storage)] if (output / "study.db").exists() else []
        return (
            sum(state in FINISHED for state in states) >= args.kill_after and optuna.trial.TrialState.RUNNING in states
        )

    # 5 s into the running trial, which the rerun must not count
    too_late = "the search ended before it could be killed: raise --n_trials or lower --kill_after"
    kill_when(subprocess.Popen(command, env=env), trial_under_way, settle=5, poll=0.5, too_late=too_late)
    killed_seconds = time.perf_counter() - start
    at_kill = {trial.number: (trial.state.name, trial.value) for trial in trials_of(storage)}

    print("2. the same command again", flush=True)
    start = time.perf_counter()
    rerun = subprocess.run(command, env=env)
    rerun_seconds = time.perf_counter() - start
    if rerun.returncode != 0:
        sys.exit(f"the rerun failed with status {rerun.returncode}")
    after = {trial.number: (trial.state.name, trial.value) for trial in trials_of(storage)}
    finished_after = [number for number, (state, _) in after.items() if state in ("COMPLETE", "PRUNED")]
    cut_off = [number for number, (state, _) in at_kill.items() if state == "RUNNING"]

    classifier = pipeline("text-classification", model=str(output / "student"))
    card = (output / "student" / "README.md").read_text()
    result = {
        "machine": f"{os.cpu_count()} CPU cores",
        "command": " ".join(command[2:]),
        "trials_at_kill": {str(number): state for number, (state, _) in at_kill.items()},
        "trials_after_rerun": {str(number): state for number, (state, _) in after.items()},
        "finished_trials_kept": all(
            after[number] == value for number, value in at_kill.items() if value[0] in ("COMPLETE", "PRUNED")
        ),
        "cut_off_trials_failed": all(after[number][0] == "FAIL" for number in cut_off) and bool(cut_off),
        "finished_after_rerun": len(finished_after),
        "n_trials": args.n_trials,
        "killed_run_seconds": round(killed_seconds, 1),
        "rerun_seconds": round(rerun_seconds, 1),
        "chosen_student_pipeline": classifier("A moving, beautifully acted film.")[0],
        "card_has_search_section": "## How its settings were chosen" in card,
        "card_plot": (output / "student" / "search.png").is_file(),
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
