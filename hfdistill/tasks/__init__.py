"""Tasks: what differs between distilling a text classifier, a token classifier (NER), sentence embeddings and the
next task. `task_for` chooses one by its name (`--task`).

A task with logits (a subclass of `EncoderTask`) says which auto class its models load with, which columns it reads
by default, how its data is split, tokenised and collated, how its predictions are scored, and what its model card
and ONNX export declare. The stages every such task shares (`hfdistill.run.logit_stages`), the report, the card,
the export and the teacher-output cache ask it, and none of them branches on which task it is. The sentence-embedding
task (`sentence_embedding.py`) brings parallel sentences and regression onto the teacher's embeddings, and has
stages of its own (`hfdistill.run.embedding_stages`). A new task with logits is one module here and its tests, plus
one line in `task_for` and one in `config.data.TaskName`.
"""

from hfdistill.config.data import TASK_NAMES, TaskName
from hfdistill.config.paths import model_config
from hfdistill.tasks.base import EncoderTask

# A classifier's task, by the suffix of the architecture its config names (`BertForTokenClassification`, ...).
HEADS = {"ForSequenceClassification": "text-classification", "ForTokenClassification": "token-classification"}
# ... unless its config's `problem_type` says it predicts scores or several labels per text.
PROBLEM_TASKS = {"regression": "text-regression", "multi_label_classification": "multi-label-classification"}


def task_for(name: str):
    """The task named `name`: an `EncoderTask`, or the sentence-embedding task.

    Args:
        name: the value of `--task` ('text-classification', 'token-classification', 'text-regression',
            'multi-label-classification'), or 'sentence-embedding'.
    """
    if name == "text-classification":
        from hfdistill.tasks.text_classification import TextClassification

        return TextClassification()
    if name == "token-classification":
        from hfdistill.tasks.token_classification import TokenClassification

        return TokenClassification()
    if name == "text-regression":
        from hfdistill.tasks.text_regression import TextRegression

        return TextRegression()
    if name == "multi-label-classification":
        from hfdistill.tasks.multi_label_classification import MultiLabelClassification

        return MultiLabelClassification()
    if name == "sentence-embedding":
        from hfdistill.tasks.sentence_embedding import SentenceEmbedding

        return SentenceEmbedding()
    raise ValueError(f"unknown task {name!r}; choose one of {list(TASK_NAMES)}")


def task_of_model(name: str, flag: str) -> str:
    """The task a saved model was trained for, read from the model: a sentence-transformers folder embeds; any other
    names its head in its config's `architectures`.

    Args:
        name: a model folder or Hub id.
        flag: the flag that named it, for the error that says what to fix.
    """
    from sentence_transformers.util import is_sentence_transformer_model  # loads only when a model is read

    config = model_config(name, flag)
    if is_sentence_transformer_model(name):
        return "sentence-embedding"
    architectures = config.architectures or []
    if config.problem_type in PROBLEM_TASKS:  # a head of scores, or of several labels
        return PROBLEM_TASKS[config.problem_type]
    for suffix, task in HEADS.items():
        if any(architecture.endswith(suffix) for architecture in architectures):
            return task
    raise ValueError(
        f"--{flag} {name} is neither a sentence-transformers model nor a classifier (architectures {architectures}): "
        "name a model with a classification head or a sentence-embedding model"
    )


__all__ = ["TASK_NAMES", "EncoderTask", "TaskName", "task_for", "task_of_model"]
