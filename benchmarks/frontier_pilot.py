"""Pilot runs for the frontier: one rung shape, no-KD and logit-KD students only, no timing, a chosen seed and start.

    python benchmarks/frontier_pilot.py SHAPE METHODS TAG [JSON]
    python benchmarks/frontier_pilot.py 2x192 "no KD,logit KD" imp_s1 '{"seed": 1}'

SHAPE is `LxW` (a rung of `frontier.py` or any other); METHODS a comma-separated subset of frontier.py's; a TAG
containing "imp" starts every student from the teacher reordered by activation importance (`student_init
importance`), any other from the leading slices. JSON overrides `FrontierArguments` fields, plus "ffn" (the
feed-forward width) and "bottom" (copy the teacher's first layers instead of spreading them evenly). Prints test
accuracy, training seconds and McNemar's exact test against the no-KD student; `frontier_pilot_2cpu.txt` holds the
printed lines of the runs the README quotes (2026-12-02, same VM, teacher and cache of `frontier.py`'s work folder).
"""

import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import frontier_students as F
import numpy as np

from hfdistill.config import DataArguments
from hfdistill.evaluation import load_task
from hfdistill.pipeline import load_teacher
from hfdistill.reorder import reorder_on_training_texts
from hfdistill.significance import mcnemar_exact

logging.basicConfig(level=logging.WARNING)
shape = sys.argv[1]
methods = sys.argv[2].split(",")
tag = sys.argv[3]
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
ffn = extra.pop("ffn", None)
if extra.pop("bottom", False):
    F.evenly_spread_layers = lambda _teacher_layers, student_layers: list(range(student_layers))
if shape not in F.RUNGS or ffn:
    num_layers, width = (int(size) for size in shape.split("x")[:2])
    F.RUNGS[shape] = (num_layers, width, ffn or 4 * width)
bench = F.FrontierArguments(output_dir=f"benchmarks/results/pilots/{tag}", rungs=[], **extra)
data_args = DataArguments()
tf = "benchmarks/results/frontier/teacher"
task = load_task(tf, data_args)
teacher = load_teacher(task.task, tf, task.label_names, False, False).eval()
if "imp" in tag:  # the pilot runs measured importance on a sample drawn with seed 0
    reorder_on_training_texts(teacher, task.tokenized["train"], task.collator, seed=0)
labels = F.gold_labels(task)
preds = {}
for m in methods:
    t = time.time()
    folder, s = F.train_student(
        bench, m, shape, teacher, task, data_args, Path("benchmarks/results/frontier/teacher-cache")
    )
    preds[m] = F.predicted_classes(folder, task)
    print(tag, shape, m, "acc", round(float((preds[m] == labels).mean()), 4), "s", s, flush=True)
    np.save(f"benchmarks/results/pilots/{tag}/{shape}-{m.replace(' ', '-')}.npy", preds[m])
if "no KD" in preds:
    for m in preds:
        if m != "no KD":
            print(tag, m, mcnemar_exact(preds[m] == labels, preds["no KD"] == labels))
