import pytest

from hfdistill.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    assert "quickstart" in capsys.readouterr().out


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


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temperature", "0"], "temperature must be > 0, got 0.0"),
        (["--kd_loss_weight", "2"], r"kd_loss_weight must be in [0, 1], got 2.0"),
        (["--text_column", "review"], "column 'review' not found"),
        (["--student_layers", "0", "9"], "student_layers [9] out of range: the teacher has 6 layers"),
        (
            ["--student_hidden_size", "100"],
            "student_hidden_size 100 is not a multiple of student_num_attention_heads 3",
        ),
        (["--student_hidden_size", "512"], "cannot be wider than it: hidden 512"),
        (["--hidden_loss_weight", "-1"], "hidden_loss_weight must be >= 0, got -1.0"),
        (
            ["--attention_loss_weight", "1", "--attention_loss", "kl", "--student_hidden_size", "192"],
            "attention_loss='kl' needs equal head counts",
        ),
        (
            ["--hidden_loss_weight", "1", "--distill_layer_map", "0", "6"],
            "distill_layer_map has 2 entries but the student has 4",
        ),
        (["--attention_loss_weight", "1", "--relation_heads", "5"], "relation_heads=5 must divide both widths"),
        (
            ["--student_name_or_path", "x", "--student_hidden_size", "192"],
            "--student_hidden_size shape a student built",
        ),
        (["--transfer_dataset", "missing.txt"], "dataset file missing.txt does not exist"),
        (["--augment_copies", "-1"], "augment_copies must be >= 0, got -1"),
        (["--distill_layer_map", "0", "1", "3", "6"], "--distill_layer_map only shape the intermediate losses"),
        (["--student_name_or_path", "x", "--student_init", "random"], "--student_init random shape a student built"),
        (
            ["--student_name_or_path", "x", "--student_init", "importance"],
            "--student_init importance shape a student built",
        ),
        (["--task", "token-classification"], "column 'tokens' not found in split 'train'"),
        (["--task", "token-classification", "--augment_copies", "2"], "token-classification does not use"),
        (["--timing_rounds", "0"], "timing_rounds must be >= 1, got 0"),
    ],
)
def test_user_errors_are_one_line_without_traceback(tmp_path, capsys, flags, message):
    assert main(["quickstart", "--output_dir", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("hfdistill quickstart: error: ") and message in err.splitlines()[-1]
    assert not (tmp_path / "teacher").exists()  # nothing was trained


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


@pytest.mark.parametrize(
    ("lines", "flags", "message"),
    [
        ("Hello\tHola\nGood night\n", [], "p.tsv, line 2: 1 fields, expected 2 (en, es)"),
        ("Hello\tHola\n\n", [], "p.tsv, line 2: the line is empty"),
        ("Hello\tHola\nBye\tAdiós\n", ["--eval_pairs", "5"], "eval_pairs=5 leaves nothing to train on"),
        ("Hello\tHola\n", ["--target_columns", "es", "fr"], "line 1: 2 fields, expected 3 (en, es, fr)"),
        ("Hello\tHola\nBye\tAdiós\n", ["--temperature", "4"], "--temperature apply to distilling logits"),
        ("Hello\tHola\nBye\tAdiós\n", ["--max_source_sentences", "5"], "max_source_sentences limits"),
        (
            "Hello\tHola\nBye\tAdiós\nYes\tSí\n",
            ["--eval_pairs", "2", "--source_sentences", "nowhere.csv"],
            "nowhere.csv does not exist",
        ),
        (
            "Hello\tHola\nBye\tAdiós\nYes\tSí\n",
            [
                "--eval_pairs",
                "2",
                "--source_sentences",
                "bundled:transfer_text",
                "--source_sentences_column",
                "sentence",
            ],
            "column 'sentence' not found in source sentences bundled:transfer_text",
        ),
        (
            "Hello\tHola\nBye\tAdiós\n",
            ["--kd_loss_weight", "0.9", "--hidden_loss_weight", "1"],
            "--kd_loss_weight, --hidden",
        ),
    ],
)
def test_bad_parallel_data_is_one_line_before_any_work(tmp_path, capsys, lines, flags, message):
    data = tmp_path / "p.tsv"
    data.write_text(lines, encoding="utf-8")
    output = tmp_path / "out"
    assert main(["multilingual", "--dataset_name", str(data), "--output_dir", str(output), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("hfdistill multilingual: error: ") and message in err.splitlines()[-1]
    assert not (output / "student").exists()


def test_export_refuses_a_folder_without_a_model(tmp_path, capsys):
    assert main(["export", "--folder", str(tmp_path)]) == 2
    assert "is not a saved model folder" in capsys.readouterr().err


def test_push_refuses_a_folder_without_a_card(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert main(["push", "--folder", str(tmp_path), "--repo_id", "me/x"]) == 2
    assert "lacks README.md" in capsys.readouterr().err


def test_cache_teacher_help_switches_to_the_parallel_data_flags(capsys):
    with pytest.raises(SystemExit):
        main(["cache-teacher", "--mode", "embeddings", "--help"])
    out = capsys.readouterr().out
    assert "--mode {logits,embeddings}" in out and "--source_column" in out and "--teacher_cache_top_k" in out
