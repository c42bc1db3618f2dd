"""The examples in examples/ run: a simulated call gets what each one promises."""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from callflow import App
from callflow.simulator.facade import Simulator

if TYPE_CHECKING:
    from conftest import CommandRunner

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def hello() -> Iterator[ModuleType]:
    """``examples.hello``, imported from the repository root as ``callflow serve`` does."""
    added = str(ROOT) not in sys.path
    if added:
        sys.path.insert(0, str(ROOT))
    try:
        yield importlib.import_module("examples.hello")
    finally:
        if added:
            sys.path.remove(str(ROOT))


def test_hello_greets_the_caller_and_hangs_up(hello: ModuleType) -> None:
    app = hello.app
    assert isinstance(app, App)
    assert [(flow.path, flow.name) for flow in app.flows] == [("/", "hello")]
    with Simulator(app) as simulator:
        trace = simulator.call(from_="+15550100999")
    assert trace.heard == ["Hello, caller from +15550100999."]
    assert trace.hangup_reason == "hangup (hello)"


# -- every example ---------------------------------------------------------------------------

EXAMPLES = sorted(path.stem for path in (ROOT / "examples").glob("*.py") if path.stem != "__init__")
COPYABLE = [name for name in EXAMPLES if name != "hello"]
"""The complete IVRs of the README's Examples table, each tested in tests/examples/."""


def _example(name: str) -> ModuleType:
    added = str(ROOT) not in sys.path
    if added:
        sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module(f"examples.{name}")
    finally:
        if added:
            sys.path.remove(str(ROOT))


def _simulate_commands(name: str) -> list[list[str]]:
    """The ``callflow simulate`` lines of an example's docstring, as argv lists."""
    text = (_example(name).__doc__ or "").replace("\\\n", " ")
    lines = (re.sub(r"\s+#\s.*$", "", line.strip()) for line in text.splitlines())
    return [shlex.split(line)[1:] for line in lines if line.startswith("callflow simulate ")]


def test_the_five_ivrs_are_there() -> None:
    assert COPYABLE == ["account", "language", "reminder", "restaurant", "voicemail"]


@pytest.mark.parametrize("name", COPYABLE)
def test_each_example_says_how_to_run_it_and_is_tested(name: str) -> None:
    module = _example(name)
    assert isinstance(module.app, App)
    assert module.app.flows, f"examples.{name}:app has no flows"
    doc = module.__doc__ or ""
    assert "What it shows:" in doc
    assert f"callflow serve examples.{name}:app" in doc
    assert _simulate_commands(name), f"examples/{name}.py shows no callflow simulate command"
    assert (ROOT / "tests" / "examples" / f"test_{name}.py").is_file()


@pytest.mark.parametrize("name", COPYABLE)
def test_the_readme_lists_each_example(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"[examples/{name}.py](examples/{name}.py)" in readme


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(argv, id=" ".join(argv))
        for name in COPYABLE
        for argv in _simulate_commands(name)
    ],
)
def test_the_simulate_commands_of_the_docstrings_run(
    run_callflow: CommandRunner, argv: list[str]
) -> None:
    result = run_callflow(*argv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Hangup: hangup (" in result.stdout, result.stdout
