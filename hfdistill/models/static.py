"""Static students: one vector per token (model2vec's distillation of the teacher), a text as the mean of its tokens'
vectors, and a small head on top. No transformer runs at inference.

The saved folder is model2vec's layout, so that the table loads where users load static models:
`model2vec.StaticModel.from_pretrained(folder)` and sentence-transformers' `StaticEmbedding` (or
`SentenceTransformer(folder)`) read `config.json`, the `embeddings` tensor of `model.safetensors` and
`tokenizer.json`. The same `model.safetensors` holds the head (`head.*`), and `config.json` is also a transformers
config (`model_type` "model2vec"), so that `AutoModelForSequenceClassification` and `pipeline()` load the classifier
once `hfdistill` is imported. `StaticTextClassifier` predicts labels from text with numpy alone.
"""

import json
import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from torch import nn
from torch.nn import functional
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from hfdistill.config.pipeline import STATIC_DIMENSIONS

STATIC_MODEL_TYPE = "model2vec"  # model2vec's own config names this type; transformers has none by that name


class StaticStudentConfig(PretrainedConfig):
    """A static student: `vocab_size` rows of `hidden_dim` (model2vec's key), an optional hidden layer of
    `head_hidden_size` units in the head (0: a linear head), and the token ids the mean leaves out (special tokens
    and the unknown token, as `StaticModel.encode` does)."""

    model_type = STATIC_MODEL_TYPE

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_dim: int = STATIC_DIMENSIONS,
        head_hidden_size: int = 0,
        normalize: bool = True,
        ignored_token_ids: list[int] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("tie_word_embeddings", False)
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_dim, self.head_hidden_size = vocab_size, hidden_dim, head_hidden_size
        self.normalize, self.ignored_token_ids = normalize, list(ignored_token_ids or [])


def head_layers(embedding_dim: int, hidden_size: int, outputs: int) -> nn.Sequential:
    """A linear head (`hidden_size` 0), or one hidden ReLU layer of `hidden_size` units."""
    if hidden_size == 0:
        return nn.Sequential(nn.Linear(embedding_dim, outputs))
    return nn.Sequential(nn.Linear(embedding_dim, hidden_size), nn.ReLU(), nn.Linear(hidden_size, outputs))


def mean_of_tokens(table: torch.Tensor, input_ids: torch.Tensor, keep: torch.Tensor, normalize: bool) -> torch.Tensor:
    """The mean of the kept tokens' rows of `table` (a text with none kept is the zero vector), L2-normalised when
    asked: what `StaticModel.encode` returns for the same tokens."""
    keep = keep.to(table.dtype).unsqueeze(-1)
    pooled = (functional.embedding(input_ids, table) * keep).sum(1) / keep.sum(1).clamp(min=1.0)
    return functional.normalize(pooled, dim=-1) if normalize else pooled


def task_loss_of(logits: torch.Tensor, labels: torch.Tensor, problem_type: str | None) -> torch.Tensor:
    """The head's loss on labels alone, by problem type, as transformers' sequence classifiers compute it."""
    if problem_type == "regression":
        return functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype).view(logits.shape[0], -1).squeeze(-1))
    if problem_type == "multi_label_classification":
        return functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    return functional.cross_entropy(logits, labels.view(-1))


class StaticForSequenceClassification(PreTrainedModel):
    """The table (`embeddings`, vocab × dimensions, model2vec's tensor name) and the head (`head`), trained together
    by `Trainer` and `DistillationTrainer` like any sequence classifier. It reads the teacher's token ids."""

    config_class = StaticStudentConfig
    base_model_prefix = "static"
    main_input_name = "input_ids"

    def __init__(self, config: StaticStudentConfig):
        super().__init__(config)
        self.embeddings = nn.Parameter(torch.zeros(config.vocab_size, config.hidden_dim))
        self.head = head_layers(config.hidden_dim, config.head_hidden_size, config.num_labels)
        self.register_buffer("ignored", torch.tensor(config.ignored_token_ids, dtype=torch.long), persistent=False)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    def get_input_embeddings(self) -> nn.Parameter:
        return self.embeddings

    def save_pretrained(self, save_directory, *args, **kwargs) -> None:
        """transformers' files, and sentence-transformers' `modules.json` beside them."""
        super().save_pretrained(save_directory, *args, **kwargs)
        write_sentence_transformers_modules(save_directory, self.config.normalize)

    def forward(self, input_ids, attention_mask=None, labels=None, **unused) -> SequenceClassifierOutput:
        keep = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        keep = keep & ~torch.isin(input_ids, self.ignored.to(input_ids.device))
        logits = self.head(mean_of_tokens(self.embeddings, input_ids, keep, self.config.normalize))
        loss = None if labels is None else task_loss_of(logits, labels, self.config.problem_type)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def register_static_classes() -> None:
    """Let `AutoConfig` and `AutoModelForSequenceClassification` load a static student's folder."""
    AutoConfig.register(STATIC_MODEL_TYPE, StaticStudentConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(StaticStudentConfig, StaticForSequenceClassification, exist_ok=True)


register_static_classes()


def model_kind(config) -> str:
    """What a model is, in a few words: "6-layer distilbert", or "static (model2vec)"."""
    if config.model_type == STATIC_MODEL_TYPE:
        return "static (model2vec)"
    return f"{config.num_hidden_layers}-layer {config.model_type}"


def ignored_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The token ids a static model's mean leaves out: the special tokens and the unknown token."""
    return sorted(
        {*tokenizer.all_special_ids, *([tokenizer.unk_token_id] if tokenizer.unk_token_id is not None else [])}
    )


def distilled_table(
    teacher: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dimensions: int | None
) -> torch.Tensor:
    """model2vec's distillation of `teacher`'s encoder (every token encoded alone, PCA to `dimensions`, none for
    None, Zipf weighting), as one row per id of the teacher's tokenizer (model2vec renumbers its vocabulary; a
    token it left out, such as a special token, gets zeros)."""
    from model2vec.distill import distill_from_model

    # Quiet while it runs, the causes known: both narrate each step at INFO; skeletoken warns that its copy of the
    # tokenizer had no pad token (it sets the tokenizer's own); model2vec warns when it cannot ask the Hub for the
    # teacher's language (offline, or a local folder), which only fills a card field we do not use.
    levels = {name: logging.getLogger(name).level for name in ("model2vec", "skeletoken")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        static = distill_from_model(
            teacher.base_model, tokenizer, pca_dims=dimensions, token_remove_pattern=None, quantize_to="float32"
        )
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    skipped_pca = dimensions is not None and static.embedding.shape[1] != dimensions  # model2vec: too few tokens
    if skipped_pca:
        raise ValueError(
            f"the teacher's vocabulary has too few tokens ({static.embedding.shape[0]}) for PCA to {dimensions} "
            "dimensions: choose fewer (--student_hidden_size, or --static_dimensions for a static row)"
        )
    own = static.tokenizer.get_vocab()
    table = np.zeros((len(tokenizer), static.embedding.shape[1]), dtype=np.float32)
    for token, index in tokenizer.get_vocab().items():
        if token in own:
            table[index] = static.embedding[own[token]]
    return torch.from_numpy(table)


def build_static_student(
    teacher: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, dimensions: int, head_hidden_size: int = 0
) -> StaticForSequenceClassification:
    """A static student of `teacher`: its table distilled from the teacher (`distilled_table`), a fresh head for the
    teacher's labels and problem type.

    Args:
        teacher: the fine-tuned teacher; its encoder (`base_model`) embeds each token of its vocabulary.
        tokenizer: the teacher's tokenizer; the table has one row per token id, and the student reads its ids.
        dimensions: the table's width after PCA (at most the teacher's hidden size).
        head_hidden_size: units of the head's hidden ReLU layer; 0, a linear head.
    """
    table = distilled_table(teacher, tokenizer, dimensions)
    teacher_config = teacher.config
    config = StaticStudentConfig(
        vocab_size=table.shape[0],
        hidden_dim=table.shape[1],
        head_hidden_size=head_hidden_size,
        ignored_token_ids=ignored_ids(tokenizer),
        id2label=dict(teacher_config.id2label),
        label2id=dict(teacher_config.label2id),
        problem_type=teacher_config.problem_type,
        pad_token_id=tokenizer.pad_token_id,
        architectures=[StaticForSequenceClassification.__name__],
        # model2vec's keys: what the table is (its own StaticModel reads `normalize` and `hidden_dim`)
        apply_pca=dimensions,
        tokenizer_name=teacher_config.name_or_path,
    )
    student = StaticForSequenceClassification(config)
    with torch.no_grad():
        student.embeddings.copy_(table)
    return student


def write_sentence_transformers_modules(folder: str | Path, normalize: bool) -> None:
    """`modules.json` as model2vec writes it: `SentenceTransformer(folder)` reads the table as a `StaticEmbedding`,
    then normalises when the table's mean is normalised."""
    modules = [{"idx": 0, "name": "0", "path": ".", "type": "sentence_transformers.models.StaticEmbedding"}]
    if normalize:
        modules.append(
            {"idx": 1, "name": "1", "path": "1_Normalize", "type": "sentence_transformers.models.Normalize"}
        )
        (Path(folder) / "1_Normalize").mkdir(exist_ok=True)
    (Path(folder) / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")


class StaticTextClassifier:
    """A saved static classifier without torch or transformers: the table through model2vec's `StaticModel`, the
    head from `model.safetensors` in numpy.

    >>> classifier = StaticTextClassifier.from_pretrained("outputs/quickstart/static-student")  # doctest: +SKIP
    >>> classifier.predict(["a gripping, beautifully acted film"])  # doctest: +SKIP
    ['fresh']
    """

    def __init__(self, static_model, layers: list[tuple[np.ndarray, np.ndarray]], config: dict):
        self.static_model, self.layers, self.config = static_model, layers, config
        self.labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "StaticTextClassifier":
        from model2vec import StaticModel

        folder = Path(folder)
        weights = load_file(folder / "model.safetensors")
        linear = sorted({int(name.split(".")[1]) for name in weights if name.startswith("head.")})
        layers = [(weights[f"head.{i}.weight"], weights[f"head.{i}.bias"]) for i in linear]
        config = json.loads((folder / "config.json").read_text())
        return cls(StaticModel.from_pretrained(folder, force_download=False), layers, config)

    def logits(self, texts: list[str]) -> np.ndarray:
        """The head's outputs for `texts`, one row each."""
        hidden = self.static_model.encode(list(texts))
        for position, (weight, bias) in enumerate(self.layers):
            hidden = hidden @ weight.T + bias
            if position < len(self.layers) - 1:
                hidden = np.maximum(hidden, 0.0)
        return hidden

    def predict(self, texts: list[str]) -> list:
        """The label of each text: the highest logit, labels over the threshold for multi-label, the score for
        regression."""
        logits = self.logits(texts)
        problem = self.config.get("problem_type")
        if problem == "regression":
            return logits[:, 0].tolist()
        if problem == "multi_label_classification":
            threshold = self.config.get("label_threshold", 0.5)
            chosen = 1 / (1 + np.exp(-logits)) > threshold
            return [[label for label, on in zip(self.labels, row, strict=True) if on] for row in chosen]
        return [self.labels[i] for i in logits.argmax(-1)]
