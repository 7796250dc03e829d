"""The stitching benchmark's pieces: the token alignment across tokenizers and the stitched forward pass, on a tiny BERT
built from a config and the default teacher's tokenizer (its flags: `test_benchmark_flags.py`)."""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
from transformers import AutoTokenizer, BertConfig, BertModel, PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from multilingual_stitching import (  # noqa: E402
    Encoder,
    Stitched,
    aligned_states,
    mean_pool,
)

from hfdistill.models.default_teacher import default_teacher_path  # noqa: E402
from hfdistill.models.sentence_encoder import least_squares_map  # noqa: E402

TEXTS = ["In the beginning God created the heaven and the earth .", "Naïve café's 1990s", "Jesus wept ."]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                        intermediate_size=64)  # fmt: skip
    return BertModel(config).eval(), AutoTokenizer.from_pretrained(default_teacher_path())


def test_the_same_tokenizer_aligns_each_token_with_itself(tiny):
    model, tokenizer = tiny
    inputs, targets = aligned_states(model, tokenizer, model, tokenizer, TEXTS, 2, 2)
    assert len(inputs) == sum(len(ids) for ids in tokenizer(TEXTS)["input_ids"])
    torch.testing.assert_close(inputs, targets)
    _, r2 = least_squares_map(inputs, inputs + 1.0)
    assert r2 == pytest.approx(1.0, abs=1e-3)


def character_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character, with offsets, between [CLS] and [SEP]."""
    vocab = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *"abcdefghijklmnopqrstuvwxyz "])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]", unk_token="[UNK]")


def test_each_character_is_aligned_with_the_word_that_covers_it_and_a_space_with_none(tiny):
    model, tokenizer = tiny
    inputs, targets = aligned_states(model, character_tokenizer(), model, tokenizer, ["god said"], 1, 1)
    teacher = model(**tokenizer(["god said"], return_tensors="pt"), output_hidden_states=True).hidden_states[1][0]
    assert [t for t in tokenizer.tokenize("god said")] == ["god", "said"]
    # [CLS], g o d, s a i d, [SEP]: the space is covered by no teacher token and left out
    expected = torch.stack([teacher[0], *[teacher[1]] * 3, *[teacher[2]] * 4, teacher[3]])
    assert len(inputs) == 9
    torch.testing.assert_close(targets, expected.detach())


def test_an_identity_adapter_over_all_front_layers_is_the_front_model(tiny):
    model, tokenizer = tiny
    size = model.config.hidden_size
    identity = torch.nn.Linear(size, size)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(size))
        identity.bias.zero_()
    stitched = Stitched(model, model, k=3, k_teacher=model.config.num_hidden_layers, adapter=identity).eval()
    features = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = F.normalize(mean_pool(model(**features).last_hidden_state, features["attention_mask"]), dim=-1)
        got = torch.from_numpy(Encoder(stitched, tokenizer).encode(TEXTS, batch_size=len(TEXTS)))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
