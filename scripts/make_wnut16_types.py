"""Rebuild `hfdistill/data/wnut16_types.jsonl.gz`, the bundled multi-label data: which kinds of entity a tweet names.

A stand-in for a multi-label topic set, none of which ships in a package: the 2,394 WNUT-16 tweets of
`hfdistill/data/wnut16.jsonl.gz` (see `scripts/make_wnut16.py`), each as its words joined by spaces (`text`) and the
sorted set of entity types its tags name (`labels`: any of company, facility, geo-loc, movie, musicartist, other,
person, product, sportsteam, tvshow; an empty list for a tweet that names none).

    python scripts/make_wnut16_types.py
"""

import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "hfdistill" / "data" / "wnut16.jsonl.gz"
OUTPUT = ROOT / "hfdistill" / "data" / "wnut16_types.jsonl.gz"


def main() -> None:
    with gzip.open(SOURCE, "rt", encoding="utf-8") as lines:
        tweets = [json.loads(line) for line in lines]
    rows = [
        {"text": " ".join(tweet["tokens"]), "labels": sorted({tag[2:] for tag in tweet["ner_tags"] if tag != "O"})}
        for tweet in tweets
    ]
    with gzip.GzipFile(OUTPUT, "wb", mtime=0) as raw:
        raw.write("".join(json.dumps(row) + "\n" for row in rows).encode("utf-8"))
    counts = {}
    for row in rows:
        for label in row["labels"]:
            counts[label] = counts.get(label, 0) + 1
    print(
        f"wrote {len(rows)} tweets ({sum(not row['labels'] for row in rows)} naming no entity; {counts}) to {OUTPUT}"
    )


if __name__ == "__main__":
    main()
