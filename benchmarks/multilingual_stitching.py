"""Would stitching close the English gap? multilingual-e5-small's lower layers under the teacher's upper layers.

    python benchmarks/multilingual_stitching.py

`hfdistill multilingual`'s student (multilingual-e5-small cut to 6 layers, under a linear map fitted into the
teacher's space) finds translations on held-out books 94% of the time, but its English embeddings reach only cosine
0.70 to the teacher's (issue 15 asks 0.95): it has to learn the teacher's whole English function through another
tokenizer. A stitched student keeps the teacher's function instead of relearning it: e5's word embeddings and first
`k` layers read the text (any language, XLM-R's vocabulary), a linear adapter maps each token's state into the
teacher's layer-`k'` space, and the teacher's own layers `k'`..5 finish it, with the teacher's pooling. The adapter is
fitted by least squares on English sentences: each e5 token's state onto the mean of the teacher's states of the
tokens covering the same characters.

One plain loop trains each student on the same rows (`multilingual`'s 3,000 training pairs, both sides, one epoch of
batch 32, word embeddings frozen) and scores it with the pipeline's `score_embeddings` on `multilingual`'s held-out
sets, then times it (`encoding_speed`). Writes `benchmarks/multilingual_stitching_2cpu.json`. A stitched student is
not a `BertModel`: the adapter sits between two post-LayerNorm layers and folds into neither, so shipping one needs a
module of its own; this measures whether that is worth building.
"""

import logging
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from flags import parse_flags
from sentence_transformers import SentenceTransformer
from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup, set_seed

from hfdistill.cache.embeddings import teacher_targets
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.config.training import DistillationArguments
from hfdistill.models.default_teacher import default_teacher_path
from hfdistill.models.multilingual_e5 import BUNDLED_E5, e5_student_path
from hfdistill.models.sentence_encoder import encode, least_squares_map, with_linear_map
from hfdistill.models.student import freeze_input_embeddings
from hfdistill.outputs.embedding_scores import encoding_speed, score_all, scores_table, speed_table
from hfdistill.outputs.report import write_json
from hfdistill.run.embedding_stages import MULTILINGUAL_DEFAULTS
from hfdistill.tasks.sentence_embedding import evaluation_sets, load_pairs, load_student, map_sample, pair_sentences

logger = logging.getLogger(__name__)


@dataclass
class StitchArguments:
    stitches: list[str] = field(
        default_factory=lambda: ["3,3", "4,2"],  # the committed JSON's
        metadata={"help": "k,k': e5's first k layers under the teacher's layers from k' on (6 - k' of them)."},
    )
    learning_rate: float = field(default=3e-4, metadata={"help": "The default student's (multilingual's)."})
    stitched_learning_rate: float = field(default=1e-4, metadata={"help": "The stitched students'."})
    adapter_pairs: int = field(default=1000, metadata={"help": "Training pairs whose English fits the adapter."})
    seed: int = field(default=42, metadata={"help": "Seed of the batches' order."})
    json_file: str = field(default="benchmarks/multilingual_stitching_2cpu.json", metadata={"help": "Where to write."})

    def __post_init__(self):
        for stitch in self.stitches:
            parts = stitch.split(",")
            if len(parts) != 2 or not all(part.isdigit() for part in parts):
                raise ValueError(f"--stitches takes k,k' pairs such as 3,3, got {stitch!r}")
            if not (1 <= int(parts[0]) <= 12 and 0 <= int(parts[1]) <= 5):
                raise ValueError(f"--stitches {stitch}: k is 1-12 (e5's layers) and k' is 0-5 (the teacher's)")
        if min(self.learning_rate, self.stitched_learning_rate) <= 0 or self.adapter_pairs < 1:
            raise ValueError("the learning rates must be > 0 and --adapter_pairs >= 1")


def run_layers(layers, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    additive = (1.0 - mask[:, None, None, :].to(states.dtype)) * torch.finfo(states.dtype).min
    for layer in layers:
        output = layer(states, attention_mask=additive)
        states = output[0] if isinstance(output, tuple) else output
    return states


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(states.dtype)
    return (states * weights).sum(1) / weights.sum(1)


class Stitched(torch.nn.Module):
    """e5's embeddings and first `k` layers, a per-token linear adapter, the teacher's layers from `k_teacher` on."""

    def __init__(self, e5, teacher, k: int, k_teacher: int, adapter: torch.nn.Linear):
        super().__init__()
        self.embeddings, self.front = e5.embeddings, torch.nn.ModuleList(e5.encoder.layer[:k])
        self.adapter = adapter
        self.back = torch.nn.ModuleList(teacher.encoder.layer[k_teacher:])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = run_layers(self.front, self.embeddings(input_ids=input_ids), attention_mask)
        states = run_layers(self.back, self.adapter(states), attention_mask)
        return F.normalize(mean_pool(states, attention_mask), dim=-1)


class Encoder:
    """`encode` as `SentenceTransformer.encode` is called by the pipeline's scoring and timing."""

    def __init__(self, model: Stitched, tokenizer, max_length: int = 128):
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length

    def features(self, texts: list[str]) -> dict:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")

    def embed(self, texts: list[str]) -> torch.Tensor:
        features = self.features(texts)
        return self.model(features["input_ids"], features["attention_mask"])

    @torch.no_grad()
    def encode(self, sentences: list[str], batch_size: int = 32, **_) -> np.ndarray:
        self.model.eval()
        order = sorted(range(len(sentences)), key=lambda i: -len(sentences[i]))  # as sentence-transformers batches
        ranked = [sentences[i] for i in order]
        batches = [self.features(ranked[i : i + batch_size]) for i in range(0, len(ranked), batch_size)]
        embeddings = torch.cat([self.model(b["input_ids"], b["attention_mask"]) for b in batches])
        return embeddings[torch.argsort(torch.tensor(order))].numpy()


def token_states(model, tokenizer, texts: list[str], layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    features = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt",
                         return_offsets_mapping=True)  # fmt: skip
    offsets = features.pop("offset_mapping")
    with torch.no_grad():
        states = model(**features, output_hidden_states=True).hidden_states[layer]
    return states, features["attention_mask"], offsets


def aligned_states(e5, e5_tokenizer, teacher, teacher_tokenizer, texts: list[str], k: int, k_teacher: int):
    """Each e5 token's layer-`k` state with the mean layer-`k_teacher` state of the teacher's tokens covering the same
    characters (first and last special tokens with each other)."""
    inputs, targets = [], []
    for start in range(0, len(texts), 64):
        chunk = texts[start : start + 64]
        e5_states, e5_mask, e5_offsets = token_states(e5, e5_tokenizer, chunk, k)
        teacher_states, teacher_mask, teacher_offsets = token_states(teacher, teacher_tokenizer, chunk, k_teacher)
        for row in range(len(chunk)):
            e5_length, teacher_length = int(e5_mask[row].sum()), int(teacher_mask[row].sum())
            spans = teacher_offsets[row, 1 : teacher_length - 1].tolist()
            for position in range(e5_length):
                if position in (0, e5_length - 1):
                    covering = [0 if position == 0 else teacher_length - 1]
                else:
                    begin, end = e5_offsets[row, position].tolist()
                    covering = [1 + j for j, (b, e) in enumerate(spans) if b < end and begin < e]
                if covering:
                    inputs.append(e5_states[row, position])
                    targets.append(teacher_states[row, covering].mean(0))
    return torch.stack(inputs), torch.stack(targets)


def train(embed, parameters, texts: list[str], targets: np.ndarray, learning_rate: float, seed: int) -> float:
    """One epoch of batch 32 in a seeded random order, AdamW with 10% warm-up then linear decay; seconds taken."""
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    batches = [order[i : i + 32] for i in range(0, len(order), 32)]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=0.0)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * len(batches)), len(batches))
    start = time.perf_counter()
    for step, batch in enumerate(batches, 1):
        loss = F.mse_loss(embed([texts[i] for i in batch]), torch.from_numpy(targets[batch]))
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            logger.info("step %d/%d, loss %.6f", step, len(batches), loss.item())
    return round(time.perf_counter() - start, 1)


def embedder(model: SentenceTransformer):
    """The sentence-transformers model's embeddings of a batch of texts, with gradients."""
    return lambda batch: model(model.preprocess(batch))["sentence_embedding"]


def trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def train_default(bench, teacher, teacher_path: str, train_pairs, targets, data_args, data) -> tuple:
    """`multilingual`'s student (e5 cut to 6 layers, the fitted linear map, word embeddings frozen), trained."""
    args = DistillationArguments(output_dir="benchmarks/results/stitching", student_name_or_path=BUNDLED_E5)
    student, layers = load_student(args, teacher, teacher_path, data_args.max_seq_length)
    freeze_input_embeddings(student[0].auto_model)
    student = with_linear_map(student, *map_sample(train_pairs, targets, data_args))

    student.train()
    seconds = train(embedder(student), trainable(student), *data, bench.learning_rate, bench.seed)
    student.eval()
    name = f"default: e5 layers {','.join(map(str, layers))} + linear map"
    return name, student, {"train_seconds": seconds, "learning_rate": bench.learning_rate}


def fit_stitched(bench, teacher, teacher_path: str, english: list[str], k: int, k_teacher: int) -> tuple:
    """A stitched student whose adapter is fitted on `english`, untrained; its fit's figures."""
    e5_tokenizer = AutoTokenizer.from_pretrained(e5_student_path())
    e5, inner = AutoModel.from_pretrained(e5_student_path()).eval(), AutoModel.from_pretrained(teacher_path).eval()
    inputs, outputs = aligned_states(e5, e5_tokenizer, inner, teacher.tokenizer, english, k, k_teacher)
    adapter, r2 = least_squares_map(inputs, outputs)
    model = Stitched(e5, inner, k, k_teacher, adapter)
    model.embeddings.word_embeddings.weight.requires_grad_(False)
    figures = {"learning_rate": bench.stitched_learning_rate, "adapter_tokens": len(inputs), "adapter_r2": r2}
    return Encoder(model, e5_tokenizer), figures


@dataclass
class BenchmarkRun:
    """What the multilingual benchmarks share: `multilingual`'s data and teacher targets, and every model's scores,
    speed and training figures so far."""

    bench: object
    data_args: ParallelDataArguments
    sets: dict
    train_pairs: object
    teacher_path: str
    teacher: SentenceTransformer
    data: tuple[list[str], np.ndarray]  # the training rows (both sides of each pair) and their targets
    sources: dict[str, np.ndarray]  # the teacher's embeddings of each evaluation set's English
    rows: dict = field(default_factory=dict)
    speeds: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)

    def score(self, name: str, model, timed: bool = True) -> None:
        self.rows[name] = score_all(model, self.sets, self.data_args, self.sources)
        if timed:
            self.speeds[name] = encoding_speed(model, list(next(iter(self.sets.values()))["en"]))

    def finish(self) -> None:
        """Write the report to `bench.json_file` and print its tables."""
        settings = {
            "teacher": self.teacher_path,
            "train_pairs": len(self.train_pairs),
            "rows": len(self.data[0]),
            "held_out_pairs": {name: len(pairs) for name, pairs in self.sets.items()},
            **vars(self.bench),
        }
        report = {"settings": settings, "scores": self.rows, "sentences_per_second": self.speeds}
        write_json(self.bench.json_file, {**report, "students": self.results})
        print(scores_table(self.rows, "en"))
        print(speed_table(self.speeds))
        print(self.results)


def start_benchmark(bench) -> BenchmarkRun:
    """`multilingual`'s data and teacher targets; the teacher, then `multilingual`'s default student trained with
    `bench.learning_rate`, scored and timed."""
    data_args = ParallelDataArguments(max_train_pairs=MULTILINGUAL_DEFAULTS["max_train_pairs"])
    splits = load_pairs(data_args)
    sets, train_pairs = evaluation_sets(data_args, splits), splits["train"]
    teacher_path = default_teacher_path()
    teacher = SentenceTransformer(teacher_path, device="cpu")
    targets = teacher_targets(teacher, list(train_pairs["en"]))
    data = pair_sentences(train_pairs, targets, data_args.columns)
    sources = {name: encode(teacher, list(pairs["en"])) for name, pairs in sets.items()}
    run = BenchmarkRun(bench, data_args, sets, train_pairs, teacher_path, teacher, data, sources)
    run.score("teacher", teacher)
    set_seed(bench.seed)
    name, student, run.results[name] = train_default(
        bench, teacher, teacher_path, train_pairs, targets, data_args, data
    )
    run.score(name, student)
    return run


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    (bench,) = parse_flags(StitchArguments)
    run = start_benchmark(bench)
    english = list(run.train_pairs["en"])
    for stitch in bench.stitches:
        k, k_teacher = (int(part) for part in stitch.split(","))
        name = f"stitched: e5 layers 0-{k - 1} + adapter + teacher layers {k_teacher}-5"
        encoder, run.results[name] = fit_stitched(
            bench, run.teacher, run.teacher_path, english[: bench.adapter_pairs], k, k_teacher
        )
        run.score(f"{name}, before training", encoder, timed=False)
        encoder.model.train()
        run.results[name]["train_seconds"] = train(
            encoder.embed, trainable(encoder.model), *run.data, bench.stitched_learning_rate, bench.seed
        )
        run.score(name, encoder)
    run.finish()


if __name__ == "__main__":
    main()
