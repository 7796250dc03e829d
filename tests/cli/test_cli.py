import subprocess
import sys

import pytest

from hfdistill.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    assert "quickstart" in capsys.readouterr().out


def test_every_listed_command_runs_a_function():
    from hfdistill import cli
    from hfdistill.cli import subcommands

    assert list(subcommands.COMMANDS) == list(cli.COMMANDS)


def test_help_answers_without_loading_torch():
    """`hfdistill --help` and `import hfdistill` leave torch and transformers unloaded until a command needs them."""
    check = (
        "import sys, hfdistill; from hfdistill.cli import main; main(['--help']); "
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "command", ["quickstart", "distill", "train-teacher", "cache-teacher", "evaluate", "multilingual"]
)
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: hfdistill {command}" in out and "--config" in out and "--dataset_name" in out


def test_quickstart_help_describes_the_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["quickstart", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--kd_loss_weight" in out and "--temperature" in out and "--student_layers" in out


def test_an_unknown_task_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "--task", "image-classification", "--output_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "argument --task: invalid choice: 'image-classification'" in capsys.readouterr().err.splitlines()[-1]


def test_earlier_results_are_not_overwritten(tmp_path, capsys):
    (tmp_path / "report.json").write_text("{}")
    assert main(["quickstart", "--output_dir", str(tmp_path)]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert (tmp_path / "report.json").read_text() == "{}"


def test_cache_teacher_help_switches_to_the_parallel_data_flags(capsys):
    with pytest.raises(SystemExit):
        main(["cache-teacher", "--mode", "embeddings", "--help"])
    out = capsys.readouterr().out
    assert "--mode {logits,embeddings}" in out and "--source_column" in out and "--teacher_cache_top_k" in out


def test_evaluate_reads_the_task_from_the_teacher_and_warns_once_of_mode(docs_workdir, monkeypatch, caplog):
    from hfdistill.cli import evaluate

    asked = []
    monkeypatch.setattr(evaluate, "evaluate_folders", lambda *args: asked.append(args) or {"table": "scored"})
    tagger = ["evaluate", "--teacher", "outputs/ner/student", "--students", "outputs/ner/student"]
    assert main(tagger) == 0
    assert asked[-1][2].task == "token-classification"  # no --task: the teacher's head decides
    assert main(["evaluate", "--teacher", "teacher", "--mode", "logits"]) == 0
    assert asked[-1][2].task == "text-classification"
    assert [r.getMessage() for r in caplog.records if "--mode" in r.getMessage()] == [
        "--mode is deprecated: evaluate reads the task from the teacher (text-classification); drop the flag"
    ]
    assert main([*tagger[:3], "--students", "teacher"]) == 2  # a student of another task is refused
