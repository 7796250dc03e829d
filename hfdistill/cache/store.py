"""An on-disk store of a teacher's outputs on a training set: the teacher runs once, not once per epoch and per run.

An entry is `<teacher_cache_dir>/<digest>/`: `teacher_outputs.arrow`, a `datasets` Arrow file with one row per
training example (memory-mapped when read, joined to the training set as extra columns), and `manifest.json`. The
digest hashes a `CacheKey`: the teacher's weights, its tokenizer, the preprocessing settings, the data the teacher
reads and the output settings. Any change gives another digest, so a stale entry is never served; the log says
which part changed. Under `accelerate launch` the main process builds the entry and every rank reads it."""

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
from accelerate import PartialState
from datasets.arrow_writer import ArrowWriter

from hfdistill.cache.teacher_outputs import (
    TEACHER_REST_LOGPROB,
)
from hfdistill.config.paths import publish_folder
from hfdistill.numerics.finite import check_finite_rows

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
OUTPUTS_FILE = "teacher_outputs.arrow"
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
