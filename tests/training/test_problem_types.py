"""A regression student and a multi-label student distil through the same trainer, their config choosing the loss."""

import math

import pytest
import torch
from datasets import Dataset

from hfdistill import DistillationTrainer, build_distilbert_student
from hfdistill.cache.logits import cache_teacher_logits
from tests.conftest import tiny_bert
from tests.training.test_trainer import make_args


def rows(n: int, labels) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, 99, (n, 8), generator=generator)
    return Dataset.from_dict(
        {"input_ids": input_ids.tolist(), "attention_mask": torch.ones_like(input_ids).tolist(), "labels": labels}
    )


def teacher_of(problem_type: str, num_labels: int):
    teacher = tiny_bert(num_labels=num_labels)
    teacher.config.problem_type = problem_type
    return teacher.eval()


NAN = float("nan")
CASES = {  # the labels of 12 rows, the last four transfer rows (NaN)
    "regression": (1, [0.5 * i for i in range(8)] + [NAN] * 4),
    "multi_label_classification": (3, [[float(i % 2), float(i % 3 == 0), 0.0] for i in range(8)] + [[NAN] * 3] * 4),
}


@pytest.mark.parametrize("problem_type", CASES)
def test_the_student_learns_with_its_problem_types_loss_on_labelled_and_transfer_rows(problem_type, tmp_path):
    num_labels, labels = CASES[problem_type]
    teacher = teacher_of(problem_type, num_labels)
    student = build_distilbert_student(teacher, [0, 2])
    assert student.config.problem_type == problem_type  # the student predicts what its teacher predicts
    trainer = DistillationTrainer(
        student, teacher, make_args(tmp_path, num_train_epochs=2), train_dataset=rows(12, labels),
        eval_dataset=rows(4, labels[:4]),
    )  # fmt: skip
    before = {name: p.clone() for name, p in student.named_parameters()}
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "kd_loss" in entry]
    assert logged and all(math.isfinite(entry["loss"]) and entry["kd_loss"] >= 0 for entry in logged)
    assert any(not torch.equal(before[name], p) for name, p in student.named_parameters())
    assert math.isfinite(trainer.evaluate()["eval_loss"])


@pytest.mark.parametrize("problem_type", CASES)
def test_cached_and_online_teachers_give_the_same_loss(problem_type, tmp_path, tokenizer):
    num_labels, labels = CASES[problem_type]
    teacher, dataset = teacher_of(problem_type, num_labels), rows(12, labels)
    args = make_args(tmp_path, teacher_cache_dir=str(tmp_path / "cache"), remove_unused_columns=False)
    cached = cache_teacher_logits(dataset, teacher, tokenizer, args)
    losses = []
    for model, train in ((teacher, dataset), (None, cached)):
        torch.manual_seed(0)
        student = build_distilbert_student(teacher, [0, 2])
        trainer = DistillationTrainer(student, model, args, train_dataset=train)
        batch = trainer.data_collator([train[i] for i in range(4)])
        losses.append(trainer.compute_loss(student.train(), batch).item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def test_a_temperature_for_a_regression_student_is_refused(tmp_path):
    teacher = teacher_of("regression", 1)
    with pytest.raises(ValueError, match="temperature 4.0 does not apply to regression.*drop --temperature"):
        DistillationTrainer(
            build_distilbert_student(teacher, [0]), teacher, make_args(tmp_path, temperature=4.0),
            train_dataset=rows(4, [0.0, 1.0, 2.0, 3.0]),
        )  # fmt: skip
