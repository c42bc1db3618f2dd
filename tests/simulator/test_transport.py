"""An in-process App is called through ASGI directly (callflow/simulator/transport.py): the
scope a server would give it, no HTTP client, a reply abandoned past the document limit as a
closed connection abandons it, and an App that fails or sends nothing is a failed fetch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as HTTPResponse
from starlette.responses import StreamingResponse
from starlette.routing import Route

from callflow import App, CallContext, Hangup, Response, Say
from callflow.simulator.transport import (
    LOCAL_ORIGIN,
    Transport,
    call_asgi,
    encode_query,
    with_query,
)
from callflow.testing import Simulator

CHUNK = 64 * 1024


def doc(inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


def test_an_app_is_called_without_an_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    app = App(secret="t")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Say("Hi."), Hangup())

    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("an HTTP client was made for an in-process App")

    monkeypatch.setattr(httpx2, "AsyncClient", no_client)
    with Simulator(app) as simulator:
        trace = simulator.call()
    assert trace.heard == ["Hi."]
    assert trace.ended_normally


def test_the_app_gets_the_scope_a_server_gives() -> None:
    seen: list[dict[str, Any]] = []

    async def endpoint(request: Request) -> HTTPResponse:
        scope = request.scope
        seen.append(
            {
                "path": scope["path"],
                "raw_path": scope["raw_path"],
                "query": dict(request.query_params),
                "host": request.headers["host"],
                "client": scope["client"],
                "encoding": request.headers["accept-encoding"],
                "authorization": request.headers.get("authorization"),
            }
        )
        if request.url.path == "/":
            inner = '<Callback url="/a%20b/%C3%A9?x=%C3%A9&amp;y=1"/>'
            return HTTPResponse(doc(inner), media_type="application/xml")
        return HTTPResponse(doc("<Hangup/>"), media_type="application/xml")

    app = Starlette(routes=[Route("/{path:path}", endpoint)])
    with Simulator(app, auth=("opentact", "pw")) as simulator:
        trace = simulator.call()
    assert trace.ended_normally
    first, callback = seen
    assert first["path"] == "/"
    assert first["query"] == {"from": "+15550100999", "to": "+15550100200"}
    assert first["host"] == "testserver"
    assert first["client"] == ("127.0.0.1", 123)
    assert first["encoding"] == "identity"
    assert first["authorization"] == "Basic b3BlbnRhY3Q6cHc="
    assert callback["path"] == "/a b/é"
    assert callback["raw_path"] == b"/a%20b/%C3%A9"
    assert callback["query"]["x"] == "é"
    assert callback["query"]["y"] == "1"


def test_a_streamed_reply_past_the_limit_stops_the_app() -> None:
    produced: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(500):  # 32 MB, if nobody stopped it
            produced.append(index)
            yield b"<" + b"x" * (CHUNK - 1)

    async def endpoint(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), media_type="application/xml")

    app = Starlette(routes=[Route("/", endpoint)])
    with Simulator(app, max_document_bytes=100_000) as simulator:
        trace = simulator.call()
    assert trace.hangup_reason == "webhook failed"
    assert "larger than the limit of 100000 bytes" in (trace.hangup.detail if trace.hangup else "")
    assert len(produced) < 10  # two chunks pass the limit: the rest was never made


def test_a_declared_length_past_the_limit_is_not_read() -> None:
    sent: list[bytes] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"5000000"), (b"content-type", b"application/xml")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        sent.append(b"start")
        await send({"type": "http.response.body", "body": b"<" * 5_000_000})
        sent.append(b"body")

    with Simulator(app, max_document_bytes=1000) as simulator:
        trace = simulator.call()
    assert sent == []  # the start message already raised, as on a closed connection
    assert "larger than the limit of 1000 bytes" in (trace.hangup.detail if trace.hangup else "")


@pytest.mark.parametrize(
    ("sends", "reason"),
    [
        pytest.param([], "request failed: the App sent no response", id="no-response"),
        pytest.param(
            [{"type": "http.response.start", "status": 200, "headers": []}],
            "invalid document",
            id="raises-after-start",
        ),
    ],
)
def test_an_app_that_fails_is_a_failed_fetch(sends: list[dict[str, Any]], reason: str) -> None:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        for message in sends:
            await send(message)
        if sends:
            raise RuntimeError("broken")

    with Simulator(app) as simulator:
        trace = simulator.call()
    assert trace.hangup_reason == "webhook failed"
    assert trace.failed
    assert reason in (trace.hangup.detail if trace.hangup else "")


def test_an_app_raising_before_it_answers_is_http_500() -> None:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("broken")

    with Simulator(app) as simulator:
        trace = simulator.call()
    (request,) = trace.requests
    assert request.status == 500
    assert trace.failed


async def _echo(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """Answers with the request body, after waiting for the client to go away."""
    message = await receive()
    await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
    await send({"type": "http.response.body", "body": message["body"], "more_body": True})
    await send({"type": "http.response.body", "body": b"!"})
    assert (await receive())["type"] == "http.disconnect"


def test_call_asgi_sends_the_body_and_collects_the_reply() -> None:
    reply = asyncio.run(
        call_asgi(_echo, "POST", f"{LOCAL_ORIGIN}/e?q=1", b"hello", [], max_bytes=100)
    )
    assert (reply.status, reply.body, reply.headers["x-a"]) == (201, b"hello!", "1")
    assert not reply.too_large


def test_head_replies_have_no_body() -> None:
    transport = Transport(_echo)
    try:
        reply = transport.request("HEAD", f"{LOCAL_ORIGIN}/", content=b"ignored")
    finally:
        transport.close()
    assert (reply.status, reply.body) == (201, b"")


def _suspending_app(blocking_s: float, waiting_s: float) -> Any:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        time.sleep(blocking_s)  # the first step, before the App suspends
        await asyncio.sleep(waiting_s)
        headers = [(b"content-type", b"application/xml")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": doc("<Hangup/>")})

    return app


def test_an_app_that_suspends_and_answers_in_time_is_not_cut() -> None:
    transport = Transport(_suspending_app(0, 0.01))
    try:
        replies = [transport.request("GET", f"{LOCAL_ORIGIN}/", timeout_ms=5000) for _ in range(3)]
    finally:
        transport.close()
    assert [(r.status, r.error) for r in replies] == [(200, None)] * 3


def test_the_deadline_counts_from_the_start_of_the_request() -> None:
    # 0.2 s before the App first suspends, 0.1 s after: past a 250 ms deadline counted from
    # the start, within one counted from the moment it suspended.
    transport = Transport(_suspending_app(0.2, 0.1))
    try:
        reply = transport.request("GET", f"{LOCAL_ORIGIN}/", timeout_ms=250)
    finally:
        transport.close()
    assert (reply.status, reply.error) == (None, "timed out after 250 ms")


def test_an_app_cancelled_by_something_else_is_not_a_timeout() -> None:
    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    transport = Transport(app)
    try:
        with pytest.raises(asyncio.CancelledError):
            transport.request("GET", f"{LOCAL_ORIGIN}/")
    finally:
        transport.close()


@given(
    st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=4),
)
def test_query_encoding_is_urlencodes(params: dict[str, str]) -> None:
    assert encode_query(params) == urlencode(params)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("http://x/a", "http://x/a?n=1", id="no-query"),
        pytest.param("http://x/a?m=2", "http://x/a?m=2&n=1", id="query"),
        pytest.param("http://x/a?", "http://x/a?n=1", id="empty-query"),
        pytest.param("http://x/a#f?g", "http://x/a#f?g?n=1", id="question-in-fragment"),
    ],
)
def test_with_query_keeps_the_urls_own_query_first(url: str, expected: str) -> None:
    assert with_query(url, {"n": "1"}) == expected
    assert with_query(url, {}) == url
