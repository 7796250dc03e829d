import random

import pytest

from hfdistill.config.data import DataArguments
from hfdistill.data.augment import AugmentRules, augmented_texts, perturbed
from hfdistill.data.loading import load_splits
from hfdistill.data.transfer import augmented_copies, normalised, with_transfer_data
from hfdistill.losses.common import UNLABELLED
from tests.conftest import text_data

from .test_transfer import write_reviews


def test_without_perturbation_a_copy_is_the_text_and_with_full_masking_every_word_is_masked():
    words = "a fine and moving film".split()
    rng = random.Random(0)
    assert perturbed(words, ["x"], "[MASK]", AugmentRules(p_mask=0, p_swap=0, p_ngram=0), rng) == words
    masked = perturbed(words, ["x"], "[MASK]", AugmentRules(p_mask=1, p_swap=0, p_ngram=0), rng)
    assert masked == ["[MASK]"] * 5
    swapped = perturbed(words, ["x"], None, AugmentRules(p_mask=1, p_swap=0, p_ngram=0), rng)
    assert swapped == ["x"] * 5  # no mask token: the masking probability swaps instead


def test_an_ngram_copy_is_a_contiguous_piece_of_at_most_max_ngram_words():
    words = [str(i) for i in range(20)]
    rules = AugmentRules(p_mask=0, p_swap=0, p_ngram=1, max_ngram=5)
    for seed in range(50):
        piece = perturbed(words, [], None, rules, random.Random(seed))
        assert 1 <= len(piece) <= 5
        start = int(piece[0])
        assert piece == words[start : start + len(piece)]


def test_copies_are_seeded_new_and_never_an_original_text():
    texts = ["a fine and moving film", "a dull film", "the cast is superb but the script is not"]
    copies = augmented_texts(texts, copies=8, mask_token="[MASK]", seed=1)
    assert copies == augmented_texts(texts, copies=8, mask_token="[MASK]", seed=1)
    assert copies != augmented_texts(texts, copies=8, mask_token="[MASK]", seed=2)
    assert len(copies) == len(set(copies)) and not set(copies) & set(texts)
    assert 0 < len(copies) <= 24


def test_augmented_copies_are_unlabelled_rows_and_never_a_held_out_text(tmp_path, tokenizer):
    data = write_reviews(tmp_path / "reviews.csv", 60)
    data_args = text_data(dataset_name=str(data), augment_copies=3)
    splits, _ = load_splits(data_args)
    copies = augmented_copies(splits, tokenizer, data_args, seed=0)
    held_out = {normalised(text) for role in ("test", "validation") for text in splits[role]["text"]}
    assert copies and not {normalised(text) for text in copies} & held_out
    train = (
        splits["train"]
        .map(lambda row: tokenizer(row["text"]), remove_columns=["text"])
        .rename_column("label", "labels")
    )
    mixed = with_transfer_data(train, splits, tokenizer, data_args, seed=0)
    assert len(mixed) == len(train) + len(copies)
    assert set(mixed["labels"][len(train) :]) == {UNLABELLED}


def test_a_negative_copy_count_is_refused():
    with pytest.raises(ValueError, match="augment_copies must be >= 0, got -1"):
        DataArguments(augment_copies=-1)
