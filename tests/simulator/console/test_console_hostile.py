"""The console's API is an HTTP edge: hostile requests to a real ``callflow serve --console``
get a precise 4xx with a JSON reason, never a traceback, and leave the server serving
(oversized, malformed, deeply nested and mistyped bodies, unknown call ids, too many calls,
a client that stalls mid-body)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from console_page import API, Page

if TYPE_CHECKING:
    from conftest import Server, ServerFactory

JSON = {"content-type": "application/json"}
SOCKET_GUARD_S = 30.0
"""How long a raw socket waits for a reply before the test fails (a guard, not a check)."""


@pytest.fixture(scope="module")
def console(start_module_server: ServerFactory) -> Iterator[Server]:
    server = start_module_server("--console")
    yield server
    server.stop()
    assert "Traceback" not in server.output(), server.output()


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param(b" " * 5000, 413, "the body is larger than 4096 bytes", id="oversized"),
        pytest.param(b"{", 400, "the body is not JSON", id="truncated"),
        pytest.param(b"\xff\xfe{}", 400, "the body is not JSON", id="not-utf-8"),
        pytest.param(b"[1]", 400, "expected a JSON object", id="array"),
        pytest.param(b"NaN", 400, "expected a JSON object", id="nan"),
        pytest.param(b"[" * 4000, 400, "the JSON is nested deeper than 8 levels", id="deep"),
        pytest.param(
            b'{"a":' + b"[" * 100 + b"]" * 100 + b"}",
            400,
            "the JSON is nested deeper than 8 levels",
            id="deep-inside",
        ),
        pytest.param(b'{"to": 5}', 400, "to: expected a short line of text", id="wrong-type"),
        pytest.param(b'{"from": ["1"]}', 400, "from: expected a short line", id="list"),
        pytest.param(b'{"at": true}', 400, "at: expected a short line of text", id="bool"),
        pytest.param(b'{"tz": "../../etc/passwd"}', 400, "tz: unknown time zone", id="tz-path"),
        pytest.param(b'{"from": "\\u0000"}', 400, "from: expected a short line", id="nul"),
    ],
)
def test_a_bad_body_is_a_precise_4xx(console: Server, body: bytes, status: int, error: str) -> None:
    reply = console.http.post(f"{API}/calls", content=body, headers=JSON)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"].startswith(error)


def test_a_bad_answer_to_a_call_is_a_precise_4xx(console: Server) -> None:
    page = Page(console.http)
    page.call(at="2026-12-07T10:00")
    page.until("listening")
    for action, body, status, error in [
        ("keys", b'{"keys": ["1"]}', 400, "keys: expected a string"),
        ("keys", b'{"keys": null}', 400, "keys: expected a string"),
        ("keys", b'{"keys": "' + b"1" * 65 + b'"}', 400, "keys: expected 1 to 64"),
        ("keys", b"[]", 400, "expected a JSON object"),
        ("dial", b'{"outcome": 5}', 400, "outcome: expected one of"),
        ("dial", b'{"outcome": "busy"}', 409, "no Dial is ringing now"),
        ("fly", b"{}", 404, "no such action: fly"),
    ]:
        reply = console.http.post(f"{API}/calls/{page.id}/{action}", content=body, headers=JSON)
        assert (reply.status_code, reply.json()["error"][: len(error)]) == (status, error)
    after = console.http.get(f"{API}/calls/{page.id}/events", params={"after": "1e9"})
    assert (after.status_code, after.json()["error"]) == (
        400,
        "after: expected a number of events (got '1e9')",
    )
    page.act("hangup")
    page.until("ended")


@pytest.mark.parametrize(
    "call_id", ["nope", "x" * 5000, "%00", "%E2%98%8E"], ids=["word", "long", "nul", "utf-8"]
)
def test_an_unknown_call_is_a_404(console: Server, call_id: str) -> None:
    for reply in (
        console.http.get(f"{API}/calls/{call_id}/events"),
        console.http.post(f"{API}/calls/{call_id}/hangup", json={}),
    ):
        assert reply.status_code == 404, reply.text
        assert reply.json()["error"] == "no such console call (it ended a while ago?)"


def test_an_unknown_console_path_or_method_is_a_json_4xx(console: Server) -> None:
    missing = console.http.get(f"{API}/calls/..%2F..%2Fetc%2Fpasswd/events/more")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("the console has nothing at /_console/api/calls/")
    wrong = console.http.delete(f"{API}/calls")
    assert (wrong.status_code, wrong.json()["error"]) == (
        405,
        "DELETE is not allowed at /_console/api/calls",
    )


def test_many_calls_are_refused_past_the_limit(console: Server) -> None:
    pages = []
    for _ in range(4):
        page = Page(console.http)
        page.call()
        pages.append(page)
    refused = console.http.post(f"{API}/calls", json={})
    assert refused.status_code == 429
    assert refused.json()["error"] == "4 console calls are running already; hang one up first"
    for page in pages:
        page.act("hangup")
        page.until("ended")
    another = Page(console.http)
    another.call()
    another.act("hangup")
    another.until("ended")


def _raw(server: Server, head: str, body: bytes = b"") -> socket.socket:
    """A connection that sent ``head`` (the request line and headers) and ``body``."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=SOCKET_GUARD_S)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def _status_line(sock: socket.socket) -> bytes:
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply.partition(b"\r\n")[0]


def test_a_declared_oversized_body_is_refused_before_it_is_sent(console: Server) -> None:
    head = (
        f"POST {API}/calls HTTP/1.1\nHost: 127.0.0.1:{console.port}\n"
        "Content-Type: application/json\nContent-Length: 1000000000\n"
    )
    with _raw(console, head) as sock:
        assert _status_line(sock) == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_client_that_stalls_mid_body_holds_nobody_up(console: Server) -> None:
    head = (
        f"POST {API}/calls HTTP/1.1\nHost: 127.0.0.1:{console.port}\n"
        "Content-Type: application/json\nContent-Length: 100\n"
    )
    stalled = [_raw(console, head, b'{"from": "+1555') for _ in range(8)]
    try:
        # The stalled bodies wait in the event loop, not in threads: calls go on.
        page = Page(console.http)
        page.call(at="2026-12-07T10:00")
        page.until("listening")
        page.act("keys", keys="3")
        assert page.until("ended") == "ended"
        assert page.of("ended")[0]["reason"] == "hangup"
    finally:
        for sock in stalled:
            sock.close()
    assert console.http.get("/healthz").status_code == 200
