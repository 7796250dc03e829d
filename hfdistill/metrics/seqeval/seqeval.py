"""seqeval: entity-level precision, recall and F1 of tagged sequences (CoNLL evaluation), and token accuracy.

A local copy of the `evaluate` Hub metric `seqeval` (same name, inputs and outputs, computed with the `seqeval`
package), shipped so that `evaluate.load` works with no network.
"""

import datasets
import evaluate
from seqeval.metrics import accuracy_score, classification_report

_DESCRIPTION = (
    "Entity-level scores of sequence labelling: an entity counts as found only when its type and its whole span "
    "match the reference (CoNLL-2000 evaluation, as the seqeval package computes it)."
)
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of list of str): predicted tags per sentence, e.g. [["O", "B-PER", "I-PER"]].
    references (list of list of str): reference tags, the same lengths.
    suffix (bool): tags carry their prefix at the end ("PER-B"); default False.
    scheme (str): a strict scheme ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU"); default None (lenient,
        the CoNLL script's behaviour).
    mode (str): "strict" with a scheme; default None.
    sample_weight (list of float): per-sentence weights.
    zero_division ("warn", 0 or 1): the value of an undefined precision or recall; default "warn" (0).
Returns:
    for each entity type a dict of precision, recall, f1 and number, then overall_precision, overall_recall,
    overall_f1 (micro-averaged over entities) and overall_accuracy (over tokens).
"""
_CITATION = "seqeval: A Python framework for sequence labeling evaluation, Hiroki Nakayama, 2018."


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Seqeval(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                    "references": datasets.Sequence(datasets.Value("string", id="label"), id="sequence"),
                }
            ),
        )

    def _compute(
        self, predictions, references, suffix=False, scheme=None, mode=None, sample_weight=None, zero_division="warn"
    ):
        if scheme is not None:
            import seqeval.scheme

            scheme = getattr(seqeval.scheme, scheme)
        report = classification_report(
            y_true=references,
            y_pred=predictions,
            suffix=suffix,
            output_dict=True,
            scheme=scheme,
            mode=mode,
            sample_weight=sample_weight,
            zero_division=zero_division,
        )
        report.pop("macro avg")
        report.pop("weighted avg")
        overall = report.pop("micro avg")
        scores = {
            entity: {"precision": s["precision"], "recall": s["recall"], "f1": s["f1-score"], "number": s["support"]}
            for entity, s in report.items()
        }
        scores["overall_precision"] = overall["precision"]
        scores["overall_recall"] = overall["recall"]
        scores["overall_f1"] = overall["f1-score"]
        scores["overall_accuracy"] = accuracy_score(y_true=references, y_pred=predictions)
        return scores
