"""What the user named, checked before any work (folders to write into, models to read: a folder or a Hub id), and
the atomic writes of files and folders that every later layer shares.

Each problem becomes a one-line `ValueError` that names the flag and says what to fix, also when the cause is an
error from inside transformers or huggingface_hub."""

import json
import os
import shutil
import tempfile
from pathlib import Path

from transformers import AutoConfig, PretrainedConfig


def check_folder_path(path: str | None, flag: str) -> None:
    """Refuse a folder path that is a file or lies under one (it could never be written)."""
    if path is None:
        return
    for candidate in (Path(path), *Path(path).parents):
        if candidate.is_file():
            where = "is a file" if candidate == Path(path) else f"lies under the file {candidate}"
            raise ValueError(f"--{flag} {path} {where}: give a folder path")


def looks_local(name: str) -> bool:
    """Whether `name` reads as a path rather than a Hub id (`owner/name` or `name`)."""
    return Path(name).exists() or name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def model_config(name: str, flag: str) -> PretrainedConfig:
    """The config of the model `name` (a local folder or a Hub id), or a `ValueError` that says what is wrong."""
    path = Path(name).expanduser()
    if looks_local(name):
        if not path.exists():
            raise ValueError(f"--{flag} {name} does not exist: give a model folder or a Hub id")
        if not (path / "config.json").is_file():
            raise ValueError(f"--{flag} {name} holds no config.json: give a saved model folder (save_pretrained)")
        try:
            json.loads((path / "config.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"--{flag} {name}: config.json is not valid JSON ({error}); re-save the model") from error
    try:
        return AutoConfig.from_pretrained(name)
    except (OSError, ValueError, KeyError) as error:
        text = str(error).strip()
        reason = text.splitlines()[0].split(". ")[0][:160] if text else type(error).__name__
        if looks_local(name):
            raise ValueError(f"--{flag} {name} cannot be loaded: {reason}") from error
        raise ValueError(
            f"--{flag} {name} is not a local folder and could not be fetched from the Hub (offline, a wrong id, "
            f"or a gated model): give a saved model folder or check the id ({reason})"
        ) from error


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, so a crash leaves the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def publish_folder(staging: Path, final: Path) -> None:
    """Move the complete folder `staging` to `final` in one rename, so `final` appears only whole; a `final` that is
    already there (left by a crash after an earlier rename, or damaged) is replaced."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
