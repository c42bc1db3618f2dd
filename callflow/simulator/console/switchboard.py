"""The console's switchboard: its calls by id, at most :data:`MAX_CALLS` running at once,
ended ones kept a while for their pages, all hung up when the server stops."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Final

from callflow.exceptions import BadRequest
from callflow.server.app import App
from callflow.simulator.console.calls import IDLE_TIMEOUT_S, MAX_EVENTS, ConsoleCall, HungUp
from callflow.simulator.console.options import CallOptions

logger = logging.getLogger("callflow")

MAX_CALLS: Final = 4
"""Console calls running at once; one more is refused until one ends."""
KEEP_ENDED_S: Final = 120.0
"""How long an ended call stays, for its page to read the last events."""
MAX_KEPT: Final = 32
"""Ended calls kept at most (the oldest go first)."""
SHUTDOWN_WAIT_S: Final = 15.0
"""How long shutting down waits for each call's thread to end."""


class ConsoleCalls:
    """The console's calls, by id: at most ``max_calls`` running at once, each sending at
    most ``max_events``; ended calls are forgotten :data:`KEEP_ENDED_S` after they end, or
    sooner past :data:`MAX_KEPT` of them."""

    def __init__(
        self,
        app: App,
        *,
        max_calls: int = MAX_CALLS,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.app = app
        self.max_calls = max_calls
        self.idle_timeout_s = idle_timeout_s
        self.max_events = max_events
        self._calls: dict[str, ConsoleCall] = {}
        self._lock = threading.Lock()
        self._closed = False

    def start(self, options: CallOptions) -> ConsoleCall:
        """Place a call; :class:`BadRequest` (429) when ``max_calls`` are running, (503)
        once the server is shutting down."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._forget_ended()
            if self._closed:
                raise BadRequest(503, "the server is shutting down")
            running = [c for c in self._calls.values() if c.state != "ended"]
            if len(running) >= self.max_calls:
                raise BadRequest(
                    429, f"{len(running)} console calls are running already; hang one up first"
                )
            call = ConsoleCall(
                self.app,
                options,
                loop,
                idle_timeout_s=self.idle_timeout_s,
                max_events=self.max_events,
            )
            self._calls[call.id] = call
        call.start()
        return call

    def get(self, call_id: str) -> ConsoleCall:
        """The call ``call_id``; :class:`BadRequest` (404) when there is none."""
        with self._lock:
            self._forget_ended()
            call = self._calls.get(call_id)
        if call is None:
            raise BadRequest(404, "no such console call (it ended a while ago?)")
        return call

    def running(self) -> int:
        """How many calls are running now."""
        with self._lock:
            return sum(1 for call in self._calls.values() if call.state != "ended")

    def close(self, wait_s: float = SHUTDOWN_WAIT_S) -> None:
        """Hang up every call and wait for their threads to end (the server stops)."""
        with self._lock:
            self._closed = True
            calls = list(self._calls.values())
        for call in calls:
            call.end(HungUp("the server is shutting down"))
        for call in calls:
            if call.thread.is_alive():
                call.thread.join(wait_s)
            if call.thread.is_alive():  # pragma: no cover - a request past its deadline
                logger.warning("console call %s did not end in %s s", call.id, wait_s)

    def _forget_ended(self) -> None:
        now = time.monotonic()
        ended = sorted(
            (call.ended_at, call_id)
            for call_id, call in self._calls.items()
            if call.ended_at is not None
        )
        for count, (ended_at, call_id) in enumerate(ended):
            if now - ended_at > KEEP_ENDED_S or len(ended) - count > MAX_KEPT:
                del self._calls[call_id]
