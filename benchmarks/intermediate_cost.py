"""What the intermediate-layer terms cost per training step, against online logit KD.

    python benchmarks/intermediate_cost.py --teacher_name_or_path benchmarks/results/frontier/teacher

The same student (a 2 x 192 DistilBERT sliced from the teacher, and the quickstart's 3 x 384) trains for `--steps`
steps of 32 bundled reviews with the teacher online, four ways: logit KD alone, + hidden-state MSE, + MiniLM relations,
+ both. Each way runs twice, round-robin, and keeps its faster run (the machine's speed drifts). Prints seconds per
step and the ratio to logit KD, and writes `benchmarks/intermediate_cost_2cpu.json`. Timings are figures, never test
assertions.
"""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from flags import parse_flags
from transformers import set_seed

from hfdistill.config.data import DataArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.models.layers import evenly_spread_layers
from hfdistill.models.student import StudentShape, build_student
from hfdistill.outputs.report import write_json
from hfdistill.run.logit_plan import load_teacher
from hfdistill.tasks.task_data import load_task
from hfdistill.training.intermediate import layer_map_of_copied_layers
from hfdistill.training.trainer import DistillationTrainer

WAYS = {
    "logit KD": {},
    "+ hidden states": {"hidden_loss_weight": 1.0},
    "+ relations": {"attention_loss_weight": 1.0},
    "+ both": {"hidden_loss_weight": 1.0, "attention_loss_weight": 1.0},
}
SHAPES = {"2x192": (2, 192), "3x384": (3, 384)}


@dataclass
class CostArguments:
    teacher_name_or_path: str = field(metadata={"help": "A fine-tuned teacher folder."})
    steps: int = field(default=30, metadata={"help": "Training steps timed per run (after 3 warm-up steps)."})
    json_file: str = field(default="benchmarks/intermediate_cost_2cpu.json", metadata={"help": "Where to write."})


def seconds_per_step(teacher, task, shape_name: str, extra: dict, steps: int) -> float:
    num_layers, width = SHAPES[shape_name]
    layers = evenly_spread_layers(teacher.config.num_hidden_layers, num_layers)
    set_seed(0)
    student = build_student(teacher, "distilbert", layers, shape=StudentShape(hidden_size=width))
    args = DistillationArguments(
        output_dir="benchmarks/results/intermediate_cost",
        per_device_train_batch_size=32,
        max_steps=steps + 3,
        learning_rate=5e-4,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        logging_steps=1000,
        distill_layer_map=layer_map_of_copied_layers(layers),
        **extra,
    )
    trainer = DistillationTrainer(
        model=student,
        teacher_model=teacher,
        args=args,
        train_dataset=task.tokenized["train"],
        data_collator=task.collator,
        processing_class=task.tokenizer,
    )
    times = []
    original = trainer.training_step

    def timed(*a, **k):
        start = time.perf_counter()
        result = original(*a, **k)
        times.append(time.perf_counter() - start)
        return result

    trainer.training_step = timed
    trainer.train()
    return sum(times[3:]) / len(times[3:])


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    (cost,) = parse_flags(CostArguments)
    task = load_task(cost.teacher_name_or_path, DataArguments())
    teacher = load_teacher(task.task, cost.teacher_name_or_path, task.label_names, False, False).eval()
    results = {shape: {way: [] for way in WAYS} for shape in SHAPES}
    for _ in range(2):
        for shape in SHAPES:
            for way, extra in WAYS.items():
                results[shape][way].append(seconds_per_step(teacher, task, shape, extra, cost.steps))
    table = {
        shape: {
            way: {"seconds_per_step": round(min(runs), 4), "vs_logit_kd": round(min(runs) / min(ways["logit KD"]), 3)}
            for way, runs in ways.items()
        }
        for shape, ways in results.items()
    }
    write_json(Path(cost.json_file), {"steps": cost.steps, "batch_size": 32, "students": table})
    for shape, ways in table.items():
        for way, row in ways.items():
            print(f"{shape} {way}: {row['seconds_per_step'] * 1e3:.0f} ms/step, {row['vs_logit_kd']:.2f}x logit KD")


if __name__ == "__main__":
    main()
