"""The one-stage commands: `hfdistill train-teacher` makes, with its defaults, the teacher the quickstart's stage makes."""

import json

import torch
from safetensors.torch import load_file

from hfdistill.cli import main
from tests.conftest import write_teacher_and_reviews


def test_train_teacher_with_its_defaults_makes_the_quickstarts_teacher(tmp_path):
    write_teacher_and_reviews(tmp_path, rows=60)
    common = ["--teacher_name_or_path", str(tmp_path / "teacher"), "--dataset_name", str(tmp_path / "data.csv")]
    common += ["--disable_tqdm", "true"]
    quickstart = ["quickstart", *common, "--output_dir", str(tmp_path / "quickstart"), "--timing_rounds", "1"]
    quickstart += ["--teacher_cache_dir", str(tmp_path / "cache"), "--max_transfer_samples", "8"]
    quickstart += ["--student_num_layers", "2", "--student_hidden_size", "16", "--student_intermediate_size", "32"]
    assert main([*quickstart, "--num_train_epochs", "1", "--train_baseline", "false"]) == 0
    assert main(["train-teacher", *common, "--output_dir", str(tmp_path / "alone")]) == 0
    staged = load_file(tmp_path / "quickstart" / "teacher" / "model.safetensors")
    alone = load_file(tmp_path / "alone" / "model.safetensors")
    assert staged.keys() == alone.keys()
    assert all(torch.equal(staged[name], alone[name]) for name in staged)
    for card, metrics in (
        (
            tmp_path / "quickstart" / "teacher" / "README.md",
            json.loads((tmp_path / "quickstart" / "report.json").read_text())["models"][0]["metrics"],
        ),
        (tmp_path / "alone" / "README.md", None),
    ):
        text = card.read_text()
        assert (
            "fine-tuned by hfdistill" in text and "model-index" in text and "pipeline_tag: text-classification" in text
        )
        if metrics is not None:
            assert f"| accuracy | {metrics['accuracy']:.4f} |" in text
    original = load_file(tmp_path / "teacher" / "model.safetensors")
    assert not torch.equal(original["bert.encoder.layer.0.attention.self.query.weight"],
                           alone["bert.encoder.layer.0.attention.self.query.weight"])  # fmt: skip


def test_train_teacher_refuses_the_teacher_stage_flags_of_distill(tmp_path, capsys):
    write_teacher_and_reviews(tmp_path, rows=20)
    argv = ["train-teacher", "--teacher_name_or_path", str(tmp_path / "teacher"), "--output_dir", str(tmp_path / "t")]
    assert main([*argv, "--teacher_num_train_epochs", "3"]) == 2
    assert "train-teacher trains the teacher with --num_train_epochs" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def test_a_teacher_without_a_head_for_the_task_is_fine_tuned_first_by_default(tmp_path):
    from dataclasses import replace

    from hfdistill.config.pipeline import DEFAULT_TEACHER_EPOCHS, PipelineArguments
    from hfdistill.run.logit_plan import with_teacher_stage
    from hfdistill.tasks import task_for
    from tests.conftest import tiny_bert

    encoder, classifier = tmp_path / "encoder", tmp_path / "classifier"
    tiny_bert().bert.save_pretrained(encoder)  # no head
    tiny_bert(num_labels=2).save_pretrained(classifier)
    regression, classification = task_for("text-regression"), task_for("text-classification")
    defaults = PipelineArguments()
    assert defaults.teacher_num_train_epochs is None and defaults.train_baseline is None
    bare = with_teacher_stage(defaults, str(encoder), regression, baseline=True)
    assert (bare.teacher_num_train_epochs, bare.train_baseline) == (DEFAULT_TEACHER_EPOCHS, True)
    assert with_teacher_stage(defaults, str(classifier), classification, baseline=False).teacher_num_train_epochs == 0
    assert with_teacher_stage(defaults, str(classifier), regression, baseline=True).teacher_num_train_epochs == 1
    given = replace(defaults, teacher_num_train_epochs=3.0, train_baseline=False)
    assert with_teacher_stage(given, str(encoder), regression, baseline=True) == given  # what the user says wins
