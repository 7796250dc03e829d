import os

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def tiny_bert(
    num_labels: int = 3, num_layers: int = 4, seed: int = 0, dropout: float = 0.1
) -> BertForSequenceClassification:
    """A randomly initialised 4-layer BERT classifier small enough for unit tests."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config)


@pytest.fixture
def teacher() -> BertForSequenceClassification:
    return tiny_bert().eval()
