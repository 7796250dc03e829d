"""McNemar's exact test against the no-KD student, and the per-example outcomes each task pairs it on."""

import numpy as np
import pytest

from hfdistill.numerics.significance import against_baseline, mcnemar_exact, over_seeds
from hfdistill.tasks import task_for


def test_mcnemar_counts_only_the_discordant_examples():
    first = np.array([True] * 9 + [False] * 1 + [True] * 50 + [False] * 40)
    second = np.array([False] * 9 + [True] * 1 + [True] * 50 + [False] * 40)
    test = mcnemar_exact(first, second)
    assert (test["only_this_right"], test["only_no_kd_right"]) == (9, 1)
    # two-sided binomial test of 9 successes in 10 at one half: 2 * (C(10,9) + C(10,10)) / 2**10
    assert test["p_value"] == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(second, first)["p_value"] == pytest.approx(test["p_value"])


def test_identical_outcomes_give_p_one():
    right = np.array([True, False, True])
    assert mcnemar_exact(right, right) == {"only_this_right": 0, "only_no_kd_right": 0, "p_value": 1.0}


def test_the_summary_names_the_counts_and_the_unit():
    paired = against_baseline(np.array([True, True, False]), np.array([False, True, False]), "sentence")
    assert paired["unit"] == "sentence" and paired["p_value"] == 1.0
    assert "same 3 test sentences: only the distilled one is right on 1, only the other on 0" in paired["summary"]


def test_a_text_is_right_when_its_class_is():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert task_for("text-classification").correct(logits, np.array([0, 0, 0])).tolist() == [True, False, True]


def test_a_sentence_is_right_when_every_scored_tag_is():
    logits = np.eye(3)[[[0, 1, 2], [0, 1, 1], [2, 2, 0]]]  # argmax: [0 1 2], [0 1 1], [2 2 0]
    labels = np.array([[0, 1, 2], [0, 1, 2], [-100, 2, -100]])
    assert task_for("token-classification").correct(logits, labels).tolist() == [True, False, True]


def test_over_one_seed_the_permutation_test_is_mcnemars():
    first = np.array([True] * 9 + [False] * 1 + [True] * 50 + [False] * 40)
    second = np.array([False] * 9 + [True] * 1 + [True] * 50 + [False] * 40)
    pooled = over_seeds(first[None], second[None])
    assert pooled["p_value"] == pytest.approx(mcnemar_exact(first, second)["p_value"])  # 10 discordant: exact
    assert (pooled["seeds"], pooled["examples"]) == (1, 100)
    assert pooled["mean_accuracy_difference"] == pytest.approx(0.08)


def test_over_seeds_an_example_counts_once_however_many_seeds():
    rng = np.random.default_rng(0)
    first = rng.random((1, 400)) < 0.8
    second = rng.random((1, 400)) < 0.75
    one = over_seeds(first, second)["p_value"]
    # the same outcomes repeated over five seeds are the same evidence: counting each seed as new data would
    # shrink p; averaging per example leaves it where it was
    assert over_seeds(np.repeat(first, 5, 0), np.repeat(second, 5, 0))["p_value"] == pytest.approx(one, abs=0.01)
    assert over_seeds(second, second)["p_value"] == 1.0


def test_over_seeds_refuses_unpaired_outcomes():
    with pytest.raises(ValueError, match="different shapes"):
        over_seeds(np.ones((2, 5), bool), np.ones((3, 5), bool))


def test_a_distilled_student_that_scores_lower_is_said_not_helped_with_the_difference_and_its_interval():
    distilled = np.array([True] * 60 + [False] * 40)
    twin = np.array([True] * 70 + [False] * 30)
    paired = against_baseline(distilled, twin, "example", ("accuracy", 0.60, 0.70))
    assert paired["kd_helped"] is False and paired["difference_points"] == -10.0
    low, high = paired["interval_points"]
    assert low < -10.0 < high < 0  # ten examples only the twin gets right, none only the distilled one
    line = "The teacher did not help on this run: the distilled student's accuracy is 0.6000, its no-KD twin's 0.7000"
    assert paired["verdict"].startswith(line) and paired["verdict"] in paired["summary"]
    assert "-10.0 points (95% interval" in paired["verdict"]


def test_a_distilled_student_that_scores_higher_gets_no_such_line():
    distilled, twin = np.array([True, True, False]), np.array([False, True, False])
    paired = against_baseline(distilled, twin, "sentence", ("f1", 0.5, 0.4))
    assert paired["kd_helped"] is True and "verdict" not in paired and "did not help" not in paired["summary"]


def test_a_tie_is_not_called_a_help():
    right = np.array([True, False, True])
    paired = against_baseline(right, right, "example", ("accuracy", 0.6667, 0.6667))
    assert paired["kd_helped"] is False and paired["interval_points"] == [0.0, 0.0]


def random_tags(rng, sentences: int, length: int = 8) -> list[list[str]]:
    tags = ["O", "O", "O", "B-person", "I-person", "B-loc", "I-loc"]
    return [[tags[i] for i in rng.integers(0, len(tags), length)] for _ in range(sentences)]


def test_entity_counts_give_seqeval_f1_over_any_set_of_sentences():
    from seqeval.metrics import f1_score

    from hfdistill.metrics.entities import entity_counts
    from hfdistill.numerics.bootstrap import f1_from_counts

    rng = np.random.default_rng(0)
    predicted, reference = random_tags(rng, 50), random_tags(rng, 50)
    counts = entity_counts(predicted, reference)
    assert counts.shape == (50, 3)
    assert f1_from_counts(counts) == pytest.approx(f1_score(reference, predicted))
    chosen = [3, 3, 7, 20]  # a resample: the same sentence twice counts twice
    picked = [predicted[i] for i in chosen], [reference[i] for i in chosen]
    assert f1_from_counts(counts[chosen]) == pytest.approx(f1_score(picked[1], picked[0]))


def test_bootstrap_f1_difference_finds_a_better_tagger_and_not_an_equal_one():
    from hfdistill.metrics.entities import entity_counts
    from hfdistill.numerics.bootstrap import bootstrap_f1_difference

    rng = np.random.default_rng(1)
    reference = random_tags(rng, 240)
    noisy = [[tag if rng.random() < 0.7 else "O" for tag in row] for row in reference]
    worse = [[tag if rng.random() < 0.5 else "O" for tag in row] for row in reference]
    good, bad = entity_counts(noisy, reference), entity_counts(worse, reference)
    better = bootstrap_f1_difference(np.stack([good, good]), np.stack([bad, bad]), resamples=2000)
    assert better["seeds"] == 2 and better["sentences"] == 240
    assert better["difference_points"] > 0 and better["interval_points"][0] > 0 and better["p_value"] < 0.01
    same = bootstrap_f1_difference(good, good, resamples=2000)
    assert same["difference_points"] == 0 and same["p_value"] == 1.0
    with pytest.raises(ValueError, match="shapes"):
        bootstrap_f1_difference(good, good[:10])
