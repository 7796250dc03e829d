"""The intermediate-layer losses inside the trainer: layer map, projections, hooks, and what the trainer asks for."""

import pytest
import torch
from datasets import Dataset
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification

from hfdistill import DistillationTrainer
from hfdistill.cache.teacher_outputs import TEACHER_LOGITS
from hfdistill.losses.attention import relation_log_probs
from hfdistill.models.student import StudentShape, build_distilbert_student, count_parameters
from hfdistill.training.intermediate import capture_qkv, default_layer_map, projection_keys
from tests.conftest import tiny_bert

from .test_trainer import make_args, make_trainer, toy_dataset

NARROW = StudentShape(hidden_size=16)  # 2 heads of 8, half the tiny teacher's width
INTERMEDIATE = dict(hidden_loss_weight=1.0, attention_loss_weight=1.0)


def padded_dataset(n: int = 16, seed: int = 0) -> Dataset:
    """Rows of different lengths, padded with 0 and masked, so that the losses must honour the mask."""
    data = toy_dataset(n, length=10, seed=seed).to_dict()
    generator = torch.Generator().manual_seed(seed)
    for row, length in enumerate(torch.randint(3, 11, (n,), generator=generator).tolist()):
        data["input_ids"][row][length:] = [0] * (10 - length)
        data["attention_mask"][row][length:] = [0] * (10 - length)
    return Dataset.from_dict(data)


def test_default_layer_map_spreads_from_embeddings_to_the_last_layer():
    assert default_layer_map(3, 6) == [0, 2, 4, 6]
    assert default_layer_map(2, 4) == [0, 2, 4]
    assert default_layer_map(1, 6) == [0, 6]


def test_queries_and_keys_give_the_models_own_attention(teacher):
    """The hooked queries and keys, split into the model's heads, are exactly its attention distributions."""
    teacher.set_attn_implementation("eager")
    inputs = padded_dataset(4)[:4]
    inputs = {name: torch.tensor(value) for name, value in inputs.items() if name != "labels"}
    with torch.no_grad(), capture_qkv(teacher, [1, 3]) as captured:
        attentions = teacher(**inputs, output_attentions=True).attentions
    mask = inputs["attention_mask"]
    for layer in (1, 3):
        queries, keys, _ = captured[layer]
        probs = relation_log_probs(queries, keys, mask, teacher.config.num_attention_heads).exp()
        real = mask.bool()[:, None, :, None]  # rows of padding queries are not compared (never counted)
        torch.testing.assert_close(probs * real, attentions[layer] * real, atol=1e-5, rtol=1e-4)


def test_the_teacher_runs_once_per_training_batch_with_every_term(tmp_path, teacher):
    calls = []
    teacher.register_forward_hook(lambda module, args, kwargs_output: calls.append(1))
    trainer = make_trainer(tmp_path, teacher, shape=NARROW, **INTERMEDIATE)
    trainer.train()
    assert trainer.state.global_step == 4 and len(calls) == 4


def test_intermediate_outputs_are_requested_only_when_weighted(tmp_path, teacher):
    requested = []
    teacher.register_forward_pre_hook(
        lambda module, args, kwargs: requested.append(kwargs.get("output_hidden_states")), with_kwargs=True
    )
    make_trainer(tmp_path / "plain", teacher, max_steps=1).train()
    assert requested == [None]
    trainer = make_trainer(tmp_path / "hidden", teacher, max_steps=1, hidden_loss_weight=0.5)
    trainer.train()
    assert requested == [None, True]
    logged = next(log for log in trainer.state.log_history if "loss" in log)
    assert {"kd_loss", "task_loss", "hidden_loss"} <= set(logged) and "attention_loss" not in logged


@pytest.mark.parametrize("attention_loss", ["relation", "kl"])
@pytest.mark.parametrize("hidden_loss", ["mse", "cosine"])
def test_loss_parts_are_logged_and_blended(tmp_path, teacher, attention_loss, hidden_loss):
    shape = NARROW if attention_loss == "relation" else StudentShape(hidden_size=16, num_attention_heads=4)
    trainer = make_trainer(
        tmp_path,
        teacher,
        shape=shape,
        hidden_loss=hidden_loss,
        attention_loss=attention_loss,
        hidden_loss_weight=0.7,
        attention_loss_weight=3.0,
    )
    trainer.train()
    for log in (log for log in trainer.state.log_history if "loss" in log):
        blend = 0.5 * log["kd_loss"] + 0.5 * log["task_loss"] + 0.7 * log["hidden_loss"] + 3.0 * log["attention_loss"]
        assert log["hidden_loss"] > 0 and log["attention_loss"] > 0
        assert log["loss"] == pytest.approx(blend, rel=2e-3, abs=2e-4)


def test_gradient_accumulation_gives_the_same_weights_with_intermediate_terms(tmp_path):
    """Batch 4 x accumulation 1 equals batch 2 x accumulation 2 with hidden and relation losses on padded rows."""
    teacher = tiny_bert(dropout=0.0).eval()
    results = []
    for batch, accumulation in ((4, 1), (2, 2)):
        trainer = make_trainer(
            tmp_path / f"b{batch}",
            teacher,
            shape=NARROW,
            train_dataset=padded_dataset(),
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulation,
            optim="sgd",
            learning_rate=0.1,
            train_sampling_strategy="sequential",
            **INTERMEDIATE,
        )
        trainer.train()
        results.append({name: value.clone() for name, value in trainer.model.state_dict().items()})
    assert any(name.startswith("distillation_projections") for name in results[0])
    for name, value in results[0].items():
        torch.testing.assert_close(results[1][name], value, atol=1e-5, rtol=1e-4, msg=name)


def saved_keys(folder) -> set[str]:
    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        return set(weights.keys())


def test_projections_train_but_are_never_saved(tmp_path, teacher):
    trainer = make_trainer(
        tmp_path, teacher, shape=NARROW, hidden_loss_weight=1.0, save_strategy="steps", save_steps=2
    )
    student = trainer.model
    before = {name: student.state_dict()[name].clone() for name in projection_keys(student)}
    assert len(before) == 2 * 3  # a weight and a bias for each of the 3 mapped hidden states
    trainer.train()
    assert all(not torch.equal(student.state_dict()[name], value) for name, value in before.items())
    # checkpoints keep them (a resumed run continues them); the student's own save does not
    assert saved_keys(tmp_path / "out" / "checkpoint-4") >= set(before)

    trainer.save_model(str(tmp_path / "saved"))
    saved = saved_keys(tmp_path / "saved")
    assert not [name for name in saved if "projection" in name]
    reloaded = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "saved"))
    fresh = build_distilbert_student(teacher, [0, 2], shape=NARROW)
    assert count_parameters(reloaded) == count_parameters(fresh) and reloaded.config.dim == 16
    for name, value in reloaded.state_dict().items():
        torch.testing.assert_close(value, student.state_dict()[name], msg=name)


def test_equal_widths_need_no_projection(tmp_path, teacher):
    trainer = make_trainer(tmp_path, teacher, hidden_loss_weight=1.0, max_steps=1)
    assert projection_keys(trainer.model) == []
    trainer.train()


def test_attention_kl_with_other_head_counts_is_refused(tmp_path, teacher):
    with pytest.raises(ValueError, match="attention_loss='kl' needs equal head counts"):
        make_trainer(tmp_path, teacher, shape=NARROW, attention_loss_weight=1.0, attention_loss="kl")


def test_relation_heads_must_divide_both_widths(tmp_path, teacher):
    with pytest.raises(ValueError, match="relation_heads=3 must divide both widths"):
        make_trainer(tmp_path, teacher, shape=NARROW, attention_loss_weight=1.0, relation_heads=3)


def test_a_layer_map_of_the_wrong_length_is_refused(tmp_path, teacher):
    with pytest.raises(ValueError, match="distill_layer_map has 2 entries but the student has 3 hidden states"):
        make_trainer(tmp_path, teacher, hidden_loss_weight=1.0, distill_layer_map=[0, 4])
    with pytest.raises(ValueError, match=r"distill_layer_map entries \[5\] out of range"):
        make_trainer(tmp_path, teacher, hidden_loss_weight=1.0, distill_layer_map=[0, 2, 5])


def test_intermediate_terms_cannot_read_the_teacher_cache(tmp_path, teacher):
    data = toy_dataset()
    cached = data.add_column(TEACHER_LOGITS, [[0.0, 0.0, 0.0]] * len(data))
    with pytest.raises(ValueError, match="the teacher-output cache does not hold"):
        DistillationTrainer(
            model=build_distilbert_student(teacher, [0]),
            teacher_model=None,
            args=make_args(tmp_path, hidden_loss_weight=1.0),
            train_dataset=cached,
        )


def test_negative_weights_are_refused(tmp_path):
    with pytest.raises(ValueError, match="hidden_loss_weight must be >= 0"):
        make_args(tmp_path, hidden_loss_weight=-1.0)
