"""pytest plugin (entry point ``callflow``): simulator fixtures with no set-up code, and a
check that no App failed unnoticed.

* ``callflow_simulator``: a factory, ``callflow_simulator(target, **options)``, whose
  simulators are closed after the test.
* ``callflow_sim``: a simulator for the target named by ``--callflow-target`` or the
  ``callflow_target`` ini option (``module:attribute``, a URL or an XML file).
* A test fails when, while it ran, the ``callflow`` logger logged an ERROR (an App sends the
  fallback document with one) or a simulator received a fallback document, unless the test
  is marked ``@pytest.mark.callflow_expect_fallback`` or the failure happened inside
  ``callflow.testing.expect_fallback()``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from callflow.simulator.facade import Simulator
from callflow.testing import watching

MARKER = "callflow_expect_fallback"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("callflow_target", "target of the callflow_sim fixture (module:attribute)")
    parser.addoption("--callflow-target", default=None, help="target of the callflow_sim fixture")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: the test expects an App to log an error or send its fallback document "
        "(otherwise the callflow plugin fails the test)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a test during which an App failed, unless it expects that."""
    with watching() as watch:
        result = yield  # a test that failed anyway keeps its own failure
    if watch.problems and item.get_closest_marker(MARKER) is None:
        shown = "\n".join(f"  {problem}" for problem in watch.problems[:10])
        more = len(watch.problems) - 10
        if more > 0:
            shown += f"\n  ... and {more} more"
        pytest.fail(
            "an App failed during this test (mark it @pytest.mark."
            f"{MARKER} or use callflow.testing.expect_fallback() if that is expected):\n"
            f"{shown}",
            pytrace=False,
        )
    return result


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
