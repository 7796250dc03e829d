import pytest
import torch
from transformers import DistilBertForSequenceClassification

from hfdistill.models.layers import evenly_spread_layers, find_layer_list
from hfdistill.models.student import (
    StudentShape,
    build_distilbert_student,
    build_truncated_student,
    count_parameters,
    load_mapped_weights,
)


def test_evenly_spread_layers_reproduce_distilbert():
    assert evenly_spread_layers(12, 6) == [0, 2, 4, 7, 9, 11]
    assert evenly_spread_layers(6, 3) == [0, 2, 5]
    assert evenly_spread_layers(6, 1) == [5]
    assert evenly_spread_layers(4, 4) == [0, 1, 2, 3]


def inputs():
    torch.manual_seed(1)
    input_ids = torch.randint(1, 99, (3, 9))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 6:] = 0
    return input_ids, attention_mask


def test_distilbert_student_reproduces_teacher_cut_to_the_same_layers(teacher):
    layers = [0, 3]
    student = build_distilbert_student(teacher, layers).eval()
    cut_teacher = build_truncated_student(teacher, layers).eval()
    input_ids, attention_mask = inputs()
    with torch.no_grad():
        student_hidden = student.distilbert(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
        teacher_hidden = cut_teacher.bert(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
    assert len(student_hidden.hidden_states) == len(teacher_hidden.hidden_states) == 3
    for ours, theirs in zip(student_hidden.hidden_states, teacher_hidden.hidden_states, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_truncated_student_matches_full_teacher_on_a_prefix(teacher):
    student = build_truncated_student(teacher, [0, 1]).eval()
    input_ids, attention_mask = inputs()
    with torch.no_grad():
        full = teacher.bert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        cut = student.bert(input_ids=input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(cut.last_hidden_state, full.hidden_states[2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(student.classifier.weight, teacher.classifier.weight)


def test_distilbert_student_config(teacher):
    student = build_distilbert_student(teacher, num_layers=2)
    assert isinstance(student, DistilBertForSequenceClassification)
    assert student.config.n_layers == 2
    assert student.config.dim == teacher.config.hidden_size
    assert student.config.id2label == teacher.config.id2label
    assert count_parameters(student) < count_parameters(teacher)


def test_default_student_is_half_the_teacher(teacher):
    assert build_truncated_student(teacher).config.num_hidden_layers == 2
    assert build_distilbert_student(teacher).config.n_layers == 2


def test_students_do_not_share_tensors_with_the_teacher(teacher):
    student = build_distilbert_student(teacher, [0, 1])
    before = teacher.bert.embeddings.word_embeddings.weight.clone()
    with torch.no_grad():
        student.distilbert.embeddings.word_embeddings.weight.add_(1.0)
    torch.testing.assert_close(teacher.bert.embeddings.word_embeddings.weight, before)


def test_find_layer_list(teacher):
    assert find_layer_list(teacher) == "bert.encoder.layer"


def test_layer_index_out_of_range_names_the_valid_range(teacher):
    with pytest.raises(ValueError, match=r"\[7\] out of range: the teacher has 4 layers, valid indices are 0..3"):
        build_distilbert_student(teacher, [0, 7])
    with pytest.raises(ValueError, match="out of range"):
        build_truncated_student(teacher, [-1])
    with pytest.raises(ValueError, match="student_num_layers must be in 1..4"):
        build_truncated_student(teacher, num_layers=5)


def test_shape_mismatch_names_the_parameter(teacher):
    student = build_distilbert_student(teacher, [0])
    wrong = {"distilbert.embeddings.word_embeddings.weight": torch.zeros(5, 32)}
    with pytest.raises(ValueError, match=r"'distilbert.embeddings.word_embeddings.weight': student \(99, 32\)"):
        load_mapped_weights(student, wrong)


@pytest.mark.parametrize("build", [build_distilbert_student, build_truncated_student])
def test_a_narrow_student_starts_from_leading_slices_of_the_teacher(teacher, build):
    student = build(teacher, [1, 3], shape=StudentShape(hidden_size=16))  # the tiny teacher: 32 wide, 4 heads of 8
    config = student.config
    widths = (
        (config.dim, config.n_heads, config.hidden_dim)
        if config.model_type == "distilbert"
        else (config.hidden_size, config.num_attention_heads, config.intermediate_size)
    )
    assert widths == (16, 2, 18)  # the teacher's head width (8) and feed-forward ratio (37 / 32) kept
    words = student.get_input_embeddings().weight
    torch.testing.assert_close(words, teacher.bert.embeddings.word_embeddings.weight[:, :16])
    query = dict(student.named_parameters())[
        "distilbert.transformer.layer.1.attention.q_lin.weight"
        if config.model_type == "distilbert"
        else "bert.encoder.layer.1.attention.self.query.weight"
    ]
    torch.testing.assert_close(query, teacher.bert.encoder.layer[3].attention.self.query.weight[:16, :16])
    assert count_parameters(student) < count_parameters(teacher) / 2
    input_ids, attention_mask = inputs()
    assert student(input_ids=input_ids, attention_mask=attention_mask).logits.shape == (3, 3)


def test_a_random_student_copies_nothing(teacher):
    student = build_distilbert_student(teacher, [0, 3], shape=StudentShape(hidden_size=16, init="random"))
    words = student.get_input_embeddings().weight
    assert not torch.equal(words, teacher.bert.embeddings.word_embeddings.weight[:, :16])
    wide = build_distilbert_student(teacher, [0], shape=StudentShape(hidden_size=64, init="random"))
    assert wide.config.dim == 64  # wider than the teacher is allowed when nothing is copied


def test_impossible_shapes_are_refused(teacher):
    with pytest.raises(ValueError, match="cannot be wider than it: hidden 64"):
        build_distilbert_student(teacher, [0], shape=StudentShape(hidden_size=64))
    with pytest.raises(ValueError, match="student_hidden_size 16 is not a multiple of student_num_attention_heads 3"):
        build_distilbert_student(teacher, [0], shape=StudentShape(hidden_size=16, num_attention_heads=3))
