"""What distillation costs against plain fine-tuning, with and without the teacher-output cache.

    python benchmarks/distillation_cost.py                     # the quickstart's pair and data, 2 epochs, 2 rounds (~45 min on 2 CPU cores)
    python benchmarks/distillation_cost.py --teacher_name_or_path outputs/quickstart/teacher   # skip the teacher's fine-tuning

The same student, from the same saved initialisation, with the same seed (so the same batches), is trained four ways:

- floor:  plain fine-tuning, no teacher (the cost to beat);
- online: `DistillationTrainer` running the teacher on every batch;
- cold:   the teacher runs once over the training set into an empty cache, then training reads it;
- warm:   the cache is already there: the teacher is neither loaded nor run.

Each way runs in its own process and is timed, and its peak RSS taken (Linux: the peak count is restarted once the
data and the student are loaded, the same for every way), from then until training ends; the teacher's loading and
the cache's building or checking fall inside.
The ideal is measured in a bare loop, in its own process, just before and just after every way (a virtual machine's
speed drifts by 10-20% over minutes, so an ideal taken once per run is no yardstick): the student's step (forward,
backward, clipping, the Trainer's optimizer) and the teacher's forward, on the training batches of one epoch. Each
measurement times every other batch, starting one batch later than the one before, so the two around a way together
time the whole epoch once. Its ideal time is the student steps its schedule takes plus the teacher forwards it takes
(every batch online, one epoch's worth for a cold cache, none when warm).
Every way runs `--rounds` times (in order, then in reverse, ...). Throughput is the fastest round's; the ratio to the
ideal is the mean over rounds of each run against its own ideal. Prints a table and writes
`<output_dir>/distillation_cost.json` (every round's figures included). Timings are figures, never test assertions.
"""

import json
import math
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from flags import parse_flags
from transformers import AutoConfig, AutoModelForSequenceClassification, Trainer, set_seed

from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.config.builtin import DEPTH_ONLY_DEFAULTS
from hfdistill.config.data import DataArguments
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.models.layers import resolve_layers
from hfdistill.models.student import build_student, freeze_input_embeddings
from hfdistill.outputs.report import markdown_table, write_json
from hfdistill.run.commands import train_teacher
from hfdistill.tasks.task_data import load_task
from hfdistill.training.trainer import DistillationTrainer

WAYS = ("floor", "online", "cold", "warm")
WARMUP_BATCHES = 3


@dataclass
class BenchmarkArguments:
    """What the benchmark trains, and where it keeps its work."""

    output_dir: str = field(
        default="benchmarks/results/distillation_cost",
        metadata={"help": "Work folder: teacher, student initialisation, cache, one folder per way, the JSON."},
    )
    teacher_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "A teacher already fine-tuned on the data (e.g. outputs/quickstart/teacher). Default: fine-tune "
            "all-MiniLM-L6-v2 for one epoch first, as the quickstart does."
        },
    )
    num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs of every way (the quickstart's 2)."})
    ways: list[str] = field(default_factory=lambda: list(WAYS), metadata={"help": f"Which of {WAYS} to run."})
    rounds: int = field(
        default=2,
        metadata={
            "help": "Run every way this many times, in order then in reverse: throughput is the fastest round's, the "
            "ratio to the ideal the mean over rounds (a shared or virtual machine's speed drifts by 10-20% over a run)."
        },
    )
    ideal_stride: int = field(
        default=2,
        metadata={
            "help": "Each ideal measurement times every this-many-th batch of one epoch; successive measurements "
            "start one batch later, so at 2 the two around a way cover the epoch exactly (1: the whole epoch each)."
        },
    )
    ideal_offset: int = field(default=0, metadata={"help": "The first batch an ideal measurement times (internal)."})
    summarise_only: bool = field(
        default=False, metadata={"help": "Print and rewrite the summary of the rounds already saved in output_dir."}
    )
    only: str | None = field(
        default=None, metadata={"help": "Run one way (or 'ideal') in this process; the script calls itself with it."}
    )

    def __post_init__(self):
        unknown = sorted(set(self.ways) - set(WAYS))
        if unknown:
            raise ValueError(f"unknown way {unknown[0]!r}: choose from {WAYS}")
        if "warm" in self.ways and "cold" not in self.ways:
            raise ValueError("'warm' reads the cache that 'cold' builds: run both")
        if self.rounds < 1:
            raise ValueError(f"rounds must be >= 1, got {self.rounds}")
        if not 0 <= self.ideal_offset < self.ideal_stride:
            raise ValueError(f"need 0 <= ideal_offset < ideal_stride, got {self.ideal_offset}, {self.ideal_stride}")
        if self.only is not None and self.only not in (*WAYS, "ideal"):
            raise ValueError(f"--only must be one of {(*WAYS, 'ideal')}, got {self.only!r}")


def training_args(bench: BenchmarkArguments, output_dir: Path, **overrides) -> DistillationArguments:
    """The quickstart's training settings, without evaluation or checkpoints (they would blur the timing)."""
    names = {f.name for f in fields(DistillationArguments)}
    settings = {name: value for name, value in DEPTH_ONLY_DEFAULTS.items() if name in names}
    settings.update(output_dir=str(output_dir), num_train_epochs=bench.num_train_epochs, eval_strategy="no")
    return DistillationArguments(**{**settings, **overrides})


def prepare(bench: BenchmarkArguments, data_args: DataArguments) -> Path:
    """The fine-tuned teacher and the student's saved initialisation, shared by every way; returns the teacher folder."""
    work = Path(bench.output_dir)
    teacher_path = work / "teacher"
    if bench.teacher_name_or_path is not None:
        teacher_path = Path(bench.teacher_name_or_path)
    elif not (teacher_path / "config.json").is_file():
        print("fine-tuning the teacher (as the quickstart does; not timed)", flush=True)
        args = training_args(bench, teacher_path, num_train_epochs=1.0, learning_rate=1e-4)
        train_teacher(args, data_args, PipelineArguments(freeze_word_embeddings=True, overwrite_output_dir=True))
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path)
    set_seed(training_args(bench, work).seed)  # the student's fresh weights, as in the quickstart
    layers = resolve_layers(AutoConfig.from_pretrained(teacher_path).num_hidden_layers, None, None)
    student = build_student(teacher, "distilbert", layers)
    student.save_pretrained(work / "student-init")
    return teacher_path


def load(teacher_path: Path, work: Path, data_args: DataArguments):
    task = load_task(str(teacher_path), data_args)
    student = AutoModelForSequenceClassification.from_pretrained(work / "student-init")
    freeze_input_embeddings(student)  # as the quickstart does
    return task, student


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS count from the current RSS (Linux); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (Linux `VmHWM`), else since the process started."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_way(way: str, bench: BenchmarkArguments, data_args: DataArguments, teacher_path: Path) -> dict:
    """Train one way in this process; its time, throughput, test accuracy and peak RSS."""
    work = Path(bench.output_dir)
    task, student = load(teacher_path, work, data_args)
    args = training_args(bench, work / way, teacher_cache_dir=str(work / "cache"))
    shared = task.trainer_kwargs()
    process_peak = peak_rss_mb()  # importing, reading and tokenising the data: the same for every way
    reset = reset_peak_rss()
    start = time.perf_counter()
    if way == "floor":
        trainer = Trainer(model=student, args=args, **shared)
    elif way == "online":
        teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path)
        trainer = DistillationTrainer(model=student, teacher_model=teacher, args=args, **shared)
    else:
        train = cache_teacher_logits(
            shared["train_dataset"], str(teacher_path), task.tokenizer, args, task.collator, task.preprocessing
        )
        trainer = DistillationTrainer(
            model=student, teacher_model=None, args=args, **{**shared, "train_dataset": train}
        )
    trainer.train()
    seconds = time.perf_counter() - start
    training_peak = peak_rss_mb()
    accuracy = task.score(student)["accuracy"]
    samples = len(task.tokenized["train"]) * bench.num_train_epochs
    return {
        "seconds": round(seconds, 2),
        "optimizer_steps": trainer.state.global_step,
        "samples_per_second": round(samples / seconds, 2),
        "peak_rss_mb": round(training_peak, 1),
        "peak_rss_scope": "training (teacher and cache included)" if reset else "process",
        "peak_rss_before_training_mb": round(process_peak, 1),
        "accuracy": accuracy,
        "accuracy_se": round(math.sqrt(accuracy * (1 - accuracy) / len(task.tokenized["test"])), 4),
        "test_examples": len(task.tokenized["test"]),
    }


def measure_ideal(bench: BenchmarkArguments, data_args: DataArguments, teacher_path: Path) -> dict:
    """The student's steps and the teacher's forwards in a bare loop over every `ideal_stride`-th batch of one
    epoch from `ideal_offset` (lengths as in training), with the per-batch and per-epoch times."""
    work = Path(bench.output_dir)
    task, student = load(teacher_path, work, data_args)
    args = training_args(bench, work / "ideal")
    trainer = Trainer(model=student, args=args, **task.trainer_kwargs())
    batches = list(trainer.get_train_dataloader())
    timed = batches[bench.ideal_offset :: bench.ideal_stride]
    optimizer = trainer.create_optimizer()  # the Trainer's own (fused AdamW by default), on the same parameters
    trainable = [p for p in student.parameters() if p.requires_grad]
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path).eval()
    student.train()

    def student_step(batch):
        student(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def teacher_forward(batch):
        with torch.no_grad():
            teacher(**{name: value for name, value in batch.items() if name != "labels"})

    result = {"batches_per_epoch": len(batches), "offset": bench.ideal_offset, "batches_timed": len(timed)}
    for name, step in (("student_step", student_step), ("teacher_forward", teacher_forward)):
        for batch in batches[:WARMUP_BATCHES]:
            step(batch)
        start = time.perf_counter()
        for batch in timed:
            step(batch)
        result[f"{name}_timed_seconds"] = round(time.perf_counter() - start, 3)
    return per_epoch(result)


def per_epoch(timing: dict) -> dict:
    """`timing` with its per-batch times (ms) and their total over one epoch (seconds)."""
    for name in ("student_step", "teacher_forward"):
        per_batch = timing[f"{name}_timed_seconds"] / timing["batches_timed"]
        timing[f"{name}_ms"] = round(1000 * per_batch, 1)
        timing[f"{name}_seconds"] = round(per_batch * timing["batches_per_epoch"], 2)
    return timing


def pool_ideals(ideals: list[dict]) -> dict:
    """Several ideal measurements as one: every batch they timed, pooled. Two successive measurements at stride 2
    time complementary halves of the epoch, so together they are exactly one epoch."""
    pooled = {"batches_per_epoch": ideals[0]["batches_per_epoch"], "measurements": len(ideals)}
    for name in ("batches_timed", "student_step_timed_seconds", "teacher_forward_timed_seconds"):
        pooled[name] = round(sum(ideal[name] for ideal in ideals), 3)
    return per_epoch(pooled)


def in_subprocess(way: str, argv: list[str], work: Path) -> dict:
    """Run `--only way` in a fresh process (its own peak RSS) and read what it wrote."""
    result_file = work / f"{way}.json"
    result_file.unlink(missing_ok=True)
    subprocess.run([sys.executable, __file__, *argv, "--only", way], check=True)
    return json.loads(result_file.read_text())


def measure_ideal_in_subprocess(child: list[str], work: Path, stride: int, number: int) -> dict:
    """The `number`-th ideal measurement of a round, in its own process, one batch on from the previous one."""
    return in_subprocess("ideal", [*child, "--ideal_offset", str(number % stride)], work)


def round_order(number: int, ways: list[str]) -> list[str]:
    """Odd rounds run the ways in order, even rounds in reverse (ABBA), so a machine that slows down or speeds up
    over the run favours none of them. 'warm' reads the cache that the previous 'cold' left."""
    ordered = [way for way in WAYS if way in ways]
    if number % 2 == 0:
        ordered.reverse()
    return ordered


def best_of(rounds: list[dict]) -> dict:
    """Per way the fastest round (the least disturbed by the machine's other load), the highest peak RSS, and the
    accuracy, which every round must reproduce (same seed, same batches)."""
    results = {}
    for way in [way for way in WAYS if way in rounds[0]["ways"]]:
        runs = [r["ways"][way] for r in rounds]
        best = dict(min(runs, key=lambda run: run["seconds"]))
        best["peak_rss_mb"] = max(run["peak_rss_mb"] for run in runs)
        best["seconds_all_rounds"] = [run["seconds"] for run in runs]
        if len({run["accuracy"] for run in runs}) > 1:
            raise RuntimeError(f"{way}: test accuracy differs between rounds {[run['accuracy'] for run in runs]}")
        results[way] = best
    return results


def ideal_seconds(way: str, ideal: dict, epochs: float) -> float:
    """Student steps plus the teacher forwards the schedule needs."""
    teacher_epochs = {"floor": 0.0, "online": epochs, "cold": 1.0, "warm": 0.0}[way]
    return epochs * ideal["student_step_seconds"] + teacher_epochs * ideal["teacher_forward_seconds"]


def summarise(results: dict, epochs: float, rounds: list[dict]) -> dict:
    """Ratios to the floor (fastest rounds) and to the ideal: every run against the ideal measured around it, then
    the mean over rounds."""
    floor = results.get("floor")
    for way, result in results.items():
        by_round = [ideal_seconds(way, r["ways"][way]["ideal"], epochs) / r["ways"][way]["seconds"] for r in rounds]
        result["ratio_to_ideal_by_round"] = [round(ratio, 3) for ratio in by_round]
        result["ratio_to_ideal"] = round(sum(by_round) / len(by_round), 3)
        if floor is not None:
            result["ratio_to_floor"] = round(result["samples_per_second"] / floor["samples_per_second"], 3)
            result["rss_ratio_to_floor"] = round(result["peak_rss_mb"] / floor["peak_rss_mb"], 3)
    return results


def table(results: dict, ideal: dict) -> str:
    columns = ["way", "train samples/s", "vs floor", "vs ideal, mean", "vs ideal, each round", "time (s), best round"]
    columns += ["peak RSS (MB)", "RSS vs floor", "test accuracy (± SE)"]
    cells = [
        [
            way,
            f"{r['samples_per_second']:.1f}",
            f"{r.get('ratio_to_floor', float('nan')):.3f}x",
            f"{r['ratio_to_ideal']:.3f}x",
            " / ".join(f"{ratio:.3f}x" for ratio in r["ratio_to_ideal_by_round"]),
            f"{r['seconds']:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r.get('rss_ratio_to_floor', float('nan')):.3f}x",
            f"{r['accuracy']:.4f} ± {r['accuracy_se']:.4f}",
        ]
        for way, r in results.items()
    ]
    lines = [markdown_table(columns, cells)]
    lines.append(
        f"\nper batch (bare loop, {ideal['measurements']} measurements pooled, {ideal['batches_per_epoch']} batches "
        f"per epoch): student step {ideal['student_step_ms']} ms ({ideal['student_step_ms_range'][0]}-"
        f"{ideal['student_step_ms_range'][1]}), teacher forward {ideal['teacher_forward_ms']} ms "
        f"({ideal['teacher_forward_ms_range'][0]}-{ideal['teacher_forward_ms_range'][1]})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    description = __doc__.split("\n\n")[0]
    bench, data_args = parse_flags(BenchmarkArguments, DataArguments, argv=argv, description=description)
    work = Path(bench.output_dir)
    if bench.summarise_only:
        saved = json.loads((work / "distillation_cost.json").read_text())
        return report(work, saved["rounds"], saved["settings"], saved["settings"]["benchmark"]["num_train_epochs"])
    if bench.only is not None:
        teacher_path = Path(bench.teacher_name_or_path or work / "teacher")
        if bench.only == "ideal":
            result = measure_ideal(bench, data_args, teacher_path)
        else:
            result = run_way(bench.only, bench, data_args, teacher_path)
        (work / f"{bench.only}.json").write_text(json.dumps(result, indent=2) + "\n")
        return 0

    work.mkdir(parents=True, exist_ok=True)
    teacher_path = prepare(bench, data_args)
    child = [*argv, "--teacher_name_or_path", str(teacher_path)]  # the last of a repeated flag wins
    rounds = []
    for number in range(1, bench.rounds + 1):
        print(f"round {number} of {bench.rounds}", flush=True)
        order = round_order(number, bench.ways)
        ideals = [measure_ideal_in_subprocess(child, work, bench.ideal_stride, 0)]
        ways = {}
        for way in order:
            if way == "cold":
                shutil.rmtree(work / "cache", ignore_errors=True)  # 'cold' starts from an empty cache
            ways[way] = in_subprocess(way, child, work)
            ideals.append(measure_ideal_in_subprocess(child, work, bench.ideal_stride, len(ideals)))
            ways[way]["ideal"] = pool_ideals(ideals[-2:])  # measured just before and just after it
        rounds.append({"order": order, "ideals": ideals, "ways": ways})
    settings = {"benchmark": asdict(bench), "data": asdict(data_args), "teacher": str(teacher_path)}
    settings["training"] = {k: v for k, v in DEPTH_ONLY_DEFAULTS.items() if k not in ("output_dir", "train_baseline")}
    return report(work, rounds, settings, bench.num_train_epochs)


def overall_ideal(rounds: list[dict]) -> dict:
    """Every ideal measurement of the run pooled, with the range of the per-batch times."""
    ideals = [ideal for r in rounds for ideal in r["ideals"]]
    overall = pool_ideals(ideals)
    for name in ("student_step_ms", "teacher_forward_ms"):
        overall[f"{name}_range"] = [min(ideal[name] for ideal in ideals), max(ideal[name] for ideal in ideals)]
    return overall


def report(work: Path, rounds: list[dict], settings: dict, epochs: float) -> int:
    """Summarise `rounds`, print the table and write the JSON."""
    ideal = overall_ideal(rounds)
    results = summarise(best_of(rounds), epochs, rounds)
    write_json(
        work / "distillation_cost.json", {"ideal": ideal, "ways": results, "rounds": rounds, "settings": settings}
    )
    print(f"\n{table(results, ideal)}\n\nwritten: {work / 'distillation_cost.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
