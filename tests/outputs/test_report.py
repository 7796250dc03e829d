import json

from hfdistill.outputs.chart import tradeoff_chart
from hfdistill.outputs.report import ModelReport, comparison_table, write_report


def rows(gpu: bool) -> list[ModelReport]:
    def row(name, accuracy, latency, size, gpu_latency):
        extra = {"gpu_latency_ms_batch1": gpu_latency, "gpu_throughput_batch32": 1000.0} if gpu else {}
        return ModelReport(name, f"/{name}", {"accuracy": accuracy}, 22_700_000, size, latency, 100.0, **extra)

    teacher, student = row("teacher", 0.8, 10.0, 90.9, 2.0), row("student", 0.78, 5.0, 69.6, 1.0)
    student.throughput_batch32 = 300.0
    return [teacher, student]


def test_table_reports_retention_and_speed_up_against_the_teacher_at_both_batch_sizes():
    table = comparison_table(rows(gpu=False), "accuracy")
    assert "| student | 0.7800 | 97.5% | 22.7M | 69.6 | 5.00 | 300 | 2.00x | 3.00x |" in table
    assert "GPU" not in table and "McNemar" not in table


def test_table_gives_the_paired_test_for_the_rows_that_have_one():
    table = comparison_table(rows(gpu=False), "accuracy", {"student": 0.00123})
    assert table.splitlines()[0].endswith("| McNemar p vs no KD |")
    assert table.splitlines()[2].endswith("| 1.00x | 1.00x | — |") and table.endswith("| 3.00x | 0.0012 |")


def test_a_teacher_that_scores_zero_has_no_retention_and_the_report_stays_valid_json(tmp_path):
    teacher, student = rows(gpu=False)
    teacher.metrics["accuracy"] = 0.0  # e.g. entity F1 of a teacher trained on too few tweets
    assert "| student | 0.7800 | — |" in comparison_table([teacher, student], "accuracy")
    write_report(tmp_path / "report.json", [teacher, student], "accuracy")
    report = json.loads((tmp_path / "report.json").read_text(), parse_constant=lambda name: 1 / 0)  # no NaN
    assert [model["retention_percent"] for model in report["models"]] == [None, None]


def test_gpu_columns_appear_when_measured():
    table = comparison_table(rows(gpu=True), "accuracy")
    assert "GPU latency b=1 (ms)" in table and table.splitlines()[-1].endswith("| 1.00 | 1000 |")


def test_chart_is_a_png(tmp_path):
    path = tradeoff_chart(rows(gpu=False), "accuracy", tmp_path / "c.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_teacher_card_metadata_is_read_from_its_folder_or_said_missing(tmp_path, caplog):
    from hfdistill.outputs.card import teacher_metadata

    (tmp_path / "plain").mkdir()
    with caplog.at_level("WARNING", logger="hfdistill.outputs.card"):
        plain = teacher_metadata(str(tmp_path / "plain"))
    assert (plain.hub_id, plain.license, plain.language) == (None, None, None)
    assert "has no README.md" in caplog.text  # not huggingface_hub's "Repo id must be ..." about a path
    (tmp_path / "carded").mkdir()
    (tmp_path / "carded" / "README.md").write_text("---\nlicense: mit\nlanguage: en\n---\nA teacher.\n")
    card = teacher_metadata(str(tmp_path / "carded"))
    assert (card.license, card.language) == ("mit", "en")
