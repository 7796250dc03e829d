"""The Optuna study a search runs in: its database storage (shared by processes started together), trials of dead
processes marked failed, and the count of trials towards `n_trials`."""

import logging
import os
import random
import socket
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy

from hfdistill.config.search import SearchArguments

logger = logging.getLogger(__name__)


def open_study(search_args: SearchArguments, output: Path, seed: int) -> optuna.Study:
    """The study in the storage, created or loaded; trials of this machine's dead processes are marked failed."""
    url = search_args.storage or f"sqlite:///{(output / 'study.db').resolve()}"
    storage = open_storage(url)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=4) if search_args.prune else optuna.pruners.NopPruner()
    study = optuna.create_study(
        storage=storage,
        study_name=search_args.study_name,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed + os.getpid() % 1000),  # workers must not propose alike
        pruner=pruner,
        load_if_exists=True,
    )
    fail_trials_of_dead_processes(study)
    return study


def open_storage(url: str, attempts: int = 5) -> optuna.storages.RDBStorage:
    """Optuna's database storage at `url`. Processes started together on a new database race to create its tables,
    and the losers fail (a unique or "already exists" error); they try again once the winner has made them."""
    # Heartbeats let any process mark a trial failed whose process stopped beating (another machine's, killed).
    settings = {"heartbeat_interval": 30, "grace_period": 120}
    for _ in range(attempts - 1):
        try:
            return rdb_storage(url, settings)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            time.sleep(0.5 + random.random())
    return rdb_storage(url, settings)


def rdb_storage(url: str, settings: dict) -> optuna.storages.RDBStorage:
    """Optuna's `RDBStorage` at `url`. Its heartbeat is an experimental argument (Optuna 4), chosen knowingly for the
    dead-worker check above: the warning that says so on every search is silenced here, and only it."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*heartbeat_interval.*", category=optuna.exceptions.ExperimentalWarning
        )
        return optuna.storages.RDBStorage(url, **settings)


def fail_trials_of_dead_processes(study: optuna.Study) -> None:
    """Mark failed the running trials whose process, on this machine, no longer exists (killed): at once, without
    waiting for the heartbeat's grace period, so that a rerun does not count them as running."""
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker_host, _, pid = trial.user_attrs.get("worker", "").rpartition(":")
        if worker_host == host and pid.isdigit() and not process_alive(int(pid)):
            # by its number (Optuna's public API); one its process finished since the list was read stays as it is
            told = study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            if told.state == optuna.trial.TrialState.FAIL:
                logger.warning("trial %d was cut off (its process %s is gone): marked failed", trial.number, pid)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)


def counted_trials(study: optuna.Study) -> int:
    """Trials that count towards `n_trials`: finished, pruned, and running (in this or another process)."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))
