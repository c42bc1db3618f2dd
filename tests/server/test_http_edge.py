"""Attacker tests against a real ``callflow serve`` over HTTP (issue 8): proxy headers, hosts,
limits, log injection, configuration errors and state tokens bound to the call's numbers.

Raw sockets send what an HTTP client would refuse to (huge headers, trickled bodies,
disconnects mid-body, malformed Host, control characters); every socket has a timeout and
every loop a deadline; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree

from callflow import App, CallContext, Gather, Hangup, Response, Say

if TYPE_CHECKING:
    from conftest import ClientFactory, CommandRunner, Server, ServerFactory, ServeRunner

EDGE_APP = "tests.edge_apps:app"
NUMBERS_APP = "tests.edge_apps:numbers_app"
OPENTACT = "72.21.26.35"
PRODUCTION_SECRET = "edge-production-secret-of-40-bytes-long!"
assert len(PRODUCTION_SECRET.encode()) >= 32
CALLER, CALLED = "+15550100999", "+15550100200"
FALLBACK_TAG = b"callflow-fallback"
# Raw control characters (C0 but the line feed that ends each line, DEL, C1) must never
# reach the log: they show escaped as \xNN.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
SOCKET_TIMEOUT_S = 5.0
_probes = itertools.count(1)


# -- raw HTTP ----------------------------------------------------------------------------------


@dataclass
class RawReply:
    """What came back on a raw connection; ``status`` None: closed without a reply."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


def raw_request(
    server: Server,
    method: str,
    target: str | bytes,
    headers: Sequence[tuple[str | bytes, str | bytes]] = (),
    *,
    host: str | bytes | None = None,
    body: bytes = b"",
    content_length: int | None = None,
) -> bytes:
    """An HTTP/1.1 request as bytes, exactly as given (``Connection: close``); the Host is
    the server's own unless ``host`` is given."""
    lines = [_bytes(method) + b" " + _bytes(target) + b" HTTP/1.1"]
    lines.append(b"Host: " + _bytes(host if host is not None else f"127.0.0.1:{server.port}"))
    lines += [_bytes(name) + b": " + _bytes(value) for name, value in headers]
    if body or content_length is not None:
        size = len(body) if content_length is None else content_length
        lines.append(b"Content-Length: " + str(size).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def read_reply(sock: socket.socket, timeout_s: float = SOCKET_TIMEOUT_S) -> RawReply:
    """Read one reply (head, then a Content-Length body or everything up to the close)."""
    deadline = time.monotonic() + timeout_s
    data = b""

    def more() -> bytes | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"no complete reply within {timeout_s}s (got {data[:300]!r})")
        sock.settimeout(remaining)
        try:
            return sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"no complete reply within {timeout_s}s (got {data[:300]!r})")
        except (ConnectionResetError, BrokenPipeError):
            return None

    while b"\r\n\r\n" not in data:
        chunk = more()
        if not chunk:
            return RawReply(None, body=data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    length = int(headers["content-length"]) if "content-length" in headers else None
    while length is None or len(body) < length:
        chunk = more()
        if not chunk:
            break
        body += chunk
    return RawReply(status, headers, body)


def exchange(server: Server, request: bytes, timeout_s: float = SOCKET_TIMEOUT_S) -> RawReply:
    """Send ``request`` on a new connection and read the reply."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout_s) as sock:
        # The server may stop reading (a limit) and close: its reply may still be there.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            sock.sendall(request)
        return read_reply(sock, timeout_s)


def get(
    server: Server,
    target: str | bytes,
    *headers: tuple[str | bytes, str | bytes],
    host: str | bytes | None = None,
) -> RawReply:
    return exchange(server, raw_request(server, "GET", target, headers, host=host))


def urls_of(body: bytes) -> list[str]:
    """Every URL of a document: ``url`` attributes, and the text of ``<Play>``."""
    root = etree.fromstring(body)
    found = [str(el.get("url")) for el in root.iter() if el.get("url") is not None]
    found += [str(el.text).strip() for el in root.iter("Play") if el.text]
    return found


def gather_url(body: bytes) -> str:
    gather = etree.fromstring(body).find("Gather")
    assert gather is not None, body
    return str(gather.get("url"))


def runs_of(server: Server, call: str) -> int:
    """Run ``/count`` once more for ``call`` and return how often it ran for that call (this
    run included): the flow logs each run, and a refused request must not have run it."""
    probe = f"probe-{next(_probes)}"
    reply = server.http.get("/count", params={"call": call, "probe": probe})
    assert reply.status_code == 200, reply.text
    # Lines are written in order: once this run's shows, every earlier one has.
    output = output_since(server, 0, f"count flow ran (call {call}, probe {probe})")
    return output.count(f"count flow ran (call {call},")


def output_since(server: Server, offset: int, *needles: str, deadline_s: float = 5.0) -> str:
    """The server's output after ``offset`` once it holds every one of ``needles`` (log lines
    are flushed a moment after the reply); waits for the deadline only if they are missing."""
    deadline = time.monotonic() + deadline_s
    while True:
        text = server.output()[offset:]
        if all(needle in text for needle in needles) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def settled_output_since(server: Server, offset: int) -> str:
    """The server's output after ``offset``, once lines batched for flushing are out."""
    time.sleep(0.3)  # logs.BatchingHandler flushes every 0.2 s
    return server.output()[offset:]


def log_offset(server: Server) -> int:
    return len(server.output())


def assert_no_traceback(server: Server) -> None:
    output = server.output()
    assert "Traceback" not in output, output


# -- servers shared by the tests of this module ------------------------------------------------


@pytest.fixture(scope="module")
def plain(start_module_server: ServerFactory) -> Iterator[Server]:
    """Development mode, nothing configured but short timeouts."""
    server = start_module_server(
        app=EDGE_APP, env={"CALLFLOW_BODY_TIMEOUT": "1", "CALLFLOW_FLOW_TIMEOUT_MS": "2000"}
    )
    yield server
    assert_no_traceback(server)


@pytest.fixture(scope="module")
def allow_listed(start_module_server: ServerFactory) -> Iterator[Server]:
    """Only Opentact's address may call; no trusted proxies."""
    server = start_module_server(app=EDGE_APP, env={"CALLFLOW_ALLOWED_IPS": OPENTACT})
    yield server
    assert_no_traceback(server)


@pytest.fixture(scope="module")
def proxied(start_module_server: ServerFactory) -> Iterator[Server]:
    """Behind a trusted proxy on 127.0.0.1; Opentact's address and a v6 network allowed."""
    server = start_module_server(
        app=EDGE_APP,
        env={
            "CALLFLOW_TRUSTED_PROXIES": "127.0.0.1",
            "CALLFLOW_ALLOWED_IPS": f"{OPENTACT},2001:db8::/32",
            "CALLFLOW_ALLOWED_HOSTS": "ivr.example.com,127.0.0.1",
        },
    )
    yield server
    assert_no_traceback(server)


@pytest.fixture(scope="module")
def with_base_url(start_module_server: ServerFactory) -> Iterator[Server]:
    server = start_module_server(
        app=EDGE_APP,
        env={
            "CALLFLOW_MODE": "production",
            "CALLFLOW_SECRET": PRODUCTION_SECRET,
            "CALLFLOW_BASE_URL": "https://ivr.example.com/base",
        },
    )
    yield server
    assert_no_traceback(server)


@pytest.fixture(scope="module")
def host_listed(start_module_server: ServerFactory) -> Iterator[Server]:
    """Production mode with an allowed-host list (its health check names an allowed host)."""
    server = start_module_server(
        app=EDGE_APP,
        env={
            "CALLFLOW_MODE": "production",
            "CALLFLOW_SECRET": PRODUCTION_SECRET,
            "CALLFLOW_ALLOWED_HOSTS": "ivr.example.com,*.example.org",
        },
        headers={"Host": "ivr.example.com"},
    )
    yield server
    assert_no_traceback(server)


# -- 1. proxy headers --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/events"])
@pytest.mark.parametrize(
    "header",
    [
        pytest.param(("X-Forwarded-For", OPENTACT), id="x-forwarded-for"),
        pytest.param(("Forwarded", f"for={OPENTACT}"), id="forwarded"),
        pytest.param(("X-Forwarded-For", f"1.2.3.4, {OPENTACT}"), id="x-forwarded-for-chain"),
        pytest.param(("Forwarded", f'for="{OPENTACT}:4711"'), id="forwarded-with-port"),
    ],
)
def test_forwarded_addresses_from_an_untrusted_peer_are_ignored(
    allow_listed: Server, path: str, header: tuple[str, str]
) -> None:
    reply = get(allow_listed, f"{path}?call=c-untrusted", header)
    assert reply.status == 403, reply


def test_the_access_line_names_the_peer_when_no_proxy_is_trusted(allow_listed: Server) -> None:
    offset = log_offset(allow_listed)
    assert get(allow_listed, "/?call=c-peer", ("X-Forwarded-For", OPENTACT)).status == 403
    # Refused before its parameters are read, the line names no call; the test's own
    # requests are the only ones since `offset`.
    output = output_since(allow_listed, offset, "path=/ status=403")
    assert re.search(r"path=/ status=403 call=\S+ flow=\S+ client=127\.0\.0\.1 ", output), output
    assert f"client={OPENTACT}" not in output


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("X-Forwarded-Proto", "https")], id="x-forwarded-proto"),
        pytest.param([("X-Forwarded-Host", "evil.example")], id="x-forwarded-host"),
        pytest.param(
            [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example")], id="both"
        ),
        pytest.param([("Forwarded", "proto=https;host=evil.example")], id="forwarded"),
    ],
)
def test_forwarded_proto_and_host_from_an_untrusted_peer_do_not_change_links(
    plain: Server, headers: list[tuple[str | bytes, str | bytes]]
) -> None:
    reply = get(plain, "/?call=c-links", *headers)
    assert reply.status == 200, reply
    urls = urls_of(reply.body)
    assert len(urls) == 2
    for url in urls:
        assert url.startswith(f"http://127.0.0.1:{plain.port}/"), url


@pytest.mark.parametrize(
    ("headers", "status", "client"),
    [
        pytest.param([("X-Forwarded-For", f"1.2.3.4, {OPENTACT}")], 200, OPENTACT, id="right"),
        pytest.param([("X-Forwarded-For", f"{OPENTACT}, 1.2.3.4")], 403, "1.2.3.4", id="left"),
        pytest.param(
            [("X-Forwarded-For", f"{OPENTACT}, 127.0.0.1")], 200, OPENTACT, id="skip-trusted-hop"
        ),
        pytest.param(
            [("X-Forwarded-For", OPENTACT), ("X-Forwarded-For", "1.2.3.4")],
            403,
            "1.2.3.4",
            id="two-headers-last-counts",
        ),
        pytest.param([("Forwarded", f"for={OPENTACT}")], 200, OPENTACT, id="forwarded"),
        pytest.param(
            [("Forwarded", f"for=1.2.3.4, for={OPENTACT}")], 200, OPENTACT, id="forwarded-right"
        ),
        pytest.param(
            [("Forwarded", f"for={OPENTACT}, for=1.2.3.4")], 403, "1.2.3.4", id="forwarded-left"
        ),
        pytest.param(
            [("Forwarded", 'for="[2001:db8::1]:4711"')], 200, "2001:db8::1", id="forwarded-v6"
        ),
        pytest.param(
            [("Forwarded", 'For="[2001:db9::1]"')], 403, "2001:db9::1", id="forwarded-v6-refused"
        ),
    ],
)
def test_the_client_behind_a_trusted_proxy_is_the_right_most_untrusted_hop(
    proxied: Server, headers: list[tuple[str | bytes, str | bytes]], status: int, client: str
) -> None:
    offset = log_offset(proxied)
    reply = get(proxied, "/?call=c-hop", *headers)
    assert reply.status == status, reply
    events = get(proxied, "/events?type=probe-hop", *headers)
    assert events.status == (204 if status == 200 else status), events
    # The test's own requests are the only ones since `offset`.
    output = output_since(proxied, offset, "path=/ status=", "path=/events status=")
    flow_line = rf"path=/ status={status} call=\S+ flow=\S+ client={re.escape(client)} "
    assert re.search(flow_line, output), output
    events_line = rf"path=/events status=\d+ call=\S+ flow=\S+ client={re.escape(client)} "
    assert re.search(events_line, output), output


@pytest.mark.parametrize(
    "value", ["for=unknown", "for=_hidden", "garbage;;;==", 'for="[2001:db8::1', "for="]
)
def test_an_unusable_forwarded_header_from_a_trusted_proxy_is_refused(
    proxied: Server, value: str
) -> None:
    reply = get(proxied, "/?call=c-garbage", ("Forwarded", value))
    assert reply.status in (400, 403), reply


def test_the_access_line_has_the_resolved_client_in_a_fixed_field_order(proxied: Server) -> None:
    offset = log_offset(proxied)
    assert get(proxied, "/", ("X-Forwarded-For", f"1.2.3.4, {OPENTACT}")).status == 200
    output = output_since(proxied, offset, f"client={OPENTACT}")
    line = (
        r" INFO callflow\.access method=GET path=/ status=200 call=- flow=main "
        rf"client={re.escape(OPENTACT)} duration_ms=\d+\.\d\n"
    )
    assert re.search(line, output), output


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            [("Forwarded", f"for={OPENTACT};proto=https;host=ivr.example.com")], id="forwarded"
        ),
        pytest.param(
            [
                ("X-Forwarded-For", OPENTACT),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "ivr.example.com"),
            ],
            id="x-forwarded",
        ),
    ],
)
def test_links_behind_a_trusted_proxy_use_the_forwarded_scheme_and_host(
    proxied: Server, headers: list[tuple[str | bytes, str | bytes]]
) -> None:
    reply = get(proxied, "/?call=c-fwd-links", *headers)
    assert reply.status == 200, reply
    urls = urls_of(reply.body)
    assert len(urls) == 2
    for url in urls:
        assert url.startswith("https://ivr.example.com/"), url


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("Forwarded", f"for={OPENTACT};host=evil.example")], id="forwarded"),
        pytest.param(
            [("X-Forwarded-For", OPENTACT), ("X-Forwarded-Host", "evil.example")],
            id="x-forwarded-host",
        ),
    ],
)
def test_a_forwarded_host_that_is_not_allowed_gets_400(
    proxied: Server, headers: list[tuple[str | bytes, str | bytes]]
) -> None:
    reply = get(proxied, "/?call=c-fwd-host", *headers)
    assert reply.status == 400, reply
    assert FALLBACK_TAG not in reply.body


# -- 2. hosts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="own-host"),
        pytest.param(
            [
                ("X-Forwarded-Proto", "http"),
                ("X-Forwarded-Host", "evil.example"),
                ("Forwarded", "proto=http;host=evil2.example"),
            ],
            id="forwarded-headers",
        ),
    ],
)
@pytest.mark.parametrize("host", [None, "evil.example", "evil.example:8080"])
def test_every_link_starts_with_the_configured_base_url(
    with_base_url: Server, headers: list[tuple[str | bytes, str | bytes]], host: str | None
) -> None:
    reply = get(with_base_url, "/?call=c-base", *headers, host=host)
    assert reply.status == 200, reply
    urls = urls_of(reply.body)
    assert len(urls) == 2
    for url in urls:
        assert url.startswith("https://ivr.example.com/base/"), url


@pytest.mark.parametrize(
    "host",
    [
        "ivr.example.com",
        "ivr.example.com:8443",
        "IVR.Example.COM",
        "a.example.org",
        "deep.a.example.org:443",
    ],
)
def test_an_allowed_host_is_served(host_listed: Server, host: str) -> None:
    reply = get(host_listed, "/?call=c-host-ok", host=host)
    assert reply.status == 200, reply
    urls = urls_of(reply.body)
    assert len(urls) == 2
    for url in urls:
        assert url.lower().startswith(f"http://{host.lower()}/"), url


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "example.org.evil.com",
        "notexample.org",
        "ivr.example.com.evil.com",
        "example.com",
        "localhost",
        "127.0.0.1",
        pytest.param("127.0.0.1:{port}", id="own-address"),
    ],
)
def test_a_host_that_is_not_allowed_gets_400_before_any_flow_runs(
    host_listed: Server, host: str
) -> None:
    call = f"c-host-{host.replace(':', '-')}"
    reply = get(host_listed, f"/count?call={call}", host=host.format(port=host_listed.port))
    assert reply.status == 400, reply
    assert FALLBACK_TAG not in reply.body
    assert b"<Response" not in reply.body
    assert runs_of(host_listed, call) == 1  # the refused request ran no flow


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(b"a b", id="space"),
        pytest.param(b"exa mple.com", id="inner-space"),
        pytest.param(b"host:port:x", id="two-colons"),
        pytest.param(b"[::1", id="unclosed-bracket"),
        pytest.param(b"ex\x01ample.com", id="control-character"),
        pytest.param(b"example.com\x1b[2J", id="escape-sequence"),
        pytest.param(b"ex\x7fample.com", id="delete"),
        pytest.param(b"", id="empty"),
        pytest.param(b"example.com:abc", id="port-not-a-number"),
        pytest.param(b"ivr.example.com@evil.example", id="userinfo"),
        pytest.param(b"evil.example/path", id="slash"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/count?call=c-malformed-host"])
def test_a_malformed_host_gets_400(plain: Server, host: bytes, path: str) -> None:
    offset = log_offset(plain)
    reply = get(plain, path, host=host)
    assert reply.status == 400, reply
    assert FALLBACK_TAG not in reply.body
    assert b"<Response" not in reply.body
    output = output_since(plain, offset, "status=400", deadline_s=0.3)
    assert "Traceback" not in output
    assert " ERROR " not in output, output


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080"])
def test_a_trailing_slash_does_not_redirect_to_the_request_host(plain: Server, host: str) -> None:
    reply = get(plain, "/next/?call=c-slash", host=host)
    assert reply.status is not None
    assert "evil.example" not in reply.headers.get("location", ""), reply
    location = reply.headers.get("location", "")
    relative = location.startswith("/") and not location.startswith("//")
    assert reply.status == 404 or (300 <= reply.status < 400 and relative), reply


def test_a_trailing_slash_redirect_names_only_an_allowed_host(host_listed: Server) -> None:
    refused = get(host_listed, "/next/?call=c-slash", host="evil.example")
    assert refused.status == 400, refused
    assert "location" not in refused.headers
    reply = get(host_listed, "/next/?call=c-slash", host="a.example.org")
    location = reply.headers.get("location", "")
    assert reply.status == 404 or location.startswith(("http://a.example.org/", "/next")), reply
    assert not location.startswith("//"), location


def test_a_trailing_slash_redirect_is_built_from_the_base_url(with_base_url: Server) -> None:
    reply = get(with_base_url, "/next/?call=c-slash", host="evil.example")
    assert reply.status is not None
    location = reply.headers.get("location")
    if reply.status != 404:
        assert location is not None and 300 <= reply.status < 400, reply
        assert location.startswith("https://ivr.example.com/base/"), location
    else:
        assert location is None


def test_production_mode_refuses_to_start_without_a_base_url_or_allowed_hosts(
    run_serve: ServeRunner,
) -> None:
    result = run_serve(
        app=EDGE_APP, env={"CALLFLOW_MODE": "production", "CALLFLOW_SECRET": PRODUCTION_SECRET}
    )
    assert result.code == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("callflow: ")
    assert "CALLFLOW_BASE_URL" in lines[0] and "CALLFLOW_ALLOWED_HOSTS" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_development_mode_serves_without_a_base_url_or_allowed_hosts(plain: Server) -> None:
    reply = plain.http.get("/", params={"call": "c-dev"})
    assert reply.status_code == 200
    assert gather_url(reply.content).startswith(f"{plain.base_url}/next?")


# -- 3. limits ---------------------------------------------------------------------------------


def big_headers(total: int, size: int) -> list[tuple[str | bytes, str | bytes]]:
    """Headers of about ``total`` bytes, each value ``size`` bytes long."""
    return [(f"X-Filler-{i}", "a" * size) for i in range(max(1, total // size))]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(big_headers(20_000, 20_000), id="one-big-header"),
        pytest.param(big_headers(20_000, 500), id="many-headers"),
        pytest.param(big_headers(1_000_000, 100_000), id="a-megabyte"),
    ],
)
def test_headers_above_the_default_limit_are_refused_before_any_flow_runs(
    plain: Server, headers: list[tuple[str | bytes, str | bytes]]
) -> None:
    call = f"c-big-{len(headers)}"
    reply = get(plain, f"/count?call={call}", *headers)
    assert reply.status in (431, None), reply
    assert runs_of(plain, call) == 1


def test_headers_below_the_default_limit_are_served(plain: Server) -> None:
    reply = get(plain, "/count?call=c-12k", *big_headers(12_000, 1_000))
    assert reply.status == 200, reply


def process_status(server: Server) -> dict[str, str]:
    """``/proc/PID/status`` of the server, which must be the process the test started."""
    pid = server.process.pid
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"serve" in command, command
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert children == [], f"callflow serve {pid} has child processes {children}"
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def rss_kb(server: Server) -> int:
    return int(process_status(server)["VmRSS"].split()[0])


def threads(server: Server) -> int:
    return int(process_status(server)["Threads"])


class Sampler:
    """Sample a number about the server every 20 ms in a thread; keep the largest."""

    def __init__(self, measure: Callable[[], int]) -> None:
        self.measure = measure
        self.largest = measure()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.largest = max(self.largest, self.measure())
            except (OSError, ValueError):
                return  # the process is gone


class HeaderFlood(threading.Thread):
    """Push one endless header (up to 64 MB) until the server closes or a deadline."""

    TOTAL = 64 * 1024 * 1024
    CHUNK = b"a" * 65536

    def __init__(self, port: int, deadline_s: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.port, self.deadline_s = port, deadline_s
        self.sent = 0
        self.ended = "running"
        self.reply = b""
        self.pushing = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.deadline_s
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as sock:
            try:
                sock.sendall(b"GET /count?call=c-flood HTTP/1.1\r\nHost: x\r\nX-Flood: ")
                while self.sent < self.TOTAL:
                    if time.monotonic() > deadline:
                        self.ended = "deadline"
                        break
                    sock.sendall(self.CHUNK)
                    self.sent += len(self.CHUNK)
                    if self.sent >= 1024 * 1024:
                        self.pushing.set()
                else:
                    self.ended = "sent all"
            except (ConnectionResetError, BrokenPipeError):
                self.ended = "closed"
            except TimeoutError:
                self.ended = "stalled"  # the server stopped reading without closing
            finally:
                self.pushing.set()
            try:
                sock.settimeout(2.0)
                self.reply = sock.recv(1024)
            except (OSError, TimeoutError):
                self.reply = b""


def test_the_header_limit_is_configurable_and_a_64mb_header_stalls_nothing(
    start_server: ServerFactory,
) -> None:
    server = start_server(app=EDGE_APP, env={"CALLFLOW_MAX_HEADER_BYTES": "4096"})
    assert get(server, "/count?call=c-3k", *big_headers(3_000, 1_000)).status == 200
    assert get(server, "/count?call=c-6k", *big_headers(6_000, 1_000)).status in (431, None)
    assert runs_of(server, "c-6k") == 1

    before = rss_kb(server)
    flood = HeaderFlood(server.port)
    with Sampler(lambda: rss_kb(server)) as rss:
        flood.start()
        assert flood.pushing.wait(timeout=10)
        started = time.monotonic()
        health = server.http.get("/healthz", timeout=3.0)
        elapsed = time.monotonic() - started
        flood.join(timeout=20)
    assert not flood.is_alive()
    assert health.status_code == 200
    assert elapsed < 3.0
    assert flood.ended == "closed" or flood.reply.startswith(b"HTTP/1.1 431"), (
        flood.ended,
        flood.sent,
        flood.reply,
    )
    assert not flood.reply.startswith(b"HTTP/1.1 200")
    growth_mb = (rss.largest - before) / 1024
    assert growth_mb < 50, f"RSS grew by {growth_mb:.0f} MB while {flood.sent} bytes came in"
    assert runs_of(server, "c-flood") == 1
    assert_no_traceback(server)


def test_a_body_that_stops_arriving_gets_408_after_the_body_timeout(plain: Server) -> None:
    request = raw_request(
        plain,
        "POST",
        "/count?call=c-stalled",
        [("Content-Type", "application/x-www-form-urlencoded")],
        body=b"digits=12&",
        content_length=100,
    )
    started = time.monotonic()
    reply = exchange(plain, request, timeout_s=6.0)
    elapsed = time.monotonic() - started
    assert reply.status == 408, reply
    assert 0.5 < elapsed < 4.0, elapsed
    assert runs_of(plain, "c-stalled") == 1


def test_a_trickled_body_gets_408_after_the_body_timeout(plain: Server) -> None:
    head = raw_request(
        plain,
        "POST",
        "/count?call=c-trickled",
        [("Content-Type", "application/x-www-form-urlencoded")],
        content_length=100,
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", plain.port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(head)
        # A byte every 0.2 s: never idle for long, but the body takes 20 s in all.
        for _ in range(30):
            try:
                sock.sendall(b"a")
            except (ConnectionResetError, BrokenPipeError):
                break
            sock.settimeout(0.2)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # a reply arrived
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
        reply = read_reply(sock, timeout_s=2.0)
    elapsed = time.monotonic() - started
    assert reply.status == 408, reply
    assert elapsed < 4.0, elapsed
    assert runs_of(plain, "c-trickled") == 1


def test_a_client_gone_mid_body_is_logged_as_499_without_an_error(plain: Server) -> None:
    offset = log_offset(plain)
    request = raw_request(
        plain,
        "POST",
        "/count?call=c-gone",
        [("Content-Type", "application/x-www-form-urlencoded")],
        body=b"digits=12&",
        content_length=100,
    )
    with socket.create_connection(("127.0.0.1", plain.port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(request)
        time.sleep(0.2)  # the server is reading the body now
    output = output_since(plain, offset, "status=499")
    lines = [line for line in output.split("\n") if "status=499" in line]
    assert len(lines) == 1, output
    assert " INFO callflow.access " in lines[0] and "path=/count" in lines[0], lines[0]
    assert "Traceback" not in output
    assert " ERROR " not in output, output
    assert "status=500" not in output
    assert runs_of(plain, "c-gone") == 1


REFUSED_METHODS = ["HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"]


@pytest.mark.parametrize("path", ["/", "/count", "/next", "/events"])
@pytest.mark.parametrize("method", REFUSED_METHODS)
def test_other_methods_get_405_allowing_get_and_post(plain: Server, method: str, path: str) -> None:
    reply = plain.http.request(method, path, params={"call": "c-method", "type": "probe"})
    assert reply.status_code == 405, reply.text
    allowed = {part.strip() for part in reply.headers.get("allow", "").split(",")}
    assert allowed == {"GET", "POST"}, reply.headers.get("allow")


def test_a_refused_method_runs_no_flow_and_no_event_handler(plain: Server) -> None:
    assert runs_of(plain, "c-405") == 1
    offset = log_offset(plain)
    for method in REFUSED_METHODS:
        assert plain.http.request(method, "/count?call=c-405").status_code == 405
        reply = plain.http.request(method, f"/events?type=probe-{method.lower()}")
        assert reply.status_code == 405
    assert runs_of(plain, "c-405") == 2
    # The handlers log every event; once the last one shows, any earlier one would too.
    assert plain.http.get("/events?type=probe-get").status_code == 204
    output = output_since(plain, offset, "event received type=probe-get")
    assert "event received type=probe-get" in output
    assert "type=probe-head" not in output and "type=probe-put" not in output
    assert "type=probe-delete" not in output and "type=probe-patch" not in output
    assert "type=probe-options" not in output


async def _hanging_request(port: int, index: int) -> tuple[int, bytes, float]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        request = f"GET /hang?call=c-hang-{index} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        writer.write(request.encode() + b"Connection: close\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=20)
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data, time.monotonic() - started


async def _hanging_burst(port: int, size: int) -> list[tuple[int, bytes, float]]:
    return await asyncio.wait_for(
        asyncio.gather(*(_hanging_request(port, i) for i in range(size))), timeout=30
    )


def test_sync_flows_run_on_a_bounded_pool(start_server: ServerFactory) -> None:
    server = start_server(
        app=EDGE_APP,
        env={"CALLFLOW_FLOW_TIMEOUT_MS": "500", "CALLFLOW_SYNC_FLOW_THREADS": "8"},
    )
    try:
        baseline = threads(server)
        with Sampler(lambda: threads(server)) as sampled:
            started = time.monotonic()
            replies = asyncio.run(_hanging_burst(server.port, 200))
            burst_s = time.monotonic() - started
        for status, data, _ in replies:
            assert status == 200, data[:300]
            assert FALLBACK_TAG in data
        assert burst_s < 20, burst_s
        assert sampled.largest < 8 + 12, (baseline, sampled.largest)
        # The pool is full of hanging flows; what runs on the event loop still answers.
        started = time.monotonic()
        assert server.http.get("/healthz", timeout=3.0).status_code == 200
        assert server.http.get("/next?call=c-after-hang", timeout=3.0).status_code == 200
        assert time.monotonic() - started < 3.0
        assert_no_traceback(server)
    finally:
        # The abandoned flows sleep on: do not wait for them at shutdown.
        server.process.kill()
        server.process.wait(timeout=15)


# -- 4. logs -----------------------------------------------------------------------------------

HOSTILE = [
    pytest.param("/x%0aFORGED-path-lf", "\\x0a", id="path-lf"),
    pytest.param("/x%0dFORGED-path-cr", "\\x0d", id="path-cr"),
    pytest.param("/x%1b[2JFORGED-path-esc", "\\x1b[2J", id="path-escape"),
    pytest.param("/x%7fFORGED-path-del", "\\x7f", id="path-delete"),
    pytest.param("/x%c2%85FORGED-path-nel", "\\x85", id="path-c1-nel"),
    pytest.param("/?call=c%0aFORGED-call-lf", "\\x0a", id="query-lf"),
    pytest.param("/?call=c%0d%0aFORGED-call-crlf", "\\x0d\\x0a", id="query-crlf"),
    pytest.param("/?call=c%c2%85FORGED-call-nel", "\\x85", id="query-c1-nel"),
]


def assert_one_line_each(output: str, marker: str, escaped: str, expected: int) -> None:
    """``marker`` (after ``escaped``) shows on ``expected`` lines, never at a line start, and
    the output holds no raw control character."""
    assert RAW_CONTROL.search(output) is None, ascii(output)
    lines = output.split("\n")
    assert not any(line.startswith(marker) for line in lines), output
    holding = [line for line in lines if marker in line]
    assert len(holding) == expected, output
    for line in holding:
        assert escaped + marker in line, line


@pytest.mark.parametrize(("target", "escaped"), HOSTILE)
def test_control_characters_in_the_request_stay_on_one_escaped_access_line(
    plain: Server, target: str, escaped: str
) -> None:
    marker = target[target.index("FORGED") :]
    offset = log_offset(plain)
    assert get(plain, target).status is not None
    output = output_since(plain, offset, marker)
    assert_one_line_each(output, marker, escaped, expected=1)


def test_control_characters_in_a_quoted_state_warning_are_escaped(plain: Server) -> None:
    offset = log_offset(plain)
    reply = get(plain, "/next?cf_state=forged&call=c%0aFORGED-state")
    assert reply.status == 403, reply
    output = output_since(plain, offset, "FORGED-state", "status=403")
    # The warning quoting the call, and the access line.
    assert_one_line_each(output, "FORGED-state", "\\x0a", expected=2)


def test_control_characters_in_a_not_in_service_warning_are_escaped(
    start_server: ServerFactory,
) -> None:
    server = start_server(app=NUMBERS_APP)
    offset = log_offset(server)
    reply = get(server, "/?call=c-nis&to=%2B1555%0aFORGED-to&tn=%1b[2JFORGED-tn")
    assert reply.status == 200, reply
    assert b"callflow-not-in-service" in reply.body
    output = output_since(server, offset, "FORGED-to", "call=c-nis")
    assert "not in service" in output
    assert_one_line_each(output, "FORGED-to", "\\x0a", expected=1)
    assert_one_line_each(output, "FORGED-tn", "\\x1b[2J", expected=1)
    assert_no_traceback(server)


def test_control_characters_in_the_raw_request_line_are_refused_and_not_logged(
    plain: Server,
) -> None:
    offset = log_offset(plain)
    reply = exchange(plain, b"GET /x\x1b[2J\x07 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert reply.status in (400, 404, None), reply
    output = settled_output_since(plain, offset)
    assert RAW_CONTROL.search(output) is None, ascii(output)


JSON_FIELDS = {"time", "level", "logger", "message"}
ACCESS_FIELDS = {"method", "path", "status", "call", "flow", "client", "duration_ms"}


def json_records(output: str) -> list[dict[str, Any]]:
    """Every line of ``output`` as a JSON object with the common fields."""
    assert RAW_CONTROL.search(output) is None, ascii(output)
    records = []
    for line in output.split("\n")[:-1] if output.endswith("\n") else output.split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"a log line is not JSON: {line!r}\n{output}")
        assert isinstance(record, dict), line
        assert record.keys() >= JSON_FIELDS, line
        records.append(record)
    return records


def test_json_logs_are_one_object_per_line(start_server: ServerFactory) -> None:
    server = start_server("--log-format", "json", app=EDGE_APP)
    assert get(server, "/?call=c-json").status == 200
    assert get(server, "/x%0aFORGED-json-path%c2%85").status == 404
    assert get(server, "/next?cf_state=forged&call=c%0aFORGED-json-call").status == 403
    exchange(server, b"GET /x\x1b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    server.stop()  # the log is complete once the process has exited
    output = server.output()
    records = json_records(output)

    access = [r for r in records if r["logger"] == "callflow.access"]
    for record in access:
        assert record.keys() >= ACCESS_FIELDS, record
        assert type(record["status"]) is int, record
        assert type(record["duration_ms"]) in (int, float), record
    first = next(r for r in access if r["call"] == "c-json")
    assert (first["method"], first["path"], first["status"], first["flow"]) == (
        "GET",
        "/",
        200,
        "main",
    )
    assert first["client"] == "127.0.0.1"
    assert str(first["level"]).upper() == "INFO"

    forged = [r for r in records if "FORGED-json-path" in json.dumps(r)]
    assert len(forged) == 1 and forged[0] in access, forged
    assert forged[0]["status"] == 404
    warned = [r for r in records if "FORGED-json-call" in r["message"] and r not in access]
    assert len(warned) == 1 and str(warned[0]["level"]).upper() == "WARNING", warned
    assert "Traceback" not in output


def test_json_logs_from_the_environment(start_server: ServerFactory) -> None:
    server = start_server(app=EDGE_APP, env={"CALLFLOW_LOG_FORMAT": "json"})
    assert get(server, "/?call=c-json-env").status == 200
    server.stop()
    records = json_records(server.output())
    access = [r for r in records if r.get("call") == "c-json-env"]
    assert len(access) == 1 and access[0]["logger"] == "callflow.access", records
    assert access[0]["status"] == 200


# -- 6. configuration errors -------------------------------------------------------------------

CONFIG_ERRORS = [
    pytest.param("tests.broken_apps.bad_time_zone:app", {}, "Mars/Olympus", id="time-zone"),
    pytest.param(
        "tests.broken_apps.missing_templates:app", {}, "no-such-templates", id="templates"
    ),
    pytest.param(
        EDGE_APP,
        {"CALLFLOW_MODE": "production", "CALLFLOW_SECRET": "short"},
        "32",
        id="short-production-secret",
    ),
]


def assert_one_line_error(code: int | None, stdout: str, stderr: str, mentions: str) -> None:
    assert code == 2, (code, stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("callflow: "), lines[0]
    assert mentions in lines[0], lines[0]
    assert "Traceback" not in stdout + stderr


@pytest.mark.parametrize(("app", "env", "mentions"), CONFIG_ERRORS)
def test_serve_reports_a_configuration_error_in_one_line(
    run_serve: ServeRunner, app: str, env: dict[str, str], mentions: str
) -> None:
    result = run_serve(app=app, env=env)
    assert_one_line_error(result.code, result.stdout, result.stderr, mentions)


@pytest.mark.parametrize(("app", "env", "mentions"), CONFIG_ERRORS)
def test_simulate_reports_a_configuration_error_in_one_line(
    run_callflow: CommandRunner, app: str, env: dict[str, str], mentions: str
) -> None:
    result = run_callflow("simulate", app, "--press", "1", env=env)
    assert_one_line_error(result.returncode, result.stdout, result.stderr, mentions)


# -- 6. state tokens bound to the call's numbers -----------------------------------------------

ROUND_TRIPS = [
    pytest.param(f"&from={CALLER}&tn={CALLED}", 200, id="same-numbers"),
    pytest.param(f"&from={CALLER[1:]}&tn={CALLED[1:]}", 200, id="same-numbers-without-plus"),
    pytest.param(f"&call=c-rt&from={CALLER}&tn={CALLED}", 200, id="same-numbers-with-call"),
    pytest.param(f"&from={CALLER}&to={CALLED}", 200, id="same-numbers-to"),
    pytest.param(f"&from=%2B15550100666&tn={CALLED}", 403, id="other-caller"),
    pytest.param(f"&from={CALLER}&tn=15550100777", 403, id="other-called-tn"),
    pytest.param(f"&from={CALLER}&to=%2B15550100777", 403, id="other-called-to"),
    pytest.param("&from=%2B15550100666&tn=15550100777", 403, id="other-numbers"),
]


def _plus(query: str) -> str:
    return query.replace("=+", "=%2B")


@pytest.mark.parametrize(("appended", "status"), ROUND_TRIPS)
def test_a_state_token_minted_without_a_call_is_bound_to_its_numbers(
    plain: Server, appended: str, status: int
) -> None:
    first = get(plain, f"/?from=%2B{CALLER[1:]}&to=%2B{CALLED[1:]}")
    assert first.status == 200, first
    url = gather_url(first.body)
    assert url.startswith(f"{plain.base_url}/next?")
    reply = get(plain, url.removeprefix(plain.base_url) + _plus(appended))
    assert reply.status == status, reply
    if status == 200:
        assert b"state {'step': 1}" in reply.body
    else:
        assert b"<Response" not in reply.body


def _state_app() -> App:
    app = App(secret=PRODUCTION_SECRET)

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Gather(Say("Press 1."), url=call.url_for("next", state={"step": 1})))

    @app.flow("/next", name="next")
    def next_step(call: CallContext) -> Response:
        return Response(Say(f"state {call.state!r}"), Hangup())

    return app


@pytest.mark.parametrize(("appended", "status"), ROUND_TRIPS)
def test_a_state_token_minted_without_a_call_is_bound_to_its_numbers_in_process(
    client_for: ClientFactory, appended: str, status: int
) -> None:
    client = client_for(_state_app())
    first = client.get("/", params={"from": CALLER, "to": CALLED})
    assert first.status_code == 200, first.text
    url = gather_url(first.content)
    reply = client.get(url + _plus(appended))
    assert reply.status_code == status, reply.text
    assert ("state {'step': 1}" in reply.text) == (status == 200)
