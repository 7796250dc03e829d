"""The regression and multi-label tasks' own pieces: the label columns they read or refuse, their scores, their
paired test and their ONNX agreement; and `--task auto`, which picks a task from the label column."""

import logging

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel, Sequence, Value

from hfdistill.config.data import DataArguments
from hfdistill.tasks import task_for
from hfdistill.tasks.auto import implied_task, kind_of, resolved_task
from hfdistill.tasks.task_data import load_task
from tests.tasks.test_tasks import encoder_folder, write_data  # noqa: F401 - the fixture, and the data it reads

REGRESSION, MULTI_LABEL = "text-regression", "multi-label-classification"


def test_scores_are_read_as_floats_one_output_or_several(tmp_path, encoder_folder):  # noqa: F811
    data = load_task(
        encoder_folder, DataArguments(dataset_name=write_data(tmp_path, REGRESSION), label_column="score")
    )
    assert data.task.name == REGRESSION and data.label_names == ["score"]
    assert isinstance(data.tokenized["train"][0]["labels"], float)
    path = tmp_path / "two.jsonl"
    pd.DataFrame({"text": ["good film"] * 30, "scores": [[1, 2.5]] * 30}).to_json(path, orient="records", lines=True)
    two = load_task(encoder_folder, DataArguments(dataset_name=str(path), label_column="scores"))
    assert two.task.name == REGRESSION and two.label_names == ["scores_0", "scores_1"]
    assert two.tokenized["test"][0]["labels"] == [1.0, 2.5]


def test_a_regression_column_of_words_is_refused_naming_the_classification_task(tmp_path, encoder_folder):  # noqa: F811
    path = tmp_path / "words.csv"
    pd.DataFrame({"text": ["good film"] * 30, "score": ["high", "low"] * 15}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="holds str values such as 'high', not scores.*--task text-classification"):
        load_task(encoder_folder, DataArguments(task=REGRESSION, dataset_name=str(path), label_column="score"))


def test_regression_scores_pair_and_bootstrap_pearson():
    task = task_for(REGRESSION)
    labels = np.linspace(-2, 2, 60)
    exact, noisy = labels[:, None] * 2 + 1, (labels + np.random.default_rng(0).normal(0, 1.5, 60))[:, None]
    scores = task.scores(exact, labels, ["score"])
    assert scores["pearsonr"] == pytest.approx(1.0) and scores["spearmanr"] == pytest.approx(1.0)
    assert scores["mse"] == pytest.approx(np.mean((labels + 1) ** 2))
    better = task.outcomes(exact, labels)
    assert better.shape == (60, 1, 2)
    test = task.paired_test(better, task.outcomes(noisy, labels), ("pearsonr", 1.0, 0.7))
    assert test["test"] == "bootstrap" and test["difference_points"] > 0 and test["p_value"] < 0.01
    assert "paired bootstrap over texts" in test["summary"] and test["kd_helped"]
    assert task.agreement(exact, exact + 0.01, labels) == 100.0 and task.agreement(exact, exact + 1, labels) == 0.0


@pytest.mark.parametrize("form", ["lists", "joined", "class ids"])
def test_a_label_set_is_read_from_lists_joined_strings_or_class_ids(form, tmp_path, encoder_folder):  # noqa: F811
    kinds = [["loc"], [], ["loc", "per"], ["per"]] * 8
    if form == "lists":
        path = tmp_path / "sets.jsonl"
        pd.DataFrame({"text": ["anna in paris"] * 32, "labels": kinds}).to_json(path, orient="records", lines=True)
        data_args = DataArguments(dataset_name=str(path))
    elif form == "joined":
        path = tmp_path / "sets.csv"
        pd.DataFrame({"text": ["anna in paris"] * 32, "labels": ["|".join(k) for k in kinds]}).to_csv(path)
        data_args = DataArguments(task=MULTI_LABEL, dataset_name=str(path), label_separator="|")
    else:
        path = tmp_path / "ids.jsonl"
        ids = [[{"loc": 0, "per": 1}[k] for k in row] for row in kinds]
        pd.DataFrame({"text": ["anna in paris"] * 32, "labels": ids}).to_json(path, orient="records", lines=True)
        data_args = DataArguments(dataset_name=str(path))
    data = load_task(encoder_folder, data_args)
    assert data.task.name == MULTI_LABEL and data.label_names == (
        ["0", "1"] if form == "class ids" else ["loc", "per"]
    )
    vectors = {tuple(row["labels"]) for row in data.tokenized["train"]}
    assert vectors <= {(1.0, 0.0), (0.0, 0.0), (1.0, 1.0), (0.0, 1.0)} and len(vectors) > 1


def test_a_label_string_without_a_separator_is_refused_saying_which_flag(tmp_path, encoder_folder):  # noqa: F811
    path = tmp_path / "joined.csv"
    pd.DataFrame({"text": ["anna in paris"] * 30, "labels": ["loc,per", "loc"] * 15}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="not lists of labels: pass --label_separator"):
        load_task(encoder_folder, DataArguments(task=MULTI_LABEL, dataset_name=str(path)))


def test_multi_label_scores_are_micro_macro_and_subset_and_its_outcomes_pool_to_micro_f1():
    from hfdistill.numerics.bootstrap import f1_from_counts

    task = task_for(MULTI_LABEL)
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]], dtype=float)
    logits = np.array([[2, -1, -1], [3, -2, -1], [-1, -1, 2], [-1, 1, -1]], dtype=float)  # 3 right, 1 missed, 1 extra
    scores = task.scores(logits, labels, ["a", "b", "c"])
    assert scores["f1_micro"] == pytest.approx(2 * 3 / (4 + 4)) and scores["subset_accuracy"] == 0.5
    assert scores["f1_macro"] == pytest.approx((1 + 2 / 3 + 0) / 3)  # c: never present, predicted once
    assert f1_from_counts(task.outcomes(logits, labels)) == pytest.approx(scores["f1_micro"])
    assert task.correct(logits, labels).tolist() == [True, False, False, True]
    assert task.agreement(logits, logits * 0.5, labels) == 100.0


@pytest.mark.parametrize(
    ("text", "label", "separator", "task"),
    [
        (Value("string"), ClassLabel(names=["a", "b"]), None, "text-classification"),
        (Value("large_string"), Value("large_string"), None, "text-classification"),
        (Value("string"), Value("int64"), None, "text-classification"),
        (Value("string"), Value("float64"), None, REGRESSION),
        (Value("string"), Sequence(Value("float32")), None, REGRESSION),
        (Value("string"), Sequence(Value("string")), None, MULTI_LABEL),
        (Value("string"), Value("string"), "|", MULTI_LABEL),
        (Sequence(Value("string")), Sequence(Value("string")), None, "token-classification"),
        (Sequence(Value("string")), Sequence(ClassLabel(names=["O"])), None, "token-classification"),
        (Value("string"), Sequence(Sequence(Value("string"))), None, None),
    ],
)
def test_auto_picks_the_task_the_label_column_implies(text, label, separator, task):
    chosen, why = implied_task(kind_of(text), kind_of(label), separator)
    assert chosen == task and why


def test_auto_logs_its_choice_and_an_explicit_task_wins(tmp_path, caplog):
    path = write_data(tmp_path, REGRESSION)
    with caplog.at_level(logging.INFO, logger="hfdistill.tasks.auto"):
        chosen = resolved_task(DataArguments(dataset_name=path, label_column="score"))
    assert chosen.task == REGRESSION and "auto: the label column holds numbers" in caplog.text
    explicit = DataArguments(task="text-classification", dataset_name=path, label_column="score")
    assert resolved_task(explicit) is explicit
    tagged = resolved_task(DataArguments(dataset_name=write_data(tmp_path, "token-classification")))
    assert (tagged.task, tagged.text_column, tagged.label_column) == ("token-classification", "tokens", "ner_tags")
    with pytest.raises(ValueError, match="found no label column .*name it with --label_column"):
        resolved_task(DataArguments(dataset_name=path))


def test_a_multi_label_models_threshold_is_tuned_on_validation_and_kept_in_its_config(tmp_path):
    from transformers import AutoConfig, BertConfig, EvalPrediction

    task, folder = task_for(MULTI_LABEL), tmp_path / "student"
    BertConfig(num_labels=2).save_pretrained(folder)
    labels = np.array([[1, 0], [1, 1], [0, 1], [0, 0]] * 5, dtype=float)
    sigmoids = np.where(labels > 0, 0.37, 0.08)  # every label that applies scores 0.37: 0.5 finds none of them
    validation = EvalPrediction(np.log(sigmoids / (1 - sigmoids)), labels)
    task.finish_model(str(folder), lambda: validation, DataArguments(tune_label_threshold=True))
    config = AutoConfig.from_pretrained(folder)
    assert config.label_threshold == 0.1  # the lowest of the thresholds 0.10 ... 0.35, which all score 1
    assert task.scores(task.answers(validation.predictions, config), labels, ["a", "b"])["f1_micro"] == 1.0
    assert task.scores(validation.predictions, labels, ["a", "b"])["f1_micro"] == 0.0  # read at 0.5
    task.finish_model(str(folder), lambda: pytest.fail("no tuning asked"), DataArguments(label_threshold=0.2))
    assert AutoConfig.from_pretrained(folder).label_threshold == 0.2


def test_a_taggers_outcomes_are_entity_counts_and_its_paired_test_a_bootstrap_of_entity_f1():
    from hfdistill.numerics.bootstrap import f1_from_counts

    task, names = task_for("token-classification"), ["O", "B-per", "I-per"]
    labels = np.array([[-100, 1, 2, 0, -100], [-100, 0, 1, 0, -100]] * 20)
    right = np.eye(3)[np.where(labels < 0, 0, labels)]
    half = right.copy()
    half[::2, 2] = np.eye(3)[0]  # the first sentence's entity loses its second word in every other pair
    counts = task.outcomes(right, labels, names)
    assert counts.shape == (40, 3) and f1_from_counts(counts) == task.scores(right, labels, names)["f1"] == 1.0
    test = task.paired_test(counts, task.outcomes(half, labels, names), ("f1", 1.0, 0.75))
    assert test["test"] == "bootstrap" and test["unit"] == "sentence" and test["difference_points"] > 0
