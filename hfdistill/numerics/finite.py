"""Stop a run when its loss or the teacher's outputs stop being finite numbers, with a message that says what to try.

A NaN or inf loss poisons every weight at the next optimizer step; the run stops before that step, so the last
checkpoint stays intact and no final folder or card is written from a broken model.
"""

import numpy as np
import torch

ADVICE = "lower --learning_rate, or run the teacher in float32 (--teacher_dtype float32)"


class NonFiniteError(RuntimeError):
    """A loss term or a teacher output is NaN or inf."""


def check_finite_terms(terms: dict[str, torch.Tensor | None], step: int) -> None:
    """Raise `NonFiniteError` naming each of `terms` (name -> tensor) that holds a NaN or inf, at training `step`.

    One device synchronisation when every term is finite.
    """
    present = {name: value.detach() for name, value in terms.items() if value is not None}
    if bool(torch.stack([torch.isfinite(value).all() for value in present.values()]).all()):
        return
    bad = [name for name, value in present.items() if not torch.isfinite(value).all()]
    raise NonFiniteError(f"training stopped at step {step}: {', '.join(bad)} not finite (NaN or inf); {ADVICE}")


def check_finite_rows(columns: dict[str, list[np.ndarray]], first_row: int, allow_minus_inf: set[str]) -> None:
    """Raise `NonFiniteError` when a cached teacher output holds a NaN or inf (-inf allowed in `allow_minus_inf`)."""
    for name, rows in columns.items():
        for offset, row in enumerate(rows):
            values = np.asarray(row, dtype=np.float64)
            ok = ~np.isnan(values) & (values != np.inf) if name in allow_minus_inf else np.isfinite(values)
            if not ok.all():
                raise NonFiniteError(
                    f"the teacher's {name} for training example {first_row + offset} are not finite (NaN or inf): "
                    "the cache is not written; run the teacher in float32 (--teacher_dtype float32) and keep the "
                    "cache in float32 (--teacher_cache_dtype float32), or check the teacher's weights"
                )
