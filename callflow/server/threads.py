"""A bounded pool of daemon threads for sync flows and off-loop document checks.

A sync flow may block, so it runs in a thread; one that hangs is abandoned at its timeout but
keeps its thread. With an unbounded pool (anyio's ``to_thread`` releases its limiter when the
waiter is cancelled) 600 hung requests made 593 threads. Here the pool never grows past its
size: work waits in a queue for a free thread, and a waiter that gives up (its timeout ran
out) takes its work out of the queue. The threads are daemons, so a hung flow never keeps
the process from exiting (``concurrent.futures`` joins its threads at exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


class FlowThreads:
    """Run functions on at most ``size`` threads, started when first needed."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"'size' must be >= 1 (got {size})")
        self.size = size
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    @property
    def started(self) -> int:
        """Threads started so far (never more than ``size``)."""
        return len(self._threads)

    async def run(self, function: Callable[[T], Any], argument: T) -> Any:
        """Return ``function(argument)`` run on a pool thread, in a copy of the current
        context. Cancelling the await abandons the call: one not yet started never runs."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        self._jobs.put((loop, future, lambda: context.run(function, argument)))
        self._grow()
        return await future

    def _grow(self) -> None:
        with self._lock:
            if self._idle > 0 or len(self._threads) >= self.size:
                return
            thread = threading.Thread(
                target=self._work, name=f"callflow-flow-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            self._idle += 1
        thread.start()

    def _work(self) -> None:
        while True:
            loop, future, job = self._jobs.get()
            if future.cancelled():
                continue  # its waiter gave up before a thread was free
            with self._lock:
                self._idle -= 1
            result: Any = None
            error: BaseException | None = None
            try:
                result = job()
            except StopIteration as exc:  # a Future cannot hold one (PEP 479)
                error = RuntimeError(f"the function raised StopIteration: {exc}")
                error.__cause__ = exc
            except BaseException as exc:  # handed to the waiter, which re-raises it
                error = exc
            # Idle again before the waiter hears: its next job must not start a thread.
            with self._lock:
                self._idle += 1
            _settle(loop, future, result, error)


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    # The loop may have closed while the job ran: then nobody is waiting any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(settle)
