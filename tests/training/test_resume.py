"""A run cut off in any stage continues when the same command runs again, and ends where an uninterrupted run ends."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import Trainer

from hfdistill.cli import main
from hfdistill.training.resume import MANIFEST, first_difference, last_complete_checkpoint
from tests.conftest import write_teacher_and_reviews


class Crash(Exception):
    """Stands for the process dying: raised inside a training step, so nothing after it runs."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume")
    write_teacher_and_reviews(folder)
    return folder


def argv(inputs: Path, output: Path, *extra: str, two_stages: bool = False) -> list[str]:
    """A run of three stages (teacher, student, student-no-kd), or four with the student's first stage."""
    first_stage = [
        "--intermediate_epochs", "1", "--intermediate_learning_rate", "1e-3", "--intermediate_kd_loss_weight", "1",
        "--hidden_loss_weight", "1", "--attention_loss_weight", "1",
        "--student_hidden_size", "16", "--teacher_cache_dir", f"{output}-cache", "--baseline_learning_rate", "2e-4",
        "--baseline_num_train_epochs", "2",
    ] if two_stages else []  # fmt: skip
    return [
        "distill", "--teacher_name_or_path", str(inputs / "teacher"), "--dataset_name", str(inputs / "data.csv"),
        "--output_dir", str(output), "--teacher_num_train_epochs", "1", "--student_num_layers", "1",
        "--train_baseline", "true", "--num_train_epochs", "1", "--per_device_train_batch_size", "4",
        "--save_steps", "4", "--logging_steps", "1", "--report_to", "none", "--disable_tqdm", "true",
        "--timing_rounds", "1", "--use_cpu", "true", *first_stage, *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def finished(inputs):
    """The uninterrupted run of one or two student stages, run when first asked for."""
    runs = {}

    def run(two_stages: bool) -> Path:
        if two_stages not in runs:
            output = inputs / f"uninterrupted-{'two' if two_stages else 'one'}"
            assert main(argv(inputs, output, two_stages=two_stages)) == 0
            runs[two_stages] = output
        return runs[two_stages]

    return run


@pytest.fixture(scope="module")
def uninterrupted(finished) -> Path:
    return finished(False)


def crash_in(monkeypatch, stage: str, step: int) -> None:
    """Make the trainer of `stage` die when it reaches `step`."""
    original = Trainer.training_step

    def training_step(self, *args, **kwargs):
        if Path(self.args.output_dir).name == stage and self.state.global_step == step:
            raise Crash(stage)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", training_step)


def cut_off(monkeypatch, stage: str, step: int, command: list[str]) -> None:
    """Run `command` until `stage`'s trainer reaches `step`, where it dies."""
    with monkeypatch.context() as patch:
        crash_in(patch, stage, step)
        with pytest.raises(Crash):
            main(command)


def count_steps(monkeypatch, stage: str) -> list[int]:
    """A list that will hold how many training steps `stage`'s trainer runs."""
    original, counted = Trainer.training_step, [0]

    def training_step(self, *args, **kwargs):
        if Path(self.args.output_dir).name == stage:
            counted[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", training_step)
    return counted


STAGES = ["teacher", "student", "student-no-kd"]


@pytest.mark.parametrize(
    ("stage", "two_stages"),
    [*((stage, False) for stage in STAGES), ("student-intermediate", True), ("student", True)],
)
def test_a_run_cut_off_in_any_stage_continues_and_ends_as_an_uninterrupted_one(
    inputs, finished, tmp_path, monkeypatch, caplog, stage, two_stages
):
    uninterrupted, output = finished(two_stages), tmp_path / "run"
    cut_off(monkeypatch, stage, 6, argv(inputs, output, two_stages=two_stages))  # after the checkpoint of step 4
    manifest = json.loads((output / MANIFEST).read_text())
    assert not manifest["finished"] and stage not in manifest["stages"]
    assert not (output / stage).exists()  # no final folder that looks finished
    kept = {name: (output / name / "model.safetensors").stat().st_mtime_ns for name in manifest["stages"]}

    steps = count_steps(monkeypatch, stage)
    assert main(argv(inputs, output, two_stages=two_stages)) == 0
    total = json.loads((uninterrupted / stage / "trainer_state.json").read_text())["global_step"]
    assert steps == [total - 4]  # only the steps after the checkpoint ran again
    assert f"{stage}: resuming from {output / 'checkpoints' / stage / 'checkpoint-4'}" in caplog.text
    for name, modified in kept.items():  # finished stages are not trained again
        assert (output / name / "model.safetensors").stat().st_mtime_ns == modified, name
    for name in STAGES + ["student-intermediate"] * two_stages:
        resumed = load_file(output / name / "model.safetensors")
        for key, value in load_file(uninterrupted / name / "model.safetensors").items():
            torch.testing.assert_close(resumed[key], value, atol=1e-5, rtol=1e-4, msg=f"{name}: {key}")
    report = json.loads((output / "report.json").read_text())
    expected = json.loads((uninterrupted / "report.json").read_text())
    assert [row["metrics"] for row in report["models"]] == [row["metrics"] for row in expected["models"]]
    assert json.loads((output / MANIFEST).read_text())["finished"]
    assert not (output / "checkpoints").exists()


def test_other_settings_or_a_finished_run_are_refused(inputs, uninterrupted, tmp_path, monkeypatch, capsys):
    output = tmp_path / "run"
    cut_off(monkeypatch, "student", 2, argv(inputs, output))
    assert main(argv(inputs, output, "--temperature", "4")) == 2
    assert "holds an unfinished run with other settings (training.temperature: None there, 4.0 now)" in (
        capsys.readouterr().err
    )
    assert main(argv(inputs, uninterrupted)) == 2
    assert "holds a finished run: choose another --output_dir" in capsys.readouterr().err


def test_a_finished_run_is_measured_again_with_its_models_kept(inputs, uninterrupted, monkeypatch, caplog):
    models = {name: (uninterrupted / name / "model.safetensors").stat().st_mtime_ns for name in STAGES}
    before = json.loads((uninterrupted / "report.json").read_text())
    (uninterrupted / "report.json").unlink()
    steps = {stage: count_steps(monkeypatch, stage) for stage in STAGES}
    assert main(argv(inputs, uninterrupted, "--remeasure", "true")) == 0
    assert f"measuring the finished run in {uninterrupted} again" in caplog.text
    assert all(counted == [0] for counted in steps.values())  # nothing trained
    assert {name: (uninterrupted / name / "model.safetensors").stat().st_mtime_ns for name in STAGES} == models
    report = json.loads((uninterrupted / "report.json").read_text())  # written again
    assert [row["metrics"] for row in report["models"]] == [row["metrics"] for row in before["models"]]
    assert json.loads((uninterrupted / MANIFEST).read_text())["finished"]


def test_remeasure_needs_a_finished_run_with_the_same_settings(inputs, uninterrupted, tmp_path, monkeypatch, capsys):
    assert main(argv(inputs, tmp_path / "none", "--remeasure", "true")) == 2
    assert "--remeasure measures a finished run again, and output_dir" in capsys.readouterr().err
    assert main(argv(inputs, uninterrupted, "--remeasure", "true", "--temperature", "4")) == 2
    assert "holds a finished run with other settings (training.temperature: None there, 4.0 now)" in (
        capsys.readouterr().err
    )
    assert main(argv(inputs, uninterrupted, "--remeasure", "true", "--overwrite_output_dir", "true")) == 2
    assert "remeasure keeps the run's models and overwrite_output_dir discards them" in capsys.readouterr().err
    output = tmp_path / "run"
    cut_off(monkeypatch, "student", 2, argv(inputs, output))
    assert main(argv(inputs, output, "--remeasure", "true")) == 2
    assert "holds an unfinished run: rerun it without --remeasure" in capsys.readouterr().err


def test_the_first_difference_is_named_with_its_path():
    assert first_difference({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}) == ("a.c", 2, 3)
    assert first_difference({"a": 1}, {"a": 1}) is None


def test_a_checkpoint_cut_off_while_saving_is_skipped(tmp_path):
    for step, complete in ((4, True), (8, False), (12, False)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if complete:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path, remove_partial=True) == str(tmp_path / "checkpoint-4")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["checkpoint-4"]


def multilingual_argv(folder: Path, output: Path) -> list[str]:
    return [
        "multilingual", "--teacher_name_or_path", str(folder / "encoder"), "--student_name_or_path", "teacher",
        "--dataset_name", str(folder / "pairs.tsv"), "--eval_datasets", "none", "--source_sentences", "none", "--eval_pairs", "8",
        "--output_dir", str(output), "--per_device_train_batch_size", "8", "--num_train_epochs", "1",
        "--learning_rate", "0.5", "--optim", "sgd", "--save_steps", "2", "--logging_steps", "1",
        "--report_to", "none", "--disable_tqdm", "true", "--timing_rounds", "1", "--use_cpu", "true",
    ]  # fmt: skip


def test_a_multilingual_run_cut_off_continues_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch, caplog):
    from tests.conftest import tiny_sentence_encoder

    tiny_sentence_encoder(tmp_path / "encoder")
    generator = torch.Generator().manual_seed(0)
    words = ["good", "bad", "film", "plot", "great", "dull", "actor", "scene"]
    english = [" ".join(words[i] for i in torch.randint(0, len(words), (5,), generator=generator)) for _ in range(48)]
    (tmp_path / "pairs.tsv").write_text("".join(f"{line}\t{line[::-1]}\n" for line in english))
    assert main(multilingual_argv(tmp_path, tmp_path / "uninterrupted")) == 0

    output = tmp_path / "run"
    cut_off(monkeypatch, "student", 3, multilingual_argv(tmp_path, output))  # after the checkpoint of step 2
    assert not (output / "student").exists()
    steps = count_steps(monkeypatch, "student")
    assert main(multilingual_argv(tmp_path, output)) == 0
    total = json.loads((tmp_path / "uninterrupted" / "student" / "trainer_state.json").read_text())["global_step"]
    assert total > 3 and steps == [total - 2]
    assert f"student: resuming from {output / 'checkpoints' / 'student' / 'checkpoint-2'}" in caplog.text
    resumed = load_file(output / "student" / "model.safetensors")
    for key, value in load_file(tmp_path / "uninterrupted" / "student" / "model.safetensors").items():
        torch.testing.assert_close(resumed[key], value, atol=1e-5, rtol=1e-4, msg=key)
    assert (
        json.loads((output / "report.json").read_text())["scores"]
        == json.loads((tmp_path / "uninterrupted" / "report.json").read_text())["scores"]
    )
    assert json.loads((output / MANIFEST).read_text())["finished"] and not (output / "checkpoints").exists()
    assert main(multilingual_argv(tmp_path, output)) == 2  # finished: not written over


def log_history(folder: Path) -> list[dict]:
    """What the stage's trainer logged, step by step."""
    return json.loads((folder / "trainer_state.json").read_text())["log_history"]


def logged(folder: Path) -> set[str]:
    """Every name the stage's trainer logged."""
    return {name for entry in log_history(folder) for name in entry}


def peak_learning_rate(folder: Path) -> float:
    return max(entry["learning_rate"] for entry in log_history(folder) if "learning_rate" in entry)


def test_two_stages_train_the_intermediate_terms_online_then_the_soft_targets_from_the_cache(finished):
    output = finished(True)
    assert {"hidden_loss", "attention_loss", "kd_loss"} <= logged(output / "student-intermediate")
    second = logged(output / "student")
    assert "kd_loss" in second and not {"hidden_loss", "attention_loss"} & second
    assert any(Path(f"{output}-cache").iterdir())  # the second stage read the teacher's logits from the cache
    for stage in ("student-intermediate", "student"):
        assert not [key for key in load_file(output / stage / "model.safetensors") if "projection" in key]
    assert json.loads((output / "report.json").read_text())["settings"]["pipeline"]["intermediate_epochs"] == 1
    card = (output / "student" / "README.md").read_text()
    assert "| first stage: epochs with these terms, teacher online | 1.0 |" in card
    assert "| first stage: learning rate | 0.001 |" in card
    # the first stage at --intermediate_learning_rate (1e-3), the second at --learning_rate (the default, 5e-5)
    assert 2e-4 < peak_learning_rate(output / "student-intermediate") <= 1e-3
    assert peak_learning_rate(output / "student") <= 5e-5
    # the no-KD baseline at --baseline_learning_rate (2e-4), its card says so
    assert 5e-5 < peak_learning_rate(output / "student-no-kd") <= 2e-4
    assert "| learning rate | 0.0002 |" in (output / "student-no-kd" / "README.md").read_text()
    # and for --baseline_num_train_epochs (2) where the distilled student's second stage has 1
    assert "| epochs | 2.0 |" in (output / "student-no-kd" / "README.md").read_text() and "| epochs | 1.0 |" in card
    assert log_history(output / "student-no-kd")[-1]["epoch"] == 2
    # the first stage at --intermediate_kd_loss_weight 1: the soft targets and the intermediate terms, no labels; the
    # second at --kd_loss_weight (the default, 0.5)
    assert "| first stage: kd_loss_weight | 1.0 |" in card
    for entry in log_history(output / "student-intermediate"):
        if "kd_loss" in entry:
            assert entry["task_loss"] > 0.1  # logged, but weighted 0
            terms = entry["kd_loss"] + entry["hidden_loss"] + entry["attention_loss"]
            assert entry["loss"] == pytest.approx(terms, abs=1e-3)
    for entry in log_history(output / "student"):
        if "kd_loss" in entry:
            assert entry["loss"] == pytest.approx(0.5 * entry["kd_loss"] + 0.5 * entry["task_loss"], abs=1e-3)
