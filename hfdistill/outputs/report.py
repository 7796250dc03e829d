"""Measure trained models side by side (quality, size, CPU speed) and write the comparison table and `report.json`."""

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from huggingface_hub import snapshot_download
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from hfdistill.config.data import DataArguments
from hfdistill.config.paths import write_atomically
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.losses.problems import losses_for
from hfdistill.models.student import (
    count_parameters,
)


@dataclass
class ModelReport:
    """One row of the comparison: what a model scores and costs."""

    name: str
    path: str
    metrics: dict[str, float]
    parameters: int
    size_mb: float
    latency_ms_batch1: float
    throughput_batch32: float
    gpu_latency_ms_batch1: float | None = None  # measured when a CUDA GPU is present
    gpu_throughput_batch32: float | None = None


def size_on_disk_mb(name_or_path: str | Path) -> float:
    """Megabytes of a model's weight files (`*.safetensors`, else `*.bin`): a saved folder, or a Hub id's snapshot."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        folder = Path(snapshot_download(str(name_or_path), allow_patterns=["*.safetensors", "*.bin"]))
    files = list(folder.glob("*.safetensors")) or list(folder.glob("*.bin"))
    if not files:
        raise FileNotFoundError(f"no weight files in {folder}")
    return sum(f.stat().st_size for f in files) / 1e6


def latency_ms(run: Callable[[dict], object], encoded: list[dict], warmup: int = 32) -> float:
    """Median milliseconds of `run(inputs)` at batch size 1 over `encoded` (tokenised single texts)."""
    for inputs in encoded[:warmup]:
        run(inputs)
    timings = []
    for inputs in encoded:
        start = time.perf_counter()
        run(inputs)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1e3


def throughput(run: Callable[[dict], object], batches: list[dict]) -> float:
    """Examples per second through `run(inputs)` over `batches` (tokenised, padded batches)."""
    run(batches[0])  # warm-up
    start = time.perf_counter()
    for inputs in batches:
        run(inputs)
    return sum(len(inputs["input_ids"]) for inputs in batches) / (time.perf_counter() - start)


@torch.inference_mode()
def cpu_latency_ms(model: PreTrainedModel, encoded: list[dict], warmup: int = 32) -> float:
    """Median milliseconds of one forward pass at batch size 1 over `encoded`, on the CPU."""
    model = model.to("cpu").eval()
    return latency_ms(lambda inputs: model(**inputs), encoded, warmup)


@torch.inference_mode()
def cpu_throughput(model: PreTrainedModel, batches: list[dict]) -> float:
    """Examples per second through the model on the CPU over `batches`."""
    model = model.to("cpu").eval()
    return throughput(lambda inputs: model(**inputs), batches)


@torch.inference_mode()
def gpu_speed(model: PreTrainedModel, singles: list[dict], batches: list[dict]) -> tuple[float, float]:
    """Batch-1 latency (ms) and batch-32 throughput (ex/s) on the first CUDA GPU, synchronised after each call."""
    model = model.to("cuda").eval()

    def run(inputs):
        model(**{name: value.to("cuda") for name, value in inputs.items()})
        torch.cuda.synchronize()

    speed = latency_ms(run, singles), throughput(run, batches)
    model.to("cpu")
    return speed


def timing_inputs(test_dataset, collator, singles: int = 128, batched: int = 768) -> tuple[list[dict], list[dict]]:
    """The timing workload, from the tokenised test split (so inputs are cut at `max_seq_length`, as they are scored
    and served): the first `singles` rows one at a time for latency, batches of 32 over the first `batched` rows for
    throughput."""
    rows = test_dataset.remove_columns([name for name in test_dataset.column_names if name == "labels"])
    single = [collator([rows[i]]) for i in range(min(singles, len(rows)))]
    count = min(batched, len(rows))
    batches = [collator([rows[j] for j in range(i, min(i + 32, count))]) for i in range(0, count, 32)]
    return single, batches


def measure_all(
    models: dict[str, PreTrainedModel],
    folders: dict[str, str],
    metrics: dict,
    singles: list[dict],
    batches: list[dict],
    rounds: int = 5,
) -> list[ModelReport]:
    """Size and CPU speed of saved models, with quality metrics measured elsewhere; one `ModelReport` each.

    Latency is at batch 1 over `singles`, throughput over `batches` (see `timing_inputs`). The models are timed
    round-robin and each keeps its best round, so no model pays for running first or after a larger one.
    """
    latencies = {name: [] for name in models}
    throughputs = {name: [] for name in models}
    with tqdm(total=rounds * len(models), desc="Timing on the CPU") as progress:
        for _ in range(rounds):
            for name, model in models.items():
                latencies[name].append(cpu_latency_ms(model, singles))
                throughputs[name].append(cpu_throughput(model, batches))
                progress.update()
    gpu = (
        {name: gpu_speed(model, singles, batches) for name, model in models.items()}
        if torch.cuda.is_available()
        else {}
    )
    return [
        ModelReport(
            name=name,
            path=str(folders[name]),
            metrics=metrics[name],
            parameters=count_parameters(model),
            size_mb=round(size_on_disk_mb(folders[name]), 2),
            latency_ms_batch1=round(min(latencies[name]), 2),
            throughput_batch32=round(max(throughputs[name]), 1),
            gpu_latency_ms_batch1=round(gpu[name][0], 2) if gpu else None,
            gpu_throughput_batch32=round(gpu[name][1], 1) if gpu else None,
        )
        for name, model in models.items()
    ]


def retention(value: float, reference: float) -> float | None:
    """`value` as a percentage of `reference`; None when the reference scores 0 (a teacher that learned nothing)."""
    return round(100.0 * value / reference, 2) if reference else None


def percent(value: float | None) -> str:
    """A table cell for a percentage, or a dash for none."""
    return "—" if value is None else f"{value:.1f}%"


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    """A Markdown table: a header of `columns`, then one line per row of already formatted cells."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows])


def comparison_table(
    rows: list[ModelReport], metric: str, paired: dict[str, float] | None = None, test: str = "McNemar"
) -> str:
    """A Markdown table of `rows`; retention (of `metric`) and speed-ups are against the first row (the teacher).
    With `paired` (row name -> the p-value of `test` against the no-KD student), a column says it for those rows."""
    reference = rows[0]
    gpu = all(row.gpu_latency_ms_batch1 is not None for row in rows)
    columns = ["model", metric, f"retention of {metric}", "parameters", "size (MB)", "CPU latency b=1 (ms)"]
    columns += ["CPU throughput b=32 (ex/s)", "CPU speed-up b=1", "CPU speed-up b=32"]
    columns += ["GPU latency b=1 (ms)", "GPU throughput b=32 (ex/s)"] if gpu else []
    columns += [f"{test} p vs no KD"] if paired else []
    cells = []
    for row in rows:
        line = [
            row.name,
            f"{row.metrics[metric]:.4f}",
            percent(retention(row.metrics[metric], reference.metrics[metric])),
            f"{row.parameters / 1e6:.1f}M",
            f"{row.size_mb:.1f}",
            f"{row.latency_ms_batch1:.2f}",
            f"{row.throughput_batch32:.0f}",
            f"{reference.latency_ms_batch1 / row.latency_ms_batch1:.2f}x",
            f"{row.throughput_batch32 / reference.throughput_batch32:.2f}x",
        ]
        if gpu:
            line += [f"{row.gpu_latency_ms_batch1:.2f}", f"{row.gpu_throughput_batch32:.0f}"]
        if paired:
            line.append(f"{paired[row.name]:.2g}" if row.name in paired else "—")
        cells.append(line)
    return markdown_table(columns, cells)


def machine_description() -> str:
    """What the figures were measured on: CPU model, core count and torch threads."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def write_json(path: str | Path, content: dict) -> dict:
    """Write `content` as JSON after the date and the machine it was measured on; return what was written."""
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(),
        **content,
    }
    write_atomically(Path(path), json.dumps(report, indent=2) + "\n")  # a crash leaves the old file or the new
    return report


def write_report(path: str | Path, rows: list[ModelReport], metric: str, extra: dict | None = None) -> dict:
    """Write `report.json` holding every row, retention and speed-up against the first row, and run details."""
    reference = rows[0]
    report = {
        "metric": metric,
        "models": [
            {
                **asdict(row),
                "retention_percent": retention(row.metrics[metric], reference.metrics[metric]),
                "speedup_batch1": round(reference.latency_ms_batch1 / row.latency_ms_batch1, 2),
                "speedup_batch32": round(row.throughput_batch32 / reference.throughput_batch32, 2),
            }
            for row in rows
        ],
        **(extra or {}),
    }
    return write_json(path, report)


STUDENT, BASELINE, STATIC = "distilled student", "student without KD", "static student"


REPORTED_SETTINGS = (
    "kd_loss_weight",
    "hidden_loss_weight",
    "hidden_loss",
    "attention_loss_weight",
    "attention_loss",
    "student_architecture",
    "student_hidden_size",
    "student_num_attention_heads",
    "student_intermediate_size",
    "student_init",
    "num_train_epochs",
    "learning_rate",
    "per_device_train_batch_size",
    "bf16",
    "fp16",
    "seed",
)


def run_settings(
    args, data_args: DataArguments, pipeline_args: PipelineArguments, teacher_path: str, layers, problem_type=None
) -> dict:
    """What a reader of the report or the card needs to reproduce the run; the temperature as the loss of
    `problem_type` used it (None where it softens nothing: regression)."""
    return {
        "task": data_args.task,
        "teacher": teacher_path,
        "dataset": data_args.dataset_name,
        "transfer_dataset": data_args.transfer_dataset,
        "augment_copies": data_args.augment_copies,
        "pipeline": asdict(pipeline_args),
        "distillation": {
            "student_layers": layers,
            **{name: getattr(args, name) for name in REPORTED_SETTINGS},
            "temperature": args.kd_temperature if losses_for(problem_type).uses_temperature else None,
        },
    }
