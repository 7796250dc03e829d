"""The losses of regression and multi-label students, and the choice of losses by `problem_type`."""

import math

import pytest
import torch
import torch.nn.functional as F

from hfdistill.losses.common import token_weights
from hfdistill.losses.multi_label import binary_soft_target_kl, multi_label_distillation_loss, multi_label_task_loss
from hfdistill.losses.problems import PROBLEM_LOSSES, losses_for
from hfdistill.losses.regression import prediction_mse, regression_distillation_loss, regression_task_loss

NAN = float("nan")


def test_regression_blends_the_teachers_scores_and_the_labels_by_mse():
    student, teacher = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [4.0]])
    labels = torch.tensor([1.5, 2.0])  # one score per text, read as (batch, 1)
    parts = regression_distillation_loss(student, teacher, labels, kd_loss_weight=0.25)
    assert parts.kd == pytest.approx((1 + 4) / 2) and parts.task == pytest.approx(0.25 / 2)
    assert parts.loss == pytest.approx(0.25 * 2.5 + 0.75 * 0.125)
    assert regression_distillation_loss(student, teacher, None, 0.25).loss == pytest.approx(2.5)


def test_a_nan_score_is_a_transfer_row_counted_by_the_teacher_term_alone():
    student, teacher = torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [2.0]])
    labels = torch.tensor([3.0, NAN])
    assert regression_task_loss(student, labels) == pytest.approx(4.0 / 2)  # counted, adds 0
    assert prediction_mse(student, teacher) == pytest.approx(1.0 / 2)
    student.requires_grad_(True)
    regression_distillation_loss(student, teacher, labels, 0.5).loss.backward()
    assert torch.isfinite(student.grad).all()


def test_regression_refuses_labels_that_do_not_fit():
    with pytest.raises(ValueError, match="one score per output"):
        regression_task_loss(torch.zeros(2, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="must predict the same outputs"):
        prediction_mse(torch.zeros(2, 1), torch.zeros(2, 2))


def test_the_binary_kl_is_the_bernoulli_kl_per_label_times_t_squared():
    student, teacher, t = torch.tensor([[0.3, -1.0]]), torch.tensor([[2.0, 0.5]]), 2.0
    expected = 0.0
    for s, q in zip(student[0].tolist(), teacher[0].tolist(), strict=True):
        p_s, p_t = 1 / (1 + math.exp(-s / t)), 1 / (1 + math.exp(-q / t))
        expected += p_t * math.log(p_t / p_s) + (1 - p_t) * math.log((1 - p_t) / (1 - p_s))
    value = binary_soft_target_kl(student, teacher, t)
    assert value == pytest.approx(expected / 2 * t**2, rel=1e-5)  # a mean over (text, label) pairs
    assert binary_soft_target_kl(teacher, teacher, t) == pytest.approx(0.0, abs=1e-7)


def test_multi_label_task_loss_is_transformers_bce_and_skips_nan_rows():
    logits, labels = torch.tensor([[1.0, -2.0], [0.5, 0.5]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert multi_label_task_loss(logits, labels) == pytest.approx(F.binary_cross_entropy_with_logits(logits, labels))
    unlabelled = torch.tensor([[1.0, 0.0], [NAN, NAN]])
    first_row = F.binary_cross_entropy_with_logits(logits[:1], labels[:1], reduction="sum")
    assert multi_label_task_loss(logits, unlabelled) == pytest.approx(first_row / 4)
    parts = multi_label_distillation_loss(logits, logits * 2, unlabelled, 2.0, 0.5)
    assert parts.loss == pytest.approx(0.5 * parts.kd + 0.5 * parts.task)


def test_losses_follow_the_problem_type_and_only_classes_and_labels_are_softened():
    assert losses_for(None) is PROBLEM_LOSSES["single_label_classification"]
    assert not losses_for("regression").uses_temperature and losses_for("multi_label_classification").uses_temperature
    blend = losses_for("regression").distillation(torch.ones(2, 1), torch.zeros(2, 1), None, 2.0, 0.5)
    assert blend.loss == pytest.approx(1.0)
    with pytest.raises(ValueError, match="has no distillation loss"):
        losses_for("ranking")


def test_several_labels_per_text_weigh_their_count_in_the_intermediate_losses():
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    per_label = token_weights(mask, torch.zeros(2, 4))  # 4 labels a text, as many as tokens: still per text
    assert per_label.sum(-1).tolist() == [4.0, 4.0] and per_label[0, 2] == 0
    per_token = token_weights(mask, torch.tensor([[0, -100, 1, 1], [0, 1, 1, -100]]), per_token=True)
    assert per_token.tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]
