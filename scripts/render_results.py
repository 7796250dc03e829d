"""Result tables rendered from the committed benchmark JSONs, so that no figure in the docs is typed by hand.

    python scripts/render_results.py            # print the README's headline table
    python scripts/render_results.py --readme   # write README.md's tables (each between its two markers)

The docs site renders the same tables at build time: `docs/hooks.py` replaces each `<!-- table: NAME -->` line of a
page with `TABLES[NAME]()`, so changing a number in a JSON changes the built page, and a name with no table fails the
build. `tests/test_docs.py` checks that README.md holds what `fill_readme` writes.
"""

import argparse
import json
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from hfdistill.outputs.report import markdown_table

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
README = ROOT / "README.md"
END = "<!-- /table -->"  # closes a table block in README.md
NT = "bible_nt_en_es"  # the held-out kind of text of the multilingual runs: books never trained on
OT_HELD_OUT = "bible_ot_en_es, held out"  # verses of the books trained on, held out
METHODS = ("no KD", "logit KD", "full recipe")  # the frontier's ways of training a student, as its JSONs name them
RECIPE_6X192, RECIPE_3X192 = "frontier_rung_6x192f768_2cpu.json", "frontier_rung_3x192f384_2cpu.json"


def load(name: str) -> dict:
    return json.loads((BENCHMARKS / name).read_text())


def percent(value: float | None) -> str:
    """A percentage the JSON stores to two decimals, to one, half up (97.55 -> 97.6, as a reader rounds it)."""
    return "—" if value is None else f"{Decimal(str(value)).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def times(value: float) -> str:
    return f"{value:.1f}×"


def p_value(value: float) -> str:
    return f"{value:.2g}"


def report_table(name: str) -> str:
    """A pipeline's `report.json` (quickstart, NER, regression, multi-label): every model's headline metric, its
    retention, size, CPU speed-up at batch 1 and 32, and the distilled student's paired test against the no-KD one
    (McNemar's, or a bootstrap where the metric is not a share right)."""
    report = load(name)
    metric, teacher = report["metric"], report["models"][0]
    columns = ["model", metric, f"retention of {metric}", "parameters", "size (MB)", "CPU speed-up b=1"]
    columns += ["CPU speed-up b=32", f"{report['significance'].get('test', 'McNemar')} p vs no KD"]
    rows = [
        [
            model["name"],
            f"{model['metrics'][metric]:.4f}",
            percent(model["retention_percent"]),
            f"{model['parameters'] / 1e6:.1f}M",
            f"{model['size_mb']:.1f}",
            times(teacher["latency_ms_batch1"] / model["latency_ms_batch1"]),
            times(model["throughput_batch32"] / teacher["throughput_batch32"]),
            p_value(report["significance"]["p_value"]) if model["name"] == "distilled student" else "—",
        ]
        for model in report["models"]
    ]
    return markdown_table(columns, rows) + f"\n\n{report['significance']['summary']}"


def frontier_table(name: str) -> str:
    """A `frontier.py` JSON: every rung's methods, their accuracy, retention and speed-up over the teacher."""
    rows = []
    for rung, result in load(name)["rungs"].items():
        for method in METHODS:
            row = result.get(method)
            if row is None:
                continue
            p = row.get("mcnemar_vs_no_kd")
            rows.append(
                [
                    rung,
                    method,
                    f"{row['accuracy']:.4f}",
                    percent(row["retention_percent"]),
                    "—" if not p else p_value(p["p_value"]),
                    f"{row['parameters'] / 1e6:.1f}M",
                    times(row["speedup_batch32"]),
                    times(row["speedup_batch1"]),
                ]
            )
    columns = ["rung", "method", "accuracy", "retention", "McNemar p vs no KD", "params", "speed-up b=32", "b=1"]
    return markdown_table(columns, rows)


def rung_seeds_table(name: str) -> str:
    """A rung's seed runs (`frontier_seeds.py`): each variant's mean over seeds and its validation accuracy (which
    chose the recipe), against no KD and logit KD over the same seeds (paired sign-flip test over the seeds)."""
    contents = load(name)
    rows = []
    for variant, result in contents["variants"].items():
        summary, seeds = result["summary"], len(result["seeds"])
        recipe = summary["full recipe"]
        versus, versus_logit = recipe.get("over_seeds_vs_no_kd"), recipe.get("over_seeds_vs_logit_kd")
        no_kd, logit = summary.get("no KD"), summary.get("logit KD")
        label = f"**{variant}** (the recipe)" if variant == contents["recipe"] else variant
        rows.append(
            [
                label,
                str(seeds),
                f"{recipe['mean_accuracy']:.4f} ({percent(recipe['mean_retention_percent'])})",
                "—" if no_kd is None else f"{no_kd['mean_accuracy']:.4f} ({percent(no_kd['mean_retention_percent'])})",
                "—" if "mean_validation_accuracy" not in recipe else f"{recipe['mean_validation_accuracy']:.4f}",
                "—" if versus is None else p_value(versus["p_value"]),
                "—" if logit is None else f"{logit['mean_accuracy']:.4f} ({percent(logit['mean_retention_percent'])})",
                "—" if versus_logit is None else p_value(versus_logit["p_value"]),
            ]
        )
    columns = ["variant", "seeds", "full recipe (retention)", "no KD (retention)", "validation", "p vs no KD"]
    columns += ["logit KD (retention)", "p vs logit KD"]
    return markdown_table(columns, rows)


def cache_cost_table() -> str:
    """`distillation_cost.py`: each way of training the same student, against plain fine-tuning (the floor)."""
    ways = load("distillation_cost_2cpu.json")["ways"]
    columns = ["way", "train samples/s", "vs plain fine-tuning", "peak RSS (MB)", "test accuracy"]
    rows = [
        [
            way,
            f"{result['samples_per_second']:.1f}",
            f"{result['ratio_to_floor']:.2f}×",
            f"{result['peak_rss_mb']:.0f}",
            f"{result['accuracy']:.4f} ± {result['accuracy_se']:.4f}",
        ]
        for way, result in ways.items()
    ]
    return markdown_table(columns, rows)


def embedding_table(name: str, evaluation_set: str = NT) -> str:
    """A multilingual report (`report.json` of `hfdistill multilingual`, or a benchmark's): retrieval and agreement
    with the teacher on `evaluation_set`, and encoding speed against the teacher."""
    report = load(name)
    speeds = report["sentences_per_second"]
    teacher_speed = next(iter(speeds.values()))
    columns = ["model", "top-1 es→teacher's en index", "MRR@10", "top-1 en→es", "top-1 es→en", "cos en"]
    rows = []
    for model, by_set in report["scores"].items():
        if evaluation_set not in by_set:
            continue
        scores = next(iter(by_set[evaluation_set].values()))
        speed = speeds.get(model)
        rows.append([model, *promise_cells(scores), "—" if speed is None else f"{speed / teacher_speed:.2f}×"])
    return markdown_table([*columns, "speed vs teacher"], rows)


def promise_cells(scores: dict) -> list[str]:
    """The teacher-index figures first (MRR@10 is absent from reports older than it), then own space and cosine."""
    mrr = scores.get("target_to_teacher_index_mrr10")
    return [
        f"{scores['target_to_teacher_index_top1']:.3f}",
        "—" if mrr is None else f"{mrr:.3f}",
        f"{scores['source_to_target_top1']:.3f}",
        f"{scores['target_to_source_top1']:.3f}",
        f"{scores['source_cosine']:.3f}",
    ]


def multilingual_losses_table(evaluation_set: str) -> str:
    """`multilingual_losses.py`: the three embedding losses on the same data and budget, on `evaluation_set`."""
    result = load("multilingual_losses_2cpu.json")
    columns = ["loss", "top-1 es→teacher's en index", "MRR@10", "top-1 en→es", "top-1 es→en", "cos en", "wall time"]
    rows = []
    for loss, row in result["losses"].items():
        scores = row["scores"][evaluation_set]
        figures = {
            "target_to_teacher_index_top1": scores["teacher_index_top1"],
            "target_to_teacher_index_mrr10": scores["teacher_index_mrr10"],
            "source_to_target_top1": scores["own_space_en_to_es_top1"],
            "target_to_source_top1": scores["own_space_es_to_en_top1"],
            "source_cosine": scores["english_cosine_to_teacher"],
        }
        rows.append([f"`{loss}`", *promise_cells(figures), f"{row['cost']['wall_minutes']} min"])
    return markdown_table(columns, rows)


def multilingual_losses_summary() -> str:
    """`multilingual_losses.py` in one table for the README: the promise on both sets never trained on, own space and
    English cosine on the books, and time."""
    result = load("multilingual_losses_2cpu.json")
    columns = [
        "`--embedding_loss`",
        "es→teacher's en index, books",
        "same, software messages",
        "own space es→en, books",
    ]
    rows = []
    for loss, row in result["losses"].items():
        books, software = row["scores"][NT], row["scores"]["software_ui_en_es"]
        rows.append(
            [
                f"`{loss}`",
                f"{books['teacher_index_top1']:.3f}",
                f"{software['teacher_index_top1']:.3f}",
                f"{books['own_space_es_to_en_top1']:.3f}",
                f"{books['english_cosine_to_teacher']:.2f}",
                f"{row['cost']['wall_minutes']} min",
            ]
        )
    return markdown_table([*columns, "English cosine, books", "time (2 cores)"], rows)


def curve_table(name: str) -> str:
    """The retrieval curve a run logged during training (`teacher_index_top1_curve` of its report): top-1 of the
    Spanish query in the teacher's English index, by step and evaluation set."""
    curve = load(name)["teacher_index_top1_curve"]
    sets = [key for key in curve[0] if key != "step"]
    cells = [[str(point["step"]), *(f"{point[key]:.3f}" for key in sets)] for point in curve]
    return markdown_table(["step", *(key.rsplit("/", 1)[0] for key in sets)], cells)


def search_cost_table() -> str:
    """`search_cost.py`: a search on the warm cache against as many plain fine-tunings."""
    cost = load("search_cost_2cpu.json")
    rows = [
        [f"{cost['n_trials']} plain fine-tunings", f"{cost['plain_fine_tunings_seconds']:.0f}", "1.00×"],
        [
            f"`hfdistill search`, {cost['n_trials']} trials ({cost['trials_completed']} finished, "
            f"{cost['trials_pruned']} pruned)",
            f"{cost['search_seconds']:.0f}",
            f"{cost['search_over_plain']:.2f}×",
        ],
        [
            "the same with the cache's build",
            f"{cost['search_seconds'] + cost['cache_build_seconds']:.0f}",
            f"{cost['search_with_cache_build_over_plain']:.2f}×",
        ],
    ]
    return markdown_table(["", "seconds", "against plain fine-tunings"], rows)


def intermediate_cost_table() -> str:
    """`intermediate_cost.py`: seconds per training step of each intermediate term, against logit KD alone."""
    students = load("intermediate_cost_2cpu.json")["students"]
    ways = list(next(iter(students.values())))
    rows = [
        [
            student,
            *(f"{by_way[way]['seconds_per_step'] * 1000:.0f} ({by_way[way]['vs_logit_kd']:.2f}×)" for way in ways),
        ]
        for student, by_way in students.items()
    ]
    return markdown_table(["student", *(f"{way} (ms/step)" for way in ways)], rows)


def searched_students_table() -> str:
    """`searched_students.py`: KD and no KD, each tuned by its own search, on the test split."""
    result = load("searched_students_2cpu.json")
    rows = [
        [
            name,
            f"{result[name]['validation_accuracy']:.4f}",
            f"{result[name]['test_accuracy']:.4f}",
            percent(result[name]["retention_percent"]),
            times(result[name]["speedup_batch32"]),
        ]
        for name in ("no KD", "KD")
    ]
    table = markdown_table(["student (searched)", "validation", "test accuracy", "retention", "speed-up b=32"], rows)
    paired = result["mcnemar_kd_vs_no_kd"]
    return table + (
        f"\n\nOnly KD right on {paired['only_this_right']} test reviews, only no KD on {paired['only_no_kd_right']}: "
        f"McNemar p = {p_value(paired['p_value'])}."
    )


def digits_table(name: str) -> str:
    """`scripts/distil_digits_cnn.py`: a CNN distilled from a larger one, per seed, against the same CNN alone; with
    the mean over seeds and McNemar's test pooled over them when the JSON has them."""
    contents = load(name)
    rows = [
        [
            str(seed["seed"]),
            f"{seed['chosen_temperature']:g}",
            *(f"{seed['test_accuracy'][name]:.4f}" for name in ("teacher", "distilled student", "student without KD")),
            p_value(seed["mcnemar_distilled_vs_no_kd"]["p_value"]),
        ]
        for seed in contents["seeds"]
    ]
    summary = contents.get("summary")
    if summary is not None:
        mean = summary["mean_test_accuracy"]
        rows.append(
            [
                f"mean of {summary['seeds']}",
                "",
                *(f"{mean[name]:.4f}" for name in ("teacher", "distilled student", "student without KD")),
                f"{p_value(summary['pooled_mcnemar']['p_value'])} pooled",
            ]
        )
    columns = ["seed", "chosen T", "teacher", "distilled student", "student without KD", "McNemar p"]
    return markdown_table(columns, rows)


def report_row(name: str, report_file: str) -> list[str]:
    """A headline row from a pipeline's `report.json`: the distilled student's retention beside its no-KD twin's."""
    report = load(report_file)
    models = {model["name"]: model for model in report["models"]}
    student, no_kd, teacher = models["distilled student"], models["student without KD"], report["models"][0]
    return [
        name,
        f"{percent(student['retention_percent'])} of {report['metric']} (no KD: {percent(no_kd['retention_percent'])})",
        times(student["throughput_batch32"] / teacher["throughput_batch32"]),
        f"{report['significance'].get('test', 'McNemar')} p = {p_value(report['significance']['p_value'])} against no KD",
    ]


def headline_table() -> str:
    """The README's one table: what a student keeps of its teacher, how much faster it is, and at what cost."""
    rows = [
        report_row("quickstart: 6 × 192 DistilBERT from all-MiniLM-L6-v2, movie reviews", "quickstart_2cpu.json"),
        report_row("depth-only: 3 of its 6 layers at full width (recipes/depth-only.yaml)", DEPTH_ONLY),
    ]
    for name, rung_file, timed in (
        (
            "6 × 192 (recipes/balanced.yaml)",
            RECIPE_6X192,
            ("frontier_2cpu_6x192f768_kd0.5_lr1e-4.json", "6x192f768"),
        ),
        ("3 × 192 (recipes/fast.yaml)", RECIPE_3X192, ("frontier_2cpu_online.json", "3x192f384")),
    ):
        contents = load(rung_file)
        summary = contents["variants"][contents["recipe"]]["summary"]
        recipe, no_kd = summary["full recipe"], summary["no KD"]
        speed = load(timed[0])["rungs"][timed[1]]["full recipe"]["speedup_batch32"]
        settings = contents["variants"][contents["recipe"]]["settings"]
        rate = settings.get("no_kd_learning_rate") or settings["learning_rate"]  # the no-KD twin's own rate
        rows.append(
            [
                f"frontier {name}, mean of {recipe['over_seeds_vs_no_kd']['seeds']} seeds",
                f"{percent(recipe['mean_retention_percent'])} "
                f"(no KD at rate {rate:g}: {percent(no_kd['mean_retention_percent'])})",
                times(speed),
                f"p = {p_value(recipe['over_seeds_vs_no_kd']['p_value'])} over seeds against no KD",
            ]
        )
    warm = load("distillation_cost_2cpu.json")["ways"]["warm"]
    rows.append(
        [
            "teacher-output cache, warm",
            "the same student",
            "—",
            f"{warm['ratio_to_floor']:.2f}× the throughput of plain fine-tuning",
        ]
    )
    ner = load("ner_seeds_2cpu.json")
    no_kd = 100 * ner["mean_f1"]["student without KD"] / ner["mean_f1"]["teacher"]
    speed = sum(row["speedup_batch32"] for row in ner["seeds"].values()) / len(ner["seeds"])
    test = ner["bootstrap_vs_no_kd"]
    rows.append(
        [
            f"NER (recipes/ner.yaml): a 3-layer DistilBERT on WNUT-16 tweets, mean of {test['seeds']} seeds",
            f"{percent(ner['mean_retention_percent'])} of entity F1 (no KD: {percent(no_kd)})",
            times(speed),
            f"bootstrap p = {p_value(test['p_value'])} over the seeds' pooled tweets against no KD",
        ]
    )
    rows.append(
        report_row("regression (recipes/regression.yaml): 6 × 192, rated review snippets", "regression_2cpu.json")
    )
    rows.append(
        report_row("multi-label (recipes/multi-label.yaml): 6 × 192, entity kinds per tweet", "multi_label_2cpu.json")
    )
    static = load(STATIC)
    retention, harness = static["mean_retention_percent"], next(iter(static["seeds"].values()))["harness"]
    rows.append(
        [
            f"static (recipes/static.yaml): model2vec's table of the teacher under a linear head, mean of "
            f"{len(static['seeds'])} seeds",
            f"{percent(retention['static student (KD)'])} of accuracy (labels alone: "
            f"{percent(retention['static head on labels alone'])}; model2vec's classifier: "
            f"{percent(retention['model2vec StaticModelForClassification'])})",
            times(harness["static student (KD)"]["speedup_batch32"]),
            f"McNemar p = {p_value(static['pooled_mcnemar_vs_labels_only']['static student (KD)']['p_value'])} "
            "pooled over seeds against labels alone",
        ]
    )
    digits = load("digits_low_label_2cpu.json")["summary"]
    mean = digits["mean_test_accuracy"]
    rows.append(
        [
            "digits: a 1,250-parameter CNN that sees 10% of the labels",
            f"accuracy {mean['distilled student']:.4f} (no KD: {mean['student without KD']:.4f}; "
            f"teacher {mean['teacher']:.4f}), mean of {digits['seeds']} seeds",
            "—",
            f"McNemar p = {p_value(digits['pooled_mcnemar']['p_value'])} pooled over seeds against no KD",
        ]
    )
    for name, student in (
        ("multilingual_2cpu.json", "multilingual: all-MiniLM-L6-v2 taught Spanish (e5-small, 6 layers, contrastive)"),
        ("multilingual_static_2cpu.json", "multilingual static: model2vec's table of all-MiniLM-L6-v2, fitted to it"),
    ):
        rows.append(multilingual_row(load(name), student))
    return markdown_table(["student", "keeps", "CPU speed-up b=32", "against"], rows)


def multilingual_row(report: dict, student: str) -> list[str]:
    """A headline row of a multilingual report: the promise on every set never trained on, against the teacher alone
    (embedding the Spanish itself), with own-space retrieval and English cosine on the New Testament."""
    scores, teacher = (report["scores"][row] for row in ("distilled student", TEACHER_ROW))
    unseen = [name for name in scores if "held out" not in name]
    promise = "; ".join(
        f"{next(iter(scores[name].values()))['target_to_teacher_index_top1']:.3f} on {UNSEEN_NAMES.get(name, name)} "
        f"(teacher alone {next(iter(teacher[name].values()))['target_to_teacher_index_top1']:.3f})"
        for name in unseen
    )
    nt = next(iter(scores[NT].values()))
    speeds = report["sentences_per_second"]
    return [
        student,
        f"top-1 of a Spanish query in the teacher's English index: {promise}",
        speed_up(speeds["distilled student"] / speeds["teacher"]),
        f"own space es→en {nt['target_to_source_top1']:.3f}, English cosine {nt['source_cosine']:.2f} (books)",
    ]


def speed_up(ratio: float) -> str:
    """A speed ratio to the teacher: two decimals below 10 (a student slower than its teacher shows as such)."""
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


TEACHER_ROW = "teacher (both sides embedded by the teacher)"
UNSEEN_NAMES = {NT: "books never trained on", "software_ui_en_es": "software messages"}
DEPTH_ONLY = "quickstart_depth_only_2cpu.json"  # the quickstart of earlier versions


def make_cost_line(target: str) -> str:
    """What `make target` cost on a fresh clone (`benchmarks/quickstart_cost.py --target`), as one sentence."""
    name = f"{target.replace('-', '_')}_cost_2cpu.json"
    cost = load(name)
    return (
        f"On {cost['machine'].split(', ')[1]} `make {target}` took {cost['wall_seconds'] / 60:.1f} minutes on a fresh "
        f"clone, install included, at a peak of {cost['peak_rss_gb']:.2f} GB of memory (`benchmarks/{name}`)."
    )


def ner_seeds_table() -> str:
    """The NER recipe over seeds (`benchmarks/ner_seeds.py`): each seed's entity F1s, then the pooled bootstrap."""
    result = load("ner_seeds_2cpu.json")
    rows = [
        [
            seed,
            f"{row['f1']['teacher']:.4f}",
            f"{row['f1']['distilled student']:.4f}",
            f"{row['f1']['student without KD']:.4f}",
            percent(row["retention_percent"]),
            times(row["speedup_batch32"]),
        ]
        for seed, row in result["seeds"].items()
    ]
    mean = result["mean_f1"]
    rows.append(
        ["mean", *(f"**{mean[name]:.4f}**" for name in ("teacher", "distilled student", "student without KD"))]
        + [percent(result["mean_retention_percent"]), "—"]
    )
    test = result["bootstrap_vs_no_kd"]
    low, high = test["interval_points"]
    line = (
        f"Entity F1 pooled over the {test['seeds']} seeds' tags of the same {test['sentences']} test tweets: the "
        f"distilled student {test['difference_points']:+.1f} points against its no-KD twin (95% bootstrap interval "
        f"{low:+.1f} to {high:+.1f}, p = {p_value(test['p_value'])}, {test['resamples']} resamples of tweets)."
    )
    headers = ["seed", "teacher F1", "distilled F1", "no-KD F1", "retention", "CPU speed-up b=32"]
    return markdown_table(headers, rows) + "\n\n" + line


STATIC = "static_students_2cpu.json"
STATIC_ROWS = ("static student (KD)", "static head on labels alone", "model2vec StaticModelForClassification")


def static_students_table() -> str:
    """Static students over seeds (`benchmarks/static_students.py`): each seed's accuracies, the means, and the
    pooled McNemar test against the labels-only head."""
    result = load(STATIC)
    rows = [
        [seed, f"{row['teacher']['accuracy']:.4f}", *(f"{row[name]['accuracy']:.4f}" for name in STATIC_ROWS)]
        for seed, row in result["seeds"].items()
    ]
    mean = result["mean_accuracy"]
    rows.append(["mean", f"**{mean['teacher']:.4f}**", *(f"**{mean[name]:.4f}**" for name in STATIC_ROWS)])
    retention = result["mean_retention_percent"]
    rows.append(["retention", "100%", *(percent(retention[name]) for name in STATIC_ROWS)])
    headers = ["seed", "teacher", "static student (KD)", "same head, labels alone", "model2vec's classifier"]
    pooled = result["pooled_mcnemar_vs_labels_only"]
    seed_row = next(iter(result["seeds"].values()))
    harness = seed_row["harness"]
    line = (
        f"Pooled over the {len(result['seeds'])} seeds' predictions on the same {result['test_reviews']} test reviews, "
        f"against the labels-only head: the KD student is right alone on {pooled['static student (KD)']['only_this_right']}"
        f" and wrong alone on {pooled['static student (KD)']['only_no_kd_right']} "
        f"(McNemar p = {p_value(pooled['static student (KD)']['p_value'])}); model2vec's classifier "
        f"{pooled['model2vec StaticModelForClassification']['only_this_right']} / "
        f"{pooled['model2vec StaticModelForClassification']['only_no_kd_right']} "
        f"(p = {p_value(pooled['model2vec StaticModelForClassification']['p_value'])}). CPU speed-up of the KD "
        f"student over the teacher in the product's harness (seed {next(iter(result['seeds']))}, pre-tokenised "
        f"batches): {times(harness['static student (KD)']['speedup_batch32'])} at batch 32, "
        f"{times(harness['static student (KD)']['speedup_batch1'])} at batch 1; "
        f"{harness['static student (KD)']['size_mb']:.1f} MB against {harness['teacher']['size_mb']:.1f}. Raw reviews "
        f"per second at batch 32, tokenising included: {seed_row['static student (KD)']['raw_texts_per_second_batch32']:,} "
        f"(ours, numpy) and {seed_row['model2vec StaticModelForClassification']['raw_texts_per_second_batch32']:,} "
        "(model2vec's `predict`)."
    )
    return markdown_table(headers, rows) + "\n\n" + line


def word_order_line() -> str:
    """The measured example of what a mean of token vectors cannot read (`benchmarks/static_students.py`)."""
    example = load(STATIC)["word_order"]
    first, second = example["texts"]
    probability = next(value for key, value in example.items() if key.startswith("teacher_probability_of_"))
    return (
        f'"{first}" and "{second}": the teacher reads {example["teacher"][0]} and {example["teacher"][1]} '
        f"(probabilities {probability[0]:.2f} and {probability[1]:.2f}); the static student reads "
        f"{example['static student'][0]} for both, with {'identical' if example['static_logits_equal'] else 'different'} "
        "logits: the same words in another order are the same mean."
    )


def precision_table() -> str:
    """bfloat16 autocast against float32 for the quickstart's models (`benchmarks/precision.py`)."""
    results = load("precision_2cpu.json")["results"]
    rows = [
        [name, f"{r['float32_ms_per_batch']:.0f}", f"{r['bfloat16_ms_per_batch']:.0f}", f"{r['speedup']:.2f}×"]
        for name, r in results.items()
    ]
    return markdown_table(["model, batch of 32 reviews", "float32 (ms)", "bfloat16 autocast (ms)", "speed-up"], rows)


TABLES = {
    "quickstart": lambda: report_table("quickstart_2cpu.json"),
    "quickstart_float32": lambda: report_table("quickstart_float32_2cpu.json"),
    "precision": precision_table,
    "ner_seeds": ner_seeds_table,
    "depth_only": lambda: report_table(DEPTH_ONLY),
    "quickstart_cost": lambda: make_cost_line("quickstart"),
    "regression": lambda: report_table("regression_2cpu.json"),
    "regression_cost": lambda: make_cost_line("regression"),
    "multi_label": lambda: report_table("multi_label_2cpu.json"),
    "multi_label_cost": lambda: make_cost_line("multi-label"),
    "ner": lambda: report_table("ner_2cpu.json"),
    "ner_logit_kd": lambda: report_table("ner_logit_kd_2cpu.json"),
    "multilingual": lambda: embedding_table("multilingual_2cpu.json"),
    "multilingual_static": lambda: embedding_table("multilingual_static_2cpu.json"),
    "multilingual_static_held_out_verses": lambda: embedding_table("multilingual_static_2cpu.json", OT_HELD_OUT),
    "multilingual_3_epochs": lambda: embedding_table("multilingual_3_epochs_2cpu.json"),
    "multilingual_12_layers": lambda: embedding_table("multilingual_12_layers_2cpu.json"),
    "multilingual_stitching": lambda: embedding_table("multilingual_stitching_2cpu.json"),
    "multilingual_transplant": lambda: embedding_table("multilingual_transplant_2cpu.json"),
    "multilingual_software_ui": lambda: embedding_table("multilingual_2cpu.json", "software_ui_en_es"),
    "multilingual_losses_nt": lambda: multilingual_losses_table(NT),
    "multilingual_losses_ui": lambda: multilingual_losses_table("software_ui_en_es"),
    "multilingual_losses_summary": multilingual_losses_summary,
    "multilingual_long_curve": lambda: curve_table("multilingual_long_2cpu.json"),
    "multilingual_mse_3000_pairs": lambda: embedding_table("multilingual_mse_3000_pairs_2cpu.json"),
    "multilingual_contrastive_3000_pairs": lambda: embedding_table("multilingual_contrastive_3000_pairs_2cpu.json"),
    "multilingual_transfer_text_ui": lambda: embedding_table(
        "multilingual_contrastive_transfer_text_2cpu.json", "software_ui_en_es"
    ),
    "multilingual_teacher_copy_nt": lambda: embedding_table("multilingual_teacher_copy_2cpu.json"),
    "multilingual_teacher_copy_ui": lambda: embedding_table(
        "multilingual_teacher_copy_2cpu.json", "software_ui_en_es"
    ),
    "frontier": lambda: frontier_table("frontier_2cpu.json"),
    "frontier_online": lambda: frontier_table("frontier_2cpu_online.json"),
    "frontier_6x192f768": lambda: frontier_table("frontier_2cpu_6x192f768_kd0.5_lr1e-4.json"),
    "seeds_6x192f768": lambda: rung_seeds_table(RECIPE_6X192),
    "seeds_3x192f384": lambda: rung_seeds_table(RECIPE_3X192),
    "cache_cost": cache_cost_table,
    "search_cost": search_cost_table,
    "intermediate_cost": intermediate_cost_table,
    "searched_students": searched_students_table,
    "digits": lambda: digits_table("digits_cnn_2cpu.json"),
    "digits_low_label": lambda: digits_table("digits_low_label_2cpu.json"),
    "headline": headline_table,
    "static_students": static_students_table,
    "static_word_order": word_order_line,
}


def render(markdown: str, where: str = "") -> str:
    """`markdown` with each `<!-- table: NAME -->` line replaced by its table; an unknown NAME is an error."""
    lines = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("<!-- table:") and stripped.endswith("-->"):
            name = stripped[len("<!-- table:") : -len("-->")].strip()
            if name not in TABLES:
                raise ValueError(f"{where}: no table named {name!r}; choose from {sorted(TABLES)}")
            lines.append(TABLES[name]())
        else:
            lines.append(line)
    return "\n".join(lines) + ("\n" if markdown.endswith("\n") else "")


def fill_readme(readme: str) -> str:
    """`readme` with each block between a `<!-- table: NAME -->` line and the next `<!-- /table -->` line written
    anew from its JSON (GitHub shows the README as it is, so its tables are written into it, not at build time)."""
    lines, out, skipping = readme.splitlines(), [], False
    for line in lines:
        stripped = line.strip()
        if skipping:
            if stripped == END:
                out.append(line)
                skipping = False
            continue
        out.append(line)
        if stripped.startswith("<!-- table:") and stripped.endswith("-->"):
            name = stripped[len("<!-- table:") : -len("-->")].strip()
            if name not in TABLES:
                raise ValueError(f"README.md: no table named {name!r}; choose from {sorted(TABLES)}")
            out.append(TABLES[name]())
            skipping = True
    if skipping:
        raise ValueError(f"README.md: a table block is not closed by {END}")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="Write README.md's tables from the JSONs.")
    if parser.parse_args().readme:
        README.write_text(fill_readme(README.read_text()))
    else:
        print(headline_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
