import pandas as pd
import pytest

from hfdistill.config.data import DataArguments
from hfdistill.data.loading import load_named, load_splits, tokenize_splits
from tests.conftest import text_data, tokenizer_of


def write_csv(tmp_path, rows, name="reviews.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def reviews(n=60):
    return {"review": [f"review number {i}" for i in range(n)], "sentiment": ["good", "bad", "meh"] * (n // 3)}


def test_bundled_default_has_three_labelled_splits():
    splits, label_names = load_splits(text_data())
    assert label_names == ["negative", "positive"]
    assert set(splits) == {"train", "validation", "test"}
    assert len(splits["train"]) > 10_000 and len(splits["test"]) > 1_000
    assert not set(splits["train"]["text"]) & set(splits["test"]["text"])


def test_a_bundled_part_is_the_rows_of_its_file_that_hold_its_value():
    whole = load_named("bundled:transfer_text")["train"]
    tweets = load_named("bundled:transfer_tweets")["train"]
    assert len(tweets) == whole["source"].count("tweets") == 4_200
    assert set(tweets["source"]) == {"tweets"}
    with pytest.raises(ValueError, match="transfer_tweets"):  # the parts are among the names a typo is offered
        load_named("bundled:transfer_tweet")


def test_carved_splits_are_seeded(tmp_path):
    path = write_csv(tmp_path, reviews())
    args = text_data(dataset_name=path, text_column="review", label_column="sentiment")
    first, names = load_splits(args)
    second, _ = load_splits(args)
    assert names == ["bad", "good", "meh"]
    assert first["test"]["review"] == second["test"]["review"]
    assert len(first["test"]) == len(first["validation"]) == 6


def test_a_folder_of_split_files_keeps_its_splits(tmp_path):
    write_csv(tmp_path, reviews(60), "train.csv")
    test_rows = {"review": ["a fresh test review", "another"], "sentiment": ["meh", "good"]}
    write_csv(tmp_path, test_rows, "test.csv")
    args = text_data(dataset_name=str(tmp_path), text_column="review", label_column="sentiment")
    splits, names = load_splits(args)
    assert splits["test"]["review"] == test_rows["review"]
    assert [names[i] for i in splits["test"]["sentiment"]] == ["meh", "good"]
    assert len(splits["validation"]) == 6 and len(splits["train"]) == 54


def test_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path, reviews())
    with pytest.raises(ValueError, match=r"column 'text' not found .* available columns: \['review', 'sentiment'\]"):
        load_splits(text_data(dataset_name=path, label_column="sentiment"))


def test_empty_dataset_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n")
    with pytest.raises(ValueError, match="is empty"):
        load_splits(text_data(dataset_name=str(path)))


def test_broken_file_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"text": "fine", "label": 1}\n{"text": "cut off')
    with pytest.raises(ValueError, match="cannot read .*broken.json as json"):
        load_splits(text_data(dataset_name=str(path)))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv does not exist"):
        load_splits(text_data(dataset_name=str(tmp_path / "nope.csv")))


def test_tokenized_splits_hold_model_inputs_and_labels(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "review", "number", "1", "2"]))
    tokenizer = tokenizer_of(str(vocab))
    path = write_csv(tmp_path, reviews())
    args = text_data(dataset_name=path, text_column="review", label_column="sentiment", max_seq_length=4)
    splits, _ = load_splits(args)
    tokenized = tokenize_splits(splits, tokenizer, args)
    assert set(tokenized["train"].column_names) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    assert max(len(ids) for ids in tokenized["train"]["input_ids"]) == 4


def test_a_text_column_of_numbers_is_read_as_text_as_written(tmp_path):
    from hfdistill.data.loading import load_source

    path = tmp_path / "codes.csv"
    path.write_text("text,label\n00123,a\n456,b\n7.50,a\n")
    train = load_source(DataArguments(dataset_name=str(path), text_column="text", label_column="label"))["train"]
    assert train["text"] == ["00123", "456", "7.50"]  # codes keep their zeros; no number reaches the tokenizer
    jsonl = tmp_path / "codes.jsonl"
    jsonl.write_text('{"text": 123, "label": "a"}\n{"text": 45, "label": "b"}\n')
    assert load_source(DataArguments(dataset_name=str(jsonl), text_column="text"))["train"]["text"] == ["123", "45"]
