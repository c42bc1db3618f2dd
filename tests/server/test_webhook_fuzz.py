"""Arbitrary requests at the webhooks (hypothesis): every reply is a precise 4xx or a valid
document (204 for events), never a 5xx and never an exception."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from urllib.parse import urlencode

import anyio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from starlette.types import Message, Scope

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Gather,
    Hangup,
    Meta,
    Play,
    Response,
    Say,
    validate,
)

# Arbitrary input may make a flow fail (the fallback document, an error logged): what is
# tested is that the App itself always answers precisely.
pytestmark = pytest.mark.callflow_expect_fallback

PRECISE_4XX = frozenset({400, 401, 403, 404, 405, 413, 415})
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def build_app() -> App:
    app = App(secret="fuzz-secret", max_body_bytes=4096, trusted_proxies=["127.0.0.0/8"])

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        call.session["seen"] = call.session.get("seen", 0) + 1
        described = ", ".join(f"{k}={v}" for k, v in sorted(call.meta.items()))
        return Response(
            Say(f"from {call.from_} to {call.called} digits {call.digits}"),
            Say(f"meta {described} attempts {call.attempts} success {call.success}"),
            Meta("caller", call.from_raw or "unknown"),
            Gather(
                Say("Press 1"),
                DTMF(Callback(url="/step"), value="1"),
                url=call.url_for("step", state={"meta": call.meta, "digits": call.digits}),
                dtmf_length=1,
            ),
            Play("/media/bye.mp3"),
            Hangup(),
        )

    @app.flow("/step", name="step")
    async def step(call: CallContext) -> Response:
        return Response(Say(f"state {call.state!r} tag {call.tag}"), Hangup())

    @app.flow("/sales", name="sales", numbers=["15550100200"])
    def sales(call: CallContext) -> str:
        return f"<Response><Say>{call.call_state}</Say><Hangup/></Response>"

    @app.on_event("*")
    def on_event(event: object) -> None:
        return None

    return app


APP = build_app()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def call_asgi(
    method: str,
    path: str,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    client: tuple[str, int] = ("72.21.26.35", 5060),
) -> Reply:
    """Send one request straight to the ASGI app: raw bytes, nothing normalised by a client."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"ivr.test"), *(headers or [])],
        "client": client,
        "server": ("ivr.test", 80),
    }
    sent: list[Message] = []
    chunks: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        await APP(scope, receive, send)

    anyio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers_out = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], headers_out, content)


def assert_precise(reply: Reply, *, event: bool = False) -> None:
    """A precise 4xx with a message, or a valid document (an empty 204 for events)."""
    assert reply.status < 500, reply
    if reply.status in PRECISE_4XX:
        assert reply.headers["content-type"].startswith("text/plain"), reply
        assert reply.body.strip(), reply
        return
    if event:
        assert (reply.status, reply.body) == (204, b""), reply
        return
    assert reply.status == 200, reply
    assert reply.headers["content-type"].startswith("application/xml"), reply
    assert reply.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), reply
    assert validate(reply.body) == [], reply
    assert validate(reply.body, strict=True) == [], reply


# -- strategies --------------------------------------------------------------------------------

D9_KEYS = [
    "from",
    "to",
    "tn",
    "state",
    "sca",
    "call",
    "dtmf",
    "code",
    "success",
    "attempts",
    "tag",
    "direction",
    "cf_state",
    "cf_session",
    "token",
    "lang",
]
keys = st.sampled_from(D9_KEYS) | st.text(max_size=10)
numberish = st.from_regex(r"\A\+?[0-9 ()*#.-]{0,16}\Z", fullmatch=True)
values = (
    st.text(max_size=30)
    | numberish
    | st.sampled_from(["15550100200", "+15550100200", "true", "maybe", "12x", "-1", "live"])
)
pairs = st.lists(st.tuples(keys, values), max_size=8)
paths = st.sampled_from(["/", "/step", "/sales", "/nowhere"])
# Raw query bytes as a server hands them over: uvicorn's httptools refuses a request target
# that is not ASCII, but h11 or hypercorn pass any bytes on (the App answers 400 when they
# are not UTF-8, see below).
query_bytes = (
    st.binary(max_size=200).map(lambda raw: bytes(byte & 0x7F for byte in raw))
    | st.binary(max_size=200)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=60).map(str.encode)
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | numberish
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CALL_KEYS = [
    "uuid",
    "from",
    "to",
    "tn",
    "state",
    "direction",
    "sip_control_app",
    "sipcontrol_app",
    "call",
    "payload",
    "type",
]
call_objects = st.dictionaries(st.sampled_from(CALL_KEYS), json_values, max_size=8) | st.builds(
    lambda tn, app: {"uuid": "c-1", "tn": {"tn": tn}, "sip_control_app": {"uuid": app}},
    json_values,
    json_values,
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/xml",
        "text/plain",
        "",
    ]
) | st.text(max_size=20)


def to_json(value: object) -> bytes:
    """JSON text as Python writes it, NaN and Infinity included (json.loads accepts them)."""
    return json.dumps(value).encode()


def header(name: str, value: str) -> tuple[bytes, bytes]:
    return (name.encode(), value.encode("utf-8", "surrogatepass"))


# -- the properties ----------------------------------------------------------------------------


@FUZZ
@given(path=paths, query=query_bytes)
@example(path="/", query=b"to=%ff")
@example(path="/", query=b"a=%ff%fe&b=%")
@example(path="/", query="from=café&to=☎".encode())
@example(path="/", query=b"cf_state=x&dtmf=1")
@example(path="/step", query=b"attempts=1e3&success=")
def test_arbitrary_query_bytes(path: str, query: bytes) -> None:
    assert_precise(call_asgi("GET", path, query))


@FUZZ
@given(path=paths, query=pairs, method=st.sampled_from(["GET", "POST"]))
@example(path="/", query=[("to", "15550100200"), ("from", "\x00")], method="GET")
@example(path="/", query=[("lang", "\ud800")], method="GET")
def test_arbitrary_query_parameters(path: str, query: list[tuple[str, str]], method: str) -> None:
    encoded = urlencode(query, errors="surrogatepass").encode()
    assert_precise(call_asgi(method, path, encoded))


@FUZZ
@given(path=paths, form=pairs, query=pairs, multipart=st.booleans())
def test_arbitrary_forms(
    path: str, form: list[tuple[str, str]], query: list[tuple[str, str]], multipart: bool
) -> None:
    if multipart:
        parts = [
            b'--xyz\r\nContent-Disposition: form-data; name="'
            + k.encode("utf-8", "surrogatepass")
            + b'"\r\n\r\n'
            + v.encode("utf-8", "surrogatepass")
            + b"\r\n"
            for k, v in form
        ]
        body = b"".join(parts) + b"--xyz--\r\n"
        content_type = "multipart/form-data; boundary=xyz"
    else:
        body = urlencode(form, errors="surrogatepass").encode()
        content_type = "application/x-www-form-urlencoded"
    query_bytes = urlencode(query, errors="surrogatepass").encode()
    reply = call_asgi("POST", path, query_bytes, [header("content-type", content_type)], body)
    assert_precise(reply)


@FUZZ
@given(path=paths, body=call_objects | json_values, query=pairs)
@example(path="/", body={"uuid": "c", "from": ["1"]}, query=[])
@example(path="/", body={"uuid": "c", "to": math.inf}, query=[])
@example(path="/", body={"uuid": "c", "to": "15550100200", "state": "\x00"}, query=[])
@example(path="/", body={"call": {"uuid": None, "tn": {"tn": 1}}}, query=[])
def test_arbitrary_json(path: str, body: object, query: list[tuple[str, str]]) -> None:
    query_bytes = urlencode(query, errors="surrogatepass").encode()
    reply = call_asgi(
        "POST", path, query_bytes, [header("content-type", "application/json")], to_json(body)
    )
    assert_precise(reply)


@FUZZ
@given(
    path=paths,
    body=st.binary(max_size=300) | st.builds(to_json, json_values),
    content_type=content_types,
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"]),
)
@example(path="/", body=b"x" * 5000, content_type="application/json", method="POST")
@example(path="/", body=b"[" * 3000, content_type="application/json", method="POST")
def test_arbitrary_bodies(path: str, body: bytes, content_type: str, method: str) -> None:
    headers = [header("content-type", content_type)] if content_type else []
    assert_precise(call_asgi(method, path, b"", headers, body))


@FUZZ
@given(
    host=st.text(max_size=30),
    forwarded=st.none() | st.text(max_size=30),
    peer=st.sampled_from(["127.0.0.1", "72.21.26.35"]),
)
@example(host="a b", forwarded=None, peer="72.21.26.35")
@example(host='x"><Hangup/>', forwarded='y"/>', peer="127.0.0.1")
def test_arbitrary_hosts(host: str, forwarded: str | None, peer: str) -> None:
    """The Host header (and X-Forwarded-Host from a trusted proxy) ends up in every URL."""
    headers = [header("host", host)]
    if forwarded is not None:
        headers.append(header("x-forwarded-host", forwarded))
    reply = call_asgi("GET", "/", b"to=1&call=c-h", headers, client=(peer, 1))
    assert_precise(reply)


@FUZZ
@given(
    body=st.binary(max_size=300) | st.builds(to_json, json_values | call_objects),
    query=pairs,
    method=st.sampled_from(["POST", "GET", "PUT"]),
)
@example(body=b'{"type": "call_state", "payload": {"state": 1}}', query=[], method="POST")
@example(body=b'{"type": "call_flow", "payload": {"command": []}}', query=[], method="POST")
def test_arbitrary_events(body: bytes, query: list[tuple[str, str]], method: str) -> None:
    query_bytes = urlencode(query, errors="surrogatepass").encode()
    headers = [header("content-type", "application/json")]
    assert_precise(call_asgi(method, "/events", query_bytes, headers, body), event=True)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/", "/step", "/events", "/nowhere", "/healthz"])
def test_a_raw_query_that_is_not_utf8_gets_400(path: str, method: str) -> None:
    reply = call_asgi(method, path, b"to=15550100200&state=live&name=\xff\xfe")
    assert reply.status == 400
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.body == b"malformed query string: not UTF-8"


def test_the_fuzzed_app_answers_a_plain_call() -> None:
    """The app under fuzz is sane: a plain call gets its menu, not the fallback."""
    reply = call_asgi("GET", "/", b"from=%2B15550100999&to=15550100300&call=c-1")
    assert_precise(reply)
    root = etree.fromstring(reply.body)
    assert [child.tag for child in root] == ["Say", "Say", "Meta", "Gather", "Play", "Hangup"]
    gather = root.find("Gather")
    assert gather is not None
    assert str(gather.get("url")).startswith("http://ivr.test/step?cf_state=")
    assert root.findtext("Play") == "http://ivr.test/media/bye.mp3"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param(b"to=15550100200&state=live", 200, id="routed"),
        pytest.param(b"dtmf=12x", 400, id="bad-dtmf"),
    ],
)
def test_call_asgi_helper(query: bytes, status: int) -> None:
    reply = call_asgi("GET", "/", query)
    assert reply.status == status
    assert_precise(reply)
