"""The frontier benchmarks refuse an impossible flag with argparse's one-line error before any work."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from frontier_students import FrontierArguments, parse_flags  # noqa: E402


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rungs", "9x9"], "unknown rungs ['9x9']"),
        (["--methods", "dark KD"], "unknown methods ['dark KD']"),
        (["--stage_two_kd_loss_weight", "2"], "--stage_two_kd_loss_weight must be in [0, 1], got 2.0"),
        (["--no_kd_learning_rate", "0"], "--no_kd_learning_rate must be > 0"),
    ],
)
def test_an_impossible_flag_ends_the_run_with_status_2_and_one_line(monkeypatch, capsys, flags, message):
    monkeypatch.setattr(sys, "argv", ["frontier.py", *flags])
    with pytest.raises(SystemExit) as stopped:
        parse_flags(FrontierArguments)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("frontier.py: error: ") and message in error


def test_good_flags_parse_into_the_dataclass(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["frontier.py", "--rungs", "6x192f768", "--stage_two_kd_loss_weight", "0.5"])
    (bench,) = parse_flags(FrontierArguments)
    assert bench.rungs == ["6x192f768"] and bench.stage_two_kd_loss_weight == 0.5
