"""Export a saved model of any task to ONNX (optionally int8), check it against PyTorch on the test split, and time it.

The exported files go to `<folder>/onnx/` (`model.onnx`, `model_quantized.onnx`), the layout the Hub and
transformers.js use for ONNX weights. Quantisation is onnxruntime's dynamic int8 (weights int8, activations
quantised on the fly), which needs no calibration data.
"""

import inspect
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import EvalPrediction

from hfdistill.config.data import DataArguments
from hfdistill.models.predict import predict
from hfdistill.outputs.report import latency_ms, markdown_table, throughput, timing_inputs, write_json
from hfdistill.tasks.task_data import load_task

logger = logging.getLogger(__name__)

ONNX_OPSET = 17


@dataclass
class ExportedForm:
    """One form of the model, scored and timed on the CPU."""

    name: str
    path: str
    metrics: dict[str, float]
    agreement_percent: float  # test answers the same as the PyTorch model's (`EncoderTask.agreement`)
    size_mb: float
    latency_ms_batch1: float
    throughput_batch32: float


def input_names(model: torch.nn.Module, tokenizer) -> list[str]:
    """The tokenizer outputs the model's forward takes (DistilBERT takes no token_type_ids), in the forward's order.

    The exporter names the graph's inputs by position, so the names must follow the signature, not the tokenizer.
    """
    return [name for name in inspect.signature(model.forward).parameters if name in tokenizer.model_input_names]


def export_onnx(model: torch.nn.Module, tokenizer, path: Path, output_axes: dict[int, str]) -> Path:
    """Write `model` as ONNX with dynamic batch and sequence axes; outputs `logits`, whose dynamic axes are
    `output_axes` (the task's: batch, and sequence for per-token logits)."""
    names = input_names(model, tokenizer)
    sample = tokenizer(["a short text", "a longer text than the first one"], return_tensors="pt", padding=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": output_axes}
    # The TorchScript exporter handles dynamic axes of encoder classifiers directly; dynamo=True needs shape specs.
    torch.onnx.export(
        model.eval(),
        (),
        str(path),
        kwargs={name: sample[name] for name in names},
        input_names=names,
        output_names=["logits"],
        dynamic_axes=dynamic_axes,
        opset_version=ONNX_OPSET,
        dynamo=False,
    )
    return path


def onnx_runner(path: Path, names: list[str]) -> Callable[[dict], np.ndarray]:
    """A function from tokenised inputs (tensors) to logits, through an onnxruntime CPU session."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # the same threads PyTorch is timed with
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda inputs: session.run(["logits"], {name: np.asarray(inputs[name], dtype=np.int64) for name in names})[
        0
    ]


def torch_runner(model: torch.nn.Module, names: list[str]) -> Callable[[dict], np.ndarray]:
    model = model.to("cpu").eval()

    @torch.inference_mode()
    def run(inputs):
        return model(**{name: inputs[name] for name in names}).logits.float().numpy()

    return run


def export_and_check(folder: str, data_args: DataArguments, quantize: bool) -> dict:
    """Export `folder` to ONNX (and int8), score every form on the test split against PyTorch, time them; the report."""
    folder = Path(folder)
    if not (folder / "config.json").is_file() or not list(folder.glob("*.safetensors")):
        raise ValueError(
            f"{folder} is not a saved model folder (config.json and *.safetensors): export a student folder"
        )
    data = load_task(str(folder), data_args)
    model = data.task.load_model(str(folder))
    if model.config.num_labels != len(data.label_names):
        raise ValueError(
            f"{folder} predicts {model.config.num_labels} labels but {data_args.dataset_name} has "
            f"{len(data.label_names)}: check it on the data it was trained for (--dataset_name, --task)"
        )
    names = input_names(model, data.tokenizer)
    onnx_dir = folder / "onnx"
    paths = {
        "PyTorch": folder / "model.safetensors",
        "ONNX": export_onnx(model, data.tokenizer, onnx_dir / "model.onnx", data.task.output_axes),
    }
    if quantize:
        paths["ONNX int8"] = onnx_dir / "model_quantized.onnx"
        quantize_dynamic(str(paths["ONNX"]), str(paths["ONNX int8"]), weight_type=QuantType.QInt8)
    runners = {"PyTorch": torch_runner(model, names)}
    runners |= {name: onnx_runner(path, names) for name, path in paths.items() if name != "PyTorch"}

    test = data.tokenized["test"]
    reference = None
    singles, batches = timing_inputs(test, data.collator)
    forms = []
    for name, run in runners.items():
        logger.info("scoring and timing %s", name)
        prediction = predict(run, test, data.collator)
        prediction = EvalPrediction(data.task.answers(prediction.predictions, model.config), prediction.label_ids)
        reference = prediction.predictions if reference is None else reference
        metrics = data.compute_metrics(prediction)
        forms.append(
            ExportedForm(
                name=name,
                path=str(paths[name]),
                metrics={metric: round(metrics[metric], 4) for metric in data.task.metric_keys},
                agreement_percent=data.task.agreement(prediction.predictions, reference, prediction.label_ids),
                size_mb=round(paths[name].stat().st_size / 1e6, 2),
                latency_ms_batch1=round(min(latency_ms(run, singles) for _ in range(3)), 2),
                throughput_batch32=round(max(throughput(run, batches) for _ in range(3)), 1),
            )
        )
    report = write_json(
        onnx_dir / "export_report.json",
        {
            "model": str(folder),
            "dataset": data_args.dataset_name,
            "test_examples": len(test),
            "forms": [asdict(f) for f in forms],
        },
    )
    report["table"] = export_table(forms, data.task.headline_metric)
    return report


def export_table(forms: list[ExportedForm], metric: str) -> str:
    """A Markdown table of the exported forms against the PyTorch model (the first row)."""
    columns = ["form", metric, "agreement with PyTorch", "size (MB)", "latency b=1 (ms)", "throughput b=32 (ex/s)"]
    rows = [
        [
            form.name,
            f"{form.metrics[metric]:.4f}",
            f"{form.agreement_percent:.2f}%",
            f"{form.size_mb:.1f}",
            f"{form.latency_ms_batch1:.2f}",
            f"{form.throughput_batch32:.0f}",
        ]
        for form in forms
    ]
    return markdown_table(columns, rows)
