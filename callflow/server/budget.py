"""Awaiting a coroutine within a time budget, with the timer armed only if it suspends.

Most flows never wait for anything (they return a module-level document), and most request
bodies have arrived whole with their head: arming ``asyncio.timeout`` for them schedules and
cancels a timer on the event loop for nothing. :func:`within` runs the coroutine's first step
at once; only a coroutine that suspends gets the timer, for what is left of its budget, and
is then driven on by the awaiting task as if it had been awaited directly (cancellation,
context variables and exceptions pass through unchanged).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


async def within(coroutine: Coroutine[Any, Any, T], timeout: float) -> tuple[T | None, bool]:
    """Await ``coroutine`` for at most ``timeout`` seconds; return (its result, False), or
    (None, True) when the time ran out (the coroutine is then cancelled).

    An exception of the coroutine propagates, its own ``TimeoutError`` too.
    """
    started = time.perf_counter()
    try:
        waiting = coroutine.send(None)
    except StopIteration as done:
        return done.value, False
    # The budget counts from the start: the first step's time is spent already.
    timer = asyncio.timeout(max(timeout - (time.perf_counter() - started), 0.0))
    try:
        async with timer:
            return await _Resumed(coroutine, waiting), False
    except TimeoutError:
        if timer.expired():
            return None, True
        raise  # the coroutine's own TimeoutError, not ours


class _Resumed:
    """A coroutine that has run its first step and yielded ``waiting``, awaitable again:
    it yields what the coroutine yields and passes the task's answers back to it."""

    __slots__ = ("coroutine", "waiting")

    def __init__(self, coroutine: Coroutine[Any, Any, T], waiting: Any) -> None:
        self.coroutine = coroutine
        self.waiting = waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, waiting = self.coroutine, self.waiting
        while True:
            try:
                answer = yield waiting
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # thrown in by the task: cancellation, mostly
                try:
                    waiting = coroutine.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting = coroutine.send(answer)
                except StopIteration as done:
                    return done.value
