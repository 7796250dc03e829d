"""How much faster does bfloat16 autocast make the quickstart's models on this CPU?

The quickstart's teacher (all-MiniLM-L6-v2 with a 2-class head, real weights) and a student of its balanced shape
(6 layers x 192, feed-forward 768) run on batches of 32 bundled reviews cut at 64 tokens, as the quickstart's
trainer sees them: a forward pass (the online teacher, the teacher-output cache) and a training step (forward,
backward and AdamW). Each is timed in float32 and under bfloat16 autocast, best of `--rounds`, and the ratio is the
speed-up that `DistillationArguments`' default (`hfdistill.config.precision.native_bf16`) brings where the CPU
computes bfloat16 natively. What it does to accuracy is the quickstart's own table, run both ways:
`quickstart_float32_2cpu.json` (float32) against `quickstart_2cpu.json`.

    python benchmarks/precision.py            # about 2 minutes on 2 CPU cores; writes benchmarks/precision_2cpu.json
"""

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DistilBertConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.flags import check_flags  # noqa: E402
from hfdistill.config.precision import BF16_CPU_FLAGS, cpu_flags, native_bf16  # noqa: E402
from hfdistill.data.loading import load_named  # noqa: E402
from hfdistill.models.default_teacher import default_teacher_path  # noqa: E402
from hfdistill.outputs.report import machine_description, write_json  # noqa: E402

QUESTION = "How much faster does bfloat16 autocast make the quickstart's teacher and student on this CPU?"


def review_batches(tokenizer, count: int) -> list[dict[str, torch.Tensor]]:
    """`count` batches of 32 bundled training reviews, tokenised at 64 tokens and padded per batch."""
    texts = load_named("bundled:rotten_tomatoes")["train"].shuffle(seed=0)["text"][: 32 * count]
    return [
        dict(tokenizer(texts[i : i + 32], truncation=True, max_length=64, padding=True, return_tensors="pt"))
        for i in range(0, len(texts), 32)
    ]


def best_seconds(step, batches, rounds: int, bf16: bool) -> float:
    """The best round's seconds per batch of `step` over `batches`, under bfloat16 autocast or in float32."""
    times = []
    for _ in range(rounds + 1):  # the first round warms up and is not counted
        start = time.perf_counter()
        for batch in batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                step(batch)
        times.append((time.perf_counter() - start) / len(batches))
    return min(times[1:])


def steps(model) -> dict:
    """The two things the quickstart does with a model: a forward pass without gradients, and a training step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)

    def forward(batch):
        model.eval()  # as the teacher runs: no dropout
        with torch.no_grad():
            model(**batch)

    def train(batch):
        model.train()
        loss = model(**batch, labels=torch.zeros(len(batch["input_ids"]), dtype=torch.long)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    return {"forward": forward, "training step": train}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=QUESTION)
    parser.add_argument("--rounds", type=int, default=3, help="Timing rounds per measurement; each keeps its best.")
    parser.add_argument("--batches", type=int, default=8, help="Batches of 32 reviews per round.")
    parser.add_argument("--json_file", default=str(ROOT / "benchmarks" / "precision_2cpu.json"))
    bench = parser.parse_args(argv)
    check_flags(parser, bench, ("rounds", "batches"))
    torch.manual_seed(0)
    teacher_path = default_teacher_path()
    tokenizer = AutoTokenizer.from_pretrained(teacher_path)
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_path, num_labels=2)
    shape = DistilBertConfig(vocab_size=teacher.config.vocab_size, n_layers=6, dim=192, hidden_dim=768, n_heads=12)
    models = {
        "teacher (6 x 384)": teacher,
        "student (6 x 192, f768)": AutoModelForSequenceClassification.from_config(shape),
    }
    batches = review_batches(tokenizer, bench.batches)
    results = {}
    for name, model in models.items():
        for what, step in steps(model).items():
            float32 = best_seconds(step, batches, bench.rounds, bf16=False)
            bfloat16 = best_seconds(step, batches, bench.rounds, bf16=True)
            results[f"{name}, {what}"] = {
                "float32_ms_per_batch": round(1000 * float32, 1),
                "bfloat16_ms_per_batch": round(1000 * bfloat16, 1),
                "speedup": round(float32 / bfloat16, 2),
            }
            print(f"{name}, {what}: {results[f'{name}, {what}']}", flush=True)
    write_json(
        Path(bench.json_file),
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "question": QUESTION,
            "machine": machine_description(),
            "native_bf16": native_bf16(),
            "cpu_bf16_flags": sorted(cpu_flags() & BF16_CPU_FLAGS),
            "batch": "32 bundled training reviews, at most 64 tokens, padded per batch",
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
