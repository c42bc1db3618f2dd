"""Awaiting within a time budget (callflow.server.budget): the timer is armed only for a
coroutine that suspends, and a suspended one runs on exactly as if awaited directly."""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import pytest
from asgi import get
from lxml import etree
from replies import FALLBACK_TAG, hangup_tag

from callflow import App, CallContext, Hangup, Response, Say
from callflow.server.budget import within
from callflow.server.running import FALLBACK_HEADER

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


@pytest.fixture
def timers(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays of the timers armed with ``asyncio.timeout`` (as budget.within arms them)."""
    armed: list[float] = []
    real = asyncio.timeout

    def timeout(delay: float | None) -> Any:
        assert delay is not None
        armed.append(delay)
        return real(delay)

    monkeypatch.setattr(asyncio, "timeout", timeout)
    return armed


async def at_once() -> str:
    return "done"


async def suspends(seconds: float = 0.0) -> str:
    await asyncio.sleep(0)
    await asyncio.sleep(seconds)
    return "later"


def test_a_coroutine_that_never_suspends_gets_no_timer(timers: list[float]) -> None:
    assert asyncio.run(within(at_once(), 1.0)) == ("done", False)
    assert timers == []


def test_a_coroutine_that_suspends_gets_the_timer_for_its_budget(timers: list[float]) -> None:
    async def slow_first_step() -> str:
        time.sleep(0.05)  # the first step's time counts against the budget
        return await suspends(0.01)

    assert asyncio.run(within(suspends(0.01), 5.0)) == ("later", False)
    assert asyncio.run(within(slow_first_step(), 5.0)) == ("later", False)
    assert len(timers) == 2
    assert 0 < timers[0] <= 5.0
    assert timers[1] <= 5.0 - 0.05


def test_a_coroutine_overrunning_its_budget_is_cancelled() -> None:
    cleaned: list[str] = []

    async def hangs() -> str:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append("cancelled")
        return "never"

    assert asyncio.run(within(hangs(), 0.05)) == (None, True)
    assert cleaned == ["cancelled"]


def test_the_coroutines_own_errors_pass_through() -> None:
    async def own_timeout() -> str:
        await asyncio.sleep(0)
        raise TimeoutError("the flow's own")

    async def raises_at_once() -> str:
        raise KeyError("first step")

    with pytest.raises(TimeoutError, match="the flow's own"):
        asyncio.run(within(own_timeout(), 5.0))
    with pytest.raises(KeyError, match="first step"):
        asyncio.run(within(raises_at_once(), 5.0))


def test_it_runs_in_the_callers_context_as_a_direct_await_does() -> None:
    async def reads_and_sets() -> str:
        seen = VAR.get()
        await asyncio.sleep(0)
        VAR.set("set inside")
        return seen

    async def main() -> tuple[tuple[str | None, bool], str]:
        VAR.set("caller")
        result = await within(reads_and_sets(), 5.0)
        return result, VAR.get()

    assert asyncio.run(main()) == (("caller", False), "set inside")


def test_cancelling_the_caller_cancels_the_coroutine() -> None:
    cleaned: list[str] = []

    async def hangs() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append("cancelled")

    async def main() -> None:
        task = asyncio.ensure_future(within(hangs(), 60.0))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == ["cancelled"]


def test_a_future_awaited_after_the_first_step_is_awaited_for_real() -> None:
    async def waits_for_a_future() -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, 42)
        return await future

    assert asyncio.run(within(waits_for_a_future(), 5.0)) == (42, False)


# -- through the App ---------------------------------------------------------------------------


def test_an_async_flow_that_never_suspends_runs_with_no_timer(timers: list[float]) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    async def main(call: CallContext) -> Response:
        return Response(Say("Hello"), Hangup())

    reply = get(app)
    assert reply.status == 200 and reply.header(FALLBACK_HEADER.encode()) is None
    assert timers == []


@pytest.mark.callflow_expect_fallback
def test_an_async_flow_that_suspends_keeps_its_timeout(timers: list[float]) -> None:
    app = App(secret="test-secret", flow_timeout_ms=50)

    @app.flow("/")
    async def main(call: CallContext) -> Response:
        await asyncio.sleep(0)  # suspends once, then overruns
        await asyncio.sleep(5)
        return Response(Say("Too late"), Hangup())

    reply = get(app)
    assert reply.header(FALLBACK_HEADER.encode()) == b"timeout"
    assert len(timers) == 1
    assert hangup_tag(etree.fromstring(reply.body)) == FALLBACK_TAG
