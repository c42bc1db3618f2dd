"""Sessions through the App: keys chosen by callflow, carried signed and bound to the call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from replies import FALLBACK_TAG, hangup_tag, said

from callflow import (
    App,
    Callback,
    CallContext,
    Hangup,
    MemoryStore,
    Play,
    Response,
    Say,
    SessionStoreError,
)

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply

OPENTACT = "&from=%2B15550100999&tn=15550100200&state=live&call=c-1"
"""What Opentact appends to a round-trip URL (D9)."""


def link(root: etree._Element) -> str:
    callback = root.find("Callback")
    assert callback is not None
    return str(callback.get("url"))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def callflow_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="callflow")
    return caplog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_app(store: Any = None, **options: Any) -> App:
    """``/`` and ``/again`` count visits in the session; ``/again?dtmf=0`` clears it."""
    app = App(secret="test-secret", store=store, **options)

    @app.flow("/", name="start")
    def start(call: CallContext) -> Response:
        call.session["visits"] = call.session.get("visits", 0) + 1
        return Response(Say(f"visit {call.session['visits']}"), Callback(url=call.url_for("again")))

    @app.flow("/again", name="again")
    def again(call: CallContext) -> Response:
        if call.digits == "0":
            call.session.clear()
        else:
            call.session["visits"] = call.session.get("visits", 0) + 1
        return Response(
            Say(f"visit {call.session.get('visits')}"), Callback(url=call.url_for("again"))
        )

    @app.flow("/plain", name="plain")
    def plain(call: CallContext) -> Response:
        return Response(Say("no session here"), Hangup())

    return app


def test_the_session_is_kept_along_the_links_of_a_call(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    store = MemoryStore()
    client = client_for(counting_app(store))
    first = xml_reply(client.get("/", params={"from": "+15550100999", "to": "15550100200"}))
    assert said(first) == ["visit 1"]
    second = xml_reply(client.get(link(first) + OPENTACT))
    assert said(second) == ["visit 2"]
    third = xml_reply(client.get(link(second) + OPENTACT))
    assert said(third) == ["visit 3"]
    assert len(store) == 1


def test_a_call_uuid_alone_opens_no_session(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    """Knowing another call's uuid reads nothing of its session."""
    client = client_for(counting_app(MemoryStore()))
    first = xml_reply(client.get("/", params={"call": "c-1"}))
    assert said(xml_reply(client.get(link(first) + OPENTACT))) == ["visit 2"]
    # Another client sending call=c-1 (and even the same numbers) without the token:
    assert said(xml_reply(client.get("/again?" + OPENTACT.lstrip("&")))) == ["visit 1"]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("c-1", id="a-uuid"),
        pytest.param("s-1", id="a-made-up-key"),
        pytest.param("eyJrIjoiczEifQ.aaaa.bbbb", id="a-forged-token"),
    ],
)
def test_a_cf_session_callflow_did_not_issue_reads_nothing(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    callflow_logs: pytest.LogCaptureFixture,
    token: str,
) -> None:
    client = client_for(counting_app(MemoryStore()))
    xml_reply(client.get("/", params={"call": "c-1"}))  # a session exists for c-1
    root = xml_reply(client.get(f"/again?cf_session={token}" + OPENTACT))
    assert said(root) == ["visit 1"]
    assert any("ignored a cf_session token" in r.getMessage() for r in callflow_logs.records)


def test_a_session_token_of_one_call_opens_nothing_on_another(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(counting_app(MemoryStore()))
    first = xml_reply(client.get("/", params={"call": "c-1"}))
    other_call = OPENTACT.replace("call=c-1", "call=c-2")
    assert said(xml_reply(client.get(link(first) + other_call))) == ["visit 1"]


def test_a_session_minted_without_a_uuid_is_bound_to_the_numbers(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(counting_app(MemoryStore()))
    first = xml_reply(client.get("/", params={"from": "+15550100999", "to": "15550100200"}))
    url = link(first)
    # The same numbers (spelled as Opentact sends them on round trips) keep the session.
    assert said(xml_reply(client.get(url + OPENTACT))) == ["visit 2"]
    # Another caller replaying the link gets a session of its own.
    other = OPENTACT.replace("%2B15550100999", "%2B15550100777")
    assert said(xml_reply(client.get(url + other))) == ["visit 1"]


def test_the_session_expires_after_its_ttl(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    clock = Clock()
    client = client_for(counting_app(MemoryStore(clock=clock), session_ttl_s=60))
    first = xml_reply(client.get("/", params={"call": "c-1"}))
    clock.now += 59
    second = xml_reply(client.get(link(first) + OPENTACT))
    assert said(second) == ["visit 2"]
    clock.now += 61
    assert said(xml_reply(client.get(link(second) + OPENTACT))) == ["visit 1"]


def test_a_session_cleared_by_the_flow_is_deleted(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    store = MemoryStore()
    client = client_for(counting_app(store))
    first = xml_reply(client.get("/", params={"call": "c-1"}))
    assert len(store) == 1
    cleared = xml_reply(client.get(link(first) + OPENTACT + "&dtmf=0"))
    assert said(cleared) == ["visit None"]
    assert len(store) == 0


def test_cf_session_is_not_part_of_meta(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = App(secret="test-secret")
    seen: list[dict[str, str]] = []

    @app.flow("/", name="start")
    def start(call: CallContext) -> Response:
        seen.append(dict(call.meta))
        return Response(Callback(url=call.url_for("start")))

    first = xml_reply(client_for(app).get("/?x=1"))
    xml_reply(client_for(app).get(link(first) + OPENTACT))
    assert seen == [{"x": "1"}, {}]


def test_links_carry_no_session_when_nothing_uses_one(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def start(call: CallContext) -> Response:
        return Response(Play("/media/hello.mp3"), Callback(url="/next?x=1"))

    root = xml_reply(client_for(app).get("/", params={"call": "c-1"}))
    assert link(root) == "http://testserver/next?x=1"
    assert [play.text for play in root.iter("Play")] == ["http://testserver/media/hello.mp3"]


def test_path_only_links_carry_the_session_once_there_is_one(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def start(call: CallContext) -> Response:
        call.session["seen"] = True
        return Response(Callback(url="/next?x=1"))

    @app.flow("/next")
    def after(call: CallContext) -> Response:
        return Response(Say(f"seen {call.session.get('seen')}"), Hangup())

    client = client_for(app)
    url = link(xml_reply(client.get("/", params={"call": "c-1"})))
    (token,) = query_of(url)["cf_session"]
    assert url == f"http://testserver/next?x=1&cf_session={token}"
    assert said(xml_reply(client.get(url + OPENTACT))) == ["seen True"]


@pytest.mark.callflow_expect_fallback
def test_a_session_larger_than_the_bound_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret", max_session_bytes=100)

    @app.flow("/")
    def start(call: CallContext) -> Response:
        call.session["blob"] = "x" * 200
        return Response(Say("stored"), Hangup())

    assert hangup_tag(xml_reply(client_for(app).get("/"))) == FALLBACK_TAG
    errors = [r.getMessage() for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert any("max_session_bytes=100" in message for message in errors)


class BrokenStore:
    """A session store whose backend is down until ``up`` is set (a real implementation of
    the protocol, failing as RedisSessionStore does)."""

    def __init__(self) -> None:
        self.up = False
        self.data: dict[str, dict[str, Any]] = {}

    def _check(self) -> None:
        if not self.up:
            raise SessionStoreError("test://", "reach the server", "down (test)")

    async def load(self, key: str) -> dict[str, Any]:
        self._check()
        return dict(self.data.get(key, {}))

    async def save(self, key: str, data: Mapping[str, Any], ttl_s: int) -> None:
        self._check()
        self.data[key] = dict(data)

    async def delete(self, key: str) -> None:
        self._check()
        self.data.pop(key, None)

    async def ping(self) -> bool:
        await asyncio.sleep(0)
        return self.up

    async def close(self) -> None:
        return None


@pytest.mark.callflow_expect_fallback
def test_a_store_outage_fails_only_the_flows_that_use_the_session(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    store = BrokenStore()
    store.up = True
    client = client_for(counting_app(store))
    first = xml_reply(client.get("/", params={"call": "c-1"}))
    url = link(first) + OPENTACT
    store.up = False
    for _ in range(3):
        assert hangup_tag(xml_reply(client.get(url))) == FALLBACK_TAG
        assert said(xml_reply(client.get("/plain", params={"call": "c-1"}))) == ["no session here"]
    errors = [r for r in callflow_logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # one line per outage burst
    assert "session store" in errors[0].getMessage()
    assert client.get("/healthz").json() == {"status": "degraded", "session_store": "unreachable"}
    store.up = True
    assert said(xml_reply(client.get(url))) == ["visit 2"]
    assert client.get("/healthz").json() == {"status": "ok", "session_store": "ok"}
