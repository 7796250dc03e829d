import json
import logging

import pytest
import torch
from datasets import Dataset
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForTokenClassification,
    BertTokenizerFast,
    DataCollatorForLanguageModeling,
)

from hfdistill import DistillationTrainer, build_distilbert_student
from hfdistill.cache.logits import cache_teacher_logits
from hfdistill.cache.store import MANIFEST
from hfdistill.cache.teacher_outputs import (
    TEACHER_LOGITS,
    TEACHER_REST_LOGPROB,
    TEACHER_TOPK_IDS,
    TEACHER_TOPK_LOGPROBS,
    TeacherOutputCollator,
)
from hfdistill.losses.soft_targets import task_loss, topk_soft_target_kl, topk_targets
from hfdistill.numerics.finite import NonFiniteError
from tests.conftest import tiny_bert, tokenizer_of
from tests.training.test_trainer import make_args, online_and_cached_runs

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@pytest.fixture
def tokenizer(tmp_path_factory) -> BertTokenizerFast:
    """A WordPiece tokenizer over the tiny models' 99 ids (pads with 0)."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"w{i}" for i in range(94))]
    folder = tmp_path_factory.mktemp("tokenizer")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return tokenizer_of(str(folder / "vocab.txt"))


def ragged_dataset(n: int = 24, seed: int = 0, num_labels: int = 3) -> Dataset:
    """Examples of 3 to 12 tokens, so that batches pad and group_by_length has something to group."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 13, (n,), generator=generator).tolist()
    ids = [torch.randint(5, 99, (length,), generator=generator).tolist() for length in lengths]
    return Dataset.from_dict(
        {
            "input_ids": ids,
            "attention_mask": [[1] * len(row) for row in ids],
            "token_type_ids": [[0] * len(row) for row in ids],
            "labels": torch.randint(0, num_labels, (n,), generator=generator).tolist(),
        }
    )


def confident_teacher(num_labels: int = 3, seed: int = 0):
    teacher = tiny_bert(num_labels=num_labels, dropout=0.0, seed=seed).eval()
    with torch.no_grad():
        teacher.classifier.weight.mul_(100.0)  # peaked soft targets, so that the KD term weighs in the loss
    return teacher


def online_logits(teacher, dataset: Dataset) -> list[torch.Tensor]:
    with torch.no_grad():
        return [teacher(**{k: torch.tensor([row[k]]) for k in INPUTS}).logits[0] for row in dataset]


def cache_args(tmp_path, **kwargs):
    return make_args(tmp_path, teacher_cache_dir=str(tmp_path / "cache"), per_device_eval_batch_size=5, **kwargs)


def test_cached_logits_are_the_teachers_per_example(tmp_path, tokenizer):
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path))
    assert cached.column_names == [*data.column_names, TEACHER_LOGITS]
    for row, expected in zip(cached, online_logits(teacher, data), strict=True):
        torch.testing.assert_close(torch.tensor(row[TEACHER_LOGITS]), expected, atol=1e-4, rtol=1e-5)
    entries = list((tmp_path / "cache").iterdir())
    assert len(entries) == 1 and json.loads((entries[0] / MANIFEST).read_text())["rows"] == len(data)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("float16", 2e-3)])
def test_cached_and_online_kd_give_the_same_loss_on_the_same_batch(tmp_path, tokenizer, dtype, tolerance):
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path, teacher_cache_dtype=dtype))
    torch.manual_seed(0)
    student = build_distilbert_student(teacher, [0, 2])
    args = make_args(tmp_path)
    shared = dict(args=args, processing_class=tokenizer)
    online = DistillationTrainer(model=student, teacher_model=teacher, train_dataset=data, **shared)
    offline = DistillationTrainer(model=student, teacher_model=None, train_dataset=cached, **shared)
    rows = [8, 1, 15, 3, 22, 9]
    online_batch = online.data_collator([data[i] for i in rows])
    cached_batch = offline.data_collator([cached[i] for i in rows])
    assert cached_batch[TEACHER_LOGITS].shape == (6, 3)
    student.train()
    online_loss = online.compute_loss(student, online_batch)
    cached_loss = offline.compute_loss(student, cached_batch)
    assert online_loss.item() > 0.05
    assert cached_loss.item() == pytest.approx(online_loss.item(), rel=tolerance)


def test_cached_training_matches_online_with_shuffling_and_group_by_length(tmp_path, tokenizer):
    """The cache is per example: random order, dynamic padding and length grouping give the online run's losses."""
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path))
    runs = online_and_cached_runs(
        tmp_path, teacher, data, cached, tokenizer, train_sampling_strategy="group_by_length"
    )
    (online_losses, online_weights), (cached_losses, cached_weights) = runs
    assert len(online_losses) == 6 and min(online_losses) > 0.01
    assert cached_losses == pytest.approx(online_losses, rel=1e-4)
    for name, value in online_weights.items():
        torch.testing.assert_close(cached_weights[name], value, atol=1e-5, rtol=1e-4, msg=name)


def test_a_warm_cache_does_not_load_the_teacher(tmp_path, tokenizer, caplog):
    data = ragged_dataset()
    folder = tmp_path / "teacher"
    confident_teacher().save_pretrained(folder)
    args = cache_args(tmp_path)
    cold = cache_teacher_logits(
        data,
        str(folder),
        tokenizer,
        args,
        load_teacher=lambda: AutoModelForSequenceClassification.from_pretrained(folder),
    )

    def refuse():
        raise AssertionError("the teacher was loaded although its outputs are cached")

    with caplog.at_level(logging.INFO, logger="hfdistill.cache"):
        warm = cache_teacher_logits(data, str(folder), tokenizer, args, load_teacher=refuse)
    assert warm[TEACHER_LOGITS] == cold[TEACHER_LOGITS]
    assert "read from" in caplog.text and "the teacher does not run" in caplog.text


@pytest.mark.parametrize(
    ("change", "words"),
    [("teacher", "teacher weights"), ("data", "training data"), ("preprocessing", "preprocessing settings")],
)
def test_a_changed_teacher_or_data_is_never_served_from_the_cache(tmp_path, tokenizer, caplog, change, words):
    teacher, data = confident_teacher(), ragged_dataset()
    args = cache_args(tmp_path)
    cache_teacher_logits(data, teacher, tokenizer, args, preprocessing={"max_seq_length": 12})
    preprocessing = {"max_seq_length": 12}
    if change == "teacher":
        teacher = confident_teacher(seed=1)
    elif change == "data":
        data = data.map(lambda row: {"input_ids": [*row["input_ids"][:-1], 7]})
    else:
        preprocessing = {"max_seq_length": 10}
    with caplog.at_level(logging.INFO, logger="hfdistill.cache"):
        cached = cache_teacher_logits(data, teacher, tokenizer, args, preprocessing=preprocessing)
    assert f"computed with other {words}" in caplog.text and "read from" not in caplog.text
    assert len(list((tmp_path / "cache").iterdir())) == 2
    for row, expected in zip(cached, online_logits(teacher, data), strict=True):
        torch.testing.assert_close(torch.tensor(row[TEACHER_LOGITS]), expected, atol=1e-4, rtol=1e-5)


def test_a_damaged_entry_is_rebuilt(tmp_path, tokenizer, caplog):
    teacher, data = confident_teacher(), ragged_dataset()
    args = cache_args(tmp_path)
    cache_teacher_logits(data, teacher, tokenizer, args)
    (entry,) = (tmp_path / "cache").iterdir()
    (entry / MANIFEST).write_text("{not json")
    with caplog.at_level(logging.INFO, logger="hfdistill.cache"):
        cached = cache_teacher_logits(data, teacher, tokenizer, args)
    assert "damaged" in caplog.text and len(cached) == len(data)
    assert json.loads((entry / MANIFEST).read_text())["rows"] == len(data)


def test_top_k_keeps_the_rest_mass_and_trains(tmp_path, tokenizer):
    teacher, data = confident_teacher(num_labels=20), ragged_dataset(num_labels=20)
    args = cache_args(tmp_path, teacher_cache_top_k=4, temperature=2.0)
    cached = cache_teacher_logits(data, teacher, tokenizer, args)
    assert TEACHER_LOGITS not in cached.column_names
    logits = torch.stack(online_logits(teacher, data))
    expected = topk_targets(logits, 4, 2.0)
    torch.testing.assert_close(torch.tensor(cached[TEACHER_TOPK_IDS]), expected.ids)
    torch.testing.assert_close(torch.tensor(cached[TEACHER_TOPK_LOGPROBS]), expected.logprobs, atol=1e-4, rtol=1e-4)
    mass = torch.tensor(cached[TEACHER_TOPK_LOGPROBS]).exp().sum(-1) + torch.tensor(cached[TEACHER_REST_LOGPROB]).exp()
    torch.testing.assert_close(mass, torch.ones(len(data)))

    torch.manual_seed(0)
    student = build_distilbert_student(teacher, [0])
    trainer = DistillationTrainer(
        model=student,
        teacher_model=None,
        args=make_args(tmp_path, max_steps=2),
        train_dataset=cached,
        processing_class=tokenizer,
    )
    batch = trainer.data_collator([cached[i] for i in range(4)])
    student.train()
    loss = trainer.compute_loss(student, batch)
    with torch.no_grad():
        student_logits = student(**{k: batch[k] for k in ("input_ids", "attention_mask")}).logits
    kd = topk_soft_target_kl(student_logits, topk_targets(logits[:4], 4, 2.0), 2.0)
    expected_loss = 0.5 * kd + 0.5 * task_loss(student_logits, batch["labels"])
    assert kd.item() > 0.01 and loss.item() == pytest.approx(expected_loss.item(), rel=1e-4)
    trainer.train()

    with pytest.raises(ValueError, match="teacher_cache_top_k is 20 but the teacher has 20 outputs"):
        cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path / "k", teacher_cache_top_k=20))


def test_token_level_logits_are_cached_without_padding_and_padded_back(tmp_path, tokenizer):
    config = BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, num_labels=5
    )
    torch.manual_seed(0)
    teacher = BertForTokenClassification(config).eval()
    data = ragged_dataset().remove_columns("labels")
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path))
    for row, expected in zip(cached, online_logits(teacher, data), strict=True):
        assert len(row[TEACHER_LOGITS]) == len(row["input_ids"])
        torch.testing.assert_close(torch.tensor(row[TEACHER_LOGITS]), expected, atol=1e-4, rtol=1e-5)
    collate = TeacherOutputCollator(lambda rows: tokenizer.pad(rows, return_tensors="pt"))
    batch = collate([cached[i] for i in range(4)])
    assert batch[TEACHER_LOGITS].shape == (*batch["input_ids"].shape, 5)
    with torch.no_grad():
        padded_online = teacher(**{k: batch[k] for k in INPUTS}).logits
    attended = batch["attention_mask"].bool()
    torch.testing.assert_close(batch[TEACHER_LOGITS][attended], padded_online[attended], atol=1e-4, rtol=1e-5)
    assert batch[TEACHER_LOGITS][~attended].abs().sum() == 0


def test_caching_is_refused_where_outputs_would_change_between_epochs(tmp_path, tokenizer):
    data = ragged_dataset()
    args = cache_args(tmp_path)
    masking = DataCollatorForLanguageModeling(tokenizer)
    with pytest.raises(ValueError, match="masks tokens at random"):
        cache_teacher_logits(data, confident_teacher(), tokenizer, args, collator=masking)
    augmented = ragged_dataset()
    augmented.set_transform(lambda batch: batch)
    with pytest.raises(ValueError, match="on-the-fly transform"):
        cache_teacher_logits(augmented, confident_teacher(), tokenizer, args)
    with pytest.raises(ValueError, match=r"train mode .*teacher.eval\(\)"):
        cache_teacher_logits(data, confident_teacher().train(), tokenizer, args)
    assert not (tmp_path / "cache").exists()


def test_a_teacher_given_beside_cached_outputs_is_not_held(tmp_path, tokenizer):
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path))
    student = build_distilbert_student(teacher, [0])
    trainer = DistillationTrainer(model=student, teacher_model=teacher, args=make_args(tmp_path), train_dataset=cached)
    assert trainer.teacher is None


def test_bad_cache_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="teacher_cache_top_k must be >= 1"):
        make_args(tmp_path, teacher_cache_top_k=0)
    with pytest.raises(ValueError, match="teacher_cache_dtype must be one of"):
        make_args(tmp_path, teacher_cache_dtype="int8")


def test_dropping_unused_columns_is_refused_with_cached_outputs(tmp_path, tokenizer):
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path))
    args = make_args(tmp_path, remove_unused_columns=True)
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        DistillationTrainer(
            model=build_distilbert_student(teacher, [0]), teacher_model=None, args=args, train_dataset=cached
        )


def test_non_finite_teacher_outputs_are_never_cached(tmp_path, tokenizer):
    teacher = confident_teacher()
    with torch.no_grad():
        teacher.classifier.bias[1] = float("nan")
    with pytest.raises(NonFiniteError, match="teacher_logits for training example 0 are not finite"):
        cache_teacher_logits(ragged_dataset(), teacher, tokenizer, cache_args(tmp_path))
    assert not [entry for entry in (tmp_path / "cache").iterdir() if not entry.name.startswith(".")]
    assert not list((tmp_path / "cache").iterdir())  # nor a half-written staging folder


def test_under_bf16_the_cache_runs_the_teacher_as_the_online_trainer_does(tmp_path, tokenizer):
    """With bfloat16 mixed precision accelerate runs the online teacher under autocast; the cache pass does the same,
    so the two give the same soft targets (and the key tells a bf16 entry from a float32 one)."""
    teacher, data = confident_teacher(), ragged_dataset()
    cached = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path, bf16=True))
    float32 = cache_teacher_logits(data, teacher, tokenizer, cache_args(tmp_path, bf16=False))
    assert len(list((tmp_path / "cache").iterdir())) == 2
    online = DistillationTrainer(
        model=build_distilbert_student(teacher, [0, 2]),
        teacher_model=teacher,
        train_dataset=data,
        args=make_args(tmp_path, bf16=True),
        processing_class=tokenizer,
    )
    for i in (0, 7, 19):
        row = {k: torch.tensor([data[i][k]]) for k in INPUTS}
        with torch.no_grad():
            expected = online.teacher(**row).logits[0].float()
        torch.testing.assert_close(torch.tensor(cached[i][TEACHER_LOGITS]), expected, atol=0.0, rtol=2e-2)
        assert not torch.equal(torch.tensor(float32[i][TEACHER_LOGITS]), torch.tensor(cached[i][TEACHER_LOGITS]))
