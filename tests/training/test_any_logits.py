"""`DistillationTrainer` with plain `nn.Module`s: any outputs with logits, any architectures, and the digits example."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from hfdistill import DistillationArguments, DistillationTrainer
from hfdistill.losses.common import UNLABELLED
from hfdistill.training.trainer import model_output

ROOT = Path(__file__).resolve().parents[2]


class Linear(nn.Module):
    """A classifier over 6 features that returns its logits as a tensor, a tuple or a `ModelOutput`."""

    def __init__(self, returns: str, num_labels: int = 3, hidden: int = 0):
        super().__init__()
        self.returns = returns
        self.body = nn.Sequential(nn.Linear(6, hidden), nn.ReLU(), nn.Linear(hidden, num_labels)) if hidden else None
        self.body = self.body or nn.Linear(6, num_labels)
        self.calls = 0

    def forward(self, features):
        self.calls += 1
        logits = self.body(features)
        if self.returns == "tuple":
            return (logits, features)
        if self.returns == "output":
            return SequenceClassifierOutput(logits=logits)
        return logits


def features_data(rows: int = 32) -> Dataset:
    torch.manual_seed(0)
    x = torch.randn(rows, 6)
    return Dataset.from_dict({"features": x.tolist(), "labels": x[:, :3].argmax(-1).tolist()}).with_format("torch")


def args(tmp_path, **overrides) -> DistillationArguments:
    settings = dict(
        output_dir=str(tmp_path), per_device_train_batch_size=8, num_train_epochs=1, learning_rate=1e-2,
        report_to="none", save_strategy="no", use_cpu=True, logging_steps=1, disable_tqdm=True,
    )  # fmt: skip
    return DistillationArguments(**(settings | overrides))


@pytest.mark.parametrize("returns", ["tensor", "tuple", "output"])
def test_plain_modules_of_different_architectures_distil(tmp_path, returns):
    teacher = Linear("output", hidden=16).eval()  # a deeper teacher with another output type
    student = Linear(returns)
    before = student.body.weight.detach().clone()
    trainer = DistillationTrainer(
        model=student, teacher_model=teacher, args=args(tmp_path), train_dataset=features_data()
    )
    trainer.train()
    assert not torch.equal(before, student.body.weight)
    assert teacher.calls == 4  # once per training batch: 32 rows / 8
    logged = [entry for entry in trainer.state.log_history if "kd_loss" in entry]
    assert len(logged) == 4 and all(entry["kd_loss"] > 0 for entry in logged)


def test_plain_modules_evaluate_with_their_logits(tmp_path):
    student = Linear("tensor")
    trainer = DistillationTrainer(
        model=student, teacher_model=Linear("tensor").eval(), args=args(tmp_path), eval_dataset=features_data(8)
    )
    prediction = trainer.predict(features_data(8))
    assert prediction.predictions.shape == (8, 3) and prediction.label_ids.shape == (8,)


def test_logit_shapes_that_differ_are_refused_with_a_message(tmp_path):
    trainer = DistillationTrainer(
        model=Linear("tensor", num_labels=3),
        teacher_model=Linear("tensor", num_labels=4).eval(),
        args=args(tmp_path),
        train_dataset=features_data(),
    )
    with pytest.raises(ValueError, match="teacher's logits have 4 classes but the student's 3"):
        trainer.train()


def test_outputs_without_logits_are_refused():
    with pytest.raises(ValueError, match="no 'logits'"):
        model_output({"embedding": torch.zeros(1)})
    with pytest.raises(TypeError, match="tensor, a tuple whose first item is the logits, or a ModelOutput"):
        model_output("logits")


def test_the_digits_example_distils_a_cnn_on_a_slice(tmp_path):
    report = tmp_path / "report.json"
    command = [
        sys.executable, str(ROOT / "scripts" / "distil_digits_cnn.py"), "--output_dir", str(tmp_path),
        "--report_json", str(report), "--seeds", "0", "--temperatures", "1", "4", "--teacher_epochs", "6",
        "--student_epochs", "4", "--max_train_samples", "400",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(report.read_text())["seeds"][0]
    assert result["chosen_temperature"] in (1.0, 4.0)
    assert set(result["validation_accuracy_by_temperature"]) == {"1.0", "4.0"}
    assert result["test_accuracy"]["teacher"] > 0.8  # a CNN learns the digits from 400 images
    assert "| seed | chosen T | teacher | distilled student | student without KD |" in done.stdout


def test_the_digits_example_refuses_a_bad_temperature(capsys):
    spec = importlib.util.spec_from_file_location("distil_digits_cnn", ROOT / "scripts" / "distil_digits_cnn.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--temperatures", "0"]) == 2
    assert "temperatures must be > 0" in capsys.readouterr().err


def test_the_digits_students_see_a_tenth_of_the_labels_and_the_distilled_one_the_rest_as_transfer_images():
    spec = importlib.util.spec_from_file_location("distil_digits_cnn", ROOT / "scripts" / "distil_digits_cnn.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    train = script.digit_splits(seed=0)["train"]
    labelled, with_transfer = script.student_splits(train, 0.1, seed=0)
    assert abs(len(labelled) - 0.1 * len(train)) <= 1 and len(with_transfer) == len(train)
    labels = [int(label) for label in with_transfer["labels"]]
    assert labels.count(UNLABELLED) == len(train) - len(labelled)
    kept = [int(label) for label in labelled["labels"]]
    assert sorted(label for label in labels if label != UNLABELLED) == sorted(kept)
    assert set(kept) == set(range(10))  # stratified: every digit keeps labelled images
    assert script.main(["--label_fraction", "0"]) == 2
