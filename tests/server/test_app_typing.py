"""The types of registration (callflow.server.app, callflow.server.routing): ``@app.flow`` and
``@router.flow`` return the decorated function with its own type, ``add_flow`` takes only a
flow function. mypy checks this file (``assert_type``; a ``type: ignore`` that is no longer
needed fails strict mypy), pytest runs it."""

from __future__ import annotations

import asyncio
from typing import assert_type

import pytest

from callflow import App, CallContext, Hangup, RegistrationError, Rendered, Response, Router, Say
from callflow.server.routing import Flow


def test_the_decorator_keeps_a_sync_flows_type() -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Say("Hello"), Hangup())

    # Not Any: the call keeps the function's parameter and result types.
    assert_type(main(CallContext.make()), Response)
    main("not a call context")  # type: ignore[arg-type]
    assert [flow.function for flow in app.flows] == [main]


def test_the_decorator_keeps_an_async_flows_type() -> None:
    app = App(secret="test-secret")

    @app.flow("/menu", name="menu", numbers=["15550100200"])
    async def menu(call: CallContext) -> Response | Rendered:
        return Response(Hangup())

    assert_type(asyncio.run(menu(CallContext.make())), Response | Rendered)
    assert [(flow.name, flow.numbers) for flow in app.flows] == [("menu", ("+15550100200",))]


def test_a_routers_decorator_keeps_the_type_too() -> None:
    router = Router()

    @router.flow("/text")
    def text(call: CallContext) -> str:
        return "<Response><Hangup/></Response>"

    assert_type(text(CallContext.make()), str)


def test_add_flow_returns_the_registered_flow() -> None:
    app = App(secret="test-secret")

    def main(call: CallContext) -> Response:
        return Response(Hangup())

    flow = app.add_flow("/", main)
    assert_type(flow, Flow)
    assert (flow.path, flow.name, flow.function) == ("/", "main", main)


def test_a_function_that_is_no_flow_does_not_type_check() -> None:
    app = App(secret="test-secret")

    def no_call() -> Response:
        return Response(Hangup())

    def wrong_result(call: CallContext) -> int:
        return 1

    # Registered all the same at run time (a flow is any callable with a name); mypy is what
    # refuses them, and each ignore below fails strict mypy the day it is not needed.
    app.add_flow("/a", no_call)  # type: ignore[arg-type]
    app.flow("/b")(wrong_result)  # type: ignore[type-var]
    with pytest.raises(RegistrationError, match="must be callable"):
        app.add_flow("/c", "not a function")  # type: ignore[arg-type]
