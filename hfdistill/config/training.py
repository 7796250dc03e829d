"""`DistillationArguments`: `TrainingArguments` plus the teacher, the student's shape, T and the loss weights."""

import logging
import os
from dataclasses import dataclass, field
from typing import Literal

import torch
from transformers import TrainingArguments

from hfdistill.config.embedding_loss import EmbeddingLossArguments, check_embedding_loss
from hfdistill.config.paths import check_folder_path
from hfdistill.config.pipeline import STATIC_DIMENSIONS
from hfdistill.config.precision import native_bf16
from hfdistill.config.schedule import check_step_intervals, check_training_ranges

logger = logging.getLogger(__name__)


def sharding_engines_available() -> bool:
    """Whether accelerate runs FSDP or DeepSpeed when asked: only with an accelerator (on a CPU it runs plain DDP)."""
    return torch.accelerator.is_available()


TEACHER_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
CACHE_DTYPES = {"float32": torch.float32, "float16": torch.float16}
DEFAULT_TEMPERATURE = 2.0  # the value every shipped recipe and benchmark was tuned at


@dataclass
class DistillationArguments(TrainingArguments, EmbeddingLossArguments):
    """`TrainingArguments` plus what knowledge distillation needs: the teacher, the student, T and the loss weight.

    The training loss is `kd_loss_weight · T² · KL(teacher_T || student_T) + (1 − kd_loss_weight) · task_loss
    + hidden_loss_weight · hidden_loss + attention_loss_weight · attention_loss`; the last two are 0 by default.
    A sentence-embedding student's loss is chosen by the `EmbeddingLossArguments` fields instead.
    """

    teacher_name_or_path: str | None = field(
        default=None, metadata={"help": "Fine-tuned teacher: a local model folder or a Hub id."}
    )
    student_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "An existing student (folder or Hub id). Leave unset to build the student from the teacher."
        },
    )
    student_architecture: Literal["distilbert", "same", "static"] = field(
        default="distilbert",
        metadata={
            "help": "How a student is built from the teacher: 'distilbert' (DistilBERT classes, BERT-family teachers), "
            "'same' (the teacher's own architecture with fewer layers, any encoder) or 'static' (no transformer: a "
            "table of token vectors distilled from the teacher by model2vec, a text as the mean of its tokens', and "
            "a small head; for whole-text tasks and sentence embeddings)."
        },
    )
    student_num_layers: int | None = field(
        default=None, metadata={"help": "Layers of a built student. Default: half of the teacher's, rounded up."}
    )
    student_layers: list[int] | None = field(
        default=None,
        metadata={
            "help": "Teacher layer indices (0-based) copied into a built student, one per student layer. "
            "Default: spread evenly from the first to the last, as DistilBERT did (12 -> [0, 2, 4, 7, 9, 11])."
        },
    )
    student_hidden_size: int | None = field(
        default=None,
        metadata={
            "help": "Width of a built student (its word-embedding table too). Default: the teacher's. A narrower "
            "student starts from slices of the teacher's weights (student_init='teacher'). A static student: its "
            f"table's PCA dimensions (default {STATIC_DIMENSIONS}, or the teacher's width where narrower)."
        },
    )
    student_num_attention_heads: int | None = field(
        default=None,
        metadata={"help": "Attention heads of a built student. Default: keep the teacher's head width (64 or 32 …)."},
    )
    student_intermediate_size: int | None = field(
        default=None,
        metadata={
            "help": "Feed-forward width of a built student. Default: the teacher's ratio to the hidden size. A static "
            "student: the hidden layer of its head (default none: a linear head)."
        },
    )
    student_init: Literal["teacher", "importance", "random"] = field(
        default="teacher",
        metadata={
            "help": "How a built student starts: 'teacher' copies the chosen teacher layers, sliced to the student's "
            "widths (leading heads, feed-forward units and hidden dimensions); 'importance' first reorders a BERT "
            "teacher so the slices keep its most active channels, heads and units on the training texts (Minitron's "
            "width pruning); 'random' starts from scratch."
        },
    )
    save_total_limit: int | None = field(
        default=2,
        metadata={
            "help": "Checkpoints kept (older ones are deleted as new ones are saved); a rerun after a crash continues "
            "from the last. Unset (None) keeps them all."
        },
    )
    temperature: float | None = field(
        default=None,
        metadata={
            "help": "Temperature T > 0 of the soft targets (a softmax over classes, or each label's sigmoid); the KL "
            f"term is scaled by T². Default: {DEFAULT_TEMPERATURE}. Regression has none (its soft targets are the "
            "teacher's scores), and refuses it."
        },
    )
    kd_loss_weight: float = field(
        default=0.5,
        metadata={
            "help": "Weight in [0, 1] of the soft-target KL loss; the task (cross-entropy) loss gets 1 − kd_loss_weight."
        },
    )
    hidden_loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight (>= 0) of the hidden-state loss added to the blend: mean over the layer map of hidden_loss "
            "between each student hidden state (projected to the teacher's width when narrower) and its teacher one."
        },
    )
    hidden_loss: Literal["mse", "cosine"] = field(
        default="mse", metadata={"help": "Hidden-state loss: 'mse' (TinyBERT) or 'cosine' (1 - cos, DistilBERT)."}
    )
    attention_loss_weight: float = field(
        default=0.0,
        metadata={
            "help": "Weight (>= 0) of the attention loss added to the blend, taken at every student layer of the "
            "layer map against its teacher layer."
        },
    )
    attention_loss: Literal["relation", "kl"] = field(
        default="relation",
        metadata={
            "help": "'relation': MiniLM v2's Q-Q, K-K and V-V self-attention relations (any widths and head counts); "
            "'kl': KL between attention distributions (teacher and student head counts must agree)."
        },
    )
    relation_heads: int | None = field(
        default=None,
        metadata={
            "help": "Heads the queries, keys and values are split into for relation distillation; must divide both "
            "widths. Default: the student's attention head count."
        },
    )
    distill_layer_map: list[int] | None = field(
        default=None,
        metadata={
            "help": "Teacher hidden-state index (0 = embeddings, i = layer i) for each student hidden state, "
            "embeddings first: a 3-layer student of a 6-layer teacher has 4 entries. Default: evenly spread, "
            "embeddings to embeddings and last layer to last layer ([0, 2, 4, 6])."
        },
    )
    bf16: bool | None = field(
        default=None,
        metadata={
            "help": "bfloat16 mixed precision (autocast: the weights, the optimiser and the losses stay float32). "
            "Default: on where the hardware computes bfloat16 natively (a CUDA GPU that does, or a CPU with "
            "AVX512-BF16 or AMX on a machine without an accelerator), 1.3-1.5x as fast there; float32 elsewhere. "
            "On a machine without an accelerator it trains on the CPU (use_cpu)."
        },
    )
    teacher_dtype: Literal["float32", "bfloat16", "float16"] | None = field(
        default=None,
        metadata={
            "help": "Run the teacher's inference in this dtype (half precision halves its memory and time on a GPU). "
            "Default: as loaded."
        },
    )
    teacher_cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Run the teacher once over the training set and keep its outputs here, keyed by teacher, tokenizer, "
            "preprocessing and data; training then reads them instead of running the teacher (which is not held in "
            "memory), and later runs with the same teacher and data reuse them. Default: the teacher runs on every batch."
        },
    )
    teacher_cache_dtype: Literal["float32", "float16"] = field(
        default="float32", metadata={"help": "Storage dtype of cached teacher outputs; float16 halves the disk."}
    )
    teacher_cache_top_k: int | None = field(
        default=None,
        metadata={
            "help": "Cache only the teacher's k most likely classes (log-probabilities at the temperature) and the "
            "mass of the rest, for large output spaces; the KD loss is then taken over those k + 1 outcomes. "
            "Default: all logits (serving any temperature)."
        },
    )
    remove_unused_columns: bool = field(
        default=False,
        metadata={
            "help": "Drop dataset columns the student's forward does not name. Off by default: the teacher may need "
            "inputs the student does not take (a BERT teacher's token_type_ids under a DistilBERT student)."
        },
    )

    def __post_init__(self):
        engines = [name for name in ("FSDP", "DEEPSPEED") if os.environ.get(f"ACCELERATE_USE_{name}") == "true"]
        if engines and not sharding_engines_available():
            raise ValueError(
                f"{engines[0]} was asked for (accelerate launch --use_{engines[0].lower()}) but this machine has no "
                "GPU or other accelerator, where accelerate would run plain DDP instead: launch with --multi_gpu to "
                "train on the CPU over gloo, or run on a GPU machine"
            )
        if not self.use_cpu and int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.accelerator.is_available():
            # Without use_cpu, transformers runs each launched process alone: N copies, no gradient sync.
            logger.warning(
                "%s processes launched on a machine without accelerators: training on the CPU over gloo; "
                "pass --use_cpu true to ask for it and silence this",
                os.environ["WORLD_SIZE"],
            )
            self.use_cpu = True
        if self.bf16 is None:  # the default: bfloat16 where it is native (`hfdistill.config.precision`)
            self.bf16 = not self.fp16 and native_bf16()
        if self.bf16 and not torch.accelerator.is_available():
            # transformers refuses bf16 without a GPU unless use_cpu is set; with no accelerator the CPU is all there is.
            self.use_cpu = True
        if self.use_cpu or not torch.accelerator.is_available():
            # Pinned host memory only speeds copies to an accelerator. With none, torch's DataLoader pins nothing and
            # warns so on every run (a UserWarning per loader); not pinning is what happens anyway.
            self.dataloader_pin_memory = False
        for flag in ("output_dir", "teacher_cache_dir"):
            check_folder_path(getattr(self, flag), flag)
        check_step_intervals(self)
        super().__post_init__()
        check_training_ranges(self)
        if self.temperature is not None and not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0.0 <= self.kd_loss_weight <= 1.0:
            raise ValueError(f"kd_loss_weight must be in [0, 1], got {self.kd_loss_weight}")
        check_embedding_loss(self)
        if self.student_num_layers is not None and self.student_num_layers < 1:
            raise ValueError(f"student_num_layers must be >= 1, got {self.student_num_layers}")
        if self.student_layers is not None:
            validate_layer_choice(self.student_layers, self.student_num_layers)
        for name in ("hidden_loss_weight", "attention_loss_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("student_hidden_size", "student_num_attention_heads", "student_intermediate_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.relation_heads is not None and self.relation_heads < 1:
            raise ValueError(f"relation_heads must be >= 1, got {self.relation_heads}")
        if self.teacher_cache_dtype not in CACHE_DTYPES:
            raise ValueError(
                f"teacher_cache_dtype must be one of {sorted(CACHE_DTYPES)}, got {self.teacher_cache_dtype!r}"
            )
        if self.teacher_cache_top_k is not None and self.teacher_cache_top_k < 1:
            raise ValueError(f"teacher_cache_top_k must be >= 1, got {self.teacher_cache_top_k}")
        if self.teacher_dtype is not None and self.teacher_dtype not in TEACHER_DTYPES:
            raise ValueError(f"teacher_dtype must be one of {sorted(TEACHER_DTYPES)}, got {self.teacher_dtype!r}")

    @property
    def kd_temperature(self) -> float:
        """The soft targets' temperature: `temperature`, or the default when unset."""
        return DEFAULT_TEMPERATURE if self.temperature is None else self.temperature

    @property
    def needs_hidden_states(self) -> bool:
        return self.hidden_loss_weight > 0

    @property
    def needs_attention(self) -> bool:
        return self.attention_loss_weight > 0

    @property
    def teacher_torch_dtype(self) -> torch.dtype | None:
        """`teacher_dtype` as a torch dtype (None: keep the teacher's)."""
        return TEACHER_DTYPES[self.teacher_dtype] if self.teacher_dtype is not None else None

    @property
    def teacher_cache_torch_dtype(self) -> torch.dtype:
        """`teacher_cache_dtype` as a torch dtype."""
        return CACHE_DTYPES[self.teacher_cache_dtype]


def validate_layer_choice(layers: list[int], num_layers: int | None = None, teacher_num_layers: int | None = None):
    """Raise `ValueError` naming the fix when `layers` cannot select a student's layers from a teacher."""
    if not layers:
        raise ValueError("student_layers is empty: give at least one teacher layer index, e.g. [0, 2, 5]")
    if len(set(layers)) != len(layers):
        raise ValueError(f"student_layers has repeated indices {layers}: each teacher layer can be copied once")
    if num_layers is not None and len(layers) != num_layers:
        raise ValueError(
            f"student_layers has {len(layers)} entries but student_num_layers is {num_layers}: set one or make them agree"
        )
    if teacher_num_layers is None:
        bad = [i for i in layers if i < 0]
        if bad:
            raise ValueError(f"student_layers {bad} out of range: layer indices are 0-based and >= 0")
        return
    bad = [i for i in layers if not 0 <= i < teacher_num_layers]
    if bad:
        raise ValueError(
            f"student_layers {bad} out of range: the teacher has {teacher_num_layers} layers, "
            f"valid indices are 0..{teacher_num_layers - 1}"
        )
