"""The datasets shipped inside the package, by their `bundled:` names."""

from importlib import resources
from pathlib import Path

from hfdistill.config.data import BUNDLED_PREFIX

BUNDLED = {
    "rotten_tomatoes": "rotten_tomatoes.csv.gz",
    "bible_ot_en_es": "bible_ot_en_es.tsv.gz",
    "bible_nt_en_es": "bible_nt_en_es.tsv.gz",
    "software_ui_en_es": "software_ui_en_es.tsv.gz",
    "transfer_text": "transfer_text.csv.gz",
    "technical_text": "technical_text.csv.gz",
    "wnut16": "wnut16.jsonl.gz",
    "review_scores": "review_scores.csv.gz",
    "wnut16_types": "wnut16_types.jsonl.gz",
}
# Bundled names that are one part of a bundled file: (the file's name, a column, the value its rows hold there).
BUNDLED_PARTS = {
    "transfer_tweets": ("transfer_text", "source", "tweets"),  # 4,200 short tweets: transfer text for taggers
}


def bundled_path(name: str) -> Path:
    """Path of a dataset file shipped inside the package."""
    if name not in BUNDLED:
        choices = sorted([*BUNDLED, *BUNDLED_PARTS])
        raise ValueError(f"unknown bundled dataset {BUNDLED_PREFIX}{name}; choose from {choices}")
    return Path(str(resources.files("hfdistill") / "data" / BUNDLED[name]))
