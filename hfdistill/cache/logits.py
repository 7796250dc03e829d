"""A classifier teacher's logits (or their top k) over a training set, through the store (`hfdistill.cache.store`),
joined to the training rows."""

from collections.abc import Callable, Iterator

import datasets
import numpy as np
import torch
from accelerate import PartialState
from torch import nn
from tqdm.auto import tqdm
from transformers import DataCollatorForLanguageModeling, DataCollatorWithPadding, PreTrainedTokenizerBase

from hfdistill.cache.fingerprint import data_fingerprint, teacher_fingerprint, tokenizer_fingerprint
from hfdistill.cache.store import CacheKey, cached_outputs
from hfdistill.cache.teacher_outputs import (
    TEACHER_LOGITS,
    TEACHER_REST_LOGPROB,
    TEACHER_TOPK_IDS,
    TEACHER_TOPK_LOGPROBS,
    teacher_input_columns,
)
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.soft_targets import topk_targets

# Batches sorted by length within chunks of this many: little padding (the teacher's pass is most of the cost), and
# memory bounded by one chunk's outputs.
CHUNK_BATCHES = 256


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
        "temperature": args.kd_temperature
        if top_k
        else None,  # top-k log-probs are taken at T; full logits serve any T
        "teacher_dtype": args.teacher_dtype,
        "autocast": str(autocast_dtype(args)),  # the online teacher's precision, which the cache reproduces
    }
    columns = teacher_input_columns(dataset.column_names)
    return CacheKey(
        teacher_fingerprint(teacher),
        tokenizer_fingerprint(tokenizer),
        preprocessing,
        data_fingerprint(dataset, columns),
        outputs,
    )


def autocast_dtype(args: DistillationArguments) -> torch.dtype | None:
    """The dtype the Trainer's mixed precision runs the online teacher in (accelerate wraps its forward in autocast),
    which the cache pass runs it in too: cached and online soft targets then agree. None: float32."""
    return torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None


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
    mixed = autocast_dtype(args) is not None
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
                with torch.inference_mode(), torch.autocast(device.type, autocast_dtype(args), enabled=mixed):
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
    top = topk_targets(logits, k, args.kd_temperature)
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
    tokenizer: PreTrainedTokenizerBase,
    args: DistillationArguments,
    collator: Callable | None = None,
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
