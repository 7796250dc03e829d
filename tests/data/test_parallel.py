import gzip
import json

import pytest

from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.data.parallel import load_parallel, read_parallel_file, set_name, split_pairs, unseen_pairs

COLUMNS = ["en", "es"]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_tsv_columns_are_named_in_order(tmp_path):
    path = write(tmp_path / "p.tsv", "Hello .\tHola .\nGood night\tBuenas noches\n")
    pairs = read_parallel_file(path, COLUMNS)
    assert pairs.column_names == COLUMNS and pairs["es"] == ["Hola .", "Buenas noches"]


def test_gzipped_tsv_with_two_translations(tmp_path):
    path = tmp_path / "p.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("Hello\tHola\tBonjour\n")
    pairs = read_parallel_file(path, ["en", "es", "fr"])
    assert pairs[0] == {"en": "Hello", "es": "Hola", "fr": "Bonjour"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("Hello\tHola\nGood night\n", r"line 2: 1 fields, expected 2 \(en, es\)"),
        ("Hello\tHola\tBonjour\n", r"line 1: 3 fields, expected 2"),
        ("Hello\tHola\n\nBye\tAdiós\n", r"line 2: the line is empty"),
        ("Hello\tHola\nBye\t  \n", r"line 2: column 'es' is empty"),
    ],
)
def test_bad_tsv_lines_are_named(tmp_path, text, message):
    path = write(tmp_path / "p.tsv", text)
    with pytest.raises(ValueError, match=message):
        read_parallel_file(path, COLUMNS)


def test_csv_reads_named_columns_in_any_order(tmp_path):
    path = write(tmp_path / "p.csv", 'id,es,en\n1,"Hola, mundo","Hello, world"\n')
    assert read_parallel_file(path, COLUMNS)[0] == {"en": "Hello, world", "es": "Hola, mundo"}


def test_csv_errors_name_the_column_and_the_line(tmp_path):
    with pytest.raises(ValueError, match=r"column 'es' not in the header \['en', 'de'\]"):
        read_parallel_file(write(tmp_path / "a.csv", "en,de\nHello,Hallo\n"), COLUMNS)
    with pytest.raises(ValueError, match=r"line 3: 1 fields, expected 2 as in the header"):
        read_parallel_file(write(tmp_path / "b.csv", "en,es\nHello,Hola\nBye\n"), COLUMNS)


def test_jsonl_errors_name_the_line(tmp_path):
    good = json.dumps({"en": "Hello", "es": "Hola"})
    with pytest.raises(ValueError, match=r"line 2: key 'es' missing"):
        read_parallel_file(write(tmp_path / "a.jsonl", good + "\n" + json.dumps({"en": "Bye"}) + "\n"), COLUMNS)
    with pytest.raises(ValueError, match=r"line 2: not valid JSON"):
        read_parallel_file(write(tmp_path / "b.jsonl", good + "\n{broken\n"), COLUMNS)


def test_json_columns_of_different_lengths_are_refused(tmp_path):
    path = write(tmp_path / "p.json", json.dumps({"en": ["Hello", "Bye"], "es": ["Hola"]}))
    with pytest.raises(ValueError, match=r"different numbers of sentences \{'en': 2, 'es': 1\}"):
        read_parallel_file(path, COLUMNS)


def test_json_list_of_records(tmp_path):
    path = write(tmp_path / "p.json", json.dumps([{"en": "Hello", "es": "Hola"}, {"en": "Bye", "es": "Adiós"}]))
    assert read_parallel_file(path, COLUMNS)["en"] == ["Hello", "Bye"]


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="is empty"):
        read_parallel_file(write(tmp_path / "p.tsv", ""), COLUMNS)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_parallel_file(tmp_path / "missing.tsv", COLUMNS)


def test_held_out_pairs_never_reach_training(tmp_path):
    lines = [f"sentence {i % 40}\tfrase {i}" for i in range(60)]  # 20 English sentences repeat
    args = ParallelDataArguments(dataset_name=str(write(tmp_path / "p.tsv", "\n".join(lines) + "\n")), eval_pairs=10)
    splits = split_pairs(load_parallel(args), args)
    assert len(splits["train"]) == 30 and len(splits["test"]) == 10
    assert not set(splits["train"]["en"]) & set(splits["test"]["en"])


def test_too_many_held_out_pairs_is_refused(tmp_path):
    args = ParallelDataArguments(dataset_name=str(write(tmp_path / "p.tsv", "a\tb\nc\td\n")), eval_pairs=2)
    with pytest.raises(ValueError, match="eval_pairs=2 leaves nothing to train on"):
        split_pairs(load_parallel(args), args)


def test_bundled_bible_pairs_are_split_by_testament():
    old = load_parallel(ParallelDataArguments())
    new = load_parallel(ParallelDataArguments(dataset_name="bundled:bible_nt_en_es", eval_datasets=[]))
    assert old.column_names == new.column_names == COLUMNS and (len(old), len(new)) == (23_129, 7_955)
    assert old["en"][0].startswith("In the beginning God created") and new["en"][0].startswith("The book of the")


def test_evaluation_pairs_share_no_sentence_with_training(tmp_path):
    train = write(tmp_path / "train.tsv", "a\tb\nc\td\ne\tf\n")
    other = write(tmp_path / "other.tsv", "a\tx\ny\td\ng\th\ni\tj\nk\tl\n")
    args = ParallelDataArguments(dataset_name=str(train), eval_pairs=2, eval_datasets=[str(other)])
    trained = split_pairs(load_parallel(args), args)["train"]
    unseen = unseen_pairs(str(other), trained, args)
    sentences = {
        name: {s for column in COLUMNS for s in pairs[column]} for name, pairs in [("t", trained), ("u", unseen)]
    }
    assert len(unseen) == 2 and not sentences["t"] & sentences["u"]
    assert set_name(str(other)) == "other" and set_name("bundled:bible_nt_en_es") == "bible_nt_en_es"


def test_the_training_data_cannot_also_be_an_evaluation_set():
    with pytest.raises(ValueError, match="is the training data"):
        ParallelDataArguments(dataset_name="x.tsv", eval_datasets=["x.tsv"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target_columns": []}, "target_columns is empty"),
        ({"target_columns": ["en"]}, "must be distinct"),
        ({"eval_pairs": 1}, "eval_pairs must be >= 2"),
    ],
)
def test_impossible_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ParallelDataArguments(**kwargs)
