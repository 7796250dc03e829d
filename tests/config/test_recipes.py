from pathlib import Path

import pytest

from hfdistill.cli.subcommands import multilingual_parser, pipeline_parser, search_parser
from hfdistill.config.builtin import DEPTH_ONLY_DEFAULTS, QUICKSTART_DEFAULTS
from hfdistill.config.data import DataArguments
from hfdistill.config.parallel import ParallelDataArguments
from hfdistill.config.recipe import load_recipe, parse_with_recipe, recipe_keys
from hfdistill.config.training import DistillationArguments
from hfdistill.run.embedding_stages import MULTILINGUAL_DEFAULTS

RECIPES = sorted((Path(__file__).parents[2] / "recipes").glob("*.yaml"))


def parser():
    return pipeline_parser("test", "")


def parser_for(path: Path):
    """`hfdistill multilingual` reads the multilingual*.yaml recipes; the task pipeline reads the others."""
    if path.stem.startswith("multilingual"):
        return multilingual_parser("test"), ParallelDataArguments
    if "search" in path.stem:  # search.yaml, ner-search.yaml
        return search_parser("test"), DataArguments
    return parser(), DataArguments


def test_there_are_recipes():
    assert {path.stem for path in RECIPES} >= {"quickstart", "sst2", "mnli", "multilingual", "multilingual_xlmr"}


@pytest.mark.parametrize("path", RECIPES, ids=[path.stem for path in RECIPES])
def test_every_recipe_parses_and_validates(path):
    recipe_parser, data_type = parser_for(path)
    # use_cpu lets the GPU recipes' bf16 settings validate on a CPU-only machine
    argv = ["--config", str(path), "--output_dir", "unused", "--use_cpu"]
    parsed = parse_with_recipe(recipe_parser, argv)
    assert isinstance(parsed[0], DistillationArguments) and isinstance(parsed[1], data_type)
    # every value the recipe sets reaches the run's arguments (output_dir is the flag's: flags win)
    for key, value in load_recipe(path, recipe_keys(recipe_parser)).items():
        if key == "output_dir":
            continue
        (holder,) = [arguments for arguments in parsed if hasattr(arguments, key)]
        reached = getattr(holder, key)
        if key == "report_to":  # TrainingArguments keeps a list of integrations: "none" is the empty one
            value = [] if value == "none" else [value] if isinstance(value, str) else value
        assert getattr(reached, "value", reached) == value, f"{path.name}: {key}"


def test_flags_override_the_recipe(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("training:\n  temperature: 3.0\n  learning_rate: 1.0e-4\ndata:\n  text_column: sentence\n")
    args, data_args, _ = parse_with_recipe(
        parser(), ["--config", str(recipe), "--temperature", "5", "--output_dir", "o"]
    )
    assert args.temperature == 5.0 and args.learning_rate == 1e-4 and data_args.text_column == "sentence"


def test_unknown_key_names_the_closest_valid_one(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("temprature: 3.0\n")
    with pytest.raises(ValueError, match="unknown key 'temprature' in recipe .*; did you mean 'temperature'"):
        load_recipe(recipe, recipe_keys(parser()))


def test_broken_recipe_is_named(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("temperature: [3.0\n")
    with pytest.raises(ValueError, match="cannot parse recipe"):
        load_recipe(recipe, recipe_keys(parser()))


def test_invalid_value_in_a_recipe_is_refused(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("kd_loss_weight: 1.5\n")
    with pytest.raises(ValueError, match=r"kd_loss_weight must be in \[0, 1\], got 1.5"):
        parse_with_recipe(parser(), ["--config", str(recipe), "--output_dir", "o"])


@pytest.mark.parametrize(
    ("recipe", "defaults"), [("quickstart", QUICKSTART_DEFAULTS), ("depth-only", DEPTH_ONLY_DEFAULTS)]
)
def test_the_built_in_recipes_are_their_yaml_files(recipe, defaults):
    from_recipe = parse_with_recipe(parser(), ["--config", str(RECIPES[0].parent / f"{recipe}.yaml")])
    built_in = parse_with_recipe(parser(), [], defaults)
    assert from_recipe[1:] == built_in[1:]
    for name in defaults:
        if hasattr(from_recipe[0], name):
            assert getattr(from_recipe[0], name) == getattr(built_in[0], name), name


def test_the_recipes_a_user_picks_by_name_are_there():
    assert {"fast", "balanced", "depth-only", "quickstart"} <= {path.stem for path in RECIPES}


def test_search_recipe_is_the_search_command():
    from hfdistill.config.search import SearchArguments
    from hfdistill.run.search import SEARCH_DEFAULTS

    from_recipe = parse_with_recipe(search_parser("test"), ["--config", str(RECIPES[0].parent / "search.yaml")])
    built_in = parse_with_recipe(search_parser("test"), [], SEARCH_DEFAULTS)
    assert from_recipe[1:] == built_in[1:] and from_recipe[3] == SearchArguments()
    for name in SEARCH_DEFAULTS:
        if hasattr(from_recipe[0], name):
            assert getattr(from_recipe[0], name) == getattr(built_in[0], name), name


def test_multilingual_recipe_is_the_multilingual_command():
    recipe = str(RECIPES[0].parent / "multilingual.yaml")
    from_recipe = parse_with_recipe(multilingual_parser(), ["--config", recipe])
    built_in = parse_with_recipe(multilingual_parser(), [], MULTILINGUAL_DEFAULTS)
    assert from_recipe[1:] == built_in[1:]
    for name in MULTILINGUAL_DEFAULTS:
        if hasattr(from_recipe[0], name):
            assert getattr(from_recipe[0], name) == getattr(built_in[0], name), name


ACCELERATE_CONFIGS = sorted((Path(__file__).parents[2] / "scripts" / "accelerate").glob("*.yaml"))


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=[path.stem for path in ACCELERATE_CONFIGS])
def test_accelerate_configs_load(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))
    assert config.num_processes >= 1


def test_there_is_an_accelerate_config_per_engine():
    expected = {"cpu", "single_gpu", "multi_gpu", "fsdp", "deepspeed_zero2", "deepspeed_zero3"}
    assert {path.stem for path in ACCELERATE_CONFIGS} == expected


def test_a_flag_that_changes_the_strategy_makes_the_recipes_interval_moot_not_an_error():
    recipe = ["--config", str(Path(__file__).parents[2] / "recipes" / "depth-only.yaml")]
    args = parse_with_recipe(pipeline_parser("hfdistill distill", ""), [*recipe, "--save_strategy", "no"])[0]
    assert args.save_strategy == "no"
    with pytest.raises(ValueError, match="--save_steps acts only with --save_strategy steps"):
        parse_with_recipe(
            pipeline_parser("hfdistill distill", ""), [*recipe, "--save_strategy", "no", "--save_steps", "5"]
        )


def test_a_recipe_extends_another_and_overrides_it(tmp_path):
    (tmp_path / "base.yaml").write_text("training:\n  temperature: 3.0\n  save_strategy: steps\n  save_steps: 5\n")
    (tmp_path / "child.yaml").write_text('extends: base.yaml\ntraining:\n  temperature: 4.0\n  save_strategy: "no"\n')
    values = load_recipe(tmp_path / "child.yaml", recipe_keys(parser()))
    assert values == {"temperature": 4.0, "save_strategy": "no"}  # the base's interval went with its strategy
    (tmp_path / "base.yaml").write_text("extends: child.yaml\n")
    with pytest.raises(ValueError, match="extends child.yaml, which extends it back"):
        load_recipe(tmp_path / "child.yaml", recipe_keys(parser()))


def test_the_ner_search_is_the_ner_recipe_without_its_twin():
    root = Path(__file__).parents[2] / "recipes"
    keys = recipe_keys(search_parser("test")) | recipe_keys(parser())
    ner, search = load_recipe(root / "ner.yaml", keys), load_recipe(root / "ner-search.yaml", keys)
    own = {
        "train_baseline",
        "baseline_num_train_epochs",
        "baseline_learning_rate",
        "output_dir",
        "save_strategy",
        "save_steps",
        "save_total_limit",
    }
    own |= {key for key in search if key not in ner}  # the search's ranges
    assert {k: v for k, v in search.items() if k not in own} == {k: v for k, v in ner.items() if k not in own}
    assert search["train_baseline"] is False and search["save_strategy"] == "no"
