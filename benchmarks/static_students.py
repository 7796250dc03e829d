"""How much of its teacher does a static student keep, how much faster is it, and does the teacher's part help it?

    python benchmarks/static_students.py --seeds 42 1 2     # about 4 minutes a seed on 2 cores, after the teacher

Runs `hfdistill distill --config recipes/static.yaml` at each seed into `--work_dir/seed-S` (the first seed fine-tunes
the teacher unless `--teacher_name_or_path` names one; the others reuse it and its cached outputs). Each run reports
the teacher, the static student distilled from its soft targets and labels, and the same table and head trained on
the labels alone, timed by the product's harness (pre-tokenised batches, PyTorch, round-robin in one process).
Beside them, the peer: model2vec's own `StaticModelForClassification` (its `fit`: early stopping on the validation
reviews, its default head) started from the same distilled table of the same teacher, trained on the labelled
reviews. Every model then reads the raw test reviews: accuracy; McNemar's exact test against the labels-only head
per seed and pooled over the seeds (the discordant counts summed), and the sign-flip test over seeds; CPU
throughput on batches of 32 raw reviews, tokenising included (the static students through `StaticTextClassifier`,
the peer through its own `predict`). A seed whose run folder holds a `report.json` is read, not run again.
Writes `benchmarks/static_students_2cpu.json`.
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.flags import check_flags  # noqa: E402
from benchmarks.ner_seeds import run_seed  # noqa: E402  (any recipe, one seed)
from hfdistill.config.data import DataArguments  # noqa: E402
from hfdistill.config.recipe import load_recipe  # noqa: E402
from hfdistill.models.static import StaticTextClassifier, distilled_table  # noqa: E402
from hfdistill.numerics.significance import mcnemar_exact, over_seeds  # noqa: E402
from hfdistill.outputs.report import machine_description, write_json  # noqa: E402
from hfdistill.tasks import task_for  # noqa: E402
from hfdistill.tasks.task_data import load_task  # noqa: E402

QUESTION = __doc__.splitlines()[0]
STUDENTS = {"static student (KD)": "student", "static head on labels alone": "student-no-kd"}
PEER = "model2vec StaticModelForClassification"
BASELINE = "student without KD"  # the labels-only head's row in the run's report


def texts_per_second(predict, texts: list[str], rounds: int = 3) -> float:
    """Raw texts per second through `predict` in batches of 32, tokenising included: the best of `rounds`."""
    batches = [texts[i : i + 32] for i in range(0, len(texts), 32)]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for batch in batches:
            predict(batch)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def peer_classifier(teacher_folder: Path, data, seed: int):
    """model2vec's classifier on the same distilled table of the same teacher, fitted on the labelled reviews with
    its own early stopping on the validation reviews."""
    from model2vec import StaticModel
    from model2vec.train import StaticModelForClassification
    from tokenizers import Tokenizer

    teacher = data.task.load_model(str(teacher_folder))
    table = distilled_table(teacher, data.tokenizer, 256).numpy()
    static = StaticModel(vectors=table, tokenizer=Tokenizer.from_file(str(teacher_folder / "tokenizer.json")))
    classifier = StaticModelForClassification.from_static_model(model=static)
    train, validation = data.splits["train"], data.splits["validation"]
    names = data.label_names
    classifier.fit(
        list(train["text"]),
        [names[i] for i in train["label"]],
        X_val=list(validation["text"]),
        y_val=[names[i] for i in validation["label"]],
        random_seed=seed,
    )
    return classifier


def seed_results(folder: Path, teacher_folder: Path, data, seed: int) -> tuple[dict, dict]:
    """One seed: each model's accuracy and raw-text throughput, and whether it got each test review right."""
    report = {model["name"]: model for model in json.loads((folder / "report.json").read_text())["models"]}
    test = data.splits["test"]
    texts, labels = list(test["text"]), np.asarray(test["label"])
    names = data.label_names
    right, row = {}, {"harness": {}}
    for name, subfolder in STUDENTS.items():
        classifier = StaticTextClassifier.from_pretrained(folder / subfolder)
        right[name] = np.asarray([names.index(label) for label in classifier.predict(texts)]) == labels
        row[name] = {"raw_texts_per_second_batch32": round(texts_per_second(classifier.predict, texts))}
    peer = peer_classifier(teacher_folder, data, seed)
    right[PEER] = np.asarray([names.index(label) for label in peer.predict(texts)]) == labels
    row[PEER] = {"raw_texts_per_second_batch32": round(texts_per_second(peer.predict, texts))}
    for name in (*STUDENTS, PEER):
        row[name]["accuracy"] = round(float(right[name].mean()), 4)
    teacher = report["teacher"]
    row["teacher"] = {"accuracy": teacher["metrics"]["accuracy"]}
    for name, reported in (("static student (KD)", "distilled student"), ("static head on labels alone", BASELINE)):
        model = report[reported]
        row["harness"][name] = {
            "speedup_batch32": round(model["throughput_batch32"] / teacher["throughput_batch32"], 1),
            "speedup_batch1": round(teacher["latency_ms_batch1"] / model["latency_ms_batch1"], 1),
            "size_mb": model["size_mb"],
        }
    row["harness"]["teacher"] = {
        "throughput_batch32": teacher["throughput_batch32"],
        "latency_ms_batch1": teacher["latency_ms_batch1"],
        "size_mb": teacher["size_mb"],
    }
    for name in (*STUDENTS, PEER):
        row[name]["retention_percent"] = round(100 * row[name]["accuracy"] / row["teacher"]["accuracy"], 2)
        if name != "static head on labels alone":
            row[name]["mcnemar_vs_labels_only"] = mcnemar_exact(right[name], right["static head on labels alone"])
    return row, right


# Two reviews with the same words in another order: a mean of token vectors cannot tell them apart.
WORD_ORDER = ["not bad at all , it is good", "not good at all , it is bad"]


def word_order_example(folder: Path, teacher_folder: Path, data) -> dict:
    """What the teacher and the static student make of two reviews that differ only in word order."""
    import torch

    teacher = data.task.load_model(str(teacher_folder)).eval()
    with torch.no_grad():
        logits = teacher(**data.tokenizer(WORD_ORDER, padding=True, return_tensors="pt")).logits
    static = StaticTextClassifier.from_pretrained(folder / "student")
    names = data.label_names
    return {
        "texts": WORD_ORDER,
        "teacher": [names[i] for i in logits.argmax(-1)],
        "teacher_probability_of_" + names[1]: [round(float(p), 3) for p in logits.softmax(-1)[:, 1]],
        "static student": static.predict(WORD_ORDER),
        "static_logits_equal": bool(np.allclose(*static.logits(WORD_ORDER))),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=QUESTION)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2], help="Training seeds.")
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "static.yaml"), help="The static recipe.")
    parser.add_argument(
        "--teacher_name_or_path", default=None, help="A fine-tuned teacher folder (default: the first seed's own)."
    )
    parser.add_argument("--work_dir", default="outputs/static-seeds", help="One run folder per seed, kept.")
    parser.add_argument("--json_file", default=str(ROOT / "benchmarks" / "static_students_2cpu.json"))
    args = parser.parse_args(argv)
    check_flags(parser, args, folders=("teacher_name_or_path",) if args.teacher_name_or_path else ())
    if not Path(args.recipe).is_file():
        parser.error(f"--recipe {args.recipe} does not exist")
    work, recipe = Path(args.work_dir), Path(args.recipe)
    first = work / f"seed-{args.seeds[0]}"
    teacher = Path(args.teacher_name_or_path) if args.teacher_name_or_path else first / "teacher"
    for seed in args.seeds:
        folder = work / f"seed-{seed}"
        if not (folder / "report.json").is_file():
            given = None if (folder == first and args.teacher_name_or_path is None) else teacher
            run_seed(recipe, seed, folder, given)
    data_fields = set(DataArguments.__dataclass_fields__)
    values = {k: v for k, v in load_recipe(recipe, data_fields | {"pipeline", "training"}).items() if k in data_fields}
    data = load_task(str(teacher), task_for("text-classification").checked_arguments(DataArguments(**values)))
    seeds, pooled = {}, {}
    for seed in args.seeds:
        row, right = seed_results(work / f"seed-{seed}", teacher, data, seed)
        seeds[str(seed)] = row
        for name, value in right.items():
            pooled.setdefault(name, []).append(value)
        print(seed, json.dumps(row), flush=True)
    stacked = {name: np.stack(values) for name, values in pooled.items()}
    mean = {
        name: round(float(np.mean([s[name]["accuracy"] for s in seeds.values()])), 4)
        for name in ("teacher", *STUDENTS, PEER)
    }
    labels_only = stacked["static head on labels alone"]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "question": QUESTION,
        "machine": machine_description(),
        "recipe": str(recipe.relative_to(ROOT)) if recipe.is_relative_to(ROOT) else str(recipe),
        "teacher": str(teacher),
        "test_reviews": int(labels_only.shape[1]),
        "seeds": seeds,
        "mean_accuracy": mean,
        "mean_retention_percent": {name: round(100 * mean[name] / mean["teacher"], 2) for name in (*STUDENTS, PEER)},
        "pooled_mcnemar_vs_labels_only": {
            name: mcnemar_exact(stacked[name].ravel(), labels_only.ravel()) for name in ("static student (KD)", PEER)
        },
        "over_seeds_vs_labels_only": {
            name: over_seeds(stacked[name], labels_only) for name in ("static student (KD)", PEER)
        },
    }
    result["word_order"] = word_order_example(first, teacher, data)
    write_json(Path(args.json_file), result)
    print(json.dumps({k: result[k] for k in ("mean_accuracy", "mean_retention_percent")}, indent=2))


if __name__ == "__main__":
    main()
