"""The simulator tells the truth (callflow/simulator/fetching.py, transport.py): a fallback or
an unhandled failed fetch is never a pass, Pause listens for its stop key, one ``call_flow``
event per executed command with a path naming every level, timeouts for in-process Apps, and
a client that trusts no server (bounded bodies, one deadline per request, capped timeouts,
Curl counted, secrets redacted).

Hostile servers are real: a raw HTTP server in a thread on a loopback port, which counts the
bytes it managed to send.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    CallFlowEvent,
    Event,
    Gather,
    Hangup,
    Response,
    Say,
)
from callflow.simulator.inputs import Keys
from callflow.simulator.trace import (
    PauseEvent,
    Trace,
)
from callflow.testing import GatherPrompt, Simulator, assert_ended, expect_fallback

NOON = datetime(2024, 6, 3, 12, 0, 0)


def doc(inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


def run(target: object, *, options: dict[str, Any] | None = None, **call: Any) -> Trace:
    with Simulator(target, **(options or {})) as simulator:
        return simulator.call(**call)


def run_doc(tmp_path: Path, inner: str, **call: Any) -> Trace:
    path = tmp_path / "flow.xml"
    path.write_bytes(doc(inner))
    return run(path, **call)


def raw_app(replies: dict[str, tuple[int, bytes, dict[str, str]]]) -> Starlette:
    """A server that is not callflow's: each path answers a fixed status, body and headers."""

    async def endpoint(request: Request) -> HTTPResponse:
        status, body, headers = replies.get(request.url.path, (404, b"not found", {}))
        return HTTPResponse(body, status, headers=headers, media_type="application/xml")

    methods = ["GET", "POST"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


# -- §1: a fallback is never a pass ------------------------------------------------------------


def fallback_app(cause: str) -> App:
    """An App whose webhook flow fails with ``cause``: error, timeout or invalid output."""
    app = App(secret="t", flow_timeout_ms=50)

    @app.flow("/")
    async def main(call: CallContext) -> Response | bytes:
        if cause == "error":
            raise RuntimeError("the flow has a bug")
        if cause == "timeout":
            await asyncio.sleep(30)  # cancelled by the App at flow_timeout_ms
        return doc("<Bogus/>")

    return app


@pytest.mark.parametrize("cause", ["error", "timeout", "invalid"])
def test_a_fallback_document_fails_the_call(cause: str) -> None:
    with expect_fallback() as noticed:
        trace = run(fallback_app(cause))
    (fallback,) = trace.fallbacks
    assert fallback.cause == cause
    assert fallback.url.startswith("http://testserver/?from=")
    assert any("fallback sent" in problem for problem in noticed)
    assert trace.hangup_reason == "hangup (callflow-fallback)"
    assert trace.failed
    assert not trace.ended_normally
    assert trace.exit_code == 1
    assert trace.to_dict()["failed"] is True
    assert f"! fallback document ({cause}) from {fallback.url}" in trace.transcript()
    with pytest.raises(AssertionError) as raised:
        assert_ended(trace, "hangup")
    headline = str(raised.value).splitlines()[0]
    assert headline == (
        "the call did not end normally: hangup (callflow-fallback); "
        f"the fallback document ({cause}) came from {fallback.url}"
    )
    assert_ended(trace, "hangup (callflow-fallback)", normally=False)


def test_a_fallback_on_a_round_trip_fails_the_call() -> None:
    app = App(secret="t")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Gather(Say("Press."), url=call.url_for("next"), dtmf_length=1))

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        raise KeyError("account")

    with expect_fallback():
        trace = run(app, keys=["1"])
    (fallback,) = trace.fallbacks
    assert fallback.cause == "error"
    assert fallback.url.startswith("http://testserver/next?")
    assert trace.exit_code == 1


def test_a_clean_call_is_not_failed() -> None:
    app = App(secret="t")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Say("Hi."), Hangup())

    trace = run(app)
    assert (trace.fallbacks, trace.failed_fetches, trace.failed) == ([], [], False)
    assert trace.ended_normally
    assert trace.exit_code == 0
    assert_ended(trace, "hangup")


def test_a_server_that_is_not_callflow_is_recognised_by_the_fallback_tag() -> None:
    body = doc('<Say>Sorry.</Say><Hangup tag="callflow-fallback"/>')
    with expect_fallback():
        trace = run(raw_app({"/": (200, body, {})}))
    assert [(f.cause, f.url.partition("?")[0]) for f in trace.fallbacks] == [
        ("unknown", "http://testserver/")
    ]
    assert trace.exit_code == 1


@pytest.mark.parametrize(
    ("header", "cause"),
    [pytest.param("timeout", "timeout", id="known"), pytest.param("odd", "unknown", id="odd")],
)
def test_the_fallback_header_names_the_cause(header: str, cause: str) -> None:
    body = doc("<Say>Sorry.</Say><Hangup/>")
    with expect_fallback():
        trace = run(raw_app({"/": (200, body, {"x-callflow-fallback": header})}))
    assert [f.cause for f in trace.fallbacks] == [cause]


# -- §1: a fetch that fails with no <Error> ----------------------------------------------------


FETCHERS = {  # (without an <Error>, with one)
    "callback": (
        '<Callback url="/broken"/><Say>After.</Say>',
        '<Callback url="/broken"><Error/></Callback><Say>After.</Say>',
    ),
    "gather": (
        '<Gather url="/broken" dtmf_length="1"><Say>Press.</Say></Gather><Say>After.</Say>',
        '<Gather url="/broken" dtmf_length="1"><Say>Press.</Say><Error/></Gather><Say>After.</Say>',
    ),
}


@pytest.mark.parametrize("purpose", ["callback", "gather"])
@pytest.mark.parametrize(
    "reply",
    [
        pytest.param((500, b"boom", {}), id="http-500"),
        pytest.param((200, b"<Response><Bogus/></Response>", {}), id="invalid-xml"),
        pytest.param((200, b"not xml at all", {}), id="unparsable"),
    ],
)
def test_a_failed_fetch_nobody_handles_fails_the_call(
    purpose: str, reply: tuple[int, bytes, dict[str, str]]
) -> None:
    unhandled, handled = FETCHERS[purpose]
    replies = {"/": (200, doc(unhandled), {}), "/broken": reply}
    trace = run(raw_app(replies), keys=["1"])
    (failed,) = trace.failed_fetches
    assert (failed.purpose, failed.handled) == (purpose, False)
    assert failed.url.startswith("http://testserver/broken?from=")
    assert trace.heard[-1] == "After."  # the rest of the document still ran
    assert trace.failed
    assert trace.exit_code == 1
    assert "(no <Error> handled it)" in trace.transcript()

    replies["/"] = (200, doc(handled), {})
    trace = run(raw_app(replies), keys=["1"])
    (failed,) = trace.failed_fetches
    assert failed.handled
    assert not trace.failed
    assert trace.exit_code == 0


def test_a_failed_fetch_with_an_error_handler_fails_nothing() -> None:
    replies: dict[str, tuple[int, bytes, dict[str, str]]] = {
        "/": (200, doc('<Callback url="/gone"><Error><Say>Handled.</Say></Error></Callback>'), {})
    }
    trace = run(raw_app(replies))
    assert trace.heard == ["Handled."]
    assert [f.handled for f in trace.failed_fetches] == [True]
    assert trace.ended_normally


# -- §2: Pause listens for its stop key (§3.6, D13) --------------------------------------------

LONG_PAUSE = '<Pause length="3600000" dtmf_stop="#"/>'
AFTER_NOON = '<Schedule time="12:00:00-12:30:00"><Say>Still noon.</Say></Schedule>'


@pytest.mark.parametrize(
    ("keys", "stopped", "heard"),
    [
        pytest.param(["#"], True, ["Still noon."], id="stop-key"),
        pytest.param(["12#"], True, ["Still noon."], id="keys-then-stop-key"),
        pytest.param(["1"], False, [], id="another-key"),
        pytest.param([None], False, [], id="no-input"),
        pytest.param([], False, [], id="unscripted"),
    ],
)
def test_a_pause_ends_early_on_its_stop_key(
    tmp_path: Path, keys: list[Keys], stopped: bool, heard: list[str]
) -> None:
    trace = run_doc(tmp_path, LONG_PAUSE + AFTER_NOON, keys=keys, at=NOON)
    (pause,) = trace.of(PauseEvent)
    assert pause.stopped is stopped
    assert trace.heard == heard  # an hour later it is no longer noon


def test_a_pause_inside_record_ends_on_its_stop_key(tmp_path: Path) -> None:
    inner = f'<Record tag="msg">{LONG_PAUSE}</Record>{AFTER_NOON}'
    trace = run_doc(tmp_path, inner, keys=["#"], at=NOON)
    assert [p.stopped for p in trace.of(PauseEvent)] == [True]
    assert trace.heard == ["Still noon."]


def test_key_presses_go_to_the_first_command_that_listens(tmp_path: Path) -> None:
    inner = (
        '<Pause length="1000" dtmf_stop="#"/>'
        '<Gather dtmf_length="1"><Say>Menu.</Say><DTMF value="1"><Say>One.</Say></DTMF>'
        "<Error><Say>Nothing.</Say></Error></Gather>"
    )
    trace = run_doc(tmp_path, inner, keys=["1"])
    assert trace.of(PauseEvent)[0].input == "1"  # the Pause took the key and ignored it
    assert trace.heard == ["Menu.", "Nothing."]
    trace = run_doc(tmp_path, inner, keys=["#", "1"])
    assert trace.heard == ["Menu.", "One."]


def test_a_gather_filler_pause_leaves_the_keys_to_its_gather(tmp_path: Path) -> None:
    inner = (
        '<Gather dtmf_length="1"><Pause length="500" dtmf_stop="#"/>'
        '<DTMF value="1"><Say>One.</Say></DTMF></Gather>'
    )
    trace = run_doc(tmp_path, inner, keys=["1"])
    assert trace.heard == ["One."]
    assert trace.of(PauseEvent)[0].input is None


def test_an_interactive_caller_is_asked_at_a_listening_pause(tmp_path: Path) -> None:
    asked: list[GatherPrompt] = []

    def ask(prompt: GatherPrompt) -> Keys:
        asked.append(prompt)
        return "#"

    trace = run_doc(tmp_path, LONG_PAUSE + AFTER_NOON, input=ask, at=NOON)
    (prompt,) = asked
    assert (prompt.command, prompt.dtmf_stop) == ("Pause", "#")
    assert trace.heard == ["Still noon."]


# -- §2: one call_flow event per executed command, paths naming every level (§1, §6.3) -----


def flow_events(inner: str, **call: Any) -> list[CallFlowEvent]:
    seen: list[Event] = []
    app = App(secret="t")

    @app.on_event("call_flow")
    def on_flow(event: Event) -> None:
        seen.append(event)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc(inner)

    run(app, options={"events": True}, **call)
    return [event for event in seen if isinstance(event, CallFlowEvent)]


MENU = (
    "<Answer/>"
    '<Gather dtmf_length="1">'
    "<Say>Menu.</Say>"
    '<DTMF value="1"><Say>Connecting.</Say>'
    "<Dial><To>15550100200</To><Error><Say>Busy.</Say></Error></Dial></DTMF>"
    '<DTMF value="2"><Say>Two.</Say></DTMF>'
    "</Gather>"
    "<Hangup/>"
)


def test_a_gather_whose_branch_failed_still_has_its_event() -> None:
    events = flow_events(MENU, keys=["1"], dial=["busy"])
    assert [(e.path, e.command, e.success) for e in events] == [
        ("Answer[0]", "Answer", True),
        ("Gather[1]/Say[0]", "Say", True),
        ("Gather[1]/DTMF[1]/Say[0]", "Say", True),
        ("Gather[1]/DTMF[1]/Dial[1]", "Dial", False),
        ("Gather[1]/DTMF[1]/Dial[1]/Error[1]/Say[0]", "Say", True),
        ("Gather[1]", "Gather", True),
        ("Hangup[2]", "Hangup", True),
    ]


def test_no_two_executed_commands_of_a_document_share_a_path() -> None:
    inner = (
        '<Geo><Say>A.</Say><Say>B.</Say></Geo><Record tag="r"><Say>C.</Say><Pause/></Record>'
        '<Gather dtmf_length="1"><Say>D.</Say><DTMF value="1"><Say>E.</Say></DTMF>'
        "<Default><Say>F.</Say></Default></Gather>"
        '<Schedule><Say>G.</Say></Schedule><Gather dtmf_length="1"><Say>H.</Say>'
        '<DTMF value="2"><Say>I.</Say></DTMF><Default><Say>J.</Say></Default></Gather>'
    )
    events = flow_events(inner, keys=["1", "9"])
    paths = [event.path for event in events]
    assert len(paths) == len(set(paths)) == 14
    assert "Gather[2]/DTMF[1]/Say[0]" in paths
    assert "Gather[4]/Default[2]/Say[0]" in paths
    assert "Record[1]/Pause[1]" in paths


def test_a_container_ended_by_a_hangup_inside_still_has_its_event() -> None:
    events = flow_events('<Call><Say>In.</Say><Hangup tag="x"/></Call>')
    assert [(e.path, e.command) for e in events] == [
        ("Call[0]/Say[0]", "Say"),
        ("Call[0]/Hangup[1]", "Hangup"),
        ("Call[0]", "Call"),
    ]


# -- §2: timeouts for in-process Apps, capped by max_timeout_ms ----------------------------------


def slow_app(inner: str) -> App:
    """An App whose /slow flow takes far longer than any timeout under test."""
    app = App(secret="t", flow_timeout_ms=60_000)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc(inner)

    @app.flow("/slow")
    async def slow(call: CallContext) -> bytes:
        await asyncio.sleep(60)
        return doc("<Say>Too late.</Say>")

    return app


@pytest.mark.parametrize(
    ("inner", "keys"),
    [
        pytest.param('<Callback url="/slow" timeout="200"><Error/></Callback>', [], id="callback"),
        pytest.param(
            '<Gather url="/slow" timeout="200" dtmf_length="1"><Say>P.</Say><Error/></Gather>',
            ["1"],
            id="gather",
        ),
    ],
)
def test_a_timeout_is_enforced_for_an_in_process_app(inner: str, keys: list[str]) -> None:
    trace = run(slow_app(inner + "<Say>Moved on.</Say>"), keys=keys)
    slow = trace.requests[-1]
    assert slow.error == "timed out after 200 ms"
    assert "Too late." not in trace.heard
    assert trace.heard[-1] == "Moved on."
    assert [f.handled for f in trace.failed_fetches] == [True]


def test_a_documents_timeout_is_capped_by_max_timeout_ms() -> None:
    inner = '<Callback url="/slow" timeout="3600000"><Error/></Callback>'
    trace = run(slow_app(inner), options={"max_timeout_ms": 150})
    assert trace.requests[-1].error == "timed out after 150 ms"


@pytest.mark.parametrize("option", ["max_timeout_ms", "max_document_bytes"])
def test_limits_must_be_positive(option: str) -> None:
    options: dict[str, Any] = {option: 0}
    with pytest.raises(ValueError, match=option):
        Simulator(slow_app(""), **options)


# -- §2: a client that trusts nothing: bodies and deadlines against a real hostile server ------


@dataclass
class Hostile:
    """A raw HTTP server on loopback that answers every request the same hostile way."""

    mode: str
    sent: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    CHUNK = 64 * 1024
    HUGE = 300 * 1024 * 1024
    TRICKLE = 400

    def serve(self, listener: socket.socket) -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(20)
            try:
                connection.recv(65536)  # the request (small: a GET)
                self._answer(connection)
            except OSError:
                pass  # the client went away: what is under test
            finally:
                self.done.set()

    def _answer(self, connection: socket.socket) -> None:
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n"
        if self.mode == "declared":
            connection.sendall(f"{head}Content-Length: {self.HUGE}\r\n\r\n".encode())
            self._stream(connection, self.HUGE)
        elif self.mode == "undeclared":
            connection.sendall(f"{head}Connection: close\r\n\r\n".encode())
            self._stream(connection, self.HUGE)
        else:  # trickle: a valid document, one byte every 50 ms (20 s in all)
            body = doc("<Say>" + "x" * self.TRICKLE + "</Say>")
            connection.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
            for index in range(len(body)):
                connection.sendall(body[index : index + 1])
                self.sent += 1
                if self.done.wait(0.05):
                    return

    def _stream(self, connection: socket.socket, total: int) -> None:
        chunk = b"<" + b"x" * (self.CHUNK - 1)
        while self.sent < total:
            connection.sendall(chunk)
            self.sent += len(chunk)


@pytest.fixture
def hostile() -> Iterator[Any]:
    """``hostile(mode)``: start a :class:`Hostile` server; it is stopped after the test."""
    started: list[tuple[Hostile, socket.socket, threading.Thread]] = []

    def start(mode: str) -> Hostile:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = Hostile(mode, url=f"http://127.0.0.1:{listener.getsockname()[1]}/")
        thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
        thread.start()
        started.append((server, listener, thread))
        return server

    yield start
    for server, listener, thread in started:
        server.done.set()
        listener.close()
        thread.join(timeout=30)
        assert not thread.is_alive()


@pytest.mark.parametrize("mode", ["declared", "undeclared"])
def test_a_huge_body_is_abandoned_at_the_document_limit(hostile: Any, mode: str) -> None:
    server = hostile(mode)
    trace = run(server.url, options={"max_document_bytes": 100_000})
    assert server.done.wait(30)
    assert trace.hangup_reason == "webhook failed"
    assert "larger than the limit of 100000 bytes" in (trace.hangup.detail if trace.hangup else "")
    # Socket buffers hold a few MB at most: far from the 300 MB the server meant to send.
    assert server.sent < 32 * 1024 * 1024


def test_a_trickled_body_gets_one_total_deadline(hostile: Any) -> None:
    server = hostile("trickle")
    trace = run(server.url, options={"max_timeout_ms": 300})
    assert server.done.wait(30)
    (webhook,) = trace.requests
    assert webhook.error == "timed out after 300 ms"
    assert server.sent < Hostile.TRICKLE  # the simulator hung up long before the end


def test_an_in_process_body_over_the_limit_fails_the_fetch() -> None:
    body = doc("<Say>" + "x" * 5000 + "</Say>")
    trace = run(raw_app({"/": (200, body, {})}), options={"max_document_bytes": 1000})
    assert trace.hangup_reason == "webhook failed"
    assert trace.failed


# -- §2: Curl counts toward max_fetches ----------------------------------------------------------


def test_curl_requests_count_toward_max_fetches() -> None:
    hits: list[str] = []

    async def endpoint(request: Request) -> HTTPResponse:
        hits.append(request.url.path)
        if request.url.path == "/":
            return HTTPResponse(doc('<Curl url="/hit"/>' * 3000), media_type="application/xml")
        return HTTPResponse(b"ok")

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
    trace = run(app, options={"max_fetches": 20})
    assert trace.hangup_reason == "max fetches"
    assert len(hits) == 20  # the webhook and 19 Curls
    assert [r.purpose for r in trace.requests].count("curl") == 19


# -- §2: secrets are redacted in what is recorded and printed ------------------------------------


def locked_app() -> App:
    app = App(secret="t", access_key="sekrit-access-key")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        call.session["n"] = 1
        link = call.url_for("next", state={"step": 2})
        return Response(Gather(Say("Press."), DTMF(Callback(url=link), value="1")))

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        return Response(Say(f"Step {call.state['step']}, n={call.session['n']}."), Hangup())

    return app


def test_access_keys_and_tokens_are_redacted_in_the_trace() -> None:
    trace = run(locked_app(), options={"query": {"token": "sekrit-access-key"}}, keys=["1"])
    assert trace.heard == ["Press.", "Step 2, n=1."]  # the real values went to the App
    printed = trace.transcript() + trace.to_json()
    assert "sekrit-access-key" not in printed
    callback = trace.requests[-1].url
    for name in ("cf_state", "cf_session", "token"):
        assert f"{name}=REDACTED" in callback
    assert "cf_state=REDACTED" in printed


def test_secret_parameters_of_any_server_are_redacted_but_sent() -> None:
    seen: list[str] = []

    async def endpoint(request: Request) -> HTTPResponse:
        seen.append(str(request.url))
        if request.url.path == "/":
            inner = (
                "<Play>https://cdn.example.com/a.mp3?token=t0ps3cret</Play>"
                '<Callback url="/next?cf_state=abc.def&amp;x=1" tag="t"/>'
            )
            return HTTPResponse(doc(inner), media_type="application/xml")
        return HTTPResponse(doc("<Hangup/>"), media_type="application/xml")

    app = Starlette(routes=[Route("/{path:path}", endpoint)])
    trace = run(app, options={"redact": True})
    assert "cf_state=abc.def" in seen[-1]  # the request itself carries the real value
    printed = trace.transcript() + trace.to_json()
    assert "t0ps3cret" not in printed
    assert "abc.def" not in printed
    assert "http://testserver/next?cf_state=REDACTED&x=1" in printed
    assert trace.heard[0] == "[play https://cdn.example.com/a.mp3?token=REDACTED]"


def test_redaction_can_be_turned_off() -> None:
    options = {"query": {"token": "sekrit-access-key"}, "redact": False}
    trace = run(locked_app(), options=options, keys=["1"])
    assert "cf_state=REDACTED" not in trace.transcript()
    assert "cf_state=" in trace.requests[-1].url
