"""An on-disk cache of a teacher's outputs on a training set: the teacher runs once, not once per epoch and per run.

An entry is `<teacher_cache_dir>/<digest>/`: `teacher_outputs.arrow`, a `datasets` Arrow file with one row per
training example (memory-mapped when read, joined to the training set as extra columns), and `manifest.json`. The
digest hashes a `CacheKey`: the teacher's weights, its tokenizer, the preprocessing settings, the data the teacher
reads and the output settings. Any change gives another digest, so a stale entry is never served; the log says
which part changed. Under `accelerate launch` the main process builds the entry and every rank reads it.
"""

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import datasets
import numpy as np
import torch
from accelerate import PartialState
from datasets.arrow_writer import ArrowWriter
from torch import nn
from tqdm.auto import tqdm
from transformers import DataCollatorForLanguageModeling, DataCollatorWithPadding

from .config import DistillationArguments
from .fingerprint import data_fingerprint, teacher_fingerprint, tokenizer_fingerprint
from .finite import check_finite_rows
from .losses import topk_targets
from .resume import publish_folder
from .teacher_outputs import (
    TEACHER_LOGITS,
    TEACHER_REST_LOGPROB,
    TEACHER_TOPK_IDS,
    TEACHER_TOPK_LOGPROBS,
    teacher_input_columns,
)

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
OUTPUTS_FILE = "teacher_outputs.arrow"
# Batches sorted by length within chunks of this many: little padding (the teacher's pass is most of the cost), and
# memory bounded by one chunk's outputs.
CHUNK_BATCHES = 256
KEY_PARTS = {
    "teacher": "teacher weights",
    "tokenizer": "tokenizer",
    "preprocessing": "preprocessing settings",
    "data": "training data",
    "outputs": "output settings",
}


@dataclass(frozen=True)
class CacheKey:
    """Everything a teacher's outputs depend on; `digest` names the cache entry."""

    teacher: str
    tokenizer: str
    preprocessing: dict
    data: str
    outputs: dict

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:20]

    def changes_from(self, other: dict) -> list[str]:
        """What differs from another entry's key, in words."""
        return [words for name, words in KEY_PARTS.items() if other.get(name) != getattr(self, name)]


def check_cacheable(collator, dataset: datasets.Dataset, teacher: nn.Module | None = None) -> None:
    """Refuse to cache outputs that would differ between epochs, before any work."""
    if isinstance(collator, DataCollatorForLanguageModeling):
        raise ValueError(
            f"{type(collator).__name__} masks tokens at random in every batch, so the teacher's outputs change from "
            "epoch to epoch: distil online (no teacher_cache_dir)"
        )
    if dataset.format.get("type") == "custom":
        raise ValueError(
            "the training set has an on-the-fly transform (set_transform/with_transform, e.g. augmentation), so the "
            "teacher's inputs change from epoch to epoch: distil online (no teacher_cache_dir) or map it once first"
        )
    if teacher is not None and teacher.training:
        raise ValueError(
            "the teacher is in train mode (dropout active), so its outputs are random: call teacher.eval() first"
        )


def logits_key(
    teacher: str | nn.Module, tokenizer, dataset: datasets.Dataset, args: DistillationArguments, preprocessing: dict
) -> CacheKey:
    """The key of the teacher's logits on `dataset` under `args`' cache settings."""
    top_k = args.teacher_cache_top_k
    outputs = {
        "kind": "logits",
        "dtype": args.teacher_cache_dtype,
        "top_k": top_k,
        "temperature": args.temperature if top_k else None,  # top-k log-probs are taken at T; full logits serve any T
        "teacher_dtype": args.teacher_dtype,
    }
    columns = teacher_input_columns(dataset.column_names)
    return CacheKey(
        teacher_fingerprint(teacher),
        tokenizer_fingerprint(tokenizer),
        preprocessing,
        data_fingerprint(dataset, columns),
        outputs,
    )


def open_entry(cache_dir: str | Path, key: CacheKey) -> datasets.Dataset | None:
    """The cached outputs for `key`, or None (logging why) when the cache holds none."""
    entry = Path(cache_dir) / key.digest
    try:
        manifest = json.loads((entry / MANIFEST).read_text())
        if manifest["key"] == asdict(key):
            outputs = datasets.Dataset.from_file(str(entry / OUTPUTS_FILE))
            logger.info(
                "teacher outputs for %d examples read from %s (built %s): the teacher does not run",
                len(outputs),
                entry,
                manifest["built"],
            )
            return outputs
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, OSError) as error:  # a damaged entry is rebuilt, never read
        logger.warning("ignoring the damaged teacher-output cache entry %s (%s)", entry, error)
    _log_miss(Path(cache_dir), key)
    return None


def _log_miss(cache_dir: Path, key: CacheKey) -> None:
    others = []
    for path in cache_dir.glob(f"*/{MANIFEST}"):
        try:
            others.append(json.loads(path.read_text())["key"])
        except (ValueError, KeyError, OSError):
            continue
    if not others:
        logger.info("no teacher outputs cached in %s yet: the teacher runs once over the training set", cache_dir)
        return
    changes = min((key.changes_from(other) for other in others), key=len)
    logger.warning(
        "the teacher outputs cached in %s were computed with other %s: not reusing them; the teacher runs once "
        "over the training set into a new entry %s",
        cache_dir,
        " and ".join(changes),
        key.digest,
    )


def _feature(example: np.ndarray) -> datasets.Value | datasets.List:
    feature = datasets.Value(str(example.dtype))
    for _ in range(example.ndim):
        feature = datasets.List(feature)
    return feature


def write_entry(cache_dir: str | Path, key: CacheKey, rows: Iterator[dict[str, list[np.ndarray]]]) -> datasets.Dataset:
    """Write `rows` (chunks of columns, one numpy array per example) as the entry for `key`, atomically."""
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key.digest}-", dir=root))  # a crash never leaves a half entry
    try:
        writer, written = None, 0
        for chunk in rows:
            check_finite_rows(chunk, written, allow_minus_inf={TEACHER_REST_LOGPROB})
            written += len(next(iter(chunk.values())))
            if writer is None:
                features = datasets.Features({name: _feature(values[0]) for name, values in chunk.items()})
                writer = ArrowWriter(features=features, path=str(staging / OUTPUTS_FILE))
            writer.write_batch(chunk)
        if writer is None:
            raise ValueError("the training set is empty: there is nothing to cache")
        num_rows, num_bytes = writer.finalize()
        built = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest = {"key": asdict(key), "rows": num_rows, "bytes": num_bytes, "built": built}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        entry = root / key.digest
        publish_folder(staging, entry)  # an entry already there is damaged: open_entry refused it
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("cached the teacher's outputs for %d examples in %s (%.1f MB)", num_rows, entry, num_bytes / 1e6)
    return datasets.Dataset.from_file(str(entry / OUTPUTS_FILE))


def cached_outputs(cache_dir: str | Path, key: CacheKey, compute: Callable[[], Iterator[dict]]) -> datasets.Dataset:
    """The entry for `key`, computed with `compute()` by the main process when absent; every process reads it."""
    state = PartialState()
    with state.main_process_first():
        outputs = open_entry(cache_dir, key)
        if outputs is None:
            if not state.is_main_process:
                raise RuntimeError(
                    f"the main process built the teacher-output cache entry {Path(cache_dir) / key.digest} but this "
                    "process cannot read it: put teacher_cache_dir on a disk every process shares"
                )
            outputs = write_entry(cache_dir, key, compute())
    return outputs


def _per_example(output: torch.Tensor, attended: torch.Tensor | None, dtype: torch.dtype) -> list[np.ndarray]:
    """One array per example; token-level outputs `(batch, seq, ...)` keep only the attended positions."""
    output = output.to(dtype) if output.is_floating_point() else output
    if attended is not None:
        return [row[mask].cpu().numpy() for row, mask in zip(output, attended, strict=True)]
    return list(output.cpu().numpy())


def logit_rows(
    teacher: nn.Module, dataset: datasets.Dataset, collator, args: DistillationArguments
) -> Iterator[dict[str, list[np.ndarray]]]:
    """Run `teacher` over `dataset` once, in chunks of batches sorted by length; yield its outputs in dataset order."""
    inputs = dataset.select_columns(teacher_input_columns(dataset.column_names))
    lengths = [len(ids) for ids in inputs["input_ids"]]
    device = next(teacher.parameters()).device
    storage = args.teacher_cache_torch_dtype
    batch_size = args.per_device_eval_batch_size
    chunk_size = batch_size * CHUNK_BATCHES
    with tqdm(total=len(dataset), desc="Teacher outputs", disable=args.disable_tqdm) as progress:
        for start in range(0, len(dataset), chunk_size):
            stop = min(start + chunk_size, len(dataset))
            indices = range(start, stop)
            order = sorted(indices, key=lengths.__getitem__)
            columns = inputs[start:stop]  # read once per chunk, not once per batch
            results: dict[str, dict[int, np.ndarray]] = {}
            for offset in range(0, len(order), batch_size):
                ids = order[offset : offset + batch_size]
                batch = collator([{name: values[i - start] for name, values in columns.items()} for i in ids])
                with torch.inference_mode():
                    logits = teacher(**{name: value.to(device) for name, value in batch.items()}).logits
                attended = batch["attention_mask"].bool() if logits.dim() == 3 else None
                for name, output in _outputs(logits, args).items():
                    dtype = torch.float32 if name == TEACHER_REST_LOGPROB else storage
                    results.setdefault(name, {}).update(zip(ids, _per_example(output, attended, dtype), strict=True))
                progress.update(len(ids))
            yield {name: [by_index[i] for i in indices] for name, by_index in results.items()}


def _outputs(logits: torch.Tensor, args: DistillationArguments) -> dict[str, torch.Tensor]:
    k = args.teacher_cache_top_k
    if k is None:
        return {TEACHER_LOGITS: logits}
    if k >= logits.shape[-1]:
        raise ValueError(
            f"teacher_cache_top_k is {k} but the teacher has {logits.shape[-1]} outputs: leave it unset to cache all"
        )
    top = topk_targets(logits, k, args.temperature)
    return {
        TEACHER_TOPK_IDS: top.ids.to(torch.int32),
        TEACHER_TOPK_LOGPROBS: top.logprobs,
        TEACHER_REST_LOGPROB: top.rest_logprob,
    }


def with_teacher_outputs(dataset: datasets.Dataset, outputs: datasets.Dataset) -> datasets.Dataset:
    """`dataset` with the cached output columns beside its own, row for row."""
    if len(outputs) != len(dataset):
        raise ValueError(f"cached teacher outputs have {len(outputs)} rows but the training set {len(dataset)}")
    return datasets.concatenate_datasets([dataset, outputs], axis=1)


def cache_teacher_logits(
    dataset: datasets.Dataset,
    teacher: str | nn.Module,
    tokenizer,
    args: DistillationArguments,
    collator=None,
    preprocessing: dict | None = None,
    load_teacher: Callable[[], nn.Module] | None = None,
) -> datasets.Dataset:
    """`dataset` with the teacher's logits (or top-k) as columns, from `args.teacher_cache_dir`, computed once.

    Pass the result as `train_dataset` to `DistillationTrainer` with `teacher_model=None`.

    Args:
        dataset: tokenised training set (`input_ids`, `attention_mask`, …; `labels` is not read).
        teacher: a model in eval mode, or its folder / Hub id, loaded only when the cache has no entry.
        tokenizer: the tokenizer that made `input_ids` (part of the key; pads the teacher's batches by default).
        args: `teacher_cache_dir`, `teacher_cache_dtype`, `teacher_cache_top_k`, `temperature` (top-k only),
            `teacher_dtype` and `per_device_eval_batch_size`.
        collator: pads the teacher's batches; `DataCollatorWithPadding(tokenizer)` by default.
        preprocessing: settings that made `dataset` (max length, columns…), recorded in the key.
        load_teacher: how to get the teacher when `teacher` is a path (the task's auto class knows its head);
            needed then.
    """
    if args.teacher_cache_dir is None:
        raise ValueError("set teacher_cache_dir (where the teacher's outputs are stored) to cache them")
    if not isinstance(teacher, nn.Module) and load_teacher is None:
        raise ValueError("the teacher is given as a path: pass load_teacher, which loads it with its task's head")
    collator = collator or DataCollatorWithPadding(tokenizer)
    check_cacheable(collator, dataset, teacher if isinstance(teacher, nn.Module) else None)
    key = logits_key(teacher, tokenizer, dataset, args, preprocessing or {})

    def compute():
        model = teacher
        if not isinstance(model, nn.Module):
            model = load_teacher()
        check_cacheable(collator, dataset, model)
        model = model.to(PartialState().device)
        if args.teacher_torch_dtype is not None:
            model = model.to(args.teacher_torch_dtype)
        return logit_rows(model, dataset, collator, args)

    return with_teacher_outputs(dataset, cached_outputs(args.teacher_cache_dir, key, compute))


def embedding_key(teacher_path: str, teacher, sentences: list[str], args: DistillationArguments) -> CacheKey:
    """The key of a sentence-transformers teacher's embeddings of `sentences`."""
    outputs = {"kind": "embedding", "dtype": args.teacher_cache_dtype, "teacher_dtype": args.teacher_dtype}
    data = data_fingerprint(datasets.Dataset.from_dict({"sentence": sentences}), ["sentence"])
    preprocessing = {"max_seq_length": teacher.max_seq_length}
    return CacheKey(
        teacher_fingerprint(teacher_path), tokenizer_fingerprint(teacher.tokenizer), preprocessing, data, outputs
    )
