"""Test helpers for flows: the call :class:`Simulator` and assertions on its trace.

>>> from callflow.testing import Simulator, assert_heard
>>> with Simulator("tests/data/xsd/strict-valid/spec-example.xml") as sim:  # doctest: +SKIP
...     trace = sim.call(keys=["1"])
...     assert_heard(trace, "Press 1 for support")
"""

from __future__ import annotations

from .simulator import GatherPrompt as GatherPrompt
from .simulator import Location as Location
from .simulator import Simulator as Simulator
from .trace import Trace as Trace

__all__ = [
    "GatherPrompt",
    "Location",
    "Simulator",
    "Trace",
    "assert_dialed",
    "assert_ended",
    "assert_heard",
    "assert_not_heard",
    "assert_requested",
]


def _fail(message: str, trace: Trace) -> AssertionError:
    return AssertionError(f"{message}\n--- call transcript ---\n{trace.transcript()}")


def assert_heard(trace: Trace, text: str, *, exact: bool = False) -> None:
    """Assert the caller heard ``text`` (a substring of something said, or all of it)."""
    found = any((text == line) if exact else (text in line) for line in trace.heard)
    if not found:
        raise _fail(f"the caller never heard {text!r}", trace)


def assert_not_heard(trace: Trace, text: str) -> None:
    """Assert no Say or Play the caller heard contains ``text``."""
    if any(text in line for line in trace.heard):
        raise _fail(f"the caller heard {text!r}", trace)


def assert_dialed(trace: Trace, target: str) -> None:
    """Assert ``target`` was dialled."""
    if target not in trace.dialed:
        raise _fail(f"{target!r} was never dialled (dialled: {trace.dialed})", trace)


def assert_requested(trace: Trace, path: str) -> None:
    """Assert a request went to a URL containing ``path``."""
    if not any(path in request.url for request in trace.requests):
        raise _fail(f"no request went to {path!r}", trace)


def assert_ended(trace: Trace, reason: str | None = None, *, normally: bool = True) -> None:
    """Assert how the call ended: normally (Hangup or end of document) or not, and with a
    hang-up reason containing ``reason``."""
    if trace.ended_normally != normally:
        how = "normally" if normally else "abnormally"
        raise _fail(f"the call did not end {how}: {trace.hangup_reason}", trace)
    if reason is not None and reason not in (trace.hangup_reason or ""):
        raise _fail(f"the call ended with {trace.hangup_reason!r}, not {reason!r}", trace)
