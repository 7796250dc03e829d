"""The docs: a README a user reads in minutes, every result table rendered from the committed JSONs (the README's by
`scripts/render_results.py`, the site's at build time), and every `hfdistill` command in a shell block parses."""

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from hfdistill.cli import main, subcommands
from hfdistill.config.recipe import parse_with_recipe

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import render_results  # noqa: E402

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def test_the_readme_is_a_product_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 200 and len(text) <= 15_000
    first_screen = "\n".join(text.splitlines()[:60])
    for needed in ("make quickstart", "make test", "## Your own data", "hfdistill distill"):
        assert needed in first_screen, f"the README's first 60 lines lack {needed!r}"


def test_the_readme_holds_the_tables_its_jsons_render():
    assert README.read_text() == render_results.fill_readme(README.read_text()), (
        "README.md's tables differ from the JSONs: run python scripts/render_results.py --readme"
    )


def test_a_changed_number_in_a_json_changes_the_rendered_table(tmp_path, monkeypatch):
    shutil.copytree(render_results.BENCHMARKS, tmp_path, dirs_exist_ok=True)
    monkeypatch.setattr(render_results, "BENCHMARKS", tmp_path)
    before = render_results.render("<!-- table: seeds_6x192f768 -->")
    rung = json.loads((tmp_path / render_results.RECIPE_6X192).read_text())
    recipe = rung["variants"][rung["recipe"]]["summary"]["full recipe"]
    recipe["mean_retention_percent"] = 12.34
    (tmp_path / render_results.RECIPE_6X192).write_text(json.dumps(rung))
    after = render_results.render("<!-- table: seeds_6x192f768 -->")
    assert before != after and "(12.3%)" in after
    assert "12.3%" in render_results.headline_table()


def test_an_unknown_table_fails_the_build():
    with pytest.raises(ValueError, match="no table named 'nope'"):
        render_results.render("<!-- table: nope -->", where="page.md")


def test_every_page_is_in_the_navigation_and_every_table_marker_has_a_table():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))
    listed = set(re.findall(r"([\w/-]+\.md)", json.dumps(config["nav"])))
    assert {str(page.relative_to(ROOT / "docs")) for page in PAGES} == listed
    for page in [*PAGES, README]:
        for name in re.findall(r"<!-- table: (\w+) -->", page.read_text()):
            assert name in render_results.TABLES, f"{page.name} asks for a table named {name!r}"


def hfdistill_commands() -> list[tuple[str, list[str]]]:
    """Every `hfdistill ...` line of a bash block in the README and the docs, split as a shell would."""
    commands = []
    for page in [README, *PAGES]:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                if line.startswith("hfdistill "):
                    commands.append((page.name, shlex.split(line)[1:]))
    return commands


PARSERS = {
    "distill": lambda: (subcommands.pipeline_parser("hfdistill distill", ""), None),
    "quickstart": lambda: (subcommands.pipeline_parser("hfdistill quickstart", ""), subcommands.QUICKSTART_DEFAULTS),
    "train-teacher": lambda: (subcommands.pipeline_parser("hfdistill train-teacher", ""), None),
    "cache-teacher": lambda: (subcommands.pipeline_parser("hfdistill cache-teacher", ""), None),
    "multilingual": lambda: (subcommands.multilingual_parser(), subcommands.embeddings().MULTILINGUAL_DEFAULTS),
    "search": lambda: (subcommands.search_parser(), None),
}


@pytest.mark.parametrize(("page", "argv"), hfdistill_commands(), ids=lambda value: str(value)[:60])
def test_every_hfdistill_command_in_the_docs_parses(page, argv, monkeypatch):
    monkeypatch.chdir(ROOT)  # recipes are named from the repository's root
    command, flags = argv[0], argv[1:]
    if command in PARSERS:
        parser, defaults = PARSERS[command]()
        parse_with_recipe(parser, flags, defaults)
        return
    with pytest.raises(SystemExit) as stopped:  # push, export, evaluate: the command and its --help exist
        main([command, "--help"])
    assert stopped.value.code == 0, f"{page}: hfdistill {command} does not exist"
