import logging

import pandas as pd
import pytest

from hfdistill.cli import main
from hfdistill.config.data import DEFAULT_TRANSFER_DATASET
from hfdistill.data.loading import load_splits
from hfdistill.data.transfer import check_no_leak, load_transfer_texts, with_transfer_data
from hfdistill.losses.common import UNLABELLED
from tests.conftest import text_data


def write_reviews(path, n):
    words = ["good", "bad", "film"]
    texts = [" ".join(words[(i + j) % 3] for j in range(i % 5 + 1)) + f" {i}" for i in range(n)]
    pd.DataFrame({"text": texts, "label": ["pos", "neg"] * (n // 2)}).to_csv(path, index=False)
    return path


def test_the_bundled_transfer_text_never_holds_a_bundled_test_review():
    data_args = text_data(transfer_dataset=DEFAULT_TRANSFER_DATASET)
    texts = load_transfer_texts(data_args)
    assert len(texts) == 14098
    splits, _ = load_splits(data_args)
    check_no_leak(texts, splits, "text", DEFAULT_TRANSFER_DATASET)


def test_transfer_rows_are_unlabelled_and_follow_the_training_rows(tmp_path, tokenizer):
    data = write_reviews(tmp_path / "reviews.csv", 60)
    (tmp_path / "transfer.txt").write_text("good good film\nbad film film film\n\n")
    data_args = text_data(dataset_name=str(data), transfer_dataset=str(tmp_path / "transfer.txt"))
    splits, _ = load_splits(data_args)
    train = (
        splits["train"]
        .map(lambda row: tokenizer(row["text"]), remove_columns=["text"])
        .rename_column("label", "labels")
    )
    mixed = with_transfer_data(train, splits, tokenizer, data_args)
    assert len(mixed) == len(train) + 2
    assert mixed["labels"][len(train) :] == [UNLABELLED, UNLABELLED]
    assert mixed["input_ids"][-1] == tokenizer("bad film film film")["input_ids"]


def test_empty_transfer_rows_are_counted_in_the_log(tmp_path, caplog):
    pd.DataFrame({"text": ["good film", None, " ", "bad film"]}).to_json(
        tmp_path / "t.jsonl", orient="records", lines=True
    )
    with caplog.at_level(logging.WARNING):
        texts = load_transfer_texts(text_data(transfer_dataset=str(tmp_path / "t.jsonl")))
    assert texts == ["good film", "bad film"]
    assert "2 of 4 rows have no text and are left out" in caplog.text


def test_a_transfer_text_from_the_test_split_is_refused():
    data_args = text_data()
    carved, _ = load_splits(data_args)
    leaked = ["An unseen sentence.", "  " + carved["test"]["text"][3].upper() + " "]
    with pytest.raises(ValueError, match="holds 1 text\\(s\\) of the test split, e.g. .*a test text must never be"):
        check_no_leak(leaked, carved, "text", "mine.txt")


def test_the_cli_refuses_a_leaking_transfer_file_before_any_work(tmp_path, capsys):
    data = write_reviews(tmp_path / "reviews.csv", 60)
    transfer = tmp_path / "transfer.csv"
    pd.read_csv(data).to_csv(transfer, index=False)  # every labelled text, the test split's among them
    output = tmp_path / "out"
    flags = ["--dataset_name", str(data), "--transfer_dataset", str(transfer), "--output_dir", str(output)]
    assert main(["quickstart", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("hfdistill quickstart: error: transfer data") and "of the test split" in err
    assert not output.exists() or not any(output.iterdir())


def test_a_missing_transfer_column_is_named(tmp_path):
    pd.DataFrame({"review": ["good film"]}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError, match=r"column .text. not found in transfer data .*\(set --transfer_text_column\)"):
        load_transfer_texts(text_data(transfer_dataset=str(tmp_path / "t.csv")))
