"""Rebuild `software_ui_en_es.tsv.gz`: English-Spanish pairs of software interface messages, a held-out kind of text
for `hfdistill multilingual` that shares nothing with the Bible it trains on (another domain, another source).

Source: the Spanish message catalogues (`locale/es/LC_MESSAGES/*.po`) that ship inside the PyPI wheels of Django
(BSD-3-Clause) and Sphinx (BSD-2-Clause), translated by their projects' volunteers under the same licences. One
`en<TAB>es` line per message of at least three English words, its singular form, fuzzy and untranslated entries and
messages left in English skipped; whitespace collapsed; each English and each Spanish message kept once. Needs Babel
(installed with the docs' toolchain) to read the catalogues.

    pip download django==5.2.20 sphinx==9.0.4 --no-deps -d wheels
    python scripts/make_software_ui_pairs.py wheels/*.whl
"""

import argparse
import gzip
import io
import zipfile
from pathlib import Path

from babel.messages.pofile import read_po

DATA = Path(__file__).resolve().parents[1] / "hfdistill" / "data"
MIN_WORDS = 3


def singular(text) -> str:
    return " ".join((text[0] if isinstance(text, (list, tuple)) else text).split())


def catalogue_pairs(wheel: Path) -> list[tuple[str, str]]:
    """The (English, Spanish) messages of every Spanish catalogue in `wheel`, in file order."""
    pairs = []
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(n for n in archive.namelist() if "/locale/es/LC_MESSAGES/" in n and n.endswith(".po")):
            for message in read_po(io.BytesIO(archive.read(name))):
                if not message.id or message.fuzzy or not message.string:
                    continue
                english, spanish = singular(message.id), singular(message.string)
                if spanish and english != spanish and len(english.split()) >= MIN_WORDS:
                    pairs.append((english, spanish))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheels", type=Path, nargs="+", help="the Django and Sphinx wheels")
    seen, lines = set(), []
    for wheel in parser.parse_args().wheels:
        for english, spanish in catalogue_pairs(wheel):
            if english not in seen and spanish not in seen:
                seen.update((english, spanish))
                lines.append(f"{english}\t{spanish}")
    with gzip.GzipFile(DATA / "software_ui_en_es.tsv.gz", "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {len(lines)} message pairs to {DATA / 'software_ui_en_es.tsv.gz'}")


if __name__ == "__main__":
    main()
