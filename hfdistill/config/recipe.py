"""YAML recipes: a run's settings in a file, flat or in sections, under the command line's flags."""

import argparse
import difflib
from dataclasses import fields
from pathlib import Path

import yaml
from transformers import HfArgumentParser

# A setting that acts only under one value of another (`TrainingArguments`' step intervals): set under any other
# value it would be accepted and ignored, so it is refused.
ACTS_ONLY_WITH = {
    "save_steps": ("save_strategy", "steps"),
    "eval_steps": ("eval_strategy", "steps"),
    "logging_steps": ("logging_strategy", "steps"),
}


def recipe_keys(parser: HfArgumentParser) -> set[str]:
    """Every field name the parser's dataclasses accept."""
    return {f.name for dataclass_type in parser.dataclass_types for f in fields(dataclass_type) if f.init}


def load_recipe(path: str | Path, valid_keys: set[str], seen: set[Path] | None = None) -> dict:
    """The fields set by a YAML recipe, flat or in sections (`training:`, `data:`, …); unknown keys are errors.
    `extends: other.yaml` (beside it) starts from that recipe's fields; the recipe's own override them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"cannot parse recipe {path}: {str(error).splitlines()[0]}") from error
    if not isinstance(content, dict):
        raise ValueError(f"recipe {path} must be a mapping of field names to values, got {type(content).__name__}")
    base = content.pop("extends", None)
    values = {}
    for key, value in content.items():
        if isinstance(value, dict) and key not in valid_keys:
            values.update(value)  # a section
        else:
            values[key] = value
    if base is not None:
        values = extended(path, base, values, valid_keys, seen or set())
    unknown = sorted(set(values) - valid_keys)
    if unknown:
        closest = difflib.get_close_matches(unknown[0], valid_keys, n=1)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        raise ValueError(f"unknown key {unknown[0]!r} in recipe {path}{hint}")
    return values


def extended(path: Path, base, own: dict, valid_keys: set[str], seen: set[Path]) -> dict:
    """The fields of the recipe `base` names, under `own`; an interval `own` makes moot by changing its strategy is
    dropped with it (`save_strategy: "no"` over a base's `save_steps`)."""
    if not isinstance(base, str):
        raise ValueError(f"recipe {path}: extends takes one recipe file's name, got {base!r}")
    base_path = (path.parent / base).resolve()
    if base_path in seen | {path.resolve()}:
        raise ValueError(f"recipe {path}: extends {base}, which extends it back")
    values = load_recipe(base_path, valid_keys, seen | {path.resolve()})
    for interval, (strategy, _) in ACTS_ONLY_WITH.items():
        if strategy in own and interval not in own:
            values.pop(interval, None)
    return {**values, **own}


def parse_with_recipe(parser: HfArgumentParser, argv: list[str], defaults: dict | None = None) -> tuple:
    """Parse `argv` into the parser's dataclasses: built-in `defaults` < `--config RECIPE.yaml` < command-line flags."""
    parser.add_argument("--config", default=None, help="YAML recipe; command-line flags override its values.")
    recipe_path = argparse.ArgumentParser(add_help=False)
    recipe_path.add_argument("--config", default=None)
    known, _ = recipe_path.parse_known_args(argv)
    values, recipe = dict(defaults or {}), {}
    if known.config:
        recipe = load_recipe(known.config, recipe_keys(parser))
        values.update(recipe)
    parser.set_defaults(**values)
    parsed = tuple(parser.parse_args_into_dataclasses(args=argv)[: len(parser.dataclass_types)])
    flags = {arg[2:].partition("=")[0].replace("-", "_") for arg in argv if arg.startswith("--")}
    # a recipe's interval is moot, not ignored, once a flag changes its strategy (`--save_strategy no` over a recipe)
    moot = {name for name, (strategy, _) in ACTS_ONLY_WITH.items() if strategy in flags}
    check_nothing_ignored(parsed, flags | (set(recipe) - moot))
    return parsed


def check_nothing_ignored(parsed: tuple, named: set[str]) -> None:
    """Refuse a setting the user named (flag or recipe) that the other settings make ignored."""
    for name, (strategy, needed) in ACTS_ONLY_WITH.items():
        holder = next((values for values in parsed if hasattr(values, strategy)), None)
        if name not in named or holder is None:
            continue
        value = getattr(holder, strategy)
        value = getattr(value, "value", value)  # `TrainingArguments` holds an enum, a recipe may hold its string
        if value != needed:
            raise ValueError(
                f"--{name} acts only with --{strategy} {needed}, and {strategy} is {value!r}: set both or neither"
            )
