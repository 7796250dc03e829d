"""How long does `make quickstart` take a new user, install included, and how much memory does it peak at?

Clones the repository's HEAD into a fresh folder, runs `make quickstart` there under `/usr/bin/time -v` (offline),
and writes the wall time and the peak resident memory to `benchmarks/quickstart_cost_2cpu.json`, and the run's own
`report.json` to `benchmarks/quickstart_2cpu.json` (the table the README quotes).

    python benchmarks/quickstart_cost.py                          # about 18 minutes on 2 CPU cores
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

RESULT, REPORT = ROOT / "benchmarks" / "quickstart_cost_2cpu.json", ROOT / "benchmarks" / "quickstart_2cpu.json"


def measured(log: str) -> dict:
    """Wall seconds and peak resident GB from `/usr/bin/time -v` output."""
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", log)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
    if wall is None or rss is None:
        raise SystemExit("the log holds no /usr/bin/time -v summary: run make quickstart under /usr/bin/time -v")
    seconds = 0.0
    for part in wall.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    warnings = [line for line in log.splitlines() if "warning" in line.lower()]
    return {"wall_seconds": round(seconds, 1), "peak_rss_gb": round(int(rss.group(1)) / 1e6, 2), "warnings": warnings}


def run_in_fresh_clone() -> tuple[str, str, Path]:
    """`make quickstart` in a fresh clone of HEAD: its log, its commit and its report's path."""
    work = Path(tempfile.mkdtemp(prefix="quickstart-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(work / "clone")], check=True)
    clone = work / "clone"
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True, check=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        ["/usr/bin/time", "-v", "make", "quickstart"], cwd=clone, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"make quickstart failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout + done.stderr, commit.stdout.strip(), clone / "outputs" / "quickstart" / "report.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from_log", help="A log of `/usr/bin/time -v make quickstart` in a fresh clone.")
    parser.add_argument("--commit", help="With --from_log: the commit that clone was at.")
    parser.add_argument("--report", help="With --from_log: that run's outputs/quickstart/report.json.")
    args = parser.parse_args()
    if args.from_log:
        if not (args.commit and args.report):
            parser.error("--from_log needs --commit and --report")
        log, commit, report = Path(args.from_log).read_text(errors="replace"), args.commit, Path(args.report)
    else:
        log, commit, report = run_in_fresh_clone()
    result = {
        "question": __doc__.splitlines()[0],
        "command": "git clone; /usr/bin/time -v make quickstart (HF_HUB_OFFLINE=1), install included",
        "commit": commit,
        **measured(log),
    }
    write_json(RESULT, result)
    shutil.copyfile(report, REPORT)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
