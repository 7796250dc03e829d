"""Does the full recipe beat the no-KD student at one rung over several seeds, not one draw of each?

    python benchmarks/frontier_seeds.py --rung 3x192f384 --seeds 42 1 2 3 4 --teacher_name_or_path TEACHER

One run of `frontier.py` compares one full-recipe student with one no-KD student. Both vary from seed to seed (the
no-KD student of 3x192f384 scored 0.780-0.802 in four runs), so a single McNemar test can say more about the draw than
about the teacher. This trains each of `--methods` at each seed (the seed sets the new head, dropout, the batch order
and the transfer sample; the start from the teacher's reordered slices is the same for all), with the settings of
`frontier.py` (the same flags), and writes per seed: test and validation accuracy (choose settings on the latter),
McNemar's exact test and each test review's outcome. Over the seeds: mean and spread of each method's accuracy, and
the paired sign-flip permutation test of each review's mean difference (`hfdistill.numerics.significance.over_seeds`; one seed gives
McNemar's p). A seed already in the JSON is kept; a student folder that holds a saved model is read, not trained
again. No timing: `frontier.py` times the shape.

`--no_kd_learning_rate` gives the no-KD students their own learning rate (one `hfdistill search` chose, say) in
folders of their own: run again with it, the same work folder and another `--variant`, and the full-recipe students
already trained are read, so the teacher is tested against a tuned baseline for the cost of the baselines alone.

One JSON holds one rung: each `--variant` of its settings (a learning rate, a second stage) with its seeds and summary,
beside the others, and `recipe` names the variant its recipe in `recipes/` reproduces.
"""

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from flags import parse_flags
from frontier_students import (
    RUNGS,
    FrontierArguments,
    gold_labels,
    predicted_classes,
    student_folder,
    teacher_and_task,
    train_student,
)
from transformers import AutoModelForSequenceClassification

from hfdistill.config.data import DataArguments
from hfdistill.numerics.significance import mcnemar_exact, over_seeds
from hfdistill.outputs.report import machine_description, markdown_table, retention, write_json

logger = logging.getLogger("frontier_seeds")


@dataclass
class SeedArguments:
    """The rung and the seeds."""

    rung: str = field(default="3x192f384", metadata={"help": "The rung (a name from frontier.py's RUNGS)."})
    seeds: list[int] = field(default_factory=lambda: [42, 1, 2], metadata={"help": "Seeds of every student."})
    variant: str = field(
        default="recipe",
        metadata={
            "help": "Name of these settings in the rung's JSON (--json_file holds one rung: each variant of its "
            "settings with its seeds and summary)."
        },
    )

    def __post_init__(self):
        if self.rung not in RUNGS:
            raise ValueError(f"unknown rung {self.rung!r}: choose from {list(RUNGS)}")


def read_rung(json_path: Path, rung: str) -> dict:
    """The rung's JSON (every variant of its settings), or a new one; refused when it holds another rung."""
    if not json_path.is_file():
        return {"rung": rung, "variants": {}}
    contents = json.loads(json_path.read_text())
    if contents.get("rung") != rung:
        raise ValueError(f"{json_path} holds rung {contents.get('rung')!r}, not {rung!r}: choose another --json_file")
    return contents


def as_string(right: np.ndarray) -> str:
    """Right/wrong on each test example as the JSON keeps it: one '1' or '0' an example."""
    return "".join("1" if r else "0" for r in right)


def from_string(outcomes: str) -> np.ndarray:
    """`as_string`'s inverse."""
    return np.array([c == "1" for c in outcomes])


def outcomes_of_seed(bench, rung, teacher, task, data_args) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Each method's right/wrong on every test example, and its validation accuracy (the split to choose settings
    on), training the students the seed does not have yet."""
    labels = gold_labels(task)
    outcomes, validation = {}, {}
    for method in bench.methods:
        folder = student_folder(bench, rung, method)
        if (folder / "model.safetensors").is_file():
            logger.info("seed %d: reading the %s student in %s", bench.seed, method, folder)
        else:
            logger.info("seed %d: training the %s student", bench.seed, method)
            train_student(bench, method, rung, teacher, task, data_args, Path(bench.output_dir) / "teacher-cache")
        model = AutoModelForSequenceClassification.from_pretrained(folder)  # loaded once for both splits
        outcomes[method] = predicted_classes(model, task) == labels
        right = predicted_classes(model, task, "validation") == gold_labels(task, "validation")
        validation[method] = round(float(right.mean()), 4)
    return outcomes, validation


def paired_tests(row: dict) -> dict:
    """One seed's McNemar exact tests, from its stored outcomes: each KD method against no KD, and the full recipe
    against logit KD when both ran."""
    right = {method: from_string(outcomes) for method, outcomes in row["outcomes"].items()}
    tests = {"mcnemar_vs_no_kd": {m: mcnemar_exact(right[m], right["no KD"]) for m in right if m != "no KD"}}
    if {"logit KD", "full recipe"} <= right.keys():
        test = mcnemar_exact(right["full recipe"], right["logit KD"])
        tests["mcnemar_full_vs_logit_kd"] = {
            "only_full_recipe_right": test["only_this_right"],
            "only_logit_kd_right": test["only_no_kd_right"],
            "p_value": test["p_value"],
        }
    return tests


def summary(seeds: dict, methods: list[str], teacher_accuracy: float) -> dict:
    """Mean and spread of test accuracy per method that every seed has, its mean retention and mean validation
    accuracy, and each KD method's permutation test against no KD over the seeds (the full recipe's against logit KD
    too)."""
    methods = [method for method in methods if all(method in seed["outcomes"] for seed in seeds.values())]
    right = {
        method: np.array([from_string(seed["outcomes"][method]) for seed in seeds.values()]) for method in methods
    }
    accuracy = {method: right[method].mean(axis=1) for method in methods}
    result = {
        method: {
            "mean_accuracy": round(float(values.mean()), 4),
            "std_accuracy": round(float(values.std(ddof=1)), 4) if len(values) > 1 else None,
            "mean_retention_percent": retention(float(values.mean()), teacher_accuracy),
        }
        for method, values in accuracy.items()
    }
    if all("validation_accuracy" in seed for seed in seeds.values()):
        for method in methods:
            validation = [seed["validation_accuracy"][method] for seed in seeds.values()]
            result[method]["mean_validation_accuracy"] = round(float(np.mean(validation)), 4)
    for method in methods[1:]:
        result[method]["over_seeds_vs_no_kd"] = over_seeds(right[method], right["no KD"])
        result[method]["seeds_ahead_of_no_kd"] = int((accuracy[method] > accuracy["no KD"]).sum())
    if {"logit KD", "full recipe"} <= set(methods):
        result["full recipe"]["over_seeds_vs_logit_kd"] = over_seeds(right["full recipe"], right["logit KD"])
        result["full recipe"]["seeds_ahead_of_logit_kd"] = int((accuracy["full recipe"] > accuracy["logit KD"]).sum())
    return result


def seeds_table(seeds: dict, pooled: dict, methods: list[str]) -> str:
    """Markdown: one row per seed, then the mean row with the test over seeds."""
    methods = [method for method in methods if method in pooled]
    kd = methods[1:]
    versus_logit = "over_seeds_vs_logit_kd" in pooled.get("full recipe", {})
    columns = ["seed", *methods] + [f"{method} McNemar p" for method in kd]
    columns += ["full recipe vs logit KD McNemar p"] if versus_logit else []
    cells = [
        [
            str(seed),
            *(f"{row['accuracy'][m]:.4f}" for m in methods),
            *(f"{row['mcnemar_vs_no_kd'][m]['p_value']:.3g}" for m in kd),
            *([f"{row['mcnemar_full_vs_logit_kd']['p_value']:.3g}"] if versus_logit else []),
        ]
        for seed, row in seeds.items()
    ]
    cells.append(
        ["mean ± sd", *(f"{pooled[m]['mean_accuracy']:.4f} ± {pooled[m]['std_accuracy'] or 0:.4f}" for m in methods)]
        + [f"over seeds {pooled[m]['over_seeds_vs_no_kd']['p_value']:.3g}" for m in kd]
        + ([f"over seeds {pooled['full recipe']['over_seeds_vs_logit_kd']['p_value']:.3g}"] if versus_logit else [])
    )
    return markdown_table(columns, cells)


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.WARNING)
    for name in ("frontier_seeds", "frontier", "hfdistill"):
        logging.getLogger(name).setLevel(logging.INFO)
    bench, seed_args = parse_flags(FrontierArguments, SeedArguments)
    json_path = Path(bench.json_file)
    rung_file = read_rung(json_path, seed_args.rung)
    seeds = rung_file["variants"].get(seed_args.variant, {}).get("seeds", {})
    data_args = DataArguments()
    teacher_folder, task, teacher = teacher_and_task(bench, data_args)  # every seed starts from the same slices
    teacher_accuracy = float((predicted_classes(teacher_folder, task) == gold_labels(task)).mean())
    settings = {**asdict(bench), "rung": seed_args.rung, "teacher": teacher_folder}

    def write() -> dict:
        """The JSON with every seed's tests and the summary recomputed from the stored outcomes."""
        for row in seeds.values():
            row.update(paired_tests(row))
        pooled = summary(seeds, bench.methods, teacher_accuracy)
        contents = {"settings": settings, "test_examples": len(task.tokenized["test"])}
        contents |= {"teacher_accuracy": round(teacher_accuracy, 4), "summary": pooled, "seeds": seeds}
        variant = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine_description()}
        rung_file["variants"][seed_args.variant] = variant | contents
        write_json(json_path, {name: value for name, value in rung_file.items() if name not in ("date", "machine")})
        return pooled

    for seed in seed_args.seeds:
        if str(seed) in seeds and not bench.redo:
            logger.info("seed %d is in %s already (--redo measures it again, training what it lacks)", seed, json_path)
            continue
        seeded = replace(bench, seed=seed, output_dir=str(Path(bench.output_dir) / f"seed-{seed}"))
        outcomes, validation = outcomes_of_seed(seeded, seed_args.rung, teacher, task, data_args)
        seeds[str(seed)] = {
            "accuracy": {m: round(float(right.mean()), 4) for m, right in outcomes.items()},
            "validation_accuracy": validation,
            "outcomes": {m: as_string(right) for m, right in outcomes.items()},
        }
        write()
        logger.info("seed %d written to %s", seed, json_path)
    print(seeds_table(seeds, write(), bench.methods))


if __name__ == "__main__":
    main()
