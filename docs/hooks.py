"""MkDocs hooks: every result table is rendered from the committed benchmark JSONs at build time, and the benchmarks'
figures are served from `benchmarks/` as they are, so the site never holds a copy that could drift."""

import sys
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from render_results import render  # noqa: E402


def on_files(files, config):
    """Add every figure in `benchmarks/` to the site as `figures/NAME.png`."""
    for path in sorted((ROOT / "benchmarks").glob("*.png")):
        files.append(File.generated(config, f"figures/{path.name}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    """Replace each `<!-- table: NAME -->` line with the table `scripts/render_results.py` renders from its JSON."""
    return render(markdown, where=page.file.src_uri)
