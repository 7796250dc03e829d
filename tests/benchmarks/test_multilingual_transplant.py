"""The transplant benchmark's pieces: the teacher's reading of another vocabulary's pieces, the string table, the
lexicon's map and neighbours, and the transplanted encoder, on tiny BERTs built from a config and the default teacher's
tokenizer (its flags: `test_benchmark_flags.py`)."""

import copy
import sys
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
from transformers import AutoTokenizer, BertConfig, BertModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from multilingual_transplant import lexicon_rows, piece_states, string_table, teacher_pieces, transplant  # noqa: E402

from hfdistill.models.default_teacher import default_teacher_path  # noqa: E402

TEXTS = ["In the beginning God created the heaven and the earth .", "Naïve café's 1990s, unto them", "Jesus wept ."]


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(default_teacher_path())


def tiny_bert(vocab_size: int, layers: int = 2) -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=64)  # fmt: skip
    return BertModel(config).eval()


def test_sentencepiece_pieces_are_read_as_words_continuations_and_punctuation(tokenizer):
    pieces = ["\u2581the", "ing", ",", "\u2581Verily", "\u2581naïve", "ly", "'s"]
    read = [tokenizer.convert_ids_to_tokens(ids) for ids in teacher_pieces(pieces, tokenizer)]
    assert read == [["the"], ["##ing"], [","], ["ve", "##rily"], ["naive"], ["##ly"], ["'", "s"]]


def test_a_wordpiece_vocabulary_is_read_as_itself(tokenizer):
    pieces = ["the", "##ing", ",", "earth", "##s"]
    assert teacher_pieces(pieces, tokenizer) == [tokenizer.convert_tokens_to_ids([piece]) for piece in pieces]


def test_the_teachers_own_vocabulary_transplanted_is_the_teacher(tokenizer, tmp_path):
    body = tiny_bert(len(tokenizer))
    body.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    teacher = SentenceTransformer(
        modules=[Transformer(str(tmp_path)), Pooling(32, pooling_mode="mean"), Normalize()], device="cpu"
    )
    rows = body.get_input_embeddings().weight.detach()
    table, single = string_table(rows, tokenizer, tokenizer)
    used = sorted({i for ids in tokenizer(TEXTS)["input_ids"] for i in ids})
    torch.testing.assert_close(table[used], rows[used], atol=0, rtol=0)
    assert all(single[i] for i in used)
    student = transplant(teacher, str(tmp_path), tokenizer, table)
    torch.testing.assert_close(
        torch.from_numpy(student.encode(TEXTS)), torch.from_numpy(teacher.encode(TEXTS)), atol=1e-5, rtol=1e-4
    )


def test_a_piece_lands_on_the_teacher_row_its_state_maps_to():
    torch.manual_seed(0)
    teacher_rows, mixing = torch.randn(10, 4), torch.randn(4, 4)
    states = torch.cat([teacher_rows @ mixing + 1.0, teacher_rows[3:4] @ mixing + 1.0])  # piece 10 "translates" row 3
    rows, r2 = lexicon_rows(states, list(range(10)), teacher_rows, teacher_rows, neighbours=1, chunk=4)
    assert r2 == pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(rows, torch.cat([teacher_rows, teacher_rows[3:4]]))
    two, _ = lexicon_rows(states, list(range(10)), teacher_rows, teacher_rows, neighbours=2)
    assert not torch.allclose(two[10], teacher_rows[3])  # a second, less similar neighbour is averaged in


def test_each_of_the_tokenizers_pieces_is_read_alone_at_the_asked_layer():
    model = tiny_bert(50, layers=3)
    states = piece_states(copy.deepcopy(model), pieces=40, bos=1, eos=2, layer=2, batch_size=16)
    assert states.shape == (40, 32)  # the tokenizer's pieces, not the padded table's rows
    with torch.no_grad():
        alone = model(input_ids=torch.tensor([[1, 7, 2], [1, 33, 2]]), output_hidden_states=True).hidden_states[2]
    torch.testing.assert_close(states[[7, 33]], alone[:, 1])
