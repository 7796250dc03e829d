"""The paired bootstrap every metric that is not a share right is tested with, and the statistics it resamples."""

import numpy as np
import pytest

from hfdistill.numerics.bootstrap import CHUNK, bootstrap_against_baseline, paired_bootstrap, pearson_of_pairs


def test_pearson_of_pairs_is_numpys_over_the_examples_axis():
    rng = np.random.default_rng(0)
    pairs = rng.normal(size=(3, 40, 2))
    expected = [np.corrcoef(batch[:, 0], batch[:, 1])[0, 1] for batch in pairs]
    assert pearson_of_pairs(pairs) == pytest.approx(expected)
    assert pearson_of_pairs(np.ones((5, 2))) == 0.0  # no spread: no correlation, not NaN


def test_the_bootstrap_draws_the_same_examples_for_both_models_in_chunks():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=200)
    good = np.stack([reference + rng.normal(0, 0.3, 200), reference], -1)
    bad = np.stack([reference + rng.normal(0, 1.5, 200), reference], -1)
    resamples = CHUNK * 2 + 7  # a last, smaller chunk
    test = paired_bootstrap(good[None], bad[None], pearson_of_pairs, resamples=resamples)
    assert test["resamples"] == resamples and test["examples"] == 200 and test["seeds"] == 1
    assert test["difference_points"] == pytest.approx(100 * (pearson_of_pairs(good) - pearson_of_pairs(bad)), abs=0.01)
    assert test["interval_points"][0] > 0 and test["p_value"] < 0.01
    same = paired_bootstrap(good[None], good[None], pearson_of_pairs, resamples=200)
    assert same["difference_points"] == 0 and same["p_value"] == 1.0
    with pytest.raises(ValueError, match="shapes"):
        paired_bootstrap(good, good[:10], pearson_of_pairs)


def test_a_twin_that_scores_higher_gets_the_verdict_line():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=100)
    worse = np.stack([reference + rng.normal(0, 2, 100), reference], -1)
    better = np.stack([reference + rng.normal(0, 0.5, 100), reference], -1)
    paired = bootstrap_against_baseline(worse, better, pearson_of_pairs, "text", ("pearsonr", 0.4, 0.9))
    assert not paired["kd_helped"] and paired["test"] == "bootstrap" and paired["unit"] == "text"
    assert paired["verdict"].startswith("The teacher did not help on this run: the distilled student's pearsonr")
    assert paired["summary"].endswith(paired["verdict"])
