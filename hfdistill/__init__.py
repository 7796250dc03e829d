"""hfdistill: knowledge distillation for Hugging Face encoders.

The public names load on first use (PEP 562), as transformers' do: `import hfdistill` and the `hfdistill` command's
help do not import torch and transformers until something needs them.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

# public name -> the module that defines it. Everything else is internal: its module may move.
_EXPORTS = {
    # the trainers
    "DistillationTrainer": "training.trainer",
    "EmbeddingDistillationTrainer": "training.embedding_trainer",
    # the typed arguments
    "DataArguments": "config.data",
    "DistillationArguments": "config.training",
    "EmbeddingLossArguments": "config.embedding_loss",
    "ParallelDataArguments": "config.parallel",
    "PipelineArguments": "config.pipeline",
    "SearchArguments": "config.search",
    # the student builders
    "build_distilbert_student": "models.student",
    "build_student": "models.student",
    "build_truncated_student": "models.student",
    "StudentShape": "models.student",
    "evenly_spread_layers": "models.layers",
    # static students (model2vec's table under a head)
    "StaticForSequenceClassification": "models.static",
    "StaticTextClassifier": "models.static",
    "build_static_student": "models.static",
    # the losses (pure functions of tensors)
    "attention_kl": "losses.attention",
    "distillation_loss": "losses.soft_targets",
    "embedding_contrastive": "losses.embedding",
    "embedding_mse": "losses.embedding",
    "hidden_state_cosine": "losses.hidden_states",
    "hidden_state_mse": "losses.hidden_states",
    "self_attention_relation_kl": "losses.attention",
    "soft_target_kl": "losses.soft_targets",
    "task_loss": "losses.soft_targets",
    "topk_soft_target_kl": "losses.soft_targets",
    # the tasks
    "EncoderTask": "tasks.base",
    "SentenceEmbedding": "tasks.sentence_embedding",
    "TextClassification": "tasks.text_classification",
    "TokenClassification": "tasks.token_classification",
    "load_task": "tasks.task_data",
    "task_for": "tasks",
    # the teacher-output cache, the run and the search
    "cache_teacher_logits": "cache.logits",
    "run_pipeline": "run.pipeline",
    "run_search": "run.search",
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
