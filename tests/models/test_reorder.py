import pytest
import torch
from transformers import BertForTokenClassification, DistilBertConfig, DistilBertForSequenceClassification

from hfdistill.models.reorder import measure_importance, reorder_by_importance
from hfdistill.models.student import StudentShape, build_distilbert_student
from tests.conftest import tiny_bert


def batches():
    torch.manual_seed(3)
    input_ids = torch.randint(5, 99, (4, 11))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[2, 7:] = 0
    return [{"input_ids": input_ids, "attention_mask": attention_mask}]


def outputs(model):
    with torch.no_grad():
        result = model(**batches()[0], output_hidden_states=True)
    return result.logits, result.hidden_states


def test_reordering_keeps_a_sequence_classifier_s_outputs_and_sorts_by_importance(teacher):
    logits, _ = outputs(teacher)
    importance = measure_importance(teacher, batches())
    reorder_by_importance(teacher, importance)
    reordered_logits, _ = outputs(teacher)
    torch.testing.assert_close(reordered_logits, logits)
    again = measure_importance(teacher, batches())
    assert torch.all(again.channels[:-1] >= again.channels[1:] - 1e-9)
    for heads, units in zip(again.heads, again.units, strict=True):
        assert torch.all(heads[:-1] >= heads[1:] - 1e-9)
        assert torch.all(units[:-1] >= units[1:] - 1e-9)
    torch.testing.assert_close(again.channels, importance.channels.sort(descending=True).values)


def test_reordering_permutes_the_hidden_states_and_a_token_classifier():
    model = BertForTokenClassification(tiny_bert().config).eval()
    logits, states = outputs(model)
    importance = measure_importance(model, batches())
    reorder_by_importance(model, importance)
    reordered_logits, reordered_states = outputs(model)
    torch.testing.assert_close(reordered_logits, logits)
    order = importance.channels.argsort(descending=True)
    for state, reordered in zip(states, reordered_states, strict=True):
        torch.testing.assert_close(reordered, state[..., order])


def test_importance_measures_only_real_tokens(teacher):
    padded = batches()
    longer = {name: torch.cat([value, torch.zeros_like(value)], dim=1) for name, value in padded[0].items()}
    longer["input_ids"][:, 11:] = 0
    padded_importance = measure_importance(teacher, [longer])
    plain = measure_importance(teacher, padded)
    # Padding changes no real token's activations (the mask hides it), so only real tokens count.
    torch.testing.assert_close(padded_importance.channels, plain.channels)


def test_a_narrow_student_from_the_reordered_teacher_keeps_its_most_active_channels(teacher):
    reorder_by_importance(teacher, measure_importance(teacher, batches()))
    student = build_distilbert_student(teacher, [0, 3], shape=StudentShape(hidden_size=16))
    table = teacher.bert.embeddings.word_embeddings.weight[:, :16]
    torch.testing.assert_close(student.distilbert.embeddings.word_embeddings.weight, table)


def test_reordering_refuses_a_teacher_that_is_not_bert():
    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=99, dim=32, n_layers=1, n_heads=4))
    with pytest.raises(ValueError, match="reorders a BERT teacher"):
        measure_importance(model, batches())
