import pytest
import torch
import torch.nn.functional as F

from hfdistill.losses.attention import attention_kl, relation_log_probs, self_attention_relation_kl
from hfdistill.losses.common import UNLABELLED, token_weights
from hfdistill.losses.hidden_states import hidden_state_cosine, hidden_state_mse
from hfdistill.losses.soft_targets import (
    distillation_loss,
    soft_target_kl,
    task_loss,
    topk_soft_target_kl,
    topk_targets,
)


@pytest.fixture
def logits():
    torch.manual_seed(0)
    return torch.randn(4, 5), torch.randn(4, 5)


def test_kl_is_zero_for_identical_logits(logits):
    student, _ = logits
    assert soft_target_kl(student, student.clone(), temperature=3.0).item() == pytest.approx(0.0, abs=1e-6)


def test_kl_matches_direct_kl_div_reference(logits):
    student, teacher = logits
    temperature = 2.5
    reference = (
        F.kl_div(F.log_softmax(student / temperature, -1), F.softmax(teacher / temperature, -1), reduction="batchmean")
        * temperature**2
    )
    assert soft_target_kl(student, teacher, temperature).item() == pytest.approx(reference.item(), rel=1e-5)


def test_kl_is_scaled_by_temperature_squared(logits):
    student, teacher = logits
    temperature = 4.0
    unscaled = F.kl_div(
        F.log_softmax(student / temperature, -1),
        F.log_softmax(teacher / temperature, -1),
        log_target=True,
        reduction="batchmean",
    )
    assert soft_target_kl(student, teacher, temperature).item() == pytest.approx(16.0 * unscaled.item(), rel=1e-5)


def test_ignored_positions_are_masked():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 6, 7), torch.randn(2, 6, 7)
    labels = torch.randint(0, 7, (2, 6))
    labels[0, 3:] = -100
    kept = labels.ne(-100)
    masked = distillation_loss(student, teacher, labels, temperature=2.0, kd_loss_weight=0.5)
    # Changing the logits at ignored positions must not change the loss.
    student_noisy = student.clone()
    student_noisy[0, 3:] += 100.0
    assert distillation_loss(student_noisy, teacher, labels, 2.0, 0.5).loss.item() == pytest.approx(
        masked.loss.item(), rel=1e-6
    )
    reference_kd = soft_target_kl(student[kept], teacher[kept], 2.0)
    reference_task = F.cross_entropy(student[kept], labels[kept])
    assert masked.kd.item() == pytest.approx(reference_kd.item(), rel=1e-5)
    assert masked.task.item() == pytest.approx(reference_task.item(), rel=1e-5)


def test_nothing_counted_gives_zero_not_nan():
    student, teacher = torch.randn(3, 4), torch.randn(3, 4)
    labels = torch.full((3,), -100)
    parts = distillation_loss(student, teacher, labels, temperature=2.0, kd_loss_weight=0.3)
    assert parts.loss.item() == 0.0 and not torch.isnan(parts.loss)


def test_blend_weights_each_part(logits):
    student, teacher = logits
    labels = torch.tensor([0, 1, 2, 3])
    parts = distillation_loss(student, teacher, labels, temperature=2.0, kd_loss_weight=0.25)
    assert parts.loss.item() == pytest.approx(0.25 * parts.kd.item() + 0.75 * parts.task.item(), rel=1e-6)
    assert parts.task.item() == pytest.approx(F.cross_entropy(student, labels).item(), rel=1e-6)
    only_task = distillation_loss(student, teacher, labels, temperature=2.0, kd_loss_weight=0.0)
    assert only_task.loss.item() == pytest.approx(only_task.task.item())


def test_accumulation_invariance_with_num_items_in_batch():
    """Batch 4 x accumulation 1 gives the same gradient as batch 2 x accumulation 2, with uneven masks."""
    torch.manual_seed(0)
    student = torch.randn(4, 6, 5, requires_grad=True)
    teacher = torch.randn(4, 6, 5)
    labels = torch.randint(0, 5, (4, 6))
    labels[0, 1:] = -100  # the first micro-batch counts far fewer items than the second
    labels[3, 4:] = -100

    full = distillation_loss(student, teacher, labels, 2.0, 0.6).loss
    (full_grad,) = torch.autograd.grad(full, student)

    num_items = labels.ne(-100).sum()
    accumulated = sum(
        distillation_loss(student[i : i + 2], teacher[i : i + 2], labels[i : i + 2], 2.0, 0.6, num_items).loss
        for i in (0, 2)
    )
    (accumulated_grad,) = torch.autograd.grad(accumulated, student)
    assert accumulated.item() == pytest.approx(full.item(), rel=1e-6)
    torch.testing.assert_close(accumulated_grad, full_grad)


def test_task_loss_with_num_items_matches_sum(logits):
    student, _ = logits
    labels = torch.tensor([0, 1, -100, 3])
    total = F.cross_entropy(student, labels, ignore_index=-100, reduction="sum")
    assert task_loss(student, labels, num_items_in_batch=10).item() == pytest.approx(total.item() / 10, rel=1e-6)


def test_mismatched_shapes_raise(logits):
    student, _ = logits
    with pytest.raises(ValueError, match="same label set"):
        soft_target_kl(student, torch.randn(4, 3), temperature=1.0)


def test_top_k_over_all_classes_is_the_full_kl_with_finite_gradients(logits):
    student, teacher = logits
    student = student.clone().requires_grad_()
    sparse = topk_soft_target_kl(student, topk_targets(teacher, 5, 2.0), 2.0)
    assert sparse.item() == pytest.approx(soft_target_kl(student, teacher, 2.0).item(), rel=1e-5)
    sparse.backward()
    assert torch.isfinite(student.grad).all()


def test_top_k_is_the_kl_over_the_top_classes_and_the_rest(logits):
    student, teacher = logits
    temperature, k = 2.0, 2
    targets = topk_targets(teacher, k, temperature)
    p, q = F.softmax(teacher / temperature, -1), F.softmax(student / temperature, -1)
    top = torch.zeros_like(p, dtype=torch.bool).scatter(-1, targets.ids, True)
    folded_p = torch.cat([p.gather(-1, targets.ids), (p * ~top).sum(-1, keepdim=True)], -1)
    folded_q = torch.cat([q.gather(-1, targets.ids), (q * ~top).sum(-1, keepdim=True)], -1)
    reference = (folded_p * (folded_p / folded_q).log()).sum(-1).mean() * temperature**2
    value = topk_soft_target_kl(student, targets, temperature)
    assert value.item() == pytest.approx(reference.item(), rel=1e-5)
    assert value.item() <= soft_target_kl(student, teacher, temperature).item()
    assert targets.rest_logprob.exp() + targets.logprobs.exp().sum(-1) == pytest.approx(torch.ones(4))


def test_top_k_honours_the_mask_and_the_item_count(logits):
    student, teacher = logits
    targets = topk_targets(teacher, 3, 1.0)
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0])
    kept = topk_soft_target_kl(student[[0, 2]], topk_targets(teacher[[0, 2]], 3, 1.0), 1.0)
    assert topk_soft_target_kl(student, targets, 1.0, mask).item() == pytest.approx(kept.item(), rel=1e-5)
    halved = topk_soft_target_kl(student, targets, 1.0, mask, num_items_in_batch=4)
    assert halved.item() == pytest.approx(kept.item() / 2, rel=1e-5)


@pytest.fixture
def states():
    """Student and teacher hidden states of 3 sequences of lengths 5, 3 and 1 (padded to 5)."""
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    return torch.randn(3, 5, 8), torch.randn(3, 5, 8), mask


def test_token_weights_give_each_counted_item_a_weight_of_one(states):
    _, _, mask = states
    per_sequence = token_weights(mask, torch.tensor([1, -100, 0]))
    torch.testing.assert_close(per_sequence.sum(-1), torch.tensor([1.0, 0.0, 1.0]))
    assert per_sequence[0, 0].item() == pytest.approx(0.2) and per_sequence[2, 0].item() == 1.0
    per_token = token_weights(
        mask, torch.tensor([[0, 1, -100, 2, 2], [1, 1, 1, -100, -100], [0, -100, -100, -100, -100]])
    )
    assert per_token.sum().item() == 8.0  # the real tokens with a label: 4 + 3 + 1


def reference_per_sequence_mean(per_token, mask):
    """The mean over sequences of each sequence's mean over its real tokens, written out."""
    return torch.stack([per_token[i, : int(mask[i].sum())].mean() for i in range(len(mask))]).mean()


def test_hidden_state_mse_matches_a_direct_reference(states):
    student, teacher, mask = states
    loss = hidden_state_mse(student, teacher, token_weights(mask, None))
    reference = reference_per_sequence_mean((student - teacher).pow(2).mean(-1), mask)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    full = torch.ones(3, 5)
    assert hidden_state_mse(student, teacher, token_weights(full, None)).item() == pytest.approx(
        F.mse_loss(student, teacher).item(), rel=1e-5
    )
    assert hidden_state_mse(student, student.clone(), token_weights(mask, None)).item() == 0.0


def test_hidden_state_cosine_matches_a_direct_reference(states):
    student, teacher, mask = states
    loss = hidden_state_cosine(student, teacher, token_weights(mask, None))
    reference = reference_per_sequence_mean(1 - F.cosine_similarity(student, teacher, dim=-1), mask)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    same = hidden_state_cosine(student, 3.0 * student, token_weights(mask, None))  # blind to scale
    assert same.item() == pytest.approx(0.0, abs=1e-6)


def test_hidden_losses_ignore_padding(states):
    student, teacher, mask = states
    noisy = student.clone()
    noisy[~mask.bool()] += 50.0
    weights = token_weights(mask, None)
    for loss_fn in (hidden_state_mse, hidden_state_cosine):
        assert loss_fn(noisy, teacher, weights).item() == pytest.approx(loss_fn(student, teacher, weights).item())


def attention_reference(student_q, student_k, teacher_q, teacher_k, mask, heads):
    """KL(teacher || student) of softmax(QKᵀ/√d) per head and real query, written with F.kl_div one sequence at a
    time: mean over heads, then each sequence's mean over its queries, then the mean over sequences."""
    per_sequence = []
    for i in range(len(mask)):
        n = int(mask[i].sum())

        def probs(q, k, i=i, n=n):
            d = q.shape[-1] // heads
            q = q[i, :n].view(n, heads, d).transpose(0, 1)
            k = k[i, :n].view(n, heads, d).transpose(0, 1)
            return torch.softmax(q @ k.transpose(-1, -2) / d**0.5, -1)

        teacher_probs, student_probs = probs(teacher_q, teacher_k), probs(student_q, student_k)
        kl = F.kl_div(student_probs.log(), teacher_probs, reduction="none").sum(-1)  # (heads, queries)
        per_sequence.append(kl.mean(0).mean())
    return torch.stack(per_sequence).mean()


def test_attention_kl_matches_a_direct_reference(states):
    student, teacher, mask = states
    student_k, teacher_k = student.flip(-1), teacher.roll(1, -1)
    heads = 2
    loss = attention_kl(
        relation_log_probs(student, student_k, mask, heads),
        relation_log_probs(teacher, teacher_k, mask, heads),
        token_weights(mask, None),
    )
    reference = attention_reference(student, student_k, teacher, teacher_k, mask, heads)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    same = relation_log_probs(student, student_k, mask, heads)
    assert attention_kl(same, same.clone(), token_weights(mask, None)).item() == pytest.approx(0.0, abs=1e-7)


def test_relation_kl_matches_a_direct_reference_across_widths(states):
    _, teacher, mask = states
    torch.manual_seed(1)
    student_qkv = tuple(torch.randn(3, 5, 4) for _ in range(3))  # narrower than the teacher's 8
    teacher_qkv = (teacher, teacher.flip(-1), 2 * teacher)
    heads = 2
    loss = self_attention_relation_kl(student_qkv, teacher_qkv, mask, token_weights(mask, None), heads)
    reference = torch.stack(
        [attention_reference(s, s, t, t, mask, heads) for s, t in zip(student_qkv, teacher_qkv, strict=True)]
    ).mean()
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    identical = self_attention_relation_kl(teacher_qkv, teacher_qkv, mask, token_weights(mask, None), heads)
    assert identical.item() == pytest.approx(0.0, abs=1e-7)


def test_intermediate_losses_honour_num_items_in_batch(states):
    student, teacher, mask = states
    weights = token_weights(mask, None)
    halves = [
        hidden_state_mse(student[part], teacher[part], weights[part], num_items_in_batch=3)
        for part in (slice(0, 2), slice(2, 3))
    ]
    assert sum(halves).item() == pytest.approx(hidden_state_mse(student, teacher, weights).item(), rel=1e-6)


def test_transfer_rows_count_for_the_soft_targets_but_not_the_task():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    labels = torch.tensor([2, UNLABELLED, 0, UNLABELLED])
    parts = distillation_loss(student, teacher, labels, temperature=2.0, kd_loss_weight=0.5)
    assert parts.kd.item() == pytest.approx(soft_target_kl(student, teacher, 2.0).item(), rel=1e-6)
    labelled_ce = F.cross_entropy(student[[0, 2]], labels[[0, 2]], reduction="sum") / 4
    assert parts.task.item() == pytest.approx(labelled_ce.item(), rel=1e-6)
