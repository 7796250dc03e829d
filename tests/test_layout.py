"""The house rules: small modules with one idea each, functions that fit on a screen, every module in a layer of
the import contract, and a public API that imports."""

import ast
import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest
import tomllib

import hfdistill

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hfdistill"
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_modules_and_functions_stay_small(path):
    source = path.read_text()
    assert len(source.splitlines()) <= 300, f"{path.name} has grown past 300 lines: split it by idea"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{path.name}: {node.name} is {length} lines: split it into named steps"


def contract() -> dict:
    (layers,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    return layers


def test_the_layers_contract_names_every_subpackage_and_allows_no_exception():
    layers = contract()
    assert layers["type"] == "layers" and layers["containers"] == ["hfdistill"] and layers["exhaustive"]
    assert "ignore_imports" not in layers
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    on_disk = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert named == on_disk
    modules_outside = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert modules_outside == [], f"every module belongs to a layer's subpackage: move {modules_outside}"


@pytest.mark.parametrize("name", hfdistill.__all__)
def test_every_public_name_imports(name):
    assert getattr(hfdistill, name) is not None
    assert name in dir(hfdistill)


def test_the_public_names_are_the_ones_users_import():
    from hfdistill import DistillationArguments, DistillationTrainer, run_pipeline

    assert DistillationTrainer.__module__ == "hfdistill.training.trainer"
    assert DistillationArguments.__module__ == "hfdistill.config.training"
    assert run_pipeline.__module__ == "hfdistill.run.pipeline"
    with pytest.raises(AttributeError, match="no attribute 'LogitStages'"):
        getattr(hfdistill, "LogitStages")  # noqa: B009 (a name that must not resolve)


def test_every_public_name_is_documented():
    for name in hfdistill.__all__:
        value = getattr(hfdistill, name)
        doc = (value.__doc__ or "").strip()
        assert doc, f"{name} has no docstring"
        module = importlib.import_module(value.__module__)
        assert (module.__doc__ or "").strip(), f"{value.__module__} has no module docstring"


@pytest.mark.parametrize("name", hfdistill.__all__)
def test_a_public_function_or_class_documents_its_arguments(name):
    value = getattr(hfdistill, name)
    if dataclasses.is_dataclass(value) or isinstance(value, type):
        return  # the argument classes document each field in its help; a task class takes no arguments
    parameters = [p for p in inspect.signature(value).parameters if p != "self"]
    doc = inspect.getdoc(value) or ""
    assert doc.splitlines()[0].strip(), f"{name}: a first line of purpose"
    assert not parameters or "Args:" in doc, f"{name} takes {parameters} but its docstring has no Args: section"
