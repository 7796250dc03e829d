"""Rebuild `hfdistill/data/bible_kjv_rv1909_en_es.tsv.gz`, the bundled default parallel sentences.

Source: English-Spanish verse pairs of the King James Version (1769) and the Reina-Valera 1909, both in the public
domain, from the Debian packages `sword-text-kjv` and `sword-text-sparv` (SWORD modules with the same verse
numbering), one `en<TAB>es` line per verse with punctuation split off by spaces. A seeded random sample of 12,000
verses is shipped (1.2 MB compressed); pairs with an empty side are skipped.

    python scripts/make_bible_pairs.py ../shared/data/parallel/bible_kjv_rv1909_en_es.tsv
"""

import argparse
import gzip
import random
from pathlib import Path

PAIRS = 12_000
SEED = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="TSV of all aligned verse pairs (en<TAB>es)")
    source = parser.parse_args().source
    lines = [line.rstrip("\n") for line in source.open(encoding="utf-8")]
    pairs = [line for line in lines if len(line.split("\t")) == 2 and all(side.strip() for side in line.split("\t"))]
    sample = random.Random(SEED).sample(pairs, PAIRS)
    target = Path(__file__).resolve().parents[1] / "hfdistill" / "data" / "bible_kjv_rv1909_en_es.tsv.gz"
    with gzip.GzipFile(target, "wb", mtime=0) as handle:
        handle.write(("\n".join(sample) + "\n").encode("utf-8"))
    print(f"wrote {len(sample)} of {len(pairs)} verse pairs to {target}")


if __name__ == "__main__":
    main()
