"""Content fingerprints of what a teacher's outputs depend on: its weights, its tokenizer and the data it reads.

Each is a SHA-256 hex digest, so two runs agree on a fingerprint exactly when they would feed the teacher the same
things. `hfdistill.cache.store` keys its entries with them.
"""

import hashlib
import json
from pathlib import Path

import datasets
import torch
from huggingface_hub import snapshot_download
from torch import nn

# Files of a model folder that define its outputs: weights, configs (incl. sentence-transformers modules), vocabularies.
MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".txt", ".model")
# Exported copies of the same weights that some folders ship beside them; they do not change the PyTorch outputs.
SKIPPED_FOLDERS = {"onnx", "openvino", ".git", ".cache"}
CHUNK = 1 << 20


def _digest(parts) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part if isinstance(part, bytes) else str(part).encode())
    return hasher.hexdigest()


def model_files(folder: Path) -> list[Path]:
    """The files of `folder` that define a model's outputs, in a fixed order."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix in MODEL_FILE_SUFFIXES
        and not SKIPPED_FOLDERS & set(path.relative_to(folder).parts)
    )


def _file_chunks(folder: Path):
    for path in model_files(folder):
        yield path.relative_to(folder).as_posix().encode() + b"\0"
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk


def teacher_fingerprint(teacher: str | nn.Module) -> str:
    """What identifies a teacher's weights without running it.

    Args:
        teacher: a local model folder (hash of its weight, config and vocabulary files, streamed from disk: the model
            is not loaded), a Hub id (`repo@commit` of the snapshot it resolves to, the Hub's own content address),
            or a model in memory (hash of its state dict).
    """
    if isinstance(teacher, nn.Module):
        return _digest(_state_dict_chunks(teacher))
    folder = Path(teacher)
    if folder.is_dir():
        if not model_files(folder):
            raise ValueError(f"teacher folder {teacher} holds no weight or config files")
        return _digest(_file_chunks(folder))
    snapshot = Path(snapshot_download(teacher, allow_patterns=["config.json"]))
    return f"{teacher}@{snapshot.name}"


def _state_dict_chunks(model: nn.Module):
    yield type(model).__name__
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        yield f"{name}:{tensor.dtype}:{tuple(tensor.shape)}"
        yield tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b""


def tokenizer_fingerprint(tokenizer) -> str:
    """Hash of a tokenizer's class, vocabulary, special tokens and padding side (what the teacher's inputs depend on)."""
    return _digest(
        [
            type(tokenizer).__name__,
            json.dumps(sorted(tokenizer.get_vocab().items())),
            json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str),
            tokenizer.padding_side,
        ]
    )


def data_fingerprint(dataset: datasets.Dataset, columns: list[str]) -> str:
    """Hash of the values of `columns`, row by row in order: equal exactly when the teacher would read the same rows."""
    missing = sorted(set(columns) - set(dataset.column_names))
    if missing:
        raise ValueError(f"the dataset has no column {missing[0]!r} (it has {dataset.column_names})")
    rows = dataset.select_columns(sorted(columns))
    return _digest([len(dataset), *(json.dumps(batch, sort_keys=True) for batch in rows.iter(batch_size=1000))])
