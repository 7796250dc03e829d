"""How long does `make quickstart` (or another task's make target) take a new user, install included, and how much memory does it peak at?

Clones the repository's HEAD into a fresh folder, runs `make TARGET` there under `/usr/bin/time -v` (offline), and
writes the wall time and the peak resident memory to `benchmarks/TARGET_cost_2cpu.json`, and the run's own
`report.json` to `benchmarks/TARGET_2cpu.json` (the table the README or the task's guide quotes).

    python benchmarks/quickstart_cost.py                          # make quickstart: about 18 minutes on 2 CPU cores
    python benchmarks/quickstart_cost.py --target regression      # make regression (recipes/regression.yaml)
    python benchmarks/quickstart_cost.py --target multi-label     # make multi-label (recipes/multi-label.yaml)
    python benchmarks/quickstart_cost.py --from_log LOG --commit SHA --report REPORT  # a run already made that way
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hfdistill.outputs.report import write_json  # noqa: E402

TARGETS = ("quickstart", "regression", "multi-label")  # each writes outputs/TARGET/report.json


def result_files(target: str) -> tuple[Path, Path]:
    """Where `target`'s cost and its run's report go."""
    stem = ROOT / "benchmarks" / target.replace("-", "_")
    return Path(f"{stem}_cost_2cpu.json"), Path(f"{stem}_2cpu.json")


def measured(log: str) -> dict:
    """Wall seconds and peak resident GB from `/usr/bin/time -v` output."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", log)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    if wall is None or rss is None:
        raise SystemExit("the log holds no /usr/bin/time -v summary: run the make target under /usr/bin/time -v")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    return {"wall_seconds": round(seconds, 1), "peak_rss_gb": round(int(rss.group(1)) / 1e6, 2), "warnings": warnings}


def run_in_fresh_clone(target: str) -> tuple[str, str, Path]:
    """`make target` in a fresh clone of HEAD: its log, its commit and its report's path."""
    work = Path(tempfile.mkdtemp(prefix=f"{target}-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work / "clone")], check=True)
    clone = work / "clone"
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(["/usr/bin/time", "-v", "make", target], cwd=clone, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"make {target} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr, commit.stdout.strip(), clone / "outputs" / target / "report.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=TARGETS, default="quickstart", help="The make target to measure.")
    parser.add_argument("--from_log", help="A log of `/usr/bin/time -v make TARGET` in a fresh clone.")
    parser.add_argument("--commit", help="With --from_log: the commit that clone was at.")
    parser.add_argument("--report", help="With --from_log: that run's outputs/TARGET/report.json.")
    args = parser.parse_args()
    if args.from_log:
        if not (args.commit and args.report):
            parser.error("--from_log needs --commit and --report")
        log, commit, report = Path(args.from_log).read_text(errors="replace"), args.commit, Path(args.report)
    else:
        log, commit, report = run_in_fresh_clone(args.target)
    result = {
        "question": __doc__.splitlines()[0],
        "command": f"git clone; /usr/bin/time -v make {args.target} (HF_HUB_OFFLINE=1), install included",
        "commit": commit,
        **measured(log),
    }
    cost, copied = result_files(args.target)
    write_json(cost, result)
    shutil.copyfile(report, copied)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
