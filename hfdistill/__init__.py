"""hfdistill: knowledge distillation for Hugging Face encoders.

The public names load on first use (PEP 562), as transformers' do: `import hfdistill` and the `hfdistill` command's
help do not import torch and transformers until something needs them.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "cache_teacher_logits": "cache",
    "DataArguments": "config",
    "DistillationArguments": "config",
    "load_task": "evaluation",
    "distillation_loss": "losses",
    "embedding_mse": "losses",
    "soft_target_kl": "losses",
    "task_loss": "losses",
    "topk_soft_target_kl": "losses",
    "ParallelDataArguments": "parallel",
    "build_distilbert_student": "student",
    "build_student": "student",
    "build_truncated_student": "student",
    "evenly_spread_layers": "student",
    "task_for": "tasks",
    "DistillationTrainer": "trainer",
    "EmbeddingDistillationTrainer": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hfdistill' has no attribute {name!r}")
    value = getattr(_import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
