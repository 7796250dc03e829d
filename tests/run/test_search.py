"""`hfdistill search` on a tiny teacher: trials read the cache, the best student is saved with its card, a rerun adds
trials, a trial cut off is failed and replaced, and two processes share one study."""

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from transformers import pipeline

from hfdistill.cli import main
from hfdistill.losses.common import UNLABELLED
from tests.conftest import write_teacher_and_reviews

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("search")
    write_teacher_and_reviews(folder, rows=80)
    return folder


def argv(inputs: Path, output: Path, trials: int, *extra: str) -> list[str]:
    return [
        "search", "--teacher_name_or_path", str(inputs / "teacher"), "--dataset_name", str(inputs / "data.csv"),
        "--output_dir", str(output), "--teacher_num_train_epochs", "0", "--student_num_layers", "1",
        "--n_trials", str(trials), "--num_train_epochs", "2", "--per_device_train_batch_size", "8",
        "--learning_rate_range", "1e-3", "1e-1", "--learning_rate", "0.01", "--timing_rounds", "1", "--disable_tqdm", "true",
        "--use_cpu", "true", *extra,
    ]  # fmt: skip


def study_of(output: Path, name: str = "hfdistill-search") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{output / 'study.db'}")


def counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(states=states)


@pytest.fixture(scope="module")
def searched(inputs, tmp_path_factory) -> tuple[Path, list, str]:
    """A 3-trial search: its folder, the teacher given to each trial's trainer, and the cache's log."""
    from hfdistill.training import trainer

    output, teachers = tmp_path_factory.mktemp("searched") / "run", []
    original = trainer.DistillationTrainer.__init__

    def init(self, model, teacher_model, *args, **kwargs):
        teachers.append(teacher_model)
        original(self, model, teacher_model, *args, **kwargs)

    handler, cache_logger = ListHandler(), logging.getLogger("hfdistill.cache")
    cache_logger.addHandler(handler)
    cache_logger.setLevel(logging.INFO)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer.DistillationTrainer, "__init__", init)
        assert main(argv(inputs, output, 3)) == 0
    cache_logger.removeHandler(handler)
    cache_logger.setLevel(logging.NOTSET)
    return output, teachers, "\n".join(handler.messages)


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_the_best_trial_is_saved_scored_and_described(searched):
    searched, _, _ = searched
    report = json.loads((searched / "report.json").read_text())
    search = report["search"]
    assert len(search["trials"]) == 3 and search["trials_completed"] + search["trials_pruned"] == 3
    best = max((t for t in search["trials"] if t["state"] == "complete"), key=lambda t: t["validation"])
    assert search["chosen"]["trial"] == best["number"] and search["best_validation"] == best["validation"]
    assert set(search["chosen"]) == {"trial", "temperature", "kd_loss_weight", "learning_rate"}
    assert all(1.0 <= t["params"]["temperature"] <= 8.0 for t in search["trials"])
    recipe = {"temperature": 2.0, "kd_loss_weight": 0.5, "learning_rate": 0.01}
    assert search["trials"][0]["params"] == recipe  # the recipe's own values come first
    assert report["settings"]["distillation"]["temperature"] == search["chosen"]["temperature"]
    assert [row["name"] for row in report["models"]] == ["teacher", "distilled student (searched)"]

    student = searched / "student"
    classify = pipeline("text-classification", model=str(student), device="cpu")
    assert classify("good film")[0]["label"] in {"neg", "pos"}
    card = (student / "README.md").read_text()
    assert "## How its settings were chosen" in card and "![validation accuracy" in card
    assert (student / "search.png").stat().st_size > 0
    assert [p.name for p in (searched / "trials").iterdir()] == [f"trial-{best['number']}"]  # the others removed


def test_trials_read_the_cache_and_never_run_the_teacher(searched):
    _, teachers, cache_log = searched
    assert teachers == [None, None, None]  # every trial: no teacher, its outputs in the training set
    assert cache_log.count("cached the teacher's outputs for") == 1


def test_trials_train_on_the_transfer_texts_too(inputs, tmp_path):
    """A search's student learns from the rows `distill`'s would: the transfer texts, whose only targets are the
    teacher's, beside the labelled rows."""
    from hfdistill.training import trainer

    rows, original = [], trainer.DistillationTrainer.__init__

    def init(self, *args, **kwargs):
        rows.append(kwargs["train_dataset"])
        original(self, *args, **kwargs)

    extra = ("--transfer_dataset", "bundled:transfer_text", "--max_transfer_samples", "10", "--prune", "false")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer.DistillationTrainer, "__init__", init)
        assert main(argv(inputs, tmp_path / "run", 1, *extra)) == 0
    (train,) = rows
    assert sum(label == UNLABELLED for label in train["labels"]) == 10
    assert "teacher_logits" in train.column_names  # the transfer rows' soft targets came from the cache


def test_a_two_stage_recipe_runs_its_first_stage_once_and_searches_the_second(inputs, tmp_path):
    """With --intermediate_epochs the first stage (hidden states, teacher online) runs once; every trial starts from
    its student and trains the second stage, from the cache, without the intermediate terms."""
    from hfdistill.training import trainer

    seen, original = [], trainer.DistillationTrainer.__init__

    def init(self, model, teacher_model, *args, **kwargs):
        seen.append((teacher_model is None, kwargs["args"].hidden_loss_weight))
        original(self, model, teacher_model, *args, **kwargs)

    extra = ("--intermediate_epochs", "1", "--hidden_loss_weight", "1", "--teacher_cache_dir", str(tmp_path / "cache"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer.DistillationTrainer, "__init__", init)
        assert main(argv(inputs, tmp_path / "run", 2, *extra, "--prune", "false")) == 0
    assert seen == [(False, 1.0), (True, 0.0), (True, 0.0)]  # the first stage online, then two cached trials
    assert (tmp_path / "run" / "student-intermediate" / "model.safetensors").is_file()


def test_a_rerun_fails_a_trial_whose_process_died_keeps_the_finished_and_adds(inputs, searched, capsys):
    output, _, _ = searched  # runs after the tests above, which read the 3-trial search
    before = {t.number: (t.params, t.value) for t in counted(study_of(output))}
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    zombie = study_of(output).ask()  # what a process killed mid-trial leaves: a trial running for ever, its pid gone
    zombie.set_user_attr("worker", f"{socket.gethostname()}:{dead.stdout.strip()}")

    assert main(argv(inputs, output, 5)) == 0
    study = study_of(output)
    after = {t.number: (t.params, t.value) for t in counted(study)}
    assert len(after) == 5 and all(after[number] == kept for number, kept in before.items())
    assert study.trials[zombie.number].state == optuna.trial.TrialState.FAIL
    assert json.loads((output / "report.json").read_text())["search"]["trials_failed"] == 1
    assert main(argv(inputs, output, 5)) == 0  # reached: no trial more
    assert len(study_of(output).trials) == 6
    assert main(argv(inputs, output, 6, "--temperature_range", "1", "4")) == 2
    assert "(search.temperature_range: [1.0, 8.0] there, [1.0, 4.0] now)" in capsys.readouterr().err
    assert main(argv(inputs, output, 2, "--overwrite_output_dir", "true")) == 0  # a fresh study
    assert len(study_of(output).trials) == 2


# A tiny trial takes about a second, less than one process may start after the other on a busy machine: each trial
# here lasts 2 s more, so that the two processes overlap and the test sees both take trials.
SLOW_TRIALS = """
import sys, time
from hfdistill.run import search
from hfdistill.cli import main
run = search.Trials.run
search.Trials.run = lambda self, *args: time.sleep(2) or run(self, *args)
sys.exit(main(sys.argv[1:]))
"""


def test_two_processes_share_one_study(inputs, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    commands = [
        [sys.executable, "-c", SLOW_TRIALS, *argv(inputs, tmp_path / name, 6, "--storage", storage)]
        for name in ("one", "two")
    ]
    workers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for command in commands]
    logs = [worker.communicate(timeout=600)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
    study = optuna.load_study(study_name="hfdistill-search", storage=storage)
    trials = counted(study)
    assert 6 <= len(trials) <= 7  # one trial per extra process may start as the last ones end
    assert len({t.number for t in trials}) == len(trials) == len(study.trials)  # none lost, failed or repeated
    workers_seen = {t.user_attrs["worker"].rpartition(":")[2] for t in trials}
    assert len(workers_seen) == 2  # both processes ran trials


def test_processes_started_together_share_a_new_storage(tmp_path):
    """They race to create the database's tables; each loser tries again instead of failing."""
    code = (
        "import sys; from hfdistill.run.study import open_storage; import optuna; "
        "optuna.create_study(storage=open_storage(sys.argv[1]), study_name='shared', load_if_exists=True)"
    )
    url = f"sqlite:///{tmp_path / 'new.db'}"
    workers = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    logs = [worker.communicate(timeout=120)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 3, "\n".join(log[-500:] for log in logs)
    assert len(optuna.get_all_study_names(url)) == 1


@pytest.mark.parametrize(("global_step", "pruned"), [(5, True), (10, False)])
def test_a_trial_is_pruned_before_its_last_epoch_only(global_step, pruned):
    from transformers import TrainerState

    from hfdistill.run.search import ReportToTrial

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))  # prunes all
    callback = ReportToTrial(study.ask(), "eval_accuracy")
    state = TrainerState(epoch=global_step / 5, global_step=global_step, max_steps=10)
    if pruned:
        with pytest.raises(optuna.TrialPruned):
            callback.on_evaluate(None, state, None, metrics={"eval_accuracy": 0.5})
    else:
        callback.on_evaluate(None, state, None, metrics={"eval_accuracy": 0.5})
