"""What the quickstart's checkpoints cost, and whether a quickstart killed with `kill -9` ends as an uninterrupted one.

    python benchmarks/resume_check.py                 # about 25 minutes on 2 CPU cores: three quickstart processes

1. An uninterrupted `hfdistill quickstart` (its defaults: a checkpoint every 100 steps, 2 kept), in its own process,
   with the time spent inside `Trainer._save_checkpoint` added up per stage. The cost of checkpoints is that time
   over the stage's training time (`train_runtime`).
2. The same command in a fresh output folder, killed with SIGKILL once the student's distillation has written its
   second checkpoint (so the process dies mid-stage, with a teacher already fine-tuned and saved).
3. The same command again, on that folder. It must keep the teacher (not fine-tune it again), resume the student
   from its last checkpoint, and end with the student of run 1: the same test accuracy and the same weights.

Prints the figures and writes them to `--json` (`benchmarks/resume_check_2cpu.json`). Timings are figures, never test assertions.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from flags import check_flags
from kill import kill_when  # benchmarks/kill.py
from safetensors.torch import load_file

# Run inside the child process of step 1: time every checkpoint save, per stage (the trainer's output folder).
TIMED_QUICKSTART = """
import json, sys, time
from pathlib import Path
from transformers import Trainer

from hfdistill.cli import main

saves, original = {}, Trainer._save_checkpoint

def timed(self, *args, **kwargs):
    start = time.perf_counter()
    result = original(self, *args, **kwargs)
    stage = Path(self.args.output_dir).name
    saves.setdefault(stage, []).append(time.perf_counter() - start)
    return result

Trainer._save_checkpoint = timed
status = main(["quickstart", "--output_dir", sys.argv[1]])
Path(sys.argv[2]).write_text(json.dumps(saves))
sys.exit(status)
"""


def quickstart(output: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "hfdistill.cli", "quickstart", "--output_dir", str(output)], env=env
    )


def stage_runtimes(output: Path) -> dict[str, float]:
    """Each stage's training time (seconds), from its final folder's trainer_state.json."""
    runtimes = {}
    for stage in ("teacher", "student", "student-no-kd"):
        history = json.loads((output / stage / "trainer_state.json").read_text())["log_history"]
        runtimes[stage] = next(entry["train_runtime"] for entry in history if "train_runtime" in entry)
    return runtimes


def student_accuracy(output: Path) -> float:
    report = json.loads((output / "report.json").read_text())
    return next(row["metrics"]["accuracy"] for row in report["models"] if row["name"] == "distilled student")


def max_difference(first: Path, second: Path) -> float:
    one, two = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert one.keys() == two.keys()
    return max((one[name] - two[name]).abs().max().item() for name in one)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default="benchmarks/results/resume_check")
    parser.add_argument("--kill_after_checkpoints", type=int, default=2)
    parser.add_argument("--json", default="benchmarks/resume_check_2cpu.json", help="Where the figures go.")
    args = parser.parse_args()
    check_flags(parser, args, at_least_one=("kill_after_checkpoints",))
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    uninterrupted, killed = output / "uninterrupted", output / "killed"
    for folder in (uninterrupted, killed):
        subprocess.run(["rm", "-rf", str(folder)], check=True)

    print("1. an uninterrupted quickstart, its checkpoint saves timed", flush=True)
    saves_file = output / "saves.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [sys.executable, "-c", TIMED_QUICKSTART, str(uninterrupted), str(saves_file)]
    subprocess.run(command, env=env, check=True)
    saves, runtimes = json.loads(saves_file.read_text()), stage_runtimes(uninterrupted)
    cost = {
        stage: {
            "checkpoints": len(saves.get(stage, [])),
            "save_seconds": round(sum(saves.get(stage, [])), 2),
            "train_seconds": round(runtimes[stage], 1),
            "share": round(sum(saves.get(stage, [])) / runtimes[stage], 4),
        }
        for stage in runtimes
    }
    total_save = sum(sum(times) for times in saves.values())
    total_share = total_save / sum(runtimes.values())

    print(f"2. a quickstart killed after the student's checkpoint {args.kill_after_checkpoints}", flush=True)
    student_checkpoints = killed / "checkpoints" / "student"

    def checkpointed() -> bool:
        saved = [path for path in student_checkpoints.glob("checkpoint-*") if (path / "trainer_state.json").exists()]
        return len(saved) >= args.kill_after_checkpoints

    # 20 s into the steps after the last checkpoint, which the rerun must train again
    too_late = "the quickstart ended before it could be killed: lower --kill_after_checkpoints"
    kill_when(quickstart(killed), checkpointed, settle=20, poll=1, too_late=too_late)
    manifest = json.loads((killed / "run_manifest.json").read_text())
    teacher_saved = (killed / "teacher" / "model.safetensors").stat().st_mtime_ns
    checkpoints_at_kill = sorted(path.name for path in student_checkpoints.glob("checkpoint-*"))

    print("3. the same command again", flush=True)
    start = time.perf_counter()
    rerun = quickstart(killed)
    rerun.wait()
    rerun_seconds = time.perf_counter() - start
    assert rerun.returncode == 0, rerun.returncode

    result = {
        "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}",
        "checkpoint_cost": {
            "stages": cost,
            "total_save_seconds": round(total_save, 2),
            "share": round(total_share, 4),
        },
        "kill": {
            "stages_finished_at_kill": sorted(manifest["stages"]),
            "student_checkpoints_at_kill": checkpoints_at_kill,
            "teacher_kept": (killed / "teacher" / "model.safetensors").stat().st_mtime_ns == teacher_saved,
            "rerun_seconds": round(rerun_seconds, 1),
            "student_accuracy": {
                "uninterrupted": student_accuracy(uninterrupted),
                "resumed": student_accuracy(killed),
            },
            "student_max_abs_weight_difference": max_difference(uninterrupted / "student", killed / "student"),
        },
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
