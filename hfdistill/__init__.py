"""hfdistill: knowledge distillation for Hugging Face encoders."""

from .cache import cache_teacher_logits
from .config import DataArguments, DistillationArguments
from .evaluation import load_task
from .losses import distillation_loss, embedding_mse, soft_target_kl, task_loss, topk_soft_target_kl
from .parallel import ParallelDataArguments
from .student import build_distilbert_student, build_student, build_truncated_student, evenly_spread_layers
from .tasks import task_for
from .trainer import DistillationTrainer, EmbeddingDistillationTrainer

__version__ = "0.1.0"

__all__ = [
    "DataArguments",
    "DistillationArguments",
    "DistillationTrainer",
    "EmbeddingDistillationTrainer",
    "ParallelDataArguments",
    "build_distilbert_student",
    "build_student",
    "build_truncated_student",
    "cache_teacher_logits",
    "distillation_loss",
    "embedding_mse",
    "evenly_spread_layers",
    "load_task",
    "soft_target_kl",
    "task_for",
    "task_loss",
    "topk_soft_target_kl",
]
