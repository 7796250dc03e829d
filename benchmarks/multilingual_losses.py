"""Which embedding loss puts Spanish queries into the teacher's English index: MSE, contrastive, or both, on the same
data and budget?

    python benchmarks/multilingual_losses.py     # `make multilingual` once per loss: about 8 minutes each on 2 cores

Runs `hfdistill multilingual` (the recipe of `make multilingual`, `recipes/multilingual.yaml`) once per
`--embedding_loss` into `--work_dir/LOSS`, every other setting the recipe's. Per loss, on every evaluation set: top-1
and MRR@10 of the Spanish sentence in the teacher's English index (the first metric), own-space retrieval both ways,
the English cosine to the teacher, and the run's wall time and peak memory. A loss whose folder holds a `report.json`
is read, not run again. Writes `benchmarks/multilingual_losses_2cpu.json`, and copies the report of the recipe's own
loss (what `make multilingual` writes) to `benchmarks/multilingual_2cpu.json`.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hfdistill.cli.subcommands import multilingual_parser  # noqa: E402
from hfdistill.config.embedding_loss import EMBEDDING_LOSSES  # noqa: E402
from hfdistill.config.recipe import load_recipe, recipe_keys  # noqa: E402
from hfdistill.outputs.report import STUDENT, machine_description, write_json  # noqa: E402

QUESTION = __doc__.splitlines()[0] + " " + __doc__.splitlines()[1]
FIGURES = {
    "teacher_index_top1": "target_to_teacher_index_top1",
    "teacher_index_mrr10": "target_to_teacher_index_mrr10",
    "own_space_en_to_es_top1": "source_to_target_top1",
    "own_space_es_to_en_top1": "target_to_source_top1",
    "english_cosine_to_teacher": "source_cosine",
}


def run_loss(recipe: Path, loss: str, folder: Path) -> None:
    """`hfdistill multilingual --config recipe --embedding_loss loss` into `folder`; its wall time and peak memory to
    `folder/cost.json`."""
    argv = ["hfdistill", "multilingual", "--config", str(recipe), "--embedding_loss", loss]
    argv += ["--output_dir", str(folder)]
    print("running", " ".join(argv), flush=True)
    start = time.perf_counter()
    child = subprocess.Popen(argv, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{loss}: {' '.join(argv)} failed")
    cost = {
        "wall_minutes": round((time.perf_counter() - start) / 60, 1),
        "peak_rss_gb": round(usage.ru_maxrss / 2**20, 2),
    }
    write_json(folder / "cost.json", cost)


def loss_row(folder: Path) -> dict:
    """One loss's figures by evaluation set (Spanish column), its settings' loss part and its cost."""
    report = json.loads((folder / "report.json").read_text())
    row = {
        set_name: {name: by_target["es"][key] for name, key in FIGURES.items()}
        for set_name, by_target in report["scores"][STUDENT].items()
    }
    settings = report["settings"]
    loss = {key: settings[key] for key in settings if key.startswith(("embedding_", "contrastive_"))}
    cost = json.loads((folder / "cost.json").read_text()) if (folder / "cost.json").is_file() else None
    return {"settings": loss, "scores": row, "cost": cost}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=QUESTION)
    parser.add_argument("--losses", nargs="+", choices=EMBEDDING_LOSSES, default=list(EMBEDDING_LOSSES))
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "multilingual.yaml"), help="`make multilingual`'s.")
    parser.add_argument("--work_dir", default="outputs/multilingual-losses", help="One run folder per loss, kept.")
    parser.add_argument("--json_file", default=str(ROOT / "benchmarks" / "multilingual_losses_2cpu.json"))
    parser.add_argument(
        "--report_copy",
        default=str(ROOT / "benchmarks" / "multilingual_2cpu.json"),
        help="Where the report of the recipe's own loss goes.",
    )
    args = parser.parse_args(argv)
    if not Path(args.recipe).is_file():
        parser.error(f"--recipe {args.recipe} does not exist")
    recipe, work = Path(args.recipe), Path(args.work_dir)
    for loss in args.losses:
        if not (work / loss / "report.json").is_file():
            run_loss(recipe, loss, work / loss)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": QUESTION,
        "machine": machine_description(),
        "recipe": str(recipe.relative_to(ROOT)) if recipe.is_relative_to(ROOT) else str(recipe),
        "losses": {loss: loss_row(work / loss) for loss in args.losses},
    }
    write_json(Path(args.json_file), result)
    own = load_recipe(recipe, recipe_keys(multilingual_parser())).get("embedding_loss", "mse")
    if own in args.losses:
        shutil.copyfile(work / own / "report.json", args.report_copy)
    print(json.dumps(result["losses"], indent=2))


if __name__ == "__main__":
    main()
