"""`hfdistill evaluate`: score and time saved models of one task, which is read from the teacher."""

import logging
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hfdistill.cli.modes import add_mode_flag, embeddings, flag_value
from hfdistill.config.data import DataArguments
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.config.recipe import parse_with_recipe
from hfdistill.outputs.report import write_json
from hfdistill.run.commands import evaluate_folders
from hfdistill.tasks import task_of_model

logger = logging.getLogger(__name__)


@dataclass
class EvaluateArguments:
    """Which saved models `hfdistill evaluate` compares."""

    teacher: str = field(metadata={"help": "Teacher model folder or Hub id (the reference row)."})
    students: list[str] = field(default_factory=list, metadata={"help": "Student model folders or Hub ids."})
    output_file: str | None = field(default=None, metadata={"help": "Also write the report JSON here."})
    timing_rounds: int = field(
        default=5, metadata={"help": "Rounds of CPU timing per model; each keeps its best round."}
    )

    def __post_init__(self):
        if self.timing_rounds < 1:
            raise ValueError(f"timing_rounds must be >= 1, got {self.timing_rounds}")


EVALUATE_DESCRIPTION = (
    "Score a teacher and its students, time them on the CPU and print the table. The task is read from the teacher: "
    "a classifier is scored on the test split (the data flags of `distill`), a sentence-embedding model on held-out "
    "parallel pairs (the data flags of `multilingual`, whose defaults apply)."
)


def evaluate_command(argv: list[str]) -> int:
    teacher = flag_value(argv, "--teacher")
    task = "text-classification" if teacher is None else task_of_model(teacher, "teacher")  # None: the parser says
    check_deprecated_mode(argv, task)
    embedding = task == "sentence-embedding"
    data_class = ParallelDataArguments if embedding else DataArguments
    parser = HfArgumentParser(
        (EvaluateArguments, data_class), prog="hfdistill evaluate", description=EVALUATE_DESCRIPTION
    )
    add_mode_flag(parser, deprecated=True)
    defaults = embeddings().MULTILINGUAL_DEFAULTS if embedding else {"task": task}
    eval_args, data_args = parse_with_recipe(parser, argv, defaults)
    for student in eval_args.students:
        if task_of_model(student, "students") != task:
            raise ValueError(
                f"--students {student} is not a {task} model like the teacher: compare models of one task"
            )
    if data_args.task != task:
        raise ValueError(f"--task {data_args.task}: the teacher {teacher} is a {task} model; drop --task")
    if embedding:
        report = embeddings().evaluate_embedding_folders(
            eval_args.teacher, eval_args.students, data_args, eval_args.timing_rounds
        )
        if eval_args.output_file is not None:
            write_json(eval_args.output_file, {name: report[name] for name in ("scores", "sentences_per_second")})
        print(f"\n{report['table']}\n\n{report['speed_table']}")
        return 0
    report = evaluate_folders(
        eval_args.teacher, eval_args.students, data_args, eval_args.output_file, eval_args.timing_rounds
    )
    print(f"\n{report['table']}")
    return 0


def check_deprecated_mode(argv: list[str], task: str) -> None:
    """`evaluate --mode` is read from the teacher now: warn once when it is given, refuse it when it disagrees."""
    mode = flag_value(argv, "--mode")
    if mode is None:
        return
    expected = "embeddings" if task == "sentence-embedding" else "logits"
    if mode != expected:
        raise ValueError(f"--mode {mode}: the teacher is a {task} model, scored as {expected}; drop --mode")
    logger.warning("--mode is deprecated: evaluate reads the task from the teacher (%s); drop the flag", task)
