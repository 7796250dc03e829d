import json
import math

import pytest
import torch
from datasets import Dataset
from safetensors import safe_open
from transformers import AutoModelForSequenceClassification

from hfdistill import DistillationArguments, DistillationTrainer, build_distilbert_student
from hfdistill.cache.teacher_outputs import TEACHER_LOGITS
from hfdistill.numerics.finite import NonFiniteError
from tests.conftest import tiny_bert


def toy_dataset(n: int = 16, length: int = 8, seed: int = 0) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, 99, (n, length), generator=generator)
    return Dataset.from_dict(
        {
            "input_ids": input_ids.tolist(),
            "attention_mask": torch.ones_like(input_ids).tolist(),
            "token_type_ids": torch.zeros_like(input_ids).tolist(),
            "labels": torch.randint(0, 3, (n,), generator=generator).tolist(),
        }
    )


def make_args(tmp_path, **kwargs):
    defaults = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        num_train_epochs=1,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,  # float32: these tests compare paths that must agree exactly (bfloat16 has its own tests)
        disable_tqdm=True,
        seed=0,
        data_seed=0,
    )
    return DistillationArguments(**{**defaults, **kwargs})


def make_trainer(tmp_path, teacher, shape=None, train_dataset=None, **kwargs):
    torch.manual_seed(0)  # the student's fresh head
    student = build_distilbert_student(teacher, [0, 2], shape=shape)
    return DistillationTrainer(
        model=student,
        teacher_model=teacher,
        args=make_args(tmp_path, **kwargs),
        train_dataset=train_dataset if train_dataset is not None else toy_dataset(),
        eval_dataset=toy_dataset(8, seed=1),
    )


def test_student_learns_teacher_stays_frozen(tmp_path, teacher):
    trainer = make_trainer(tmp_path, teacher)
    student_before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    trainer.train()

    changed = [k for k, v in trainer.model.state_dict().items() if not torch.equal(v, student_before[k])]
    assert "distilbert.transformer.layer.0.attention.q_lin.weight" in changed and "classifier.weight" in changed
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, teacher_before[name]), name
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())

    optimised = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert optimised.isdisjoint(id(p) for p in teacher.parameters())


def test_loss_parts_are_logged(tmp_path, teacher):
    trainer = make_trainer(tmp_path, teacher)
    trainer.train()
    train_logs = [log for log in trainer.state.log_history if "loss" in log]
    assert train_logs and all({"kd_loss", "task_loss"} <= set(log) for log in train_logs)
    first = train_logs[0]
    assert first["loss"] == pytest.approx(0.5 * first["kd_loss"] + 0.5 * first["task_loss"], rel=1e-3)


def test_checkpoint_holds_the_student_only_and_resumes(tmp_path, teacher):
    trainer = make_trainer(tmp_path, teacher, save_strategy="steps", save_steps=2, max_steps=4)
    trainer.train()
    checkpoint = tmp_path / "out" / "checkpoint-2"
    with safe_open(checkpoint / "model.safetensors", "pt") as weights:
        keys = list(weights.keys())
    assert keys and all(not key.startswith("bert.") for key in keys)
    assert json.loads((checkpoint / "config.json").read_text())["model_type"] == "distilbert"
    final = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    resumed = make_trainer(tmp_path, teacher, save_strategy="steps", save_steps=2, max_steps=4)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == 4
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, final[name], msg=name)


def test_evaluate_predict_and_save(tmp_path, teacher):
    trainer = make_trainer(tmp_path, teacher)
    metrics = trainer.evaluate()
    assert metrics["eval_loss"] > 0
    prediction = trainer.predict(toy_dataset(5, seed=2))
    assert prediction.predictions.shape == (5, 3)
    trainer.save_model(str(tmp_path / "saved"))
    reloaded = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "saved"))
    assert reloaded.config.model_type == "distilbert" and reloaded.config.num_labels == 3


def test_gradient_accumulation_gives_the_same_weights(tmp_path):
    """Batch 4 x accumulation 1 and batch 2 x accumulation 2 reach the same student (SGD, no dropout or shuffling)."""
    teacher = tiny_bert(dropout=0.0)
    results = []
    for batch, accumulation in ((4, 1), (2, 2)):
        trainer = make_trainer(
            tmp_path / f"b{batch}",
            teacher,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulation,
            optim="sgd",
            train_sampling_strategy="sequential",
        )
        trainer.train()
        results.append(trainer.model.state_dict())
    for name, value in results[0].items():
        torch.testing.assert_close(results[1][name], value, atol=1e-5, rtol=1e-4, msg=name)


def test_label_count_mismatch_is_refused_before_training(tmp_path, teacher):
    student = build_distilbert_student(tiny_bert(num_labels=2), [0])
    with pytest.raises(ValueError, match="teacher has 3 labels but student has 2"):
        DistillationTrainer(model=student, teacher_model=teacher, args=make_args(tmp_path))


def test_teacher_runs_in_half_precision_when_asked(tmp_path, teacher):
    with torch.no_grad():  # confident soft targets: a random head's are near uniform, and so are the student's
        teacher.classifier.weight.mul_(200.0)
    trainer = make_trainer(tmp_path, teacher, teacher_dtype="bfloat16", max_steps=2)
    assert {p.dtype for p in trainer.teacher.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in trainer.model.parameters()} == {torch.float32}
    trainer.train()
    kd_losses = [log["kd_loss"] for log in trainer.state.log_history if "kd_loss" in log]
    assert len(kd_losses) == 2  # one log a step (logging_steps=1)
    assert all(math.isfinite(loss) and loss > 0 for loss in kd_losses)


def test_invalid_teacher_dtype_is_refused(tmp_path):
    with pytest.raises(ValueError, match="teacher_dtype must be one of"):
        make_args(tmp_path, teacher_dtype="int8")


def test_a_teacher_is_required(tmp_path):
    args = DistillationArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    with pytest.raises(ValueError, match="needs a teacher_model"):
        DistillationTrainer(model=tiny_bert(), teacher_model=None, args=args)


def online_and_cached_runs(tmp_path, teacher, data, cached, processing_class=None, **arg_overrides) -> list[tuple]:
    """Train the same student (same seed) with the teacher online on `data` and from the outputs in `cached`; the
    logged KD losses and the final weights of each."""
    runs = []
    for teacher_model, train in ((teacher, data), (None, cached)):
        torch.manual_seed(0)
        args = make_args(tmp_path / str(teacher_model is None), optim="sgd", **arg_overrides)
        student = build_distilbert_student(teacher, [0, 2])
        trainer = DistillationTrainer(
            model=student,
            teacher_model=teacher_model,
            args=args,
            train_dataset=train,
            processing_class=processing_class,
        )
        trainer.train()
        runs.append(([log["kd_loss"] for log in trainer.state.log_history if "loss" in log], student.state_dict()))
    return runs


def test_precomputed_teacher_logits_give_the_online_losses_and_weights(tmp_path):
    """A `teacher_logits` column replaces the teacher's forward pass exactly (fp32, no dropout, no shuffling)."""
    teacher = tiny_bert(dropout=0.0).eval()
    data = toy_dataset()
    with torch.no_grad():
        teacher.classifier.weight.mul_(200.0)  # confident soft targets, so that the KD term weighs in the loss
        logits = teacher(
            **{name: torch.tensor(data[name]) for name in ("input_ids", "attention_mask", "token_type_ids")}
        )
    cached = data.add_column(TEACHER_LOGITS, logits.logits.tolist())
    runs = online_and_cached_runs(tmp_path, teacher, data, cached, train_sampling_strategy="sequential")
    (online_losses, online_weights), (cached_losses, cached_weights) = runs
    assert len(online_losses) == 4 and min(online_losses) > 0.01
    assert cached_losses == pytest.approx(online_losses, rel=1e-4)
    for name, value in online_weights.items():
        torch.testing.assert_close(cached_weights[name], value, atol=1e-6, rtol=1e-5, msg=name)


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, teacher):
    trainer = make_trainer(
        tmp_path, teacher, max_steps=6, per_device_train_batch_size=2, save_strategy="steps", save_steps=2
    )

    def poison(_module, _inputs, output):  # the student's logits turn to NaN from the 4th step on
        if trainer.state.global_step >= 3:
            output.logits = output.logits * float("nan")
        return output

    trainer.model.register_forward_hook(poison)
    with pytest.raises(
        NonFiniteError, match=r"stopped at step 4: loss, kd_loss, task_loss not finite .*--learning_rate"
    ):
        trainer.train()
    output = tmp_path / "out"
    assert sorted(path.name for path in output.glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (output / "model.safetensors").exists()
    restored = AutoModelForSequenceClassification.from_pretrained(output / "checkpoint-2")
    assert all(torch.isfinite(value).all() for value in restored.state_dict().values())


def test_non_finite_teacher_outputs_stop_the_run(tmp_path, teacher):
    with torch.no_grad():
        teacher.classifier.bias.fill_(float("inf"))
    trainer = make_trainer(tmp_path, teacher, max_steps=2)
    with pytest.raises(NonFiniteError, match="step 1: the teacher's outputs, loss, kd_loss not finite"):
        trainer.train()
