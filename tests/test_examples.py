"""The examples in examples/ run: a simulated call gets what each one promises."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from callflow import App
from callflow.simulator import Simulator

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
