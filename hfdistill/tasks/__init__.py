"""Tasks: what differs between distilling a text classifier, a token classifier (NER) and the next task.

A task says which auto class its models load with, how its data is read, split, tokenised and collated, how its
predictions are scored, and what its model card and ONNX export declare. The pipeline, the report, the card, the
export and the teacher-output cache ask the task; none of them branches on which task it is. A new task is one module
here (a subclass of `EncoderTask`) and its tests, plus one line in `task_for` and one in `config.TaskName`.
"""

from ..config import TASK_NAMES, TaskName
from .base import EncoderTask


def task_for(name: str) -> EncoderTask:
    """The task named `name` (its Hub `pipeline_tag`)."""
    if name == "text-classification":
        from .text_classification import TextClassification

        return TextClassification()
    if name == "token-classification":
        from .token_classification import TokenClassification

        return TokenClassification()
    raise ValueError(f"unknown task {name!r}; choose one of {list(TASK_NAMES)}")


__all__ = ["TASK_NAMES", "EncoderTask", "TaskName", "task_for"]
