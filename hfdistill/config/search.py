"""`SearchArguments`: what `hfdistill search` varies, over which ranges, for how many trials, and where the study
lives; each range is checked before any work."""

from dataclasses import dataclass, field
from pathlib import Path

# The settings a search may vary, each with whether Optuna samples it on a log scale.
SEARCHABLE = {
    "temperature": False,
    "kd_loss_weight": False,
    "learning_rate": True,
    "hidden_loss_weight": False,
    "attention_loss_weight": False,
}
WEIGHTS = ("kd_loss_weight", "hidden_loss_weight", "attention_loss_weight")


@dataclass
class SearchArguments:
    """What `hfdistill search` varies, over which ranges, for how many trials, and where the study lives."""

    n_trials: int = field(
        default=16,
        metadata={"help": "Trials the study holds when this command ends (finished and pruned, over every process "
                  "sharing it); a rerun with more adds trials."},
    )  # fmt: skip
    search_params: list[str] = field(
        default_factory=lambda: ["temperature", "kd_loss_weight", "learning_rate"],
        metadata={"help": f"Settings to search, among {', '.join(SEARCHABLE)}."},
    )
    temperature_range: list[float] = field(default_factory=lambda: [1.0, 8.0], metadata={"help": "Low and high T."})
    kd_loss_weight_range: list[float] = field(default_factory=lambda: [0.0, 1.0], metadata={"help": "Within [0, 1]."})
    learning_rate_range: list[float] = field(
        default_factory=lambda: [3e-5, 3e-4], metadata={"help": "Low and high peak learning rate (log scale)."}
    )
    hidden_loss_weight_range: list[float] = field(default_factory=lambda: [0.0, 1.0], metadata={"help": "In [0, 1]."})
    attention_loss_weight_range: list[float] = field(
        default_factory=lambda: [0.0, 1.0], metadata={"help": "Within [0, 1]."}
    )
    storage: str | None = field(
        default=None,
        metadata={"help": "Optuna storage URL shared by every process of the study; default sqlite:///"
                  "<output_dir>/study.db."},
    )  # fmt: skip
    study_name: str = field(default="hfdistill-search", metadata={"help": "The study's name in the storage."})
    prune: bool = field(
        default=True, metadata={"help": "Stop a trial after an epoch whose validation score is below the median."}
    )

    def __post_init__(self):
        if self.n_trials < 1:
            raise ValueError(f"n_trials must be >= 1, got {self.n_trials}")
        unknown = [name for name in self.search_params if name not in SEARCHABLE]
        if unknown:
            raise ValueError(
                f"search_params names {unknown}, which cannot be searched: choose among {list(SEARCHABLE)}"
            )
        if not self.search_params:
            raise ValueError(f"search_params is empty: name at least one of {list(SEARCHABLE)}")
        for name in self.search_params:
            check_range(name, getattr(self, f"{name}_range"))
        if self.storage is not None:
            check_storage(self.storage)

    def ranges(self) -> dict[str, tuple[float, float]]:
        return {name: tuple(getattr(self, f"{name}_range")) for name in self.search_params}


def check_storage(url: str) -> None:
    """Refuse a `--storage` that is not a database URL, or an SQLite one whose file is a folder or has no folder."""
    if "://" not in url:
        raise ValueError(
            f"--storage {url} is not a storage URL: give a database URL such as sqlite:///study.db (a file, made if "
            "missing) or postgresql://user@host/db"
        )
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if path.is_dir():
            raise ValueError(
                f"--storage {url} names a folder: name a database file in it, e.g. sqlite:///{path}/study.db"
            )
        if not path.parent.is_dir():
            raise ValueError(f"--storage {url}: the folder {path.parent} does not exist; make it or name another")


def check_range(name: str, bounds: list[float]) -> None:
    """Refuse a range that is not `low high` with low <= high inside what `name` allows."""
    flag = f"--{name}_range"
    if len(bounds) != 2:
        raise ValueError(f"{flag} takes two numbers, low and high; got {bounds}")
    low, high = bounds
    if low > high:
        raise ValueError(f"{flag} {low} {high}: low is above high; give the low end first")
    if name == "temperature" and low <= 0:
        raise ValueError(f"{flag} {low} {high}: a temperature must be > 0")
    if name == "learning_rate" and low <= 0:
        raise ValueError(f"{flag} {low} {high}: a learning rate must be > 0 (it is searched on a log scale)")
    if name in WEIGHTS and not (0.0 <= low and high <= 1.0):
        raise ValueError(f"{flag} {low} {high}: a loss weight must lie in [0, 1]")
