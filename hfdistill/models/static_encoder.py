"""A static sentence encoder: the teacher's vocabulary as one table of vectors in the teacher's own space, a sentence
the mean of its tokens' rows, fitted to the teacher's sentence embeddings (tokenlearn's idea) by the same trainer as
every embedding student.

The table starts as model2vec's distillation of the teacher's encoder without PCA, so its rows stay in the teacher's
space and the untrained student is model2vec's static model of the teacher. The saved folder is model2vec's
format: `model2vec.StaticModel.from_pretrained` reads it, and `SentenceTransformer` reads it as a `StaticEmbedding`
followed by `Normalize`.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import InputModule
from sentence_transformers.sentence_transformer.modules import Normalize
from torch import nn
from transformers import PreTrainedTokenizerFast

from hfdistill.models.static import (
    StaticStudentConfig,
    distilled_table,
    mean_of_tokens,
    write_sentence_transformers_modules,
)


class StaticMeanEmbedding(InputModule):
    """The table, read as sentence-transformers' `StaticEmbedding` reads it (each token of the text, special tokens
    not added, the mean of their rows), from padded batches that `Trainer`'s collator can build. `tokenizer` is the
    teacher's fast tokenizer; its special tokens other than [UNK] (those a training row adds) are left out of the
    mean."""

    save_in_root = True  # the table's files in the model's own folder, where model2vec looks for them

    def __init__(self, tokenizer: PreTrainedTokenizerFast, table: torch.Tensor, max_seq_length: int):
        super().__init__()
        self.tokenizer, self.max_seq_length = tokenizer, max_seq_length
        self.embedding = nn.Embedding.from_pretrained(table.clone(), freeze=False)
        special = sorted(set(tokenizer.all_special_ids) - {tokenizer.unk_token_id})  # StaticEmbedding keeps [UNK]
        self.register_buffer("ignored", torch.tensor(special, dtype=torch.long), persistent=False)

    def preprocess(self, inputs: list[str], prompt: str | None = None, **kwargs) -> dict[str, torch.Tensor]:
        texts = [prompt + text for text in inputs] if prompt else list(inputs)
        return dict(self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_seq_length,
                                   add_special_tokens=False, return_tensors="pt"))  # fmt: skip

    def forward(self, features: dict[str, torch.Tensor], **kwargs) -> dict[str, torch.Tensor]:
        input_ids = features["input_ids"]
        keep = features.get("attention_mask", torch.ones_like(input_ids)).bool()
        keep = keep & ~torch.isin(input_ids, self.ignored.to(input_ids.device))
        features["sentence_embedding"] = mean_of_tokens(self.embedding.weight, input_ids, keep, normalize=False)
        return features

    def get_embedding_dimension(self) -> int:
        return self.embedding.embedding_dim

    def get_sentence_embedding_dimension(self) -> int:
        return self.get_embedding_dimension()

    def save(self, output_path: str, *args, **kwargs) -> None:
        """model2vec's files: the table as `embeddings` in `model.safetensors`, its `config.json` and the tokenizer."""
        folder = Path(output_path)
        save_file({"embeddings": self.embedding.weight.detach().cpu().contiguous()}, folder / "model.safetensors")
        self.tokenizer.save_pretrained(folder)
        StaticStudentConfig(
            vocab_size=self.embedding.num_embeddings,
            hidden_dim=self.get_embedding_dimension(),
            normalize=True,
            tokenizer_name=self.tokenizer.name_or_path,
            apply_pca=None,
        ).save_pretrained(folder)


def static_sentence_student(teacher: SentenceTransformer, max_seq_length: int) -> SentenceTransformer:
    """A static student of a sentence-transformers `teacher` (a transformer, mean pooling): model2vec's table of its
    encoder, in the teacher's space (no PCA), under the `Normalize` the teacher's targets have.

    Args:
        teacher: the sentence-embedding teacher; its first module's encoder embeds each token of its vocabulary.
        max_seq_length: tokens of a text the student reads, as the teacher does.
    """
    tokenizer = teacher.tokenizer
    table = distilled_table(teacher[0].auto_model, tokenizer, None)
    return SentenceTransformer(modules=[StaticMeanEmbedding(tokenizer, table, max_seq_length), Normalize()])


def save_static_sentence_student(student: SentenceTransformer, folder: str) -> None:
    """Save the student as model2vec's folder that sentence-transformers reads as `StaticEmbedding` + `Normalize`
    (not as this module's class, so that loading it needs no hfdistill)."""
    student.save(folder, create_model_card=False)
    write_sentence_transformers_modules(folder, normalize=True)
