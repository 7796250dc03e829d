"""Rebuild `technical_text.csv.gz`: English sentences of technical prose, the docstrings of Python's standard library
and of the libraries hfdistill installs, as source-language text for `hfdistill multilingual` beyond the Bible.

Every module, class and function docstring of the installed sources is read with `ast` (nothing is imported); its
prose paragraphs (not examples, argument lists or directives) are split into sentences, and a sentence is kept when
it has 4 to 40 words, starts with a capital, ends a sentence and holds no code (no brackets, underscores, slashes or
backquotes). Each sentence is kept once, with the package it came from in `source`. None of it is the software
messages held out for scoring (`software_ui_en_es.tsv.gz`: Django's and Sphinx's catalogues, neither installed by
hfdistill).

    python scripts/make_technical_text.py
"""

import ast
import csv
import gzip
import importlib.util
import io
import re
import sysconfig
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "hfdistill" / "data"
PACKAGES = [
    "transformers", "datasets", "accelerate", "torch", "numpy", "scipy", "sentence_transformers", "huggingface_hub",
    "optuna", "evaluate",
]  # fmt: skip
SKIPPED_PARAGRAPH = ("..", ":", "-", "*", "=", "Args", "Returns", "Example", "Raises", "Parameters", "Note")
CODE = re.compile(r"[_()\[\]=<>#@\\/`{}|]")


def sentences(docstring: str):
    """The prose sentences of a docstring."""
    for paragraph in re.split(r"\n\s*\n", docstring):
        line = " ".join(paragraph.split())
        if not line or ">>>" in line or line.startswith(SKIPPED_PARAGRAPH):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", line):
            words = sentence.split()
            if 4 <= len(words) <= 40 and sentence[0].isupper() and sentence.endswith((".", "!", "?")):
                if not CODE.search(sentence):
                    yield sentence


def docstring_sentences(root: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Every docstring sentence of the `.py` files under `root`, in file order, tests and `skip` folders left out."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = set(path.relative_to(root).parts)
        if parts & {"test", "tests", "site-packages", *skip}:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="ignore"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                for sentence in sentences(ast.get_docstring(node) or ""):
                    found.setdefault(sentence, None)
    return list(found)


def main() -> None:
    sources = {"python": docstring_sentences(Path(sysconfig.get_paths()["stdlib"]), ("idlelib", "tkinter", "lib2to3"))}
    for package in PACKAGES:
        sources[package] = docstring_sentences(Path(importlib.util.find_spec(package).origin).parent)
    seen, rows = set(), []
    for source, texts in sources.items():
        rows += [(text, source) for text in texts if not (text in seen or seen.add(text))]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["text", "source"])
    writer.writerows(rows)
    with gzip.GzipFile(DATA / "technical_text.csv.gz", "wb", mtime=0) as handle:
        handle.write(buffer.getvalue().encode("utf-8"))
    counts = ", ".join(f"{source} {sum(1 for _, s in rows if s == source)}" for source in sources)
    print(f"wrote {len(rows)} sentences to {DATA / 'technical_text.csv.gz'} ({counts})")


if __name__ == "__main__":
    main()
