"""Metrics through `evaluate`, offline: the metric modules hfdistill uses ship inside this package.

`evaluate.load("accuracy")` fetches a script from the Hub (and first looks in `./accuracy/` under the working
directory). Loading the packaged module by its absolute path needs no network and cannot pick up a stray folder.
A metric that is not packaged goes to `evaluate.load(name)` unchanged, which needs the Hub.
"""

from pathlib import Path

PACKAGED = Path(__file__).parent


def load_metric(name: str, config_name: str | None = None):
    """The `evaluate` module `name` (an `evaluate.EvaluationModule`), in its configuration `config_name` (e.g.
    'multilabel'): the packaged copy when there is one, else the Hub's. `evaluate` (and the scipy it imports) loads
    here, when a run first scores, not with the command line."""
    import evaluate

    local = PACKAGED / name / f"{name}.py"
    if local.is_file():
        return evaluate.load(str(local.parent), config_name)
    try:
        return evaluate.load(name, config_name)
    except (FileNotFoundError, ConnectionError, OSError) as error:
        packaged = sorted(p.name for p in PACKAGED.iterdir() if (p / f"{p.name}.py").is_file())
        raise ValueError(
            f"metric {name!r} is not packaged with hfdistill (packaged: {packaged}) and could not be fetched from the "
            f"Hub: {error}"
        ) from error
