"""The benchmarks' flags: an impossible one is refused with argparse's one-line error before any work, and the saved
first stage of the frontier's full recipe is read back only under the flags it was trained with."""

import importlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from flags import parse_flags  # noqa: E402
from frontier_students import FrontierArguments, stage_one_settings  # noqa: E402
from multilingual_stitching import StitchArguments  # noqa: E402
from multilingual_transplant import TransplantArguments  # noqa: E402


@pytest.mark.parametrize(
    ("script", "arguments", "flags", "message"),
    [
        ("frontier.py", FrontierArguments, ["--rungs", "9x9"], "unknown rungs ['9x9']"),
        ("frontier.py", FrontierArguments, ["--methods", "dark KD"], "unknown methods ['dark KD']"),
        (
            "frontier.py",
            FrontierArguments,
            ["--stage_two_kd_loss_weight", "2"],
            "--stage_two_kd_loss_weight must be in [0, 1], got 2.0",
        ),
        ("frontier.py", FrontierArguments, ["--no_kd_learning_rate", "0"], "--no_kd_learning_rate must be > 0"),
        ("multilingual_stitching.py", StitchArguments, ["--stitches", "3"], "takes k,k' pairs such as 3,3, got '3'"),
        ("multilingual_stitching.py", StitchArguments, ["--stitches", "3,6"], "k' is 0-5"),
        ("multilingual_stitching.py", StitchArguments, ["--adapter_pairs", "0"], "--adapter_pairs >= 1"),
        ("multilingual_transplant.py", TransplantArguments, ["--inits", "random"], "--inits takes some of"),
        ("multilingual_transplant.py", TransplantArguments, ["--lexicon_layer", "13"], "layers 1-12, got 13"),
    ],
)
def test_an_impossible_flag_ends_the_run_with_status_2_and_one_line(monkeypatch, capsys, script, arguments, flags,
                                                                     message):  # fmt: skip
    monkeypatch.setattr(sys, "argv", [script, *flags])
    with pytest.raises(SystemExit) as stopped:
        parse_flags(arguments)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"{script}: error: ") and message in error


@pytest.mark.parametrize(
    ("script", "flags", "message"),
    [
        ("resume_check", ["--kill_after_checkpoints", "0"], "--kill_after_checkpoints must be >= 1, got 0"),
        ("search_cost", ["--teacher_name_or_path", "/nowhere"], "--teacher_name_or_path /nowhere is not a folder"),
        ("search_kill_check", ["--teacher_name_or_path", "{tmp}", "--kill_after", "6"], "must be below --n_trials 6"),
        ("searched_students", ["--teacher_name_or_path", "{tmp}", "--n_trials", "0"], "--n_trials must be >= 1"),
        ("distillation_cost", ["--rounds", "0"], "rounds must be >= 1, got 0"),
    ],
)
def test_the_other_scripts_refuse_an_impossible_flag_in_one_line(
    monkeypatch, capsys, tmp_path, script, flags, message
):
    main = importlib.import_module(script).main
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *(flag.format(tmp=tmp_path) for flag in flags)])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"{script}.py: error: ") and message in error


def test_good_flags_parse_into_the_dataclass(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["frontier.py", "--rungs", "6x192f768", "--stage_two_kd_loss_weight", "0.5"])
    (bench,) = parse_flags(FrontierArguments)
    assert bench.rungs == ["6x192f768"] and bench.stage_two_kd_loss_weight == 0.5


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"stage_two_learning_rate": 1e-4, "stage_two_kd_loss_weight": 0.5, "stage_two_epochs": 6.0}, True),
        ({"kd_loss_weight": 0.9, "no_kd_learning_rate": 1e-4, "methods": ["no KD"], "output_dir": "elsewhere"}, True),
        ({"hidden_loss_weight": 2.0}, False),
        ({"learning_rate": 1e-4}, False),
        ({"seed": 1}, False),
        ({"max_transfer_samples": 100}, False),
    ],
)
def test_the_saved_first_stage_depends_on_every_flag_but_the_second_stage_and_the_other_methods(change, same):
    bench = FrontierArguments(intermediate_epochs=2.0)
    assert (stage_one_settings(replace(bench, **change)) == stage_one_settings(bench)) is same
