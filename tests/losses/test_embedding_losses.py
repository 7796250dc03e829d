import math

import pytest
import torch
import torch.nn.functional as F

from hfdistill.losses.embedding import embedding_contrastive, embedding_mse


def test_embedding_mse_is_torch_mse_and_zero_for_the_teacher():
    student, teacher = torch.randn(6, 8), torch.randn(6, 8)
    assert torch.allclose(embedding_mse(student, teacher), F.mse_loss(student, teacher))
    assert embedding_mse(teacher, teacher).item() == 0.0
    # Summed over items then divided once: two halves with the whole count add up to the whole.
    halves = embedding_mse(student[:3], teacher[:3], 6) + embedding_mse(student[3:], teacher[3:], 6)
    assert torch.allclose(halves, F.mse_loss(student, teacher))


@pytest.mark.parametrize("loss", [embedding_mse, embedding_contrastive])
def test_embedding_losses_refuse_different_widths(loss):
    with pytest.raises(ValueError, match="give the student a Dense layer"):
        loss(torch.zeros(2, 8), torch.zeros(2, 4))


def reference_contrastive(student, targets, negatives, temperature):
    """Row by row: -log of the positive's share of exp(cos / T) over every candidate that is not the same answer."""
    candidates = list(targets) + list(negatives)
    total = 0.0
    for i, query in enumerate(student):
        positive = targets[i]
        scores = [
            math.exp(F.cosine_similarity(query, c, dim=0).item() / temperature)
            for j, c in enumerate(candidates)
            if j == i or F.cosine_similarity(positive, c, dim=0).item() < 1 - 1e-5
        ]
        own = math.exp(F.cosine_similarity(query, positive, dim=0).item() / temperature)
        total += -math.log(own / sum(scores))
    return total / len(student)


def test_contrastive_is_the_direct_computation_with_translations_and_repeats_left_out():
    torch.manual_seed(0)
    student, targets, negatives = torch.randn(6, 8), torch.randn(6, 8), torch.randn(5, 8)
    targets[1] = targets[0]  # a sentence and its translation share their source's target
    negatives[2] = targets[3] * 2.0  # the row's own sentence drawn again among the negatives (scale is no matter)
    expected = reference_contrastive(student, targets, negatives, 0.1)
    assert embedding_contrastive(student, targets, negatives, 0.1).item() == pytest.approx(expected, rel=1e-5)
    assert embedding_contrastive(student, targets, None, 0.1).item() == pytest.approx(
        reference_contrastive(student, targets, [], 0.1), rel=1e-5
    )


def test_contrastive_counts_rows_once_and_falls_as_the_student_finds_its_target():
    torch.manual_seed(0)
    student, targets, negatives = torch.randn(6, 8), torch.randn(6, 8), torch.randn(20, 8)
    whole = embedding_contrastive(student, targets, negatives)
    assert whole.item() > embedding_contrastive(targets, targets, negatives).item()
    # A row's loss reads only its own student embedding: halves (the other half's targets as negatives, the whole
    # count as divisor) add up to the whole.
    first = embedding_contrastive(student[:3], targets[:3], torch.cat([targets[3:], negatives]), num_items_in_batch=6)
    second = embedding_contrastive(student[3:], targets[3:], torch.cat([targets[:3], negatives]), num_items_in_batch=6)
    assert (first + second).item() == pytest.approx(whole.item(), rel=1e-5)


def test_contrastive_gradient_is_finite_when_a_row_has_only_its_positive():
    student = torch.randn(2, 4, requires_grad=True)
    targets = torch.ones(2, 4)  # both rows share one answer: nothing is left to rank against
    loss = embedding_contrastive(student, targets)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(student.grad).all()
