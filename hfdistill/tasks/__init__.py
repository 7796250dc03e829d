"""Tasks: what differs between distilling a text classifier, a token classifier (NER), sentence embeddings and the
next task.

Every task gives `run.run_pipeline` its stages (`stages()`, a `run.Stages`): the one pipeline starts the run, runs
them and pushes the student. A task with logits (a subclass of `EncoderTask`) also says which auto class its models
load with, how its data is read, split, tokenised and collated, how its predictions are scored, and what its model
card and ONNX export declare; the stages of every such task (`pipeline.LogitStages`), the report, the card, the
export and the teacher-output cache ask it, and none of them branches on which task it is. The sentence-embedding
task (`sentence_embedding.py`) has stages of its own: parallel sentences, regression onto the teacher's embeddings,
retrieval scores. A new task is one module here and its tests, plus one line in `task_for` and one in its data
arguments' `task` choices (`config.TaskName` for a task with logits).
"""

from ..config import TASK_NAMES, TaskName
from .base import EncoderTask


def task_for(name: str):
    """The task named `name` (`--task`): an `EncoderTask`, or the sentence-embedding task."""
    if name == "text-classification":
        from .text_classification import TextClassification

        return TextClassification()
    if name == "token-classification":
        from .token_classification import TokenClassification

        return TokenClassification()
    if name == "sentence-embedding":
        from .sentence_embedding import SentenceEmbedding

        return SentenceEmbedding()
    raise ValueError(f"unknown task {name!r}; choose one of {list(TASK_NAMES)}")


__all__ = ["TASK_NAMES", "EncoderTask", "TaskName", "task_for"]
