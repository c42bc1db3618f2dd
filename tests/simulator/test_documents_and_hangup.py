"""The bytes of each document a simulated call fetched (``Trace.documents``, ``on_document``)
and the caller hanging up from whatever the call asks or tells (``HangUp``).

Documents are served byte for byte by a raw Starlette app (:func:`server`), so a test can
compare what the simulator kept with what was sent; a callflow ``App`` serves them when its
signed links matter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from callflow import App, CallContext, CallFlowEvent, CallStateEvent, Event, Gather, Response, Say
from callflow.simulator.engine import listening_for_fallbacks
from callflow.simulator.trace import (
    REASON_CALLER_HUNG_UP,
    DialEvent,
    FallbackEvent,
    GatherEvent,
    HangupEvent,
    PauseEvent,
    RequestEvent,
    SayEvent,
    TraceEvent,
)
from callflow.simulator.transport import Reply, Transport
from callflow.testing import (
    FetchedDocument,
    GatherPrompt,
    HangUp,
    Simulator,
    Trace,
    assert_ended,
    expect_fallback,
)


def doc(inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


MENU = doc('<Gather url="/second" dtmf_length="1"><Say>First menu.</Say></Gather>')
SECOND = doc(
    '<Gather url="/third" dtmf_length="1"><Say>Second menu.</Say></Gather><Say>Nothing.</Say>'
)
THIRD = doc("<Say>Third.</Say><Hangup/>")
MENUS = {"/": MENU, "/second": SECOND, "/third": THIRD}


def server(replies: Mapping[str, bytes | tuple[int, bytes]]) -> Starlette:
    """A raw ASGI app answering each path with its fixed reply (404 elsewhere)."""

    async def endpoint(request: Request) -> HTTPResponse:
        reply = replies.get(request.url.path, (404, b"no such page"))
        status, body = reply if isinstance(reply, tuple) else (200, reply)
        return HTTPResponse(body, status, media_type="application/xml")

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def call(target: object, *, options: Mapping[str, Any] | None = None, **kwargs: Any) -> Trace:
    with Simulator(target, **(options or {})) as simulator:
        return simulator.call(**kwargs)


# -- the documents of a call -------------------------------------------------------------------


def test_documents_hold_the_bytes_the_server_sent_and_point_at_their_requests() -> None:
    trace = call(server(MENUS), keys=["1", "2"])
    assert [document.body for document in trace.documents] == [MENU, SECOND, THIRD]
    assert [document.purpose for document in trace.documents] == ["webhook", "gather", "gather"]
    assert [document.status for document in trace.documents] == [200, 200, 200]
    requests = trace.requests
    assert [trace.events[document.index] for document in trace.documents] == requests
    for document, request in zip(trace.documents, requests, strict=True):
        assert trace.events[document.index] is request
        assert document.url == request.url
        assert document.too_large is False
    assert trace.documents[1].url.startswith("http://testserver/second?")


def test_on_document_is_called_after_its_request_and_before_the_document_runs() -> None:
    seen: list[TraceEvent | FetchedDocument] = []
    trace = call(server(MENUS), keys=["1", "2"], on_event=seen.append, on_document=seen.append)
    documents = [item for item in seen if isinstance(item, FetchedDocument)]
    assert documents == trace.documents
    assert all(a is b for a, b in zip(documents, trace.documents, strict=True))
    for document in documents:
        position = seen.index(document)
        assert seen[position - 1] is trace.events[document.index]
    # The second menu's Say comes after its document, not before.
    second = seen.index(trace.documents[1])
    assert seen.index(SayEvent("Second menu.")) == second + 1


def test_the_url_is_redacted_and_the_body_is_not() -> None:
    app = App(secret="documents")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Gather(Say("Menu."), url=call.url_for("next", state={"n": 1})))

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        return Response(Say("Next."))

    trace = call(app, keys=["1"])
    menu, after_menu = trace.documents
    assert b"cf_state=" in menu.body
    assert b"cf_state=REDACTED" not in menu.body  # the real signed state, as the App sent it
    assert "cf_state=REDACTED" in after_menu.url
    assert after_menu.url == trace.requests[1].url
    raw = call(app, options={"redact": False}, keys=["1"])
    assert "cf_state=REDACTED" not in raw.documents[1].url


def test_a_reply_of_any_status_is_kept_and_a_large_one_is_cut() -> None:
    large = doc("<Say>" + "x" * 4000 + "</Say>")
    replies: dict[str, bytes | tuple[int, bytes]] = {
        "/": doc(
            '<Callback url="/missing"><Error><Callback url="/broken"><Error>'
            '<Callback url="/large"/></Error></Callback></Error></Callback>'
        ),
        "/broken": (500, b"<html>oops</html>"),
        "/large": large,
    }
    trace = call(server(replies), options={"max_document_bytes": 1000})
    assert [(d.purpose, d.status) for d in trace.documents] == [
        ("webhook", 200),
        ("callback", 404),
        ("callback", 500),
        ("callback", 200),
    ]
    assert trace.documents[1].body == b"no such page"
    assert trace.documents[2].body == b"<html>oops</html>"
    cut = trace.documents[3]
    assert cut.too_large is True
    assert len(cut.body) <= 1001
    assert large.startswith(cut.body)
    assert not any(d.too_large for d in trace.documents[:3])


def test_a_request_without_a_reply_and_a_curl_reply_are_not_documents() -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": replies["/"]})
        # any other path: no response at all (request failed)

    replies = {"/": doc('<Curl url="/curl"/><Callback url="/gone"/><Say>After.</Say>')}
    trace = call(silent)
    assert [request.purpose for request in trace.requests] == ["webhook", "curl", "callback"]
    assert [request.status for request in trace.requests] == [200, None, None]
    assert [document.purpose for document in trace.documents] == ["webhook"]


def test_a_curl_reply_with_a_status_is_not_a_document() -> None:
    trace = call(server({"/": doc('<Curl url="/c"/><Hangup/>'), "/c": b"pong"}))
    assert [request.purpose for request in trace.requests] == ["webhook", "curl"]
    assert [document.body for document in trace.documents] == [doc('<Curl url="/c"/><Hangup/>')]


def test_the_xml_file_a_call_starts_from_is_not_a_fetched_document(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    path.write_bytes(doc("<Say>Hi.</Say>"))
    trace = call(path)
    assert trace.heard == ["Hi."]
    assert trace.documents == []


def test_a_retried_legacy_callback_reply_is_kept_though_it_never_runs() -> None:
    replies = {
        "/": doc('<Gather callback="/cb" attempts="2"><Say>Menu.</Say></Gather>'),
        "/cb": doc("<Say>Called back.</Say>"),
    }
    trace = call(server(replies), keys=[None, "1"])
    assert [d.purpose for d in trace.documents] == ["webhook", "gather-callback", "gather-callback"]
    assert trace.heard == ["Menu.", "Menu.", "Called back."]  # the first reply did not run


def test_a_fallback_document_is_kept_too() -> None:
    app = App(secret="documents")

    @app.flow("/")
    def broken(call: CallContext) -> Response:
        raise RuntimeError("a bug")

    with expect_fallback():
        trace = call(app)
    [document] = trace.documents
    assert b"callflow-fallback" in document.body
    assert trace.events[document.index + 1] == FallbackEvent(document.url, "error")


def test_the_transport_is_still_asked_for_each_request() -> None:
    """The console's and the explorer's hooks on the transport keep working."""

    class Counting(Transport):
        def __init__(self, target: object) -> None:
            super().__init__(target)
            self.urls: list[str] = []

        def request(self, method: str, url: str, *args: Any, **options: Any) -> Reply:
            self.urls.append(url)
            return super().request(method, url, *args, **options)

    app = server(MENUS)
    with Simulator(app) as simulator:
        simulator.transport.close()
        simulator.transport = transport = Counting(app)
        trace = simulator.call(keys=["1", "2"])
    assert len(transport.urls) == len(trace.requests) == len(trace.documents) == 3


# -- the caller hangs up -----------------------------------------------------------------------


def ending(trace: Trace) -> HangupEvent:
    """The trace's hang-up, which must be its last event."""
    assert trace.hangup is not None
    assert trace.events[-1] is trace.hangup
    assert len(trace.of(HangupEvent)) == 1
    return trace.hangup


def test_hanging_up_at_the_second_gather_ends_the_call_there() -> None:
    asked: list[GatherPrompt] = []

    def caller(prompt: GatherPrompt) -> str:
        asked.append(prompt)
        if len(asked) == 2:
            raise HangUp("tired of menus")
        return "1"

    trace = call(server(MENUS), input=caller)
    assert ending(trace) == HangupEvent(REASON_CALLER_HUNG_UP, "caller", None, "tired of menus")
    assert trace.hangup_reason == "caller hung up"
    assert trace.exit_code == 0
    assert trace.ended_normally
    assert not trace.failed
    assert trace.fallbacks == []
    assert_ended(trace, "caller hung up")
    assert [event.outcome for event in trace.of(GatherEvent)] == ["url"]  # the first only
    assert trace.heard == ["First menu.", "Second menu."]  # not "Nothing.": it never ran
    assert trace.events[-2] == SayEvent("Second menu.")
    assert len(trace.documents) == 2
    assert "Hangup: caller hung up (tired of menus)" in trace.transcript()
    assert trace.to_dict()["ended_by"] == "caller"


def test_an_exception_that_is_not_hang_up_still_propagates() -> None:
    def caller(prompt: GatherPrompt) -> str:
        raise RuntimeError("the provider broke")

    with pytest.raises(RuntimeError, match="the provider broke"):
        call(server(MENUS), input=caller)

    class Stop(BaseException):
        pass

    def stop(event: TraceEvent) -> None:
        if isinstance(event, SayEvent):
            raise Stop

    with pytest.raises(Stop):
        call(server(MENUS), on_event=stop)

    def broken(document: FetchedDocument) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        call(server(MENUS), on_document=broken)


def test_on_event_hangs_up_after_what_the_caller_heard() -> None:
    def hang_up_after_the_second_menu(event: TraceEvent) -> None:
        if event == SayEvent("Second menu."):
            raise HangUp

    trace = call(server(MENUS), keys=["1", "2"], on_event=hang_up_after_the_second_menu)
    assert ending(trace) == HangupEvent("caller hung up", "caller")
    assert trace.heard == ["First menu.", "Second menu."]
    assert trace.exit_code == 0


def test_on_document_hangs_up_before_the_document_runs() -> None:
    def on_document(document: FetchedDocument) -> None:
        if document.purpose == "gather":
            raise HangUp("saw the second menu")

    trace = call(server(MENUS), keys=["1"], on_document=on_document)
    ending(trace)
    assert trace.heard == ["First menu."]
    assert [document.body for document in trace.documents] == [MENU, SECOND]  # it arrived
    request = trace.events[trace.documents[1].index]
    assert isinstance(request, RequestEvent)
    assert trace.events[trace.documents[1].index + 1] is trace.hangup
    assert trace.exit_code == 0


def test_hanging_up_at_the_webhook() -> None:
    def on_document(document: FetchedDocument) -> None:
        raise HangUp

    trace = call(server(MENUS), on_document=on_document)
    assert [event.type for event in trace.events] == ["request", "hangup"]
    assert ending(trace).ended_by == "caller"
    assert trace.exit_code == 0


def test_an_on_event_that_always_hangs_up_ends_the_call_once() -> None:
    told: list[TraceEvent] = []

    def always(event: TraceEvent) -> None:
        told.append(event)
        raise HangUp

    trace = call(server(MENUS), on_event=always)
    assert told == trace.events  # the hang-up was told too; hanging up on it changes nothing
    assert [event.type for event in trace.events] == ["request", "hangup"]
    assert ending(trace).reason == "caller hung up"


def test_a_dial_outcome_asked_for_may_hang_up() -> None:
    class Asked(Mapping[str, str]):
        def __getitem__(self, target: str) -> str:
            raise HangUp(f"while {target} rang")

        def __iter__(self) -> Iterator[str]:
            return iter(())

        def __len__(self) -> int:
            return 0

    replies = {"/": doc("<Say>Connecting.</Say><Dial><To>15550100201</To></Dial><Say>Bye.</Say>")}
    trace = call(server(replies), dial=[Asked()])
    assert ending(trace).detail == "while 15550100201 rang"
    assert trace.of(DialEvent) == []
    assert trace.heard == ["Connecting."]
    assert trace.exit_code == 0


def test_a_listening_pause_may_hang_up() -> None:
    def caller(prompt: GatherPrompt) -> str:
        assert prompt.command == "Pause"
        raise HangUp

    replies = {"/": doc('<Pause length="2000" dtmf_stop="#"/><Say>After.</Say>')}
    trace = call(server(replies), input=caller)
    ending(trace)
    assert trace.of(PauseEvent) == []
    assert trace.heard == []


def test_hanging_up_after_a_failure_is_still_a_failure() -> None:
    replies = {"/": doc('<Callback url="/missing"/><Gather><Say>Menu.</Say></Gather>')}

    def caller(prompt: GatherPrompt) -> str:
        raise HangUp

    trace = call(server(replies), input=caller)
    assert ending(trace).ended_by == "caller"
    assert trace.failed
    assert trace.exit_code == 1


def test_the_app_hears_the_commands_end_and_the_call_hang_up() -> None:
    seen: list[Event] = []
    app = App(secret="documents")

    @app.on_event("*")
    def on_any(event: Event) -> None:
        seen.append(event)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc("<Gather><Say>Menu.</Say></Gather><Say>Never.</Say>")

    def caller(prompt: GatherPrompt) -> str:
        raise HangUp

    trace = call(app, options={"events": True}, input=caller)
    assert ending(trace).ended_by == "caller"
    flows = [(e.command, e.success, e.reason) for e in seen if isinstance(e, CallFlowEvent)]
    assert flows == [("Say", True, "done"), ("Gather", True, "the call ended")]
    states = [event.state for event in seen if isinstance(event, CallStateEvent)]
    assert states[-2:] == ["hangup", "destroyed"]


def test_a_fallback_is_noticed_even_when_on_event_hangs_up_on_it() -> None:
    app = App(secret="documents")

    @app.flow("/")
    def broken(call: CallContext) -> Response:
        raise RuntimeError("a bug")

    def hang_up_on_fallbacks(event: TraceEvent) -> None:
        if isinstance(event, FallbackEvent):
            raise HangUp

    noticed: list[FallbackEvent] = []
    with expect_fallback(), listening_for_fallbacks(noticed.append):
        trace = call(app, on_event=hang_up_on_fallbacks)
    assert noticed == trace.fallbacks
    assert len(noticed) == 1
    assert ending(trace).ended_by == "caller"
    assert trace.failed
    assert trace.exit_code == 1


def test_hang_up_says_what_happened() -> None:
    assert HangUp().detail == ""
    assert str(HangUp()) == "the caller hung up"
    assert str(HangUp("bored")) == "bored"
    assert isinstance(HangUp(), Exception)
