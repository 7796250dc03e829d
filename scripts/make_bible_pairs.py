"""Rebuild the bundled English-Spanish Bible verse pairs, split by testament: `bible_ot_en_es.tsv.gz` (the Old
Testament, the default training pairs) and `bible_nt_en_es.tsv.gz` (the New Testament: whole books with other writers,
vocabulary and style, held out from training and scored as a domain the student never saw).

Source: the King James Version (1769) and the Reina-Valera 1909, both in the public domain, from the Debian packages
`sword-text-kjv` and `sword-text-sparv` (SWORD modules with the same verse numbering), one `en<TAB>es` line per verse
in canonical order, punctuation split off by spaces. The New Testament starts at Matthew 1:1, found by its text; pairs
with an empty side are skipped.

    python scripts/make_bible_pairs.py ../shared/data/parallel/bible_kjv_rv1909_en_es.tsv
"""

import argparse
import gzip
from pathlib import Path

MATTHEW_1_1 = "The book of the generation of Jesus Christ , the son of David , the son of Abraham ."
DATA = Path(__file__).resolve().parents[1] / "hfdistill" / "data"


def write(name: str, lines: list[str]) -> None:
    with gzip.GzipFile(DATA / name, "wb", mtime=0) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"wrote {len(lines)} verse pairs to {DATA / name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="TSV of all aligned verse pairs (en<TAB>es), in canonical order")
    source = parser.parse_args().source
    lines = [line.rstrip("\n") for line in source.open(encoding="utf-8")]
    starts = [i for i, line in enumerate(lines) if line.split("\t")[0] == MATTHEW_1_1]
    if len(starts) != 1:
        raise SystemExit(f"{source}: expected Matthew 1:1 once, found it {len(starts)} times")
    pairs = [
        [line for line in part if len(line.split("\t")) == 2 and all(side.strip() for side in line.split("\t"))]
        for part in (lines[: starts[0]], lines[starts[0] :])
    ]
    write("bible_ot_en_es.tsv.gz", pairs[0])
    write("bible_nt_en_es.tsv.gz", pairs[1])


if __name__ == "__main__":
    main()
