"""Static students through the commands: with flags only on a CSV, and as a row beside a transformer student."""

import json

from transformers import AutoModelForSequenceClassification

from hfdistill.cli import main
from hfdistill.models.static import StaticForSequenceClassification, StaticTextClassifier
from tests.conftest import write_teacher_and_reviews

TINY = ["--teacher_num_train_epochs", "0", "--num_train_epochs", "1", "--max_seq_length", "16", "--timing_rounds", "1"]


def distill_argv(folder, *flags: str) -> list[str]:
    """`hfdistill distill` on a tiny teacher and reviews written to `folder`, into `folder/out`, with `flags`."""
    write_teacher_and_reviews(folder)
    argv = ["distill", "--teacher_name_or_path", str(folder / "teacher"), "--dataset_name", str(folder / "data.csv")]
    return [*argv, *flags, "--output_dir", str(folder / "out"), *TINY]


def test_a_static_student_distils_with_flags_only_and_loads_as_the_docs_say(tmp_path):
    out = tmp_path / "out"
    assert main(distill_argv(tmp_path, "--student_architecture", "static", "--student_hidden_size", "4")) == 0
    report = json.loads((out / "report.json").read_text())
    assert [row["name"] for row in report["models"]] == ["teacher", "distilled student", "student without KD"]
    assert report["significance"]["test"].startswith("McNemar")
    student = AutoModelForSequenceClassification.from_pretrained(out / "student")
    assert isinstance(student, StaticForSequenceClassification) and student.embeddings.shape[1] == 4
    assert StaticTextClassifier.from_pretrained(out / "student").predict(["good film"])[0] in {"neg", "pos"}
    card = (out / "student" / "README.md").read_text()
    assert "static (model2vec)" in card and "StaticModel.from_pretrained" in card
    for folder in ("student", "student-no-kd"):  # no pickle: transformers' training_args.bin is not written
        assert not [path for path in (out / folder).iterdir() if path.suffix in {".bin", ".pt", ".pkl", ".joblib"}]


def test_static_student_adds_a_row_of_its_own_beside_the_transformer_student(tmp_path):
    out = tmp_path / "out"
    flags = ["--student_num_layers", "1", "--static_student", "true", "--static_num_train_epochs", "1"]
    assert main(distill_argv(tmp_path, *flags, "--static_dimensions", "4", "--train_baseline", "false")) == 0
    report = json.loads((out / "report.json").read_text())
    assert [row["name"] for row in report["models"]] == ["teacher", "distilled student", "static student"]
    assert isinstance(
        AutoModelForSequenceClassification.from_pretrained(out / "static-student"), StaticForSequenceClassification
    )
    card = (out / "static-student" / "README.md").read_text()
    assert "| epochs | 1" in card and "first stage" not in card


def test_a_static_student_asked_by_flag_or_recipe_gets_the_static_schedule(tmp_path):
    from hfdistill.cli.subcommands import asks_for_static, pipeline_parser

    parser = pipeline_parser("test", "")
    (tmp_path / "mine.yaml").write_text("training:\n  student_architecture: static\n")
    assert asks_for_static(parser, ["--student_architecture", "static"])
    assert asks_for_static(parser, ["--config", str(tmp_path / "mine.yaml")])
    assert not asks_for_static(parser, ["--config", str(tmp_path / "mine.yaml"), "--student_architecture", "same"])
    assert not asks_for_static(parser, [])
