"""pytest plugin (entry point ``callflow``): simulator fixtures with no set-up code.

* ``callflow_simulator``: a factory, ``callflow_simulator(target, **options)``, whose
  simulators are closed after the test.
* ``callflow_sim``: a simulator for the target named by ``--callflow-target`` or the
  ``callflow_target`` ini option (``module:attribute``, a URL or an XML file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .simulator import Simulator


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("callflow_target", "target of the callflow_sim fixture (module:attribute)")
    parser.addoption("--callflow-target", default=None, help="target of the callflow_sim fixture")


@pytest.fixture
def callflow_simulator() -> Iterator[Callable[..., Simulator]]:
    """Return a factory of simulators that are closed when the test ends."""
    made: list[Simulator] = []

    def make(target: object, **options: Any) -> Simulator:
        simulator = Simulator(target, **options)
        made.append(simulator)
        return simulator

    yield make
    for simulator in made:
        simulator.close()


@pytest.fixture
def callflow_sim(
    request: pytest.FixtureRequest, callflow_simulator: Callable[..., Simulator]
) -> Simulator:
    """A simulator for the configured target (``--callflow-target`` or ``callflow_target``)."""
    target = request.config.getoption("--callflow-target") or request.config.getini(
        "callflow_target"
    )
    if not target:
        raise pytest.UsageError(
            "callflow_sim needs a target: set callflow_target in the pytest ini options "
            "or pass --callflow-target module:attribute"
        )
    return callflow_simulator(target)
