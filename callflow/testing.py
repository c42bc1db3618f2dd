"""Test helpers for flows: the call :class:`Simulator` and assertions on its trace.

>>> from callflow import App, Hangup, Response, Say
>>> from callflow.testing import Simulator, assert_heard
>>> app = App(secret="a doctest secret, long enough for production")
>>> _ = app.flow("/", name="hi")(lambda call: Response(Say("Press 1 for support"), Hangup()))
>>> with Simulator(app) as sim:
...     trace = sim.call()
>>> assert_heard(trace, "Press 1 for support")

:func:`explore` maps every path of an App and checks it (``docs/explore.md``):

>>> from callflow.testing import assert_clean, explore
>>> assert_clean(explore(app))

Each trace keeps the bytes of the documents its call fetched (:class:`FetchedDocument`, in
``trace.documents``), and an input provider or a callback ends a call early by raising
:class:`HangUp`, as a caller hanging up.

A failure is never a pass: a call that got a fallback document does not end "normally", and
the pytest plugin fails a test during which an App logged an error or a simulator received a
fallback document, unless the test expects one (:func:`expect_fallback`, or the
``callflow_expect_fallback`` marker).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from callflow.simulator.engine import listening_for_fallbacks
from callflow.simulator.explore import Exploration as Exploration
from callflow.simulator.explore import explore as explore
from callflow.simulator.facade import Simulator as Simulator
from callflow.simulator.geography import Location as Location
from callflow.simulator.inputs import GatherPrompt as GatherPrompt
from callflow.simulator.inputs import HangUp as HangUp
from callflow.simulator.trace import REASONS, FallbackEvent, is_reason
from callflow.simulator.trace import FetchedDocument as FetchedDocument
from callflow.simulator.trace import Trace as Trace

__all__ = [
    "Exploration",
    "FetchedDocument",
    "GatherPrompt",
    "HangUp",
    "Location",
    "Simulator",
    "Trace",
    "assert_clean",
    "assert_dialed",
    "assert_ended",
    "assert_heard",
    "assert_not_heard",
    "assert_requested",
    "expect_fallback",
    "explore",
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
    """Assert how the call ended: normally or not (see ``Trace.ended_normally``: a call that
    got a fallback document or whose fetch failed unhandled never ends normally), and with
    exactly the hang-up ``reason`` (``hangup``, ``hangup (TAG)``, ``end of document``...)."""
    if trace.ended_normally != normally:
        how = "normally" if normally else "abnormally"
        raise _fail(f"the call did not end {how}: {_why(trace)}", trace)
    if reason is not None and reason != trace.hangup_reason:
        hint = ""
        if not is_reason(reason):
            known = ", ".join(sorted(REASONS))
            hint = f" ({reason!r} is not a hang-up reason: {known} or 'hangup (TAG)')"
        raise _fail(f"the call ended with {trace.hangup_reason!r}, not {reason!r}{hint}", trace)


def assert_clean(exploration: Exploration) -> None:
    """Assert an exploration (:func:`explore`) found nothing; the message is its map and
    its findings, each with the ``callflow simulate`` command line that reproduces it."""
    if not exploration.clean:
        raise AssertionError(
            f"the exploration found {len(exploration.findings)} "
            f"{'problem' if len(exploration.findings) == 1 else 'problems'}:\n"
            + exploration.render("text")
        )


def _why(trace: Trace) -> str:
    """The actual end of the call, with what made it fail."""
    parts = [str(trace.hangup_reason)]
    parts += [f"the fallback document ({f.cause}) came from {f.url}" for f in trace.fallbacks]
    parts += [
        f"the {f.purpose} fetch of {f.url} failed ({f.reason}) and no <Error> handled it"
        for f in trace.failed_fetches
        if not f.handled
    ]
    return "; ".join(parts)


# -- noticing App errors and fallback documents --------------------------------------------


class Watch:
    """What an App logged at ERROR and the fallback documents simulators received while the
    watch was the innermost one (see :func:`watching`)."""

    def __init__(self) -> None:
        self.problems: list[str] = []


_watches: list[Watch] = []
_lock = threading.Lock()
_exit_stack: contextlib.ExitStack | None = None


class _ErrorRecords(logging.Handler):
    """Hears the ``callflow`` logger's records at ERROR and above."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format
            message = str(record.msg)
        _report(f"{record.name} logged {record.levelname}: {message}")


def _report(problem: str) -> None:
    with _lock:
        if _watches:
            _watches[-1].problems.append(problem)


def _on_fallback(event: FallbackEvent) -> None:
    _report(f"a simulator received the fallback document ({event.cause}) from {event.url}")


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """Collect, while the block runs, the ``callflow`` log records at ERROR and above and the
    fallback documents simulators receive. Watches nest: the innermost one gets them."""
    global _exit_stack
    watch = Watch()
    with _lock:
        if not _watches:
            stack = contextlib.ExitStack()
            handler = _ErrorRecords()
            logger = logging.getLogger("callflow")
            logger.addHandler(handler)
            stack.callback(logger.removeHandler, handler)
            stack.enter_context(listening_for_fallbacks(_on_fallback))
            _exit_stack = stack
        _watches.append(watch)
    try:
        yield watch
    finally:
        with _lock:
            _watches.remove(watch)
            if not _watches and _exit_stack is not None:
                _exit_stack.close()
                _exit_stack = None


@contextlib.contextmanager
def expect_fallback() -> Iterator[list[str]]:
    """Expect the code in the block to make an App log an error or send its fallback
    document; fail when it does neither. Inside the block they do not fail the test (the
    pytest plugin's check); the block yields the list of what was noticed.

    >>> from callflow import App
    >>> app = App(secret="a doctest secret, long enough for production")
    >>> _ = app.flow("/", name="broken")(lambda call: 1 / 0)  # raises: a fallback
    >>> with expect_fallback() as noticed, Simulator(app) as sim:
    ...     trace = sim.call()
    >>> len(trace.fallbacks), len(noticed) > 0
    (1, True)
    """
    with watching() as watch:
        yield watch.problems
    if not watch.problems:
        raise AssertionError(
            "expected an App error or a fallback document in the expect_fallback() block, "
            "and there was none"
        )
