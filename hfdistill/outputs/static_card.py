"""What a model card says of a static student: which teacher layers it kept (none), its architecture, and how to
load it."""

from hfdistill.models.static import STATIC_MODEL_TYPE
from hfdistill.tasks.base import EncoderTask


def layers_kept(layers: list[int] | None, config) -> str | list[int]:
    """Which teacher layers a built student copied."""
    if config.model_type == STATIC_MODEL_TYPE:
        return "none: the table is model2vec's distillation of the teacher's vocabulary"
    return layers or "student loaded, not built from the teacher"


def architecture_of(config) -> str:
    """The student's architecture in a few words."""
    if config.model_type == STATIC_MODEL_TYPE:
        head = f"a hidden layer of {config.head_hidden_size}" if config.head_hidden_size else "a linear head"
        return f"static (model2vec table of {config.vocab_size} × {config.hidden_dim}, mean of tokens, {head})"
    return f"{config.model_type}, {config.num_hidden_layers} layers"


def usage_of(config, task: EncoderTask, folder_name: str) -> str:
    """The card's usage snippet: the task's; for a static student, the classes that load it."""
    if config.model_type != STATIC_MODEL_TYPE:
        return task.usage(folder_name)
    return (
        "from hfdistill import StaticForSequenceClassification  # registers the static classes with the Auto classes\n"
        f"{task.usage(folder_name)}\n\n"
        "# without torch: the table through model2vec, the head (model.safetensors, head.*) in numpy\n"
        "from hfdistill import StaticTextClassifier\n\n"
        f'StaticTextClassifier.from_pretrained("path/to/{folder_name}").predict(["{task.example}"])\n\n'
        "# the table alone, as sentence embeddings\n"
        "from model2vec import StaticModel\n"
        "from sentence_transformers import SentenceTransformer\n\n"
        f'StaticModel.from_pretrained("path/to/{folder_name}")\n'
        f'SentenceTransformer("path/to/{folder_name}")'
    )
