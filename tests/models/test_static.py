"""Static students: the table distilled from a tiny teacher offline, the folder every loader reads, the trainer's loss."""

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, BertTokenizerFast, pipeline

from hfdistill import DistillationArguments, DistillationTrainer
from hfdistill.losses.soft_targets import distillation_loss
from hfdistill.models.static import (
    StaticForSequenceClassification,
    StaticTextClassifier,
    build_static_student,
    mean_of_tokens,
)
from tests.conftest import REVIEW_WORDS, tiny_bert

TEXTS = ["good film", "bad dull plot , slow", "great actor great scene", "fun"]


@pytest.fixture
def review_tokenizer(tmp_path) -> BertTokenizerFast:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *REVIEW_WORDS, ","]
    return BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)})


@pytest.fixture
def student(review_tokenizer) -> StaticForSequenceClassification:
    teacher = tiny_bert(num_labels=2).eval()
    teacher.config.id2label, teacher.config.label2id = {0: "neg", 1: "pos"}, {"neg": 0, "pos": 1}
    return build_static_student(teacher, review_tokenizer, dimensions=8, head_hidden_size=4)


def test_the_table_is_distilled_from_the_teacher_one_row_per_token_id(student, review_tokenizer):
    assert student.embeddings.shape == (len(review_tokenizer), 8)
    special = review_tokenizer.all_special_ids
    words = [i for i in range(len(review_tokenizer)) if i not in special]
    assert torch.count_nonzero(student.embeddings[words].abs().sum(-1)) == len(words)  # every word has a vector
    assert sorted(student.config.ignored_token_ids) == sorted(set(special))
    assert student.config.id2label == {0: "neg", 1: "pos"}


def test_the_mean_leaves_out_special_tokens_and_padding(student, review_tokenizer):
    batch = review_tokenizer(["good film", "good film film film"], padding=True, return_tensors="pt")
    alone = review_tokenizer(["good film"], add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        first = student(**batch).logits[0]
        bare = mean_of_tokens(student.embeddings, alone["input_ids"], torch.ones_like(alone["input_ids"]), True)
        assert torch.allclose(first, student.head(bare)[0], atol=1e-6)


def test_the_saved_folder_round_trips_and_loads_in_model2vec_and_sentence_transformers(
    student, review_tokenizer, tmp_path
):
    from model2vec import StaticModel
    from sentence_transformers import SentenceTransformer

    folder = tmp_path / "static"
    student.save_pretrained(folder)
    review_tokenizer.save_pretrained(folder)
    batch = review_tokenizer(TEXTS, padding=True, return_tensors="pt")
    loaded = AutoModelForSequenceClassification.from_pretrained(folder)
    assert isinstance(loaded, StaticForSequenceClassification)
    with torch.no_grad():
        expected = student(**batch).logits
        assert torch.allclose(loaded(**batch).logits, expected)
        keep = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], loaded.ignored)
        mean = mean_of_tokens(loaded.embeddings, batch["input_ids"], keep, True).numpy()
    np.testing.assert_allclose(
        StaticModel.from_pretrained(folder, force_download=False).encode(TEXTS), mean, atol=1e-6
    )
    np.testing.assert_allclose(SentenceTransformer(str(folder), device="cpu").encode(TEXTS), mean, atol=1e-6)
    classifier = StaticTextClassifier.from_pretrained(folder)
    np.testing.assert_allclose(classifier.logits(TEXTS), expected.numpy(), atol=1e-5)
    assert classifier.predict(TEXTS) == [["neg", "pos"][i] for i in expected.argmax(-1)]
    served = pipeline("text-classification", model=str(folder), device="cpu")(TEXTS)
    assert [row["label"] for row in served] == classifier.predict(TEXTS)


def test_the_saved_folder_holds_no_pickle(student, review_tokenizer, tmp_path):
    student.save_pretrained(tmp_path / "static")
    names = {path.name for path in (tmp_path / "static").rglob("*") if path.is_file()}
    assert "model.safetensors" in names and "modules.json" in names
    assert not [name for name in names if name.endswith((".bin", ".pt", ".pkl", ".pickle", ".joblib"))]


def test_the_heads_loss_is_the_trainers_loss_on_the_same_logits(student, review_tokenizer, tmp_path):
    teacher = tiny_bert(num_labels=2).eval()
    args = DistillationArguments(output_dir=str(tmp_path), temperature=2.0, kd_loss_weight=0.7, report_to="none")
    trainer = DistillationTrainer(model=student, teacher_model=teacher, args=args)
    batch = dict(review_tokenizer(TEXTS, padding=True, return_tensors="pt"), labels=torch.tensor([1, 0, 1, 1]))
    student.train()  # the blend is the training loss (evaluation reports the task loss); no dropout to differ
    with torch.no_grad():
        loss = trainer.compute_loss(student, dict(batch))
        student_logits = student(**{k: v for k, v in batch.items() if k != "labels"}).logits
        teacher_logits = teacher(**{k: v for k, v in batch.items() if k != "labels"}).logits
    expected = distillation_loss(student_logits, teacher_logits, batch["labels"], temperature=2.0, kd_loss_weight=0.7)
    assert torch.allclose(loss, expected.loss, atol=1e-6)


def test_a_frozen_table_trains_only_the_head(student):
    from hfdistill.models.student import freeze_input_embeddings

    freeze_input_embeddings(student)
    trainable = [name for name, parameter in student.named_parameters() if parameter.requires_grad]
    assert trainable and all(name.startswith("head.") for name in trainable)
