import pytest
import torch

from hfdistill.config.data import DataArguments
from hfdistill.config.training import DistillationArguments


def args(**kwargs):
    return DistillationArguments(output_dir="unused", report_to="none", **kwargs)


def test_defaults_are_valid():
    parsed = args()
    assert parsed.temperature is None and parsed.kd_temperature == 2.0 and parsed.kd_loss_weight == 0.5


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match=f"temperature must be > 0, got {temperature}"):
        args(temperature=temperature)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_kd_loss_weight_must_be_in_unit_interval(weight):
    with pytest.raises(ValueError, match=rf"kd_loss_weight must be in \[0, 1\], got {weight}"):
        args(kd_loss_weight=weight)


def test_layer_choices_are_checked():
    with pytest.raises(ValueError, match="repeated indices"):
        args(student_layers=[0, 0])
    with pytest.raises(ValueError, match="out of range"):
        args(student_layers=[-2])
    with pytest.raises(ValueError, match="student_num_layers is 3"):
        args(student_layers=[0, 1], student_num_layers=3)


def test_data_argument_checks():
    with pytest.raises(ValueError, match="test_size must be in"):
        DataArguments(test_size=1.5)
    with pytest.raises(ValueError, match="must leave data to train on"):
        DataArguments(validation_size=0.5, test_size=0.5)


@pytest.mark.parametrize("engine", ["FSDP", "DEEPSPEED"])
def test_an_engine_that_needs_an_accelerator_is_refused_on_the_cpu(tmp_path, monkeypatch, engine):
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    monkeypatch.setenv(f"ACCELERATE_USE_{engine}", "true")
    with pytest.raises(ValueError, match=f"{engine} was asked for .* no GPU or other accelerator"):
        DistillationArguments(output_dir=str(tmp_path))


@pytest.mark.parametrize("native", [True, False])
def test_bf16_defaults_to_what_the_hardware_computes_natively(tmp_path, monkeypatch, native):
    monkeypatch.setattr("hfdistill.config.training.native_bf16", lambda: native)
    args = DistillationArguments(output_dir=str(tmp_path), report_to="none")
    assert args.bf16 is native
    if native and not torch.accelerator.is_available():
        assert args.use_cpu  # transformers refuses bf16 without a GPU unless use_cpu says the CPU is meant
    explicit = DistillationArguments(output_dir=str(tmp_path), report_to="none", bf16=False)
    assert explicit.bf16 is False
