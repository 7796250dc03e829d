"""The benchmarks' index: every script says its question there, every result file is named there or in the README,
and a rung's JSON holds that rung alone."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from frontier_seeds import read_rung  # noqa: E402

INDEX = (BENCHMARKS / "README.md").read_text()
SCRIPTS = sorted(path.name for path in BENCHMARKS.glob("*.py"))
RESULTS = sorted(path.name for path in BENCHMARKS.iterdir() if path.suffix in {".json", ".png", ".txt"})


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_is_in_the_index(script):
    assert f"`{script}`" in INDEX, f"benchmarks/README.md does not list {script}: give its question, command and JSON"


@pytest.mark.parametrize("result", RESULTS)
def test_every_result_file_is_named_in_the_index_or_the_readme(result):
    readme = (ROOT / "README.md").read_text()
    stem = result.rsplit(".", 1)[0]
    assert result in INDEX or result in readme or f"`{stem}.json` (+ `.png`)" in INDEX, f"nothing names {result}"


def test_a_rung_json_refuses_another_rung(tmp_path):
    rung = tmp_path / "rung.json"
    rung.write_text(json.dumps({"rung": "6x192f768", "variants": {}}))
    assert read_rung(rung, "6x192f768")["variants"] == {}
    with pytest.raises(ValueError, match="holds rung '6x192f768', not '3x192f384'"):
        read_rung(rung, "3x192f384")
    assert read_rung(tmp_path / "new.json", "2x192") == {"rung": "2x192", "variants": {}}


def test_the_rung_jsons_name_the_variant_their_recipe_reproduces():
    for path in BENCHMARKS.glob("frontier_rung_*_2cpu.json"):
        contents = json.loads(path.read_text())
        assert contents["recipe"] in contents["variants"], path.name
        assert (ROOT / contents["recipe_file"]).is_file(), path.name
        assert all(variant["settings"]["rung"] == contents["rung"] for variant in contents["variants"].values())
