"""The model card of a sentence-embedding student: retrieval and agreement with the teacher, measured, as metadata
and as tables, with the teacher's licence and language."""

from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

from hfdistill.outputs.card import hub_dataset, save_card, settings_table, teacher_metadata


def retrieval_results(settings: dict, scores: dict) -> list[EvalResult]:
    """The card's `model-index`, for every evaluation set and translation column: the translation's retrieval in the
    teacher's index (top-1 and MRR@10) first, then top-1 retrieval in this model's own space, both directions."""
    source, *targets = settings["columns"]
    return [
        EvalResult(
            task_type="translation-retrieval",
            task_name="Translation retrieval",
            dataset_type=set_name.split(",")[0],  # one model-index entry per evaluation set
            dataset_name=f"{set_name} ({settings['held_out_pairs'][set_name]} pairs)",
            dataset_split="held-out",
            metric_type=kind,
            metric_name=f"{name} {a}→{b}",
            metric_value=value,
        )
        for set_name, by_target in scores.items()
        for target in targets
        for kind, name, a, b, value in (
            (
                "accuracy",
                "top-1",
                target,
                f"teacher's {source} index",
                by_target[target]["target_to_teacher_index_top1"],
            ),
            ("mrr", "MRR@10", target, f"teacher's {source} index", by_target[target]["target_to_teacher_index_mrr10"]),
            ("accuracy", "top-1", source, target, by_target[target]["source_to_target_top1"]),
            ("accuracy", "top-1", target, source, by_target[target]["target_to_source_top1"]),
        )
    ]


def write_embedding_card(folder: Path, report: dict, teacher_path: str) -> Path:
    """`README.md` for a multilingual embedding student: metadata, held-out scores, speed, settings and usage."""
    settings = report["settings"]
    source, *targets = settings["columns"]
    teacher = teacher_metadata(teacher_path)
    eval_results = retrieval_results(settings, report["scores"]["distilled student"])
    data = ModelCardData(
        language=[source, *targets],
        license=teacher.license,
        library_name="sentence-transformers",
        base_model=teacher.hub_id,
        datasets=hub_dataset(settings["dataset"]),
        pipeline_tag="sentence-similarity",
        tags=["sentence-transformers", "knowledge-distillation", "multilingual", "hfdistill"],
        model_name=folder.name,
        eval_results=eval_results,
    )
    teacher_name = teacher.hub_id or teacher_path
    sets = ", ".join(f"{name} ({count} pairs)" for name, count in settings["held_out_pairs"].items())
    body = f"""
# Multilingual student of {teacher_name}

Distilled with hfdistill by multilingual knowledge distillation
(Reimers & Gurevych, 2020): for a sentence in {", ".join([source, *targets])}, this model produces the teacher's
embedding of the {source} sentence, so an index built with the teacher can be queried in every one of these languages.

- Teacher: `{teacher_name}`; student: {settings["student"]}
- Parallel data: `{settings["dataset"]}`, {settings["train_pairs"]} training pairs; {settings["source_only_sentences"]}
  {source} sentences alone ({mix_line(settings.get("source_sentences_mix") or {})})
- Scored on pairs never trained on: {sets}

{evaluation_section(report, source)}

## Speed

{report["speed_table"]}

## Training

{settings_table(settings)}

## Usage

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/folder")
embeddings = model.encode(["{_example(source)}", "{_example(targets[0])}"])
```
"""
    return save_card(folder, data, body)


def evaluation_section(report: dict, source: str) -> str:
    """The card's evaluation: both ways to deploy, what each column measures, the loss, and the table."""
    return f"""## Evaluation on pairs never trained on

Two ways to deploy it, each measured:

- *Keep the index*: the teacher embeds the {source} documents, this model embeds the queries in any of its
  languages. The first columns: top-1 and MRR@10 of the {source} sentence in an index of the teacher's embeddings,
  queried with this model's embedding of the translation.
- *Re-embed*: this model embeds both sides. Top-1 retrieval of the translation among all sentences of the set, in both
  directions.

Then cosine and MSE against the teacher's embedding of the {source} sentence. Loss: {loss_line(report["settings"])}. Measured
on {report["machine"]} ({report["date"]}).

{report["table"]}"""


def mix_line(mix: dict[str, dict[str, int]]) -> str:
    """The source sentences' sources and sizes in a few words: `name` (kind n, ...)."""
    if not mix:
        return "none"
    return "; ".join(
        f"`{name}` ({', '.join(f'{kind} {count:,}' for kind, count in kinds.items())})" for name, kinds in mix.items()
    )


def loss_line(settings: dict) -> str:
    """The embedding loss the student trained with, and its settings, in a few words."""
    loss = settings.get("embedding_loss", "mse")
    details = [
        f"{name} {settings[name]}" for name in ("contrastive_temperature", "contrastive_negatives") if name in settings
    ]
    details += [f"MSE weight {settings['embedding_mse_weight']}"] if "embedding_mse_weight" in settings else []
    return f"`{loss}`" + (f" ({', '.join(details)})" if details else "")


def _example(language: str) -> str:
    return {"en": "The light shines in the darkness.", "es": "La luz resplandece en las tinieblas."}.get(
        language, "..."
    )
