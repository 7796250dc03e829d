"""`--task auto`: the task a dataset's label column implies, chosen before anything loads a model.

Class names or integers: text classification. Floats: text regression. Lists: tags per word (token classification)
when the text column holds lists of words too, else multi-label classification, or regression for lists of numbers.
A string column with `--label_separator`: multi-label. The log says which task and why; an explicit `--task` wins.
"""

import logging
from dataclasses import replace

from datasets import ClassLabel, Value

from hfdistill.config.data import AUTO_TASK, DataArguments
from hfdistill.data.loading import STRING_DTYPES, training_split

logger = logging.getLogger(__name__)

# The (text, label) columns the tasks read by default, in the order auto looks for them.
DEFAULT_COLUMNS = (("tokens", "ner_tags"), ("text", "label"), ("text", "labels"))
TASK_FLAGS = "--task text-classification, token-classification, text-regression or multi-label-classification"


def kind_of(feature) -> str:
    """'class' (names or integers), 'number' (floats), 'list of class'/'list of number', or what else it is."""
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return f"list of {kind_of(inner)}"
    if isinstance(feature, ClassLabel):
        return "class"
    if isinstance(feature, Value):
        if feature.dtype.startswith("float"):
            return "number"
        if feature.dtype in STRING_DTYPES or feature.dtype.startswith(("int", "uint")) or feature.dtype == "bool":
            return "class"
    return type(feature).__name__


def implied_task(text_kind: str, label_kind: str, separator: str | None) -> tuple[str | None, str]:
    """The task that a text column of `text_kind` and a label column of `label_kind` imply, and why (None: none)."""
    if text_kind.startswith("list of") and label_kind == "list of class":
        return "token-classification", "the text column holds lists of words and the labels a tag per word"
    if label_kind == "list of class":
        return "multi-label-classification", "the label column holds lists of labels"
    if label_kind in ("number", "list of number"):
        return "text-regression", f"the label column holds {'lists of ' if 'list' in label_kind else ''}numbers"
    if label_kind == "class" and separator is not None:
        return "multi-label-classification", "--label_separator splits each label string into labels"
    if label_kind == "class":
        return "text-classification", "the label column holds one class (a name or an integer) per text"
    return None, f"the label column holds {label_kind} values"


def resolved_task(data_args: DataArguments) -> DataArguments:
    """`data_args` with `task` chosen from the data when it is 'auto' (and its default columns, where unset, the
    ones found); as given otherwise. A label column that implies no task is a `ValueError` naming the task flags."""
    if data_args.task != AUTO_TASK:
        return data_args
    _, train = training_split(replace(data_args, text_column=None, label_column=None, text_pair_column=None))
    columns = train.column_names
    text, label = data_args.text_column, data_args.label_column
    if label is None or text is None:
        found = next(((t, lab) for t, lab in DEFAULT_COLUMNS if lab in columns and t in columns), None)
        if found is None and label is None:
            raise ValueError(
                f"--task auto found no label column in {data_args.dataset_name} (columns {columns}): name it with "
                f"--label_column (and the text with --text_column), or choose {TASK_FLAGS}"
            )
        text, label = text or (found[0] if found else "text"), label or (found[1] if found else None)
    for column in (text, label):
        if column not in columns:
            raise ValueError(
                f"column {column!r} not found in {data_args.dataset_name}; available columns: {columns} "
                "(set --text_column / --label_column)"
            )
    text_kind, label_kind = kind_of(train.features[text]), kind_of(train.features[label])
    task, why = implied_task(text_kind, label_kind, data_args.label_separator)
    if task is None:
        raise ValueError(f"--task auto cannot tell the task of {data_args.dataset_name}: {why}; choose {TASK_FLAGS}")
    logger.info("task: %s (auto: %s, column %r)", task, why, label)
    return replace(data_args, task=task, text_column=text, label_column=label)
