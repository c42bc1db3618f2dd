"""The hot path of the dispatcher (callflow.server.dispatch): replies sent as ASGI messages,
no Starlette Request unless a flow reads one, the checked origin of a host remembered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgi import get, request, scope
from starlette.requests import Request

from callflow import App, CallContext, Hangup, Response, Say
from callflow.server import dispatch
from callflow.server.dispatch import ORIGIN_MEMO


def hello(call: CallContext) -> Response:
    return Response(Say("Hello"), Hangup())


@pytest.fixture
def requests_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of every Starlette Request made."""
    made: list[str] = []
    real = Request.__init__

    def init(self: Request, scope: Any, *args: Any, **kwargs: Any) -> None:
        made.append(scope["path"])
        real(self, scope, *args, **kwargs)

    monkeypatch.setattr(Request, "__init__", init)
    return made


def test_a_flow_that_does_not_read_the_request_gets_none_made(requests_made: list[str]) -> None:
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    assert get(app, "/", b"call=c-1").status == 200
    assert requests_made == []


def test_a_flow_reading_the_request_gets_it(requests_made: list[str]) -> None:
    app = App(secret="test-secret")
    seen: list[str] = []

    @app.flow("/step")
    def step(call: CallContext) -> Response:
        assert call.request is not None
        seen.append(
            f"{call.request.method} {call.request.url.path} {call.request.headers['x-probe']}"
        )
        return Response(Say("Hello"), Hangup())

    assert get(app, "/step", headers=((b"x-probe", b"yes"),)).status == 200
    assert seen == ["GET /step yes"]
    assert requests_made == ["/step"]


def test_the_reply_has_the_headers_starlette_wrote() -> None:
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    reply = get(app)
    assert reply.status == 200
    assert reply.headers == [
        (b"content-length", str(len(reply.body)).encode()),
        (b"content-type", b"application/xml"),
    ]
    refused = get(app, "/", method="DELETE")
    assert refused.status == 405
    assert refused.headers == [
        (b"allow", b"GET, POST"),
        (b"content-length", b"18"),
        (b"content-type", b"text/plain; charset=utf-8"),
    ]
    assert refused.body == b"method not allowed"


def test_a_refused_host_stays_refused_and_the_memo_is_bounded() -> None:
    app = App(secret="test-secret", allowed_hosts=["ivr.test"])
    app.flow("/", name="main")(hello)
    for _ in range(2):
        assert get(app, host=b"evil.test").status == 400
        assert get(app, host=b"ivr.test").status == 200
    for index in range(ORIGIN_MEMO + 20):
        assert get(app, host=f"h{index}.evil.test".encode()).status == 400
    dispatcher = app._dispatcher
    assert isinstance(dispatcher, dispatch.Dispatcher)
    assert len(dispatcher._origins) <= ORIGIN_MEMO
    assert get(app, host=b"ivr.test").status == 200
    assert get(app, host=b"evil.test").status == 400


def test_the_client_of_a_remembered_origin_is_the_requests_own() -> None:
    app = App(secret="test-secret", allowed_ips=["10.0.0.0/8"])
    app.flow("/", name="main")(hello)
    assert get(app, client=("10.1.2.3", 1)).status == 200
    assert get(app, client=("192.0.2.1", 1)).status == 403
    assert get(app, client=("10.1.2.3", 2)).status == 200


def test_a_flow_reads_the_body_of_a_post_from_its_request() -> None:
    app = App(secret="test-secret")
    seen: list[object] = []

    @app.flow("/")
    async def main(call: CallContext) -> Response:
        assert call.request is not None
        seen.append(await call.request.json())
        seen.append(await call.request.body())
        return Response(Say("Hello"), Hangup())

    body = b'{"uuid": "c-7", "from": "15550100999"}'
    asgi_scope = scope("/", method="POST", headers=((b"content-type", b"application/json"),))
    reply = asyncio.run(request(app, asgi_scope, body))
    assert reply.status == 200
    assert seen == [{"uuid": "c-7", "from": "15550100999"}, body]
