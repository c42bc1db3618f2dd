"""The bounded pool of daemon threads that runs sync flows (callflow.server.threads)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from callflow.server.threads import FlowThreads

DEADLINE_S = 10.0
"""Longest wait for a condition that should hold at once; only reached when a test fails."""

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """An event blocked jobs wait on; always set at teardown, so no thread stays blocked."""
    event = threading.Event()
    yield event
    event.set()


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (without blocking the loop) until ``condition()`` holds, or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.005)


class Blocked:
    """A job that records that it started, then waits for ``gate``."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0
        self.calls = 0

    def __call__(self, value: int) -> int:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            assert self.gate.wait(DEADLINE_S), "never released"
            return value
        finally:
            with self.lock:
                self.running -= 1


def test_run_returns_the_functions_result() -> None:
    pool = FlowThreads(2)

    async def main() -> list[Any]:
        return [await pool.run(lambda x: x * 2, 21), await pool.run(str.upper, "abc")]

    assert run(main()) == [42, "ABC"]


def test_run_does_not_run_on_the_event_loops_thread() -> None:
    pool = FlowThreads(1)

    async def main() -> bool:
        here = threading.get_ident()
        there = await pool.run(lambda _: threading.get_ident(), None)
        return bool(here != there)

    assert run(main())


class FlowFailure(Exception):
    pass


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ValueError("bad digits"), id="value-error"),
        pytest.param(KeyError("caller"), id="key-error"),
        pytest.param(FlowFailure("custom"), id="custom"),
        pytest.param(ZeroDivisionError("division by zero"), id="zero-division"),
    ],
)
def test_an_exception_reaches_the_awaiting_coroutine(error: Exception) -> None:
    pool = FlowThreads(1)

    def fail(_: None) -> None:
        raise error

    async def main() -> None:
        with pytest.raises(type(error)) as caught:
            await asyncio.wait_for(pool.run(fail, None), DEADLINE_S)
        assert caught.value is error
        assert await pool.run(lambda x: x, "still works") == "still works"

    run(main())


def test_stop_iteration_in_a_job_does_not_hang_its_waiter() -> None:
    # A sync flow calling next() on an exhausted iterator raises StopIteration: asyncio
    # futures refuse it (TypeError in the loop's callback), so the waiter must get it some
    # other way (RuntimeError, as asyncio does for coroutines), not wait until its timeout.
    pool = FlowThreads(1)

    def exhausted(_: None) -> None:
        next(iter(()))

    async def main() -> None:
        with pytest.raises((StopIteration, RuntimeError)):
            await asyncio.wait_for(pool.run(exhausted, None), 2.0)

    run(main())


def test_threads_start_only_when_needed() -> None:
    pool = FlowThreads(8)
    assert pool.started == 0

    async def main() -> None:
        for value in range(50):
            assert await pool.run(lambda x: x, value) == value

    run(main())
    # One job at a time needs one thread: the idle one is reused. (A worker that hands its
    # result over before it counts itself idle again makes the next job start a new one.)
    assert pool.started == 1


@pytest.mark.parametrize(
    ("size", "extra"),
    [
        pytest.param(1, 3, id="one-thread"),
        pytest.param(2, 5, id="two-threads"),
        pytest.param(4, 4, id="four-threads"),
    ],
)
def test_never_more_than_size_threads(size: int, extra: int, gate: threading.Event) -> None:
    pool = FlowThreads(size)
    job = Blocked(gate)
    before = threading.active_count()

    async def main() -> list[Any]:
        tasks = [asyncio.create_task(pool.run(job, n)) for n in range(size + extra)]
        await until(lambda: job.running == size)  # every thread is busy
        for _ in range(20):  # let any surplus thread start, if one would
            await asyncio.sleep(0.005)
        assert pool.started <= size
        assert job.running == size
        assert threading.active_count() - before <= size
        gate.set()
        return await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE_S)

    assert run(main()) == list(range(size + extra))
    assert pool.started == size
    assert job.most_running == size
    assert job.calls == size + extra


@pytest.mark.parametrize(
    "give_up",
    [
        pytest.param("timeout", id="wait-for-timeout"),
        pytest.param("cancel", id="task-cancelled"),
    ],
)
def test_a_job_whose_waiter_gave_up_before_it_started_never_runs(
    give_up: str, gate: threading.Event
) -> None:
    pool = FlowThreads(1)
    blocker = Blocked(gate)
    abandoned: list[int] = []

    async def main() -> None:
        first = asyncio.create_task(pool.run(blocker, 1))
        await until(lambda: blocker.running == 1)  # the only thread is busy
        if give_up == "timeout":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.run(abandoned.append, 2), 0.05)
        else:
            waiter = asyncio.create_task(pool.run(abandoned.append, 2))
            await asyncio.sleep(0)  # the waiter's job is queued
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        gate.set()
        assert await asyncio.wait_for(first, DEADLINE_S) == 1
        # The queue is first in, first out: once this later job ran, the abandoned one was
        # taken from the queue.
        assert await asyncio.wait_for(pool.run(lambda x: x, 3), DEADLINE_S) == 3

    run(main())
    assert abandoned == []
    assert pool.started == 1


def test_a_worker_survives_a_job_whose_event_loop_closed(gate: threading.Event) -> None:
    pool = FlowThreads(1)
    blocker = Blocked(gate)

    async def abandon() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(blocker, 1), 0.05)

    run(abandon())  # the loop closes while the job still runs
    gate.set()

    async def again() -> Any:
        return await asyncio.wait_for(pool.run(lambda x: x, "next"), DEADLINE_S)

    assert run(again()) == "next"
    assert blocker.calls == 1
    assert pool.started == 1


def test_context_variables_are_visible_in_the_thread() -> None:
    pool = FlowThreads(1)

    def read_and_change(_: None) -> str:
        seen = request_id.get()
        request_id.set("changed in the thread")
        return seen

    async def main() -> tuple[str, str, str]:
        request_id.set("call-1")
        first = await pool.run(read_and_change, None)
        request_id.set("call-2")
        second = await pool.run(read_and_change, None)
        return first, second, request_id.get()

    # Each job sees its caller's context at the time of the call, and its changes stay in
    # its copy.
    assert run(main()) == ("call-1", "call-2", "call-2")


def test_threads_are_daemons() -> None:
    pool = FlowThreads(1)

    def describe(_: None) -> tuple[bool, str]:
        thread = threading.current_thread()
        return thread.daemon, thread.name

    daemon, name = run(pool.run(describe, None))
    assert daemon is True
    assert name.startswith("callflow-flow-")


@pytest.mark.parametrize(
    "size",
    [pytest.param(0, id="zero"), pytest.param(-1, id="negative")],
)
def test_a_pool_needs_at_least_one_thread(size: int) -> None:
    with pytest.raises(ValueError, match="'size' must be >= 1"):
        FlowThreads(size)
