"""The written results of a sentence-embedding run: the retrieval curve logged during training, `report.json` and
the student's card."""

import json
from pathlib import Path

from sentence_transformers import SentenceTransformer

from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.outputs.embedding_card import write_embedding_card
from hfdistill.outputs.embedding_scores import score_all, scores_table, speed_table
from hfdistill.outputs.report import STUDENT, write_json

CURVE_KEY = "teacher_index_top1"  # the figure logged at each evaluation during training (`--eval_strategy steps`)


def retrieval_curve_figures(
    model: SentenceTransformer, sets: dict, data_args: ParallelDataArguments, teacher_sources
) -> dict:
    """Top-1 retrieval in the teacher's index, by evaluation set and translation column: the curve's points."""
    scores = score_all(model, sets, data_args, teacher_sources)
    return {
        f"{CURVE_KEY}/{name}/{target}": figures["target_to_teacher_index_top1"]
        for name, by_target in scores.items()
        for target, figures in by_target.items()
    }


def retrieval_curve(student_folder: str) -> list[dict]:
    """The retrieval figures logged at each evaluation during training (`trainer_state.json`), by step."""
    state = json.loads((Path(student_folder) / "trainer_state.json").read_text())
    prefix = f"eval_{CURVE_KEY}/"
    return [
        {
            "step": entry["step"],
            **{key[len(prefix) :]: value for key, value in entry.items() if key.startswith(prefix)},
        }
        for entry in state["log_history"]
        if any(key.startswith(prefix) for key in entry)
    ]


def headline(rows: dict, source: str) -> str:
    """The promise in one line per translation column: the distilled student's top-1 in the teacher's index."""
    lines = {}
    for set_name, by_target in rows[STUDENT].items():
        for target, figures in by_target.items():
            lines.setdefault(target, []).append(f"{figures['target_to_teacher_index_top1']:.3f} on {set_name}")
    return "\n".join(
        f"{target} queries in the teacher's {source} index, top-1: {'; '.join(found)}"
        for target, found in lines.items()
    )


def write_embedding_outputs(rows: dict, speeds: dict, settings: dict, student_folder: str, teacher_path: str) -> dict:
    """`report.json` beside the student's folder and the student's card; the report, with its tables."""
    report = {"scores": rows, "sentences_per_second": speeds, "settings": settings}
    curve = retrieval_curve(student_folder)
    if curve:
        report["teacher_index_top1_curve"] = curve
    report = write_json(Path(student_folder).parent / "report.json", report)
    report["table"] = scores_table(rows, settings["columns"][0])
    report["speed_table"] = speed_table(speeds)
    report["headline"] = headline(rows, settings["columns"][0])
    write_embedding_card(Path(student_folder), report, teacher_path)
    return report
