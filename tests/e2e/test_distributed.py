"""Two ranks under `accelerate launch --multi_gpu` (gloo on a CPU) against one process with the same global batch."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from tests.conftest import tiny_bert, tiny_sentence_encoder, tokenizer_of

ROOT = Path(__file__).parents[2]
WORDS = ["good", "bad", "film", "plot", "great", "dull", "actor", "scene", "fun", "slow"]


@pytest.fixture(scope="module")
def teacher_and_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distributed")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    teacher = tiny_bert(num_labels=2, dropout=0.0).eval()
    teacher.config.id2label, teacher.config.label2id = {0: "neg", 1: "pos"}, {"neg": 0, "pos": 1}
    tokenizer = tokenizer_of(str(vocab))
    generator = torch.Generator().manual_seed(0)
    rows = [
        {
            "text": " ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (int(n),), generator=generator)),
            "label": lab,
        }
        for n, lab in zip(torch.randint(3, 9, (120,), generator=generator), ["neg", "pos"] * 60, strict=True)
    ]
    spread_head(teacher, tokenizer, [row["text"] for row in rows])
    teacher.save_pretrained(folder / "teacher")
    tokenizer.save_pretrained(folder / "teacher")
    pd.DataFrame(rows).to_csv(folder / "data.csv", index=False)
    return folder


def spread_head(teacher, tokenizer, texts: list[str], margin: float = 4.0) -> None:
    """Set the teacher's 2-class head to read its pooled outputs' first principal direction: confident soft targets
    that differ from text to text (about `margin` logits apart at one standard deviation), whatever the random draw,
    so that the KD term is far from zero and a cache row read for the wrong text changes the losses."""
    with torch.no_grad():
        pooled = teacher.bert(**tokenizer(texts, padding=True, return_tensors="pt")).pooler_output
        centred = pooled - pooled.mean(0)
        direction = torch.linalg.svd(centred, full_matrices=False).Vh[0]
        scale = margin / 2 / (centred @ direction).std()
        teacher.classifier.weight.copy_(torch.stack([direction, -direction]) * scale)
        teacher.classifier.bias.copy_(torch.stack([-(pooled.mean(0) @ direction), pooled.mean(0) @ direction]) * scale)


def run_distill(
    folder: Path, output: str, processes: int, per_device_batch: int, *extra: str, fsdp: bool = False
) -> tuple[Path, str]:
    flags = [*extra,
        "--teacher_name_or_path", str(folder / "teacher"),
        "--dataset_name", str(folder / "data.csv"),
        "--output_dir", str(folder / output),
        "--student_num_layers", "2",
        "--per_device_train_batch_size", str(per_device_batch),
        "--max_steps", "6",
        "--learning_rate", "0.05",
        "--optim", "sgd",
        "--warmup_steps", "0",
        "--logging_steps", "1",
        "--train_sampling_strategy", "sequential",
        "--save_strategy", "no",
        "--bf16", "false",  # float32: the ranks' losses and weights are compared with one process's to 1e-4
        "--eval_strategy", "no",
        "--report_to", "none",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    return folder / output, launch([str(ROOT / "scripts" / "distill.py"), *flags], processes, fsdp)


def launch(command: list[str], processes: int, fsdp: bool = False) -> str:
    """Run `command` under `accelerate launch`: 2 ranks over gloo (DDP, or FSDP2 through `tests/fsdp_on_cpu.py`),
    or 1 process; return its log (stderr)."""
    launcher = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]
    if fsdp:
        launcher += ["--use_fsdp", "--fsdp_version", "2", "--fsdp_state_dict_type", "FULL_STATE_DICT"]
        launcher += ["--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP", "--num_processes", "2"]
        command = [str(ROOT / "tests" / "fsdp_on_cpu.py"), *command]
    elif processes == 2:
        launcher += ["--multi_gpu", "--num_processes", "2"]
    else:
        launcher += ["--num_processes", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([*launcher, *command], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def logs(output: Path) -> list[dict]:
    state = json.loads((output / "student" / "trainer_state.json").read_text())
    return [log for log in state["log_history"] if "loss" in log]


def train_losses(output: Path) -> list[float]:
    return [log["loss"] for log in logs(output)]


def assert_cache_built_once_and_read_by_the_other_rank(log: str) -> None:
    assert log.count("cached the teacher's outputs for") == 1
    assert log.count("the teacher does not run") == 1, log


@pytest.fixture(scope="module")
def two_rank_run(teacher_and_data) -> tuple[Path, str]:
    """A 2-rank distillation (cache built by rank 0, read by both): its output folder and log."""
    cache = ["--teacher_cache_dir", str(teacher_and_data / "teacher-cache")]
    return run_distill(teacher_and_data, "two", 2, 4, *cache)


@pytest.fixture(scope="module")
def one_process_run(teacher_and_data) -> Path:
    """The reference of the 2-rank runs: one process, teacher online, the same global batch (8)."""
    return run_distill(teacher_and_data, "one", processes=1, per_device_batch=8)[0]


def test_two_ranks_with_a_teacher_cache_match_one_online_process(two_rank_run, one_process_run):
    """The same global batch on 1 process (teacher online) and on 2 ranks (cache built by rank 0, read by both)."""
    single = one_process_run
    double, log = two_rank_run
    assert_cache_built_once_and_read_by_the_other_rank(log)

    # exactly one model, written once
    assert sorted(p.name for p in (double / "student").glob("*.safetensors")) == ["model.safetensors"]
    assert not list(double.glob("**/checkpoint-*"))
    assert json.loads((double / "report.json").read_text())["models"][1]["name"] == "distilled student"
    AutoModelForSequenceClassification.from_pretrained(double / "student")

    one_losses, two_losses = train_losses(single), train_losses(double)
    assert len(one_losses) == len(two_losses) == 6
    assert min(log["kd_loss"] for log in logs(double)) > 0.1  # the teacher's soft targets weigh in at every step
    assert two_losses == pytest.approx(one_losses, rel=1e-3, abs=1e-4)
    one_weights = load_file(single / "student" / "model.safetensors")
    two_weights = load_file(double / "student" / "model.safetensors")
    for name, value in one_weights.items():
        torch.testing.assert_close(two_weights[name], value, atol=1e-5, rtol=1e-4, msg=name)


def test_fsdp_two_ranks_match_one_process(teacher_and_data, one_process_run):
    """FSDP2 over gloo: the student trained sharded, the teacher sharded for inference (`hfdistill.models.placement`), the
    full state dict gathered to save; the same loss curve and weights as one process with the same global batch."""
    single = one_process_run
    sharded, log = run_distill(teacher_and_data, "fsdp", 2, 4, fsdp=True)
    assert len(re.findall(r"placing the teacher on \S+ \(FSDP\)", log)) == 2  # one per rank
    assert train_losses(sharded) == pytest.approx(train_losses(single), rel=1e-3, abs=1e-4)
    one_weights = load_file(single / "student" / "model.safetensors")
    sharded_weights = load_file(sharded / "student" / "model.safetensors")
    assert sharded_weights.keys() == one_weights.keys()
    for name, value in one_weights.items():
        torch.testing.assert_close(sharded_weights[name], value, atol=1e-5, rtol=1e-4, msg=name)
    AutoModelForSequenceClassification.from_pretrained(sharded / "student")


def test_evaluate_reproduces_the_report(teacher_and_data, two_rank_run, capsys):
    from hfdistill.cli import main

    output, _ = two_rank_run
    report = json.loads((output / "report.json").read_text())
    argv = ["evaluate", "--teacher", str(teacher_and_data / "teacher"), "--students", str(output / "student")]
    assert main([*argv, "--dataset_name", str(teacher_and_data / "data.csv")]) == 0
    table = capsys.readouterr().out
    student_accuracy = report["models"][1]["metrics"]["accuracy"]
    assert f"| {output / 'student'} | {student_accuracy:.4f} |" in table


def test_train_teacher_saves_a_labelled_model(teacher_and_data, capsys):
    from hfdistill.cli import main

    output = teacher_and_data / "trained-teacher"
    argv = ["train-teacher", "--teacher_name_or_path", str(teacher_and_data / "teacher")]
    argv += ["--dataset_name", str(teacher_and_data / "data.csv"), "--output_dir", str(output), "--max_steps", "2"]
    assert main([*argv, "--report_to", "none", "--save_strategy", "no", "--disable_tqdm", "true"]) == 0
    assert "test metrics: {'accuracy'" in capsys.readouterr().out
    config = json.loads((output / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "pos"}


def distill_flags(folder: Path, output: str) -> list[str]:
    return [
        "distill", "--teacher_name_or_path", str(folder / "teacher"), "--dataset_name", str(folder / "data.csv"),
        "--output_dir", str(folder / output), "--max_steps", "2", "--report_to", "none", "--save_strategy", "no",
        "--disable_tqdm", "true",
    ]  # fmt: skip


def test_distill_into_an_existing_student(teacher_and_data):
    from hfdistill.cli import main
    from hfdistill.models.student import build_truncated_student

    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_and_data / "teacher")
    build_truncated_student(teacher, [0, 3]).save_pretrained(teacher_and_data / "existing-student")
    argv = distill_flags(teacher_and_data, "from-existing")
    assert main([*argv, "--student_name_or_path", str(teacher_and_data / "existing-student")]) == 0
    config = json.loads((teacher_and_data / "from-existing" / "student" / "config.json").read_text())
    assert config["model_type"] == "bert" and config["num_hidden_layers"] == 2
    assert config["id2label"] == {"0": "neg", "1": "pos"}


def test_cache_teacher_then_distill_reads_the_cache(teacher_and_data, capsys, caplog):
    from hfdistill.cli import main

    cache = ["--teacher_cache_dir", str(teacher_and_data / "cli-cache"), "--teacher_cache_dtype", "float16"]
    data = ["--dataset_name", str(teacher_and_data / "data.csv")]
    teacher = ["--teacher_name_or_path", str(teacher_and_data / "teacher")]
    assert main(["cache-teacher", *teacher, *data, *cache]) == 0
    out = capsys.readouterr().out
    assert f"teacher outputs (teacher_logits) for 96 rows in {teacher_and_data / 'cli-cache'}" in out
    with caplog.at_level("INFO", logger="hfdistill.cache"):
        assert main([*distill_flags(teacher_and_data, "from-cache"), *cache]) == 0
    assert "the teacher does not run" in caplog.text and "cached the teacher's outputs" not in caplog.text
    assert (teacher_and_data / "from-cache" / "student" / "model.safetensors").is_file()

    assert main(["cache-teacher", *data, *cache]) == 2
    assert "cache-teacher needs --teacher_name_or_path" in capsys.readouterr().err
    assert main(["cache-teacher", *teacher, *data, *cache, "--teacher_cache_top_k", "2"]) == 2
    assert "teacher_cache_top_k is 2 but the task has 2 labels" in capsys.readouterr().err


def test_student_with_another_vocabulary_is_refused(teacher_and_data, capsys):
    from hfdistill.cli import main

    other = tiny_bert(num_labels=2)
    other.resize_token_embeddings(120)
    other.save_pretrained(teacher_and_data / "other-vocab")
    argv = distill_flags(teacher_and_data, "other-vocab-run")
    assert main([*argv, "--student_name_or_path", str(teacher_and_data / "other-vocab")]) == 2
    assert "student vocabulary (120) differs from the teacher's (99)" in capsys.readouterr().err
    assert not (teacher_and_data / "other-vocab-run" / "student").exists()


def run_multilingual(folder: Path, output: str, processes: int, per_device_batch: int, *extra) -> tuple[Path, str]:
    flags = [*extra,
        "--teacher_name_or_path", str(folder / "encoder"),
        "--student_name_or_path", "teacher",
        # MSE sums over sentences, so 2 x 4 equals 1 x 8; the contrastive loss ranks within each rank's batch
        "--embedding_loss", "mse",
        "--dataset_name", str(folder / "pairs.tsv"),
        "--eval_datasets", "none",
        "--source_sentences", "none",
        "--eval_pairs", "8",
        "--output_dir", str(folder / output),
        "--per_device_train_batch_size", str(per_device_batch),
        "--max_steps", "5",
        "--learning_rate", "0.5",
        "--optim", "sgd",
        "--warmup_steps", "0",
        "--logging_steps", "1",
        "--train_sampling_strategy", "sequential",
        "--save_strategy", "no",
        "--report_to", "none",
        "--disable_tqdm", "true",
    ]  # fmt: skip
    return folder / output, launch(["-m", "hfdistill.cli", "multilingual", *flags], processes)


def test_multilingual_two_ranks_with_a_teacher_cache_match_one_process(tmp_path):
    tiny_sentence_encoder(tmp_path / "encoder")
    generator = torch.Generator().manual_seed(0)
    lines = []
    for _ in range(48):
        english = " ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (5,), generator=generator))
        lines.append(f"{english}\t{english[::-1]}")  # a stand-in "translation" with other letters in other places
    (tmp_path / "pairs.tsv").write_text("\n".join(lines) + "\n")
    single, _ = run_multilingual(tmp_path, "one", processes=1, per_device_batch=8)
    double, log = run_multilingual(tmp_path, "two", 2, 4, "--teacher_cache_dir", str(tmp_path / "cache"))
    assert_cache_built_once_and_read_by_the_other_rank(log)

    one_losses, two_losses = train_losses(single), train_losses(double)
    assert len(one_losses) == len(two_losses) == 5
    assert min(one_losses) > 1e-4  # every batch holds translations, whose targets the copied teacher misses
    assert two_losses == pytest.approx(one_losses, rel=1e-3, abs=1e-7)
    one_weights = load_file(single / "student" / "model.safetensors")
    two_weights = load_file(double / "student" / "model.safetensors")
    assert any(
        not torch.equal(value, load_file(tmp_path / "encoder" / "model.safetensors")[name])
        for name, value in one_weights.items()
    )
    for name, value in one_weights.items():
        torch.testing.assert_close(two_weights[name], value, atol=1e-5, rtol=1e-4, msg=name)
    assert json.loads((double / "report.json").read_text())["settings"]["held_out_pairs"] == {"pairs, held out": 8}


def test_two_ranks_with_intermediate_losses_and_transfer_data_match_one_process(teacher_and_data):
    """A narrow student (projections trained beside it, used outside its forward) with hidden-state and relation
    losses on labelled rows mixed with unlabelled transfer rows: 2 ranks equal 1 process with the same global batch."""
    generator = torch.Generator().manual_seed(1)
    transfer = teacher_and_data / "transfer.txt"
    lines = [" ".join(WORDS[i] for i in torch.randint(0, len(WORDS), (10,), generator=generator)) for _ in range(40)]
    transfer.write_text("\n".join(lines) + "\n")  # 10 words: never one of the 3-8-word labelled texts
    flags = [
        "--student_hidden_size", "16",
        "--hidden_loss_weight", "1.0",
        "--attention_loss_weight", "1.0",
        "--transfer_dataset", str(transfer),
    ]  # fmt: skip
    single, _ = run_distill(teacher_and_data, "one-intermediate", 1, 8, *flags)
    double, _ = run_distill(teacher_and_data, "two-intermediate", 2, 4, *flags)

    report = json.loads((single / "report.json").read_text())
    assert report["settings"]["transfer_examples"] == 40
    assert (
        min(log["hidden_loss"] for log in logs(single)) > 0 and min(log["attention_loss"] for log in logs(single)) > 0
    )
    one_losses, two_losses = train_losses(single), train_losses(double)
    assert len(one_losses) == len(two_losses) == 6
    assert two_losses == pytest.approx(one_losses, rel=1e-3, abs=1e-4)
    one_weights = load_file(single / "student" / "model.safetensors")
    two_weights = load_file(double / "student" / "model.safetensors")
    assert not [name for name in one_weights if "projection" in name]
    for name, value in one_weights.items():
        torch.testing.assert_close(two_weights[name], value, atol=1e-5, rtol=1e-4, msg=name)
    student = AutoModelForSequenceClassification.from_pretrained(single / "student")
    assert student.config.dim == 16
