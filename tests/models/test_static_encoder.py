"""The static sentence encoder: a table distilled offline from a tiny sentence-transformers teacher, the mean of its
rows read from padded batches, saved as model2vec's folder that model2vec and sentence-transformers load alike."""

import numpy as np
import torch
from model2vec import StaticModel
from sentence_transformers import SentenceTransformer

from hfdistill.models.sentence_encoder import truncate_at
from hfdistill.models.static_encoder import StaticMeanEmbedding, save_static_sentence_student, static_sentence_student
from tests.conftest import tiny_sentence_encoder

TEXTS = ["la casa", "the house is big", "ñu"]


def student_of_tiny_teacher(tmp_path) -> tuple[SentenceTransformer, SentenceTransformer]:
    teacher = SentenceTransformer(str(tiny_sentence_encoder(tmp_path / "teacher")), device="cpu")
    return teacher, static_sentence_student(teacher, max_seq_length=32)


def test_the_table_is_the_teachers_width_one_row_per_token_id(tmp_path):
    teacher, student = student_of_tiny_teacher(tmp_path)
    table = student[0].embedding.weight
    assert table.shape == (len(teacher.tokenizer), teacher.get_sentence_embedding_dimension())
    assert table.requires_grad and table.abs().sum() > 0


def test_padded_batches_give_what_the_saved_static_embedding_gives(tmp_path):
    _, student = student_of_tiny_teacher(tmp_path)
    with torch.no_grad():
        student[0].embedding.weight.add_(torch.randn_like(student[0].embedding.weight))  # as if trained
    batch = student[0].tokenizer(TEXTS, padding=True, return_tensors="pt")  # special tokens, as training rows have
    with torch.no_grad():
        trained = student(dict(batch))["sentence_embedding"].numpy()
    np.testing.assert_allclose(student.encode(TEXTS), trained, atol=1e-6)

    folder = tmp_path / "static"
    save_static_sentence_student(student, str(folder))
    served = truncate_at(SentenceTransformer(str(folder), device="cpu"), 16)  # as `hfdistill evaluate` loads it
    assert type(served[0]).__name__ == "StaticEmbedding" and not isinstance(served[0], StaticMeanEmbedding)
    np.testing.assert_allclose(served.encode(TEXTS), trained, atol=1e-6)
    np.testing.assert_allclose(
        StaticModel.from_pretrained(folder, force_download=False).encode(TEXTS), trained, atol=1e-6
    )
    names = {path.name for path in folder.rglob("*") if path.is_file()}
    assert not [name for name in names if name.endswith((".bin", ".pt", ".pkl", ".pickle", ".joblib"))]
