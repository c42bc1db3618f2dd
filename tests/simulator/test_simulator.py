"""The call simulator (callflow/simulator/): every element's semantics, the rulings of §5
(D5-D10, D17-D19 above all), the defaults of §7, limits and the App's event webhook.

Documents are written inline: as XML files (``tmp_path``) when no server is involved, served
by a raw ASGI app (:class:`Recorder`, which records every request byte for byte) when the
HTTP contract is under test, or by a small callflow ``App`` when a flow reads the request.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

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
    CallStateEvent,
    Curl,
    Error,
    Event,
    Gather,
    Hangup,
    Response,
    Say,
)
from callflow.exceptions import DialScriptError, LocationError, TargetError
from callflow.simulator.commands import DIAL_REASONS
from callflow.simulator.fetching import MAX_FETCHES
from callflow.simulator.trace import (
    AnswerEvent,
    DialEvent,
    ErrorEvent,
    FilterEvent,
    GatherEvent,
    HoldEvent,
    MetaEvent,
    PauseEvent,
    RecordEvent,
    RequestEvent,
    SayEvent,
    ToneEvent,
    Trace,
    TraceEvent,
    WarningEvent,
)
from callflow.testing import GatherPrompt, Location, Simulator

CALLER = "+15550100999"
CALLED = "+15550100200"
SIP = "ann@acme.sip.opentact.org"
MONDAY_NOON = datetime(2024, 6, 3, 12, 0, 0)


# -- helpers -----------------------------------------------------------------------------------


def doc(inner: str) -> bytes:
    """A document whose ``<Response>`` holds ``inner``."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


def run_doc(
    tmp_path: Path, inner: str, *, options: Mapping[str, Any] | None = None, **call: Any
) -> Trace:
    """Place a call against ``<Response>inner</Response>`` written to an XML file."""
    path = tmp_path / "flow.xml"
    path.write_bytes(doc(inner))
    with Simulator(path, **(options or {})) as simulator:
        return simulator.call(**call)


def run_app(target: object, *, options: Mapping[str, Any] | None = None, **call: Any) -> Trace:
    """Place a call against ``target``: an ASGI app (in process) or a URL."""
    with Simulator(target, **(options or {})) as simulator:
        return simulator.call(**call)


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    content_type: str
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)


class Recorder:
    """A raw ASGI server answering each path with a fixed reply; records every request."""

    def __init__(self, replies: Mapping[str, bytes | tuple[int, bytes]]) -> None:
        self.replies = {
            path: reply if isinstance(reply, tuple) else (200, reply)
            for path, reply in replies.items()
        }
        self.seen: list[Seen] = []
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=methods)])

    async def _endpoint(self, request: Request) -> HTTPResponse:
        self.seen.append(
            Seen(
                request.method,
                request.url.path,
                _query(request.url.query),
                request.headers.get("content-type", ""),
                await request.body(),
            )
        )
        status, body = self.replies.get(request.url.path, (404, b"not found"))
        return HTTPResponse(body, status, media_type="application/xml")

    def call(self, *, options: Mapping[str, Any] | None = None, **call: Any) -> Trace:
        return run_app(self.app, options=options, **call)

    def to(self, path: str) -> list[Seen]:
        """The requests made to ``path``, in order."""
        return [seen for seen in self.seen if seen.path == path]


def _query(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


@pytest.fixture
def closed_url() -> str:
    """An http URL on loopback where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/gone"


def errors(trace: Trace) -> list[ErrorEvent]:
    return trace.of(ErrorEvent)


# -- unusable inputs: dial scripts, targets ----------------------------------------------------


@pytest.mark.parametrize(
    ("script", "outcome", "target"),
    [
        pytest.param("maybe", "maybe", None, id="word"),
        pytest.param({"15550100200": "ringing"}, "ringing", "15550100200", id="per-target"),
    ],
)
def test_unknown_dial_outcome_is_rejected(
    tmp_path: Path, script: Any, outcome: str, target: str | None
) -> None:
    with pytest.raises(DialScriptError, match="dial outcome") as raised:
        run_doc(tmp_path, "<Hangup/>", dial=[script])
    assert (raised.value.outcome, raised.value.target) == (outcome, target)
    assert raised.value.allowed == ("answer", "busy", "no-answer", "fail")
    assert isinstance(raised.value, ValueError)


def test_unknown_location_is_rejected_before_the_call(tmp_path: Path) -> None:
    with pytest.raises(LocationError, match="STATE"):
        run_doc(tmp_path, "<Hangup/>", location="Jersey")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("missing.xml", "cannot read", id="missing-file"),
        pytest.param("no_such_module_xyz:app", "cannot import", id="unknown-module"),
        pytest.param("callflow:no_such_attribute", "no attribute", id="unknown-attribute"),
        pytest.param("callflow:__version__", "not an ASGI application", id="not-callable"),
        pytest.param(":app", "module:attribute", id="no-module"),
    ],
)
def test_unusable_target(target: str, message: str) -> None:
    with pytest.raises(TargetError, match=message) as raised:
        Simulator(target)
    assert raised.value.target == target
    assert message in raised.value.reason
    assert str(raised.value).startswith(f"cannot simulate {target!r}: ")
    assert isinstance(raised.value, ValueError)


def _sync_function(scope: object, receive: object, send: object) -> None:
    return None


class _SyncCallable:
    def __call__(self, scope: object, receive: object, send: object) -> None:
        return None


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(_sync_function, id="sync-function"),
        pytest.param(_SyncCallable(), id="sync-callable-object"),
        pytest.param(dict, id="class"),
        pytest.param(42, id="not-callable"),
    ],
)
def test_a_target_object_must_be_an_async_callable(target: object) -> None:
    with pytest.raises(TargetError, match="not an ASGI application"):
        Simulator(target)


def test_any_asgi_application_is_a_target() -> None:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await Recorder({"/": doc("<Say>Raw ASGI.</Say>")}).app(scope, receive, send)

    assert run_app(asgi).heard == ["Raw ASGI."]


# -- the initial webhook (§2.1, D9) --------------------------------------------------------------


def test_initial_webhook_is_get_with_from_and_to() -> None:
    server = Recorder({"/": doc("<Hangup/>")})
    server.call(from_="15550100999", to="15550100200")
    (webhook,) = server.seen
    assert webhook.method == "GET"
    assert webhook.query == [("from", CALLER), ("to", CALLED)]  # normalised to E.164
    assert webhook.body == b""


def test_initial_webhook_post_carries_the_call_object() -> None:
    server = Recorder({"/": doc("<Hangup/>")})
    trace = server.call(options={"method": "POST"})
    (webhook,) = server.seen
    assert webhook.method == "POST"
    assert webhook.params == {"from": CALLER, "to": CALLED}
    assert webhook.content_type == "application/json"
    call = json.loads(webhook.body)
    assert {
        "uuid",
        "direction",
        "from",
        "to",
        "state",
        "tn",
        "sip_control_app",
        "account",
    } <= set(call)
    assert set(call["account"]) >= {"uuid", "time_zone"}
    assert call["direction"] == "in"
    assert call["from"] == CALLER
    assert call["tn"]["tn"] == 15550100200
    assert trace.requests[0].purpose == "webhook"


def test_app_flow_reads_the_call_object_of_a_post_webhook() -> None:
    app = App(secret="t")
    seen: list[CallContext] = []

    @app.flow("/")
    def main(call: CallContext) -> Response:
        seen.append(call)
        return Response(Hangup())

    run_app(app, options={"method": "POST"})
    (call,) = seen
    assert call.from_ == CALLER
    assert call.to == CALLED
    assert call.uuid is not None
    assert call.call_object is not None
    assert call.call_object["uuid"] == call.uuid


def test_app_with_custom_webhook_path() -> None:
    app = App(secret="t", webhook_path="/voice")

    @app.flow("/voice")
    def voice(call: CallContext) -> Response:
        return Response(Say("Voice line."), Hangup())

    trace = run_app(app)
    assert trace.heard == ["Voice line."]
    assert trace.requests[0].url.startswith("http://testserver/voice?")


@pytest.mark.parametrize(
    "kind",
    ["http-500", "not-found-404", "unreachable"],
)
def test_failed_initial_webhook_ends_with_error(kind: str, closed_url: str) -> None:
    target: object
    if kind == "http-500":
        target = Recorder({"/": (500, b"boom")}).app
    elif kind == "not-found-404":
        target = Recorder({}).app
    else:
        target = closed_url
    trace = run_app(target)
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "error"
    assert not trace.ended_normally
    assert trace.hangup_reason == "webhook failed"
    assert trace.failed
    assert trace.exit_code == 1
    (failed,) = trace.failed_fetches
    assert (failed.purpose, failed.handled) == ("webhook", False)
    (request,) = trace.requests
    assert request.purpose == "webhook"
    if kind == "unreachable":
        assert request.status is None
        assert request.error is not None
    else:
        assert request.status in (404, 500)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(doc("<Bogus/>"), "Bogus", id="unknown-element"),
        pytest.param(b"<Response><Say>unclosed</Response>", "mismatch", id="not-well-formed"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(doc('<Gather attempts="0"/>'), "attempts", id="bad-attribute"),
        pytest.param(b"<Reply/>", "Reply", id="wrong-root"),
    ],
)
def test_invalid_document_says_why(tmp_path: Path, body: bytes, says: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(body)
    with Simulator(path) as simulator:
        trace = simulator.call()
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "error"
    assert trace.hangup_reason == "invalid document"
    assert trace.hangup.detail == "the XML file is not a valid document"
    assert trace.failed
    (warning,) = trace.of(WarningEvent)
    assert "invalid document" in warning.message
    assert says in warning.message


def test_unparsable_document_reason_is_its_own(tmp_path: Path) -> None:
    """Regression: the reason once began with stale schema errors of an earlier document."""
    run_doc(tmp_path, "<Bogus/>")
    path = tmp_path / "unparsable.xml"
    path.write_bytes(b"<Response><Say>unclosed</Response>")
    with Simulator(path) as simulator:
        trace = simulator.call()
    (warning,) = trace.of(WarningEvent)
    assert "Bogus" not in warning.message
    assert "mismatch" in warning.message


def test_invalid_webhook_reply_says_why() -> None:
    trace = Recorder({"/": doc("<Bogus/>")}).call()
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "error"
    (warning,) = trace.of(WarningEvent)
    assert "Bogus" in warning.message
    assert "http://testserver/" in warning.message


# -- Answer (§3.2, §7 #1, #19) ---------------------------------------------------------------


def test_answer_records_delay_and_tag(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Answer delay="1500" tag="greet"/><Hangup/>')
    assert trace.of(AnswerEvent) == [AnswerEvent(1500, "greet")]
    assert trace.of(WarningEvent) == []


@pytest.mark.parametrize(
    ("before_answer", "warns"),
    [
        pytest.param("<Say>Early.</Say>", True, id="say"),
        pytest.param("<Play>https://cdn.example.com/a.mp3</Play>", True, id="play"),
        pytest.param("<Tone/>", True, id="tone"),
        pytest.param('<Record tag="r" timeout="1000"/>', True, id="record"),
        pytest.param("<Gather><Say>Press.</Say><Error/></Gather>", True, id="gather-filler"),
        pytest.param("<Pause/>", False, id="pause"),
        pytest.param('<Meta name="k" value="v"/>', False, id="meta"),
        pytest.param("<Hold/>", False, id="hold"),
    ],
)
def test_media_before_answer_warns_with_auto_answer_off(
    tmp_path: Path, before_answer: str, warns: bool
) -> None:
    inner = f"{before_answer}{before_answer}<Answer/><Say>Answered.</Say>"
    trace = run_doc(tmp_path, inner, options={"auto_answer": False})
    warnings = trace.of(WarningEvent)
    if warns:
        assert len(warnings) == 1  # once per call
        assert "<Answer/>" in warnings[0].message
        assert "§7 #19" in warnings[0].message
        assert trace.events.index(warnings[0]) < trace.events.index(trace.of(AnswerEvent)[0])
    else:
        assert warnings == []


def test_no_media_warning_with_auto_answer_on(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Say>Hello.</Say>")
    assert trace.of(WarningEvent) == []


def test_no_media_warning_after_answer(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Answer/><Say>Hello.</Say>", options={"auto_answer": False})
    assert trace.of(WarningEvent) == []


def test_call_state_is_ringing_until_answered() -> None:
    server = Recorder(
        {
            "/": doc('<Callback url="/before"/>'),
            "/before": doc('<Answer/><Callback url="/after"/>'),
            "/after": doc("<Hangup/>"),
        }
    )
    server.call(options={"auto_answer": False})
    assert server.to("/before")[0].params["state"] == "ringing"
    assert server.to("/after")[0].params["state"] == "live"


# -- Say, Play, Pause, Tone (§3.4-§3.6, §3.23) ------------------------------------------------


def test_say_loop_is_heard_twice(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Say lang="en-US" loop="2">Thanks for calling.</Say>')
    assert trace.heard == ["Thanks for calling.", "Thanks for calling."]
    assert trace.of(SayEvent) == [SayEvent("Thanks for calling.", 2, "en-US")]
    assert "Say: Thanks for calling. (x2)" in trace.transcript()


def test_say_text_attribute_and_multi_line_text(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Say text="Hi there."/><Say>Two\n      lines.</Say>')
    assert trace.heard == ["Hi there.", "Two lines."]


def test_play_content_attribute_and_loop(tmp_path: Path) -> None:
    inner = (
        '<Play loop="2">https://cdn.example.com/hold.mp3</Play>'
        '<Play url="https://cdn.example.com/bye.wav"/>'
    )
    trace = run_doc(tmp_path, inner)
    assert trace.heard == [
        "[play https://cdn.example.com/hold.mp3]",
        "[play https://cdn.example.com/hold.mp3]",
        "[play https://cdn.example.com/bye.wav]",
    ]


def test_play_record_without_recording_runs_error(tmp_path: Path) -> None:
    inner = (
        '<Play record="msg"><Error say="true"><Say>No message.</Say></Error></Play>'
        "<Say>After.</Say>"
    )
    trace = run_doc(tmp_path, inner)
    (error,) = errors(trace)
    assert error.command == "Play"
    assert error.handled
    assert "'msg'" in error.reason
    assert trace.heard == [error.reason, "No message.", "After."]


def test_play_record_replays_an_earlier_record(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Record tag="msg" timeout="5000"/><Play record="msg"/>')
    assert trace.heard == ["[play recording:msg]"]
    assert errors(trace) == []


def test_pause_default_and_length(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Pause/><Pause length="2000" dtmf_stop="#"/>')
    assert [event.length for event in trace.of(PauseEvent)] == [1000, 2000]  # D13
    assert trace.heard == []


def test_tone(tmp_path: Path) -> None:
    inner = '<Tone hz="350,440" don="2000" doff="4000" loop="3"><Meta name="t" value="1"/></Tone>'
    trace = run_doc(tmp_path, inner + "<Tone/>")
    assert trace.of(ToneEvent) == [ToneEvent((350, 440), 3), ToneEvent(None, 1)]
    assert trace.of(MetaEvent) == [MetaEvent("t", "1")]
    assert trace.heard == []


# -- the simulated clock: durations move time for later Schedules (D3) -------------------------


@pytest.mark.parametrize(
    ("before", "at", "matched"),
    [
        pytest.param('<Pause length="60000"/>', "08:59:00", True, id="pause-length"),
        pytest.param('<Pause length="59000"/>', "08:59:00", False, id="pause-too-short"),
        pytest.param("<Pause/>", "08:59:59", True, id="pause-default-1000"),
        pytest.param('<Answer delay="60000"/>', "08:59:00", True, id="answer-delay-after"),
        pytest.param("<Hold/>", "08:55:00", True, id="hold-default-300000"),
        pytest.param('<Hold timeout="1000"/>', "08:55:00", False, id="hold-timeout"),
        pytest.param('<Gather timeout="60000"><Error/></Gather>', "08:59:00", True, id="gather"),
        pytest.param("<Gather><Error/></Gather>", "08:59:55", True, id="gather-default-5000"),
        pytest.param("<Gather><Error/></Gather>", "08:59:54", False, id="gather-default-short"),
        pytest.param(
            '<Gather attempts="2"><Error/></Gather>', "08:59:50", True, id="gather-per-attempt"
        ),
    ],
)
def test_durations_move_the_clock(tmp_path: Path, before: str, at: str, matched: bool) -> None:
    inner = f'{before}<Schedule time="09:00:00-09:59:59"><Say>Open.</Say></Schedule>'
    start = datetime.fromisoformat(f"2024-06-03T{at}")
    trace = run_doc(tmp_path, inner, at=start)
    (schedule,) = trace.of(FilterEvent)
    assert schedule.matched is matched


# -- Gather (§3.14-§3.18, D4-D6, §7 #2-#4) ----------------------------------------------------

MENU = """
<Gather {attributes}>
  <Say>Press.</Say>
  <DTMF value="1"><Say>One.</Say></DTMF>
  <DTMF value="12"><Say>Twelve.</Say></DTMF>
  <DTMF value="*"><Say>Star.</Say></DTMF>
  <Default><Say>Default.</Say></Default>
  <Error><Say>Error.</Say></Error>
</Gather>
<Say>After.</Say>
"""


@pytest.mark.parametrize(
    ("attributes", "keys", "heard", "digits"),
    [
        pytest.param("", "1", "One.", "1", id="dtmf-match"),
        pytest.param("", "12", "One.", "1", id="dtmf-length-default-1"),
        pytest.param('dtmf_length="2"', "12", "Twelve.", "12", id="dtmf-length-2"),
        pytest.param('dtmf_length="2"', "123", "Twelve.", "12", id="longer-keys-truncated"),
        pytest.param('dtmf_length="4" dtmf_stop="#"', "12#", "Twelve.", "12", id="dtmf-stop"),
        pytest.param('dtmf_length="4" dtmf_stop="#"', "1#2", "One.", "1", id="stop-not-in-code"),
        pytest.param('dtmf_length="4" dtmf_stop="#"', "#", "Error.", None, id="stop-key-only"),
        pytest.param("", "*", "Star.", "*", id="star-value"),
        pytest.param("", "9", "Default.", "9", id="no-match-default"),
        pytest.param('dtmf_length="2"', "1", "One.", "1", id="partial-code-at-timeout"),
        pytest.param("", None, "Error.", None, id="no-input-error"),
    ],
)
def test_gather_outcome(
    tmp_path: Path, attributes: str, keys: str | None, heard: str, digits: str | None
) -> None:
    trace = run_doc(tmp_path, MENU.format(attributes=attributes), keys=[keys])
    assert trace.heard == ["Press.", heard, "After."]  # then continue after </Gather>
    (gather,) = trace.of(GatherEvent)
    assert gather.input == keys
    assert gather.digits == digits
    assert gather.prompt == ["Press."]


def test_gather_legacy_attributes(tmp_path: Path) -> None:
    legacy = MENU.format(attributes='numDigits="4" finishOnKey="#"')
    trace = run_doc(tmp_path, legacy, keys=["12#"])
    assert trace.heard == ["Press.", "Twelve.", "After."]


def test_gather_outcomes_in_the_trace(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, MENU.format(attributes="") * 3, keys=["1", "9", None])
    assert [(e.outcome, e.value) for e in trace.of(GatherEvent)] == [
        ("match", "1"),
        ("default", None),
        ("no-input", None),
    ]


def test_gather_no_match_without_default_continues(tmp_path: Path) -> None:
    inner = '<Gather><DTMF value="1"><Say>One.</Say></DTMF></Gather><Say>After.</Say>'
    trace = run_doc(tmp_path, inner, keys=["5"])
    assert trace.heard == ["After."]
    assert trace.of(GatherEvent)[0].outcome == "no-match"


def test_gather_retries_then_error_after_all_attempts(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, MENU.format(attributes='attempts="3"'))
    attempts = trace.of(GatherEvent)
    assert [(e.attempt, e.outcome) for e in attempts] == [
        (1, "no-input"),
        (2, "no-input"),
        (3, "no-input"),
    ]
    assert trace.heard == ["Press.", "Press.", "Press.", "Error.", "After."]  # fillers replay
    (error,) = errors(trace)
    assert error == ErrorEvent("Gather", "no input", handled=True)


def test_gather_retry_then_match(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, MENU.format(attributes='attempts="2"'), keys=[None, "1"])
    assert trace.heard == ["Press.", "Press.", "One.", "After."]
    assert errors(trace) == []


def test_each_attempt_consumes_one_scripted_input(tmp_path: Path) -> None:
    first = '<Gather attempts="3"><Say>First.</Say><DTMF value="1"><Say>One.</Say></DTMF></Gather>'
    second = '<Gather><Say>Second.</Say><DTMF value="2"><Say>Two.</Say></DTMF></Gather>'
    trace = run_doc(tmp_path, first + second, keys=[None, None, "1", "2"])
    assert trace.heard == ["First.", "First.", "First.", "One.", "Second.", "Two."]


def test_scripted_input_used_up_means_no_input(tmp_path: Path) -> None:
    first = '<Gather><Say>First.</Say><DTMF value="1"><Say>One.</Say></DTMF></Gather>'
    second = "<Gather><Say>Second.</Say><Error><Say>Nothing.</Say></Error></Gather>"
    trace = run_doc(tmp_path, first + second, keys=["1"])
    assert trace.heard == ["First.", "One.", "Second.", "Nothing."]


def test_branch_that_hangs_up_ends_the_call(tmp_path: Path) -> None:
    inner = '<Gather><DTMF value="1"><Hangup tag="bye"/></DTMF></Gather><Say>Never.</Say>'
    trace = run_doc(tmp_path, inner, keys=["1"])
    assert trace.heard == []
    assert trace.hangup_reason == "hangup (bye)"


def test_nested_gather_in_a_branch(tmp_path: Path) -> None:
    inner = (
        '<Gather><DTMF value="1">'
        '<Gather dtmf_length="2"><Say>Inner.</Say><DTMF value="42"><Say>Found.</Say></DTMF>'
        "</Gather></DTMF></Gather>"
    )
    trace = run_doc(tmp_path, inner, keys=["1", "42"])
    assert trace.heard == ["Inner.", "Found."]


def test_interactive_input_provider_sees_the_prompt(tmp_path: Path) -> None:
    prompts: list[GatherPrompt] = []

    def ask(prompt: GatherPrompt) -> str | None:
        prompts.append(prompt)
        return None if prompt.attempt == 1 else "12#"

    inner = MENU.format(attributes='dtmf_length="4" dtmf_stop="#" attempts="2"')
    trace = run_doc(tmp_path, inner, input=ask, keys=["1"])  # input wins over keys
    assert prompts == [
        GatherPrompt(["Press."], 1, 2, 4, "#"),
        GatherPrompt(["Press."], 2, 2, 4, "#"),
    ]
    assert trace.heard[-2:] == ["Twelve.", "After."]


SWITCH = Path(__file__).resolve().parents[1] / "data" / "xsd" / "compat-only" / "switch-case.xml"
SWITCH_AS_DTMF = doc(
    '<Gather dtmf_length="1"><Say>Press 1 or 2.</Say>'
    '<DTMF value="1"><Say>One.</Say></DTMF>'
    '<DTMF value="2"><Meta name="k" value="2"/><Hangup/></DTMF>'
    '<Default tag="bad-key"><Say>Not an option.</Say></Default>'
    '<Error say="true"/></Gather>'
)


@pytest.mark.parametrize(
    ("keys", "heard"),
    [
        pytest.param("1", ["Press 1 or 2.", "One."], id="case-1"),
        pytest.param("2", ["Press 1 or 2."], id="case-2-hangs-up"),
        pytest.param("9", ["Press 1 or 2.", "Not an option."], id="default"),
        pytest.param(None, ["Press 1 or 2.", "no input"], id="error-say"),
    ],
)
def test_switch_case_behaves_like_dtmf(tmp_path: Path, keys: str | None, heard: list[str]) -> None:
    canonical = tmp_path / "canonical.xml"
    canonical.write_bytes(SWITCH_AS_DTMF)
    traces = []
    for target in (SWITCH, canonical):
        with Simulator(target) as simulator:
            traces.append(simulator.call(keys=[keys]))
    variant, dtmf = traces
    assert variant.heard == dtmf.heard == heard
    assert variant.hangup_reason == dtmf.hangup_reason
    assert variant.of(MetaEvent) == dtmf.of(MetaEvent)


# -- Gather url and the legacy callback (§2.2, §2.3, D6, D9) ----------------------------------

ROUND_TRIP = doc(
    '<Gather url="/next?keep=1" dtmf_length="4" dtmf_stop="#" attempts="2">'
    "<Say>Enter.</Say><Error><Say>Gather error.</Say></Error></Gather><Say>Never.</Say>"
)


def test_gather_url_round_trip_sends_d9_params() -> None:
    server = Recorder({"/": ROUND_TRIP, "/next": doc("<Say>Got it.</Say><Hangup/>")})
    trace = server.call(keys=["1234#"])
    assert trace.heard == ["Enter.", "Got it."]  # the reply replaces the rest of the flow
    (request,) = server.to("/next")
    assert request.method == "GET"
    assert request.query[0] == ("keep", "1")  # the URL's own query comes first
    assert [name for name, _ in request.query[1:]] == ["from", "tn", "state", "sca", "call", "dtmf"]
    params = request.params
    assert params["dtmf"] == "1234"  # stop key excluded
    assert params["from"] == CALLER
    assert params["tn"] == "15550100200"
    assert params["state"] == "live"
    assert params["sca"]
    assert params["call"]
    (event,) = [r for r in trace.requests if r.purpose == "gather"]
    assert event.url.startswith("http://testserver/next?keep=1&from=")
    assert event.params["dtmf"] == "1234"
    assert trace.of(GatherEvent)[0].outcome == "url"


def test_gather_url_post_sends_the_call_object() -> None:
    reply = doc('<Gather url="/next" method="POST"><Say>Enter.</Say></Gather>')
    server = Recorder({"/": reply, "/next": doc("<Hangup/>")})
    server.call(keys=["5"])
    (request,) = server.to("/next")
    assert request.method == "POST"
    assert request.params["dtmf"] == "5"
    assert request.content_type == "application/json"
    assert json.loads(request.body)["uuid"] == request.params["call"]


def test_gather_url_flow_reads_the_digits() -> None:
    app = App(secret="t")
    seen: list[CallContext] = []

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return ROUND_TRIP

    @app.flow("/next")
    def step(call: CallContext) -> Response:
        seen.append(call)
        return Response(Say(f"You entered {call.digits}."), Hangup())

    trace = run_app(app, keys=[None, "987#"])
    assert trace.heard == ["Enter.", "Enter.", "You entered 987."]
    (call,) = seen
    assert call.digits == "987"
    assert call.from_ == CALLER
    assert call.tn == CALLED
    assert call.call_state == "live"
    assert call.meta == {"keep": "1"}
    assert call.uuid is not None
    assert call.sca is not None


def test_gather_url_wins_over_branches() -> None:
    first = doc(
        '<Gather url="/next"><Say>Enter.</Say><DTMF value="1"><Say>Branch.</Say></DTMF>'
        "<Default><Say>Default.</Say></Default></Gather>"
    )
    server = Recorder({"/": first, "/next": doc("<Say>Fetched.</Say>")})
    trace = server.call(keys=["1"])
    assert trace.heard == ["Enter.", "Fetched."]  # §7 #5
    assert server.to("/next")[0].params["dtmf"] == "1"


def test_gather_url_no_input_retries_without_a_request() -> None:
    server = Recorder({"/": ROUND_TRIP, "/next": doc("<Hangup/>")})
    trace = server.call()
    assert server.to("/next") == []  # §7 #4: retry, do not call the url
    assert trace.heard == ["Enter.", "Enter.", "Gather error.", "Never."]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        pytest.param((500, doc("<Hangup/>")), "HTTP 500", id="http-500"),
        pytest.param((302, b""), "HTTP 302", id="redirect-is-not-2xx"),
        pytest.param(doc("<Bogus/>"), "invalid document", id="invalid-xml"),
        pytest.param(b"this is not XML", "invalid document", id="unparsable"),
        pytest.param(None, "request failed", id="unreachable"),
    ],
)
def test_gather_url_failed_fetch_runs_error(
    reply: bytes | tuple[int, bytes] | None, reason: str, closed_url: str
) -> None:
    url = closed_url if reply is None else "/next"
    first = doc(
        f'<Gather url="{url}"><Say>Enter.</Say><Error say="true"><Say>Sorry.</Say></Error>'
        "</Gather><Say>After.</Say>"
    )
    replies: dict[str, bytes | tuple[int, bytes]] = {"/": first}
    if reply is not None:
        replies["/next"] = reply
    trace = Recorder(replies).call(keys=["1"])
    (error,) = errors(trace)
    assert error.command == "Gather"
    assert error.handled
    assert reason in error.reason
    assert trace.heard == ["Enter.", error.reason, "Sorry.", "After."]  # D6, then go on
    assert trace.ended_normally


LEGACY = doc(
    '<Gather callback="/code?keep=1" dtmf_length="2" attempts="3"><Say>Code?</Say></Gather>'
    "<Say>Never.</Say>"
)


def test_legacy_gather_callback_is_called_after_each_attempt() -> None:
    server = Recorder({"/": LEGACY, "/code": doc("<Say>Thanks.</Say>")})
    trace = server.call(keys=[None, "42"])
    assert [request.query for request in server.to("/code")] == [
        [("keep", "1"), ("code", ""), ("success", "false"), ("attempts", "1")],
        [("keep", "1"), ("code", "42"), ("success", "true"), ("attempts", "2")],
    ]
    assert trace.heard == ["Code?", "Code?", "Thanks."]  # a failed attempt's reply is not run
    assert [event.purpose for event in trace.requests] == [
        "webhook",
        "gather-callback",
        "gather-callback",
    ]


def test_legacy_gather_callback_every_attempt_without_input() -> None:
    server = Recorder({"/": LEGACY, "/code": doc("<Say>Thanks.</Say>")})
    server.call()
    attempts = [request.params for request in server.to("/code")]
    assert [(p["success"], p["attempts"]) for p in attempts] == [
        ("false", "1"),
        ("false", "2"),
        ("false", "3"),
    ]


def test_legacy_gather_callback_failure_runs_error() -> None:
    legacy = doc(
        '<Gather callback="/code"><Say>Code?</Say><Error><Say>Failed.</Say></Error></Gather>'
        "<Say>After.</Say>"
    )
    trace = Recorder({"/": legacy, "/code": (500, b"")}).call(keys=["1"])
    assert trace.heard == ["Code?", "Failed.", "After."]
    assert "HTTP 500" in errors(trace)[0].reason


def test_legacy_gather_callback_post_sends_json() -> None:
    legacy = doc('<Gather callback="/code" method="POST"><Say>Code?</Say></Gather>')
    server = Recorder({"/": legacy, "/code": doc("<Hangup/>")})
    trace = server.call(keys=["7"])
    (request,) = server.to("/code")
    assert request.method == "POST"
    assert request.params["code"] == "7"
    assert request.content_type == "application/json"
    body = json.loads(request.body)
    assert "uuid" in body  # the call object; the history's shape is open
    assert body["gather"] == [{"attempt": 1, "code": "7", "success": True}]
    assert trace.heard == ["Code?"]


def test_legacy_gather_callback_post_sends_the_history_of_every_attempt() -> None:
    legacy = doc(
        '<Gather callback="/code" method="POST" dtmf_length="2" attempts="2">'
        "<Say>Code?</Say></Gather>"
    )
    server = Recorder({"/": legacy, "/code": doc("<Hangup/>")})
    server.call(keys=[None, "42"])
    first, second = (json.loads(request.body) for request in server.to("/code"))
    assert first["uuid"] == second["uuid"]
    assert first["gather"] == [{"attempt": 1, "code": None, "success": False}]
    assert second["gather"] == [
        {"attempt": 1, "code": None, "success": False},
        {"attempt": 2, "code": "42", "success": True},
    ]


def test_legacy_gather_callback_get_sends_no_body() -> None:
    server = Recorder({"/": LEGACY, "/code": doc("<Say>Thanks.</Say>")})
    server.call(keys=["42"])
    (request,) = server.to("/code")
    assert (request.method, request.body) == ("GET", b"")


def test_commented_out_legacy_gather_does_not_change_a_plain_gather(tmp_path: Path) -> None:
    inner = (
        '<!-- old menu: <Gather callback="https://ivr.example.com/old"> -->'
        '<Gather><Say>Press.</Say><DTMF value="1"><Say>One.</Say></DTMF></Gather>'
    )
    trace = run_doc(tmp_path, inner, keys=["1"])
    assert trace.requests == []
    assert trace.heard == ["Press.", "One."]


# -- Callback (§2.4, §3.20, D8, D9, §7 #16) --------------------------------------------------


def test_callback_replaces_the_rest_of_the_document() -> None:
    server = Recorder(
        {
            "/": doc('<Say>One.</Say><Callback url="/next"/><Say>Never.</Say>'),
            "/next": doc("<Say>Two.</Say>"),
        }
    )
    trace = server.call()
    assert trace.heard == ["One.", "Two."]
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "end-of-document"


def test_callback_inside_a_block_replaces_the_rest_too() -> None:
    server = Recorder(
        {
            "/": doc(
                '<Gather><DTMF value="1"><Callback url="/next"/><Say>Never.</Say></DTMF>'
                "</Gather><Say>Never either.</Say>"
            ),
            "/next": doc("<Say>Next.</Say>"),
        }
    )
    assert server.call(keys=["1"]).heard == ["Next."]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_callback_method(method: str) -> None:
    server = Recorder(
        {"/": doc(f'<Callback url="/next" method="{method}"/>'), "/next": doc("<Hangup/>")}
    )
    trace = server.call()
    (request,) = server.to("/next")
    assert request.method == method
    assert request.body == b""  # body="false" is the default (D8)
    assert trace.requests[-1].method == method


def test_callback_default_method_is_get() -> None:
    server = Recorder({"/": doc('<Callback url="/next"/>'), "/next": doc("<Hangup/>")})
    server.call()
    assert server.to("/next")[0].method == "GET"


def test_callback_lower_case_method_is_sent_upper_case() -> None:
    server = Recorder({"/": doc('<Callback url="/next" method="patch"/>'), "/next": doc("")})
    server.call()
    assert server.to("/next")[0].method == "PATCH"


def test_callback_body_true_sends_the_call_object() -> None:
    server = Recorder(
        {"/": doc('<Callback url="/next" method="POST" body="true"/>'), "/next": doc("")}
    )
    server.call()
    (request,) = server.to("/next")
    assert request.content_type == "application/json"
    call = json.loads(request.body)
    params = request.params
    assert call["uuid"] == params["call"]
    assert call["sip_control_app"]["uuid"] == params["sca"]
    assert call["from"] == CALLER
    assert call["to"] == "15550100200"
    assert call["direction"] == "in"
    assert call["state"] == "live"


def test_callback_params_with_tag_and_meta() -> None:
    server = Recorder(
        {
            "/": doc(
                '<Meta name="lang" value="fr"/><Meta name="from" value="spoofed"/>'
                '<Meta name="tn" value="0"/><Meta name="lang" value="de"/>'
                '<Callback url="/next?own=1" tag="s2"><Meta name="inner" value="x"/></Callback>'
            ),
            "/next": doc(""),
        }
    )
    server.call()
    (request,) = server.to("/next")
    assert request.query[0] == ("own", "1")
    names = [name for name, _ in request.query]
    assert names[1:7] == ["from", "tn", "state", "sca", "call", "tag"]
    params = request.params
    assert params["tag"] == "s2"
    assert params["lang"] == "de"  # the latest value of a Meta
    assert params["inner"] == "x"  # a Meta inside the Callback is collected first
    assert params["from"] == CALLER  # a built-in parameter wins over a Meta (§7 #16)
    assert params["tn"] == "15550100200"
    assert "spoofed" not in [value for _, value in request.query]


def test_callback_without_tag_sends_no_tag() -> None:
    server = Recorder({"/": doc('<Callback url="/next"/>'), "/next": doc("")})
    server.call()
    assert "tag" not in server.to("/next")[0].params


def test_meta_values_are_carried_across_documents() -> None:
    server = Recorder(
        {
            "/": doc('<Callback url="/a"/>'),
            "/a": doc('<Meta name="step" value="a"/><Callback url="/b"/>'),
            "/b": doc('<Meta name="other" value="b"/><Callback url="/c"/>'),
            "/c": doc(""),
        }
    )
    server.call()
    assert "step" not in server.to("/a")[0].params  # only the values collected so far
    assert server.to("/b")[0].params["step"] == "a"
    assert server.to("/c")[0].params["step"] == "a"
    assert server.to("/c")[0].params["other"] == "b"


def test_meta_in_containers_is_collected(tmp_path: Path) -> None:
    inner = (
        '<Meta name="note">line one\nline two</Meta>'
        '<Gather><Meta name="g" value="1"/><DTMF value="1"><Meta name="d" value="2"/></DTMF>'
        "</Gather>"
        '<Dial><To>15550100200</To><Meta name="dial" value="3"/></Dial>'
        '<Record tag="r" timeout="1000"><Meta name="r" value="4"/></Record>'
        '<Geo><Meta name="geo" value="5"/></Geo>'
    )
    trace = run_doc(tmp_path, inner, keys=["1"])
    assert [(event.name, event.value) for event in trace.of(MetaEvent)] == [
        ("note", "line one\nline two"),
        ("g", "1"),
        ("d", "2"),
        ("dial", "3"),
        ("r", "4"),
        ("geo", "5"),
    ]


def test_callback_to_an_app_flow_reads_tag_and_meta() -> None:
    app = App(secret="t")
    seen: list[CallContext] = []

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc('<Meta name="lang" value="fr"/><Callback url="/next?own=1" tag="s2"/>')

    @app.flow("/next")
    def step(call: CallContext) -> Response:
        seen.append(call)
        return Response(Say("Bonjour."), Hangup())

    trace = run_app(app)
    assert trace.heard == ["Bonjour."]
    (call,) = seen
    assert call.tag == "s2"
    assert call.meta == {"own": "1", "lang": "fr"}
    assert call.call_state == "live"


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param((500, b"boom"), id="http-500"),
        pytest.param(doc("<Bogus/>"), id="invalid-xml"),
        pytest.param(None, id="not-found"),
    ],
)
def test_callback_failure_runs_error_and_continues(reply: bytes | tuple[int, bytes] | None) -> None:
    replies: dict[str, bytes | tuple[int, bytes]] = {
        "/": doc(
            '<Callback url="/next"><Error say="true"><Say>Callback failed.</Say></Error>'
            "</Callback><Say>After.</Say>"
        )
    }
    if reply is not None:
        replies["/next"] = reply
    trace = Recorder(replies).call()
    (error,) = errors(trace)
    assert error.command == "Callback"
    assert error.handled
    assert trace.heard == [error.reason, "Callback failed.", "After."]


def test_callback_unreachable_runs_error(closed_url: str) -> None:
    server = Recorder(
        {"/": doc(f'<Callback url="{closed_url}"><Error><Say>Down.</Say></Error></Callback>')}
    )
    trace = server.call()
    assert trace.heard == ["Down."]
    assert "request failed" in errors(trace)[0].reason


def test_callback_path_without_a_server_fails(tmp_path: Path) -> None:
    trace = run_doc(
        tmp_path, '<Callback url="/next"><Error><Say>No server.</Say></Error></Callback>'
    )
    assert trace.heard == ["No server."]
    assert "cannot resolve" in errors(trace)[0].reason


def test_lower_case_callback_element(tmp_path: Path) -> None:
    server = Recorder({"/": doc("<Say>One.</Say><callback>/next</callback>"), "/next": doc("")})
    server.call()
    assert len(server.to("/next")) == 1


# -- Dial (§3.11-§3.13, D10) -----------------------------------------------------------------

DIAL = (
    f'<Dial><To>15550100200</To><Sip>{SIP}</Sip><Error say="true"><Say>Failed.</Say></Error>'
    "</Dial><Say>After.</Say>"
)


def test_dial_answer_bridges_the_first_target_and_continues(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, DIAL)
    assert trace.of(DialEvent) == [DialEvent(["15550100200", SIP], "answer", "15550100200")]
    assert trace.dialed == ["15550100200", SIP]
    assert trace.heard == ["After."]  # the far end hung up: continue after </Dial>
    assert errors(trace) == []


@pytest.mark.parametrize(
    ("script", "answered_by"),
    [
        pytest.param({"15550100200": "busy", SIP: "answer"}, SIP, id="second-answers"),
        pytest.param({"15550100200": "answer", SIP: "answer"}, "15550100200", id="first-wins"),
        pytest.param({"15550100200": "no-answer", SIP: "answer"}, SIP, id="no-answer-then-sip"),
    ],
)
def test_dial_per_target_outcomes(tmp_path: Path, script: dict[str, str], answered_by: str) -> None:
    trace = run_doc(tmp_path, DIAL, dial=[script])
    (dial,) = trace.of(DialEvent)
    assert dial.outcome == "answer"
    assert dial.answered_by == answered_by
    assert trace.heard == ["After."]


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_dial_failure_runs_error_with_reason(tmp_path: Path, outcome: str) -> None:
    trace = run_doc(tmp_path, DIAL, dial=[outcome])
    (dial,) = trace.of(DialEvent)
    assert dial.outcome == outcome
    assert dial.answered_by is None
    (error,) = errors(trace)
    assert error == ErrorEvent("Dial", DIAL_REASONS[outcome], handled=True)
    assert error.reason.startswith("[originate] ERR ")
    assert trace.heard == [error.reason, "Failed.", "After."]


def test_dial_no_answer_reason_matches_the_platform(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, DIAL, dial=["no-answer"])
    assert errors(trace)[0].reason.startswith("[originate] ERR NO_USER_RESPONSE")  # §6.3


@pytest.mark.parametrize(
    "script",
    [
        pytest.param({"15550100200": "busy", SIP: "fail"}, id="busy-and-fail"),
        pytest.param({"15550100200": "busy"}, id="unlisted-target-does-not-answer"),
    ],
)
def test_dial_all_targets_failing_runs_error(tmp_path: Path, script: dict[str, str]) -> None:
    trace = run_doc(tmp_path, DIAL, dial=[script])
    assert trace.of(DialEvent)[0].answered_by is None
    assert errors(trace)[0].handled
    assert trace.heard[-2:] == ["Failed.", "After."]


def test_dial_scripts_apply_in_order(tmp_path: Path) -> None:
    inner = "<Dial><To>15550100201</To></Dial><Dial><To>15550100202</To></Dial>"
    trace = run_doc(tmp_path, inner, dial=["busy"])
    assert [event.outcome for event in trace.of(DialEvent)] == ["busy", "answer"]


def test_dial_failure_without_error_continues(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Dial><To>15550100200</To></Dial><Say>After.</Say>", dial=["fail"])
    assert errors(trace) == [ErrorEvent("Dial", DIAL_REASONS["fail"], handled=False)]
    assert trace.heard == ["After."]


def test_dial_sip_only_and_sip_prefix(tmp_path: Path) -> None:
    inner = f"<Dial><Sip>2001@10.0.0.5:5080</Sip></Dial><Dial><To>sip:{SIP}</To></Dial>"
    trace = run_doc(tmp_path, inner)
    assert trace.dialed == ["2001@10.0.0.5:5080", SIP]  # §7 #12: sip: stripped


# -- Record, RecordStart, RecordStop, RecordWait (§3.7-§3.10, D14) -----------------------------


def test_record_children_run_while_recording(tmp_path: Path) -> None:
    inner = (
        '<Record tag="msg" asr="true"><Say>Speak now.</Say><Pause length="60000" dtmf_stop="#"/>'
        '<Play record="msg"/></Record><Play record="msg"/>'
    )
    trace = run_doc(tmp_path, inner)
    assert trace.heard == ["Speak now.", "[play recording:msg]", "[play recording:msg]"]
    assert trace.of(RecordEvent)[0].action == "record"
    assert trace.of(RecordEvent)[0].tag == "msg"
    assert errors(trace) == []


def test_recordings_outlive_a_callback() -> None:
    server = Recorder(
        {
            "/": doc('<Record tag="m"><Callback url="/next"/></Record>'),
            "/next": doc('<Play record="m"/>'),
        }
    )
    trace = server.call()
    assert trace.heard == ["[play recording:m]"]
    assert errors(trace) == []


@pytest.mark.parametrize(
    ("inner", "actions", "failed"),
    [
        pytest.param(
            '<RecordStart tag="r1"/><Say>Hi.</Say><RecordStop tag="r1"/><Play record="r1"/>',
            ["start", "stop"],
            None,
            id="start-stop-then-play",
        ),
        pytest.param(
            '<RecordStart tag="r1"/><Play record="r1"/><RecordWait tag="r1"/>',
            ["start", "wait"],
            None,
            id="play-while-recording-then-wait",
        ),
        pytest.param("<RecordStart/><RecordStop/>", ["start", "stop"], None, id="untagged"),
        pytest.param(
            '<RecordStart tag="r1"/><RecordStop tag="r1"/><RecordWait tag="r1"/>',
            ["start", "stop", "wait"],
            None,
            id="wait-after-stop",
        ),
        pytest.param(
            '<RecordStop tag="r1"><Error say="true"/></RecordStop>', [], "RecordStop", id="stop"
        ),
        pytest.param(
            '<RecordWait tag="r1"><Error say="true"/></RecordWait>', [], "RecordWait", id="wait"
        ),
        pytest.param(
            '<RecordStart tag="a"/><RecordStop tag="b"/>', ["start"], "RecordStop", id="other-tag"
        ),
    ],
)
def test_record_start_stop_wait(
    tmp_path: Path, inner: str, actions: list[str], failed: str | None
) -> None:
    trace = run_doc(tmp_path, inner)
    assert [event.action for event in trace.of(RecordEvent)] == actions
    if failed is None:
        assert errors(trace) == []
    else:
        (error,) = errors(trace)
        assert error.command == failed
        assert "no recording" in error.reason


# -- Hold, Unhold (§3.21, §3.22, D15, §7 #9) ---------------------------------------------------


def test_hold_and_unhold(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Hold tag="h" timeout="120000"/><Unhold tag="h"/><Say>Back.</Say>')
    assert trace.of(HoldEvent) == [
        HoldEvent("hold", "h"),
        HoldEvent("unhold (hold timeout)", "h"),
        HoldEvent("unhold", "h"),
    ]
    assert trace.heard == ["Back."]


# -- Curl (§3.25, D18, §7 #17) ---------------------------------------------------------------


def test_curl_requests_an_app_and_never_runs_the_reply() -> None:
    app = App(secret="t")
    hits: list[CallContext] = []

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(
            Curl(None, Error(Say("Curl failed.")), url="/hit?x=1", tag="crm"), Say("After.")
        )

    @app.flow("/hit")
    def hit(call: CallContext) -> Response:
        hits.append(call)
        return Response(Say("Never."), Hangup())

    trace = run_app(app)
    assert trace.heard == ["After."]  # D18: the reply is never run
    assert len(hits) == 1
    assert hits[0].meta == {"x": "1"}
    (curl,) = [request for request in trace.requests if request.purpose == "curl"]
    assert curl.status == 200
    assert curl.url == "http://testserver/hit?x=1"
    assert errors(trace) == []


@pytest.mark.parametrize(
    ("element", "method", "body", "content_type"),
    [
        pytest.param('<Curl url="/hit"/>', "GET", b"", "", id="default-get"),
        pytest.param(
            '<Curl url="/hit">{"n":1}</Curl>', "POST", b'{"n":1}', "text/plain", id="body"
        ),
        pytest.param(
            '<Curl url="/hit" method="PUT">x=1</Curl>', "PUT", b"x=1", "text/plain", id="put"
        ),
        pytest.param('<Curl url="/hit" method="delete"/>', "DELETE", b"", "", id="lower-case"),
    ],
)
def test_curl_method_and_body(element: str, method: str, body: bytes, content_type: str) -> None:
    server = Recorder({"/": doc(element + "<Say>After.</Say>"), "/hit": doc("<Say>Never.</Say>")})
    trace = server.call()
    (request,) = server.to("/hit")
    assert request.method == method
    assert request.body == body
    assert request.content_type == content_type
    assert request.query == []  # a Curl carries no D9 parameters
    assert trace.heard == ["After."]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        pytest.param(None, "HTTP 404", id="not-found"),
        pytest.param((500, b""), "HTTP 500", id="http-500"),
        pytest.param("unreachable", "request failed", id="unreachable"),
    ],
)
def test_curl_failure_runs_error(
    reply: tuple[int, bytes] | str | None, reason: str, closed_url: str
) -> None:
    url = closed_url if reply == "unreachable" else "/hit"
    replies: dict[str, bytes | tuple[int, bytes]] = {
        "/": doc(
            f'<Curl url="{url}" tag="crm"><Error say="true"><Say>Curl failed.</Say></Error></Curl>'
            "<Say>After.</Say>"
        )
    }
    if isinstance(reply, tuple):
        replies["/hit"] = reply
    trace = Recorder(replies).call()
    (error,) = errors(trace)
    assert error.command == "Curl"
    assert error.handled
    assert reason in error.reason
    assert trace.heard == [error.reason, "Curl failed.", "After."]


def test_curl_path_without_a_server_fails(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Curl url="/hit"><Error><Say>No server.</Say></Error></Curl>')
    assert trace.heard == ["No server."]
    assert "cannot resolve" in errors(trace)[0].reason


# -- filters: Call, Geo, Schedule (§3.26-§3.28, D19, §7 #13-#15) -------------------------------


@pytest.mark.parametrize(
    ("field", "value", "matched"),
    [
        pytest.param("from", "15550100999", True, id="from-without-plus"),
        pytest.param("from", "+15550100999", True, id="from-e164"),
        pytest.param("from", "+1 555 010 0999", True, id="from-formatted"),
        pytest.param("from", "15550100000", False, id="from-other"),
        pytest.param("to", "15550100200", True, id="to"),
        pytest.param("tn", "+15550100200", True, id="tn"),
        pytest.param("tn", "15550100201", False, id="tn-other"),
        pytest.param("direction", "in", True, id="direction-in"),
        pytest.param("direction", "out", False, id="direction-out"),
        pytest.param("state", "live", True, id="state-live"),
        pytest.param("state", "ringing", False, id="state-ringing"),
    ],
)
def test_call_filter(tmp_path: Path, field: str, value: str, matched: bool) -> None:
    inner = f'<Call field="{field}" value="{value}"><Say>Matched.</Say></Call><Say>After.</Say>'
    trace = run_doc(tmp_path, inner, from_="15550100999", to="15550100200")
    assert trace.heard == (["Matched.", "After."] if matched else ["After."])
    (event,) = trace.of(FilterEvent)
    assert (event.element, event.matched) == ("Call", matched)


def test_call_filter_state_before_answer(tmp_path: Path) -> None:
    inner = '<Call field="state" value="ringing"><Say>Ringing.</Say></Call><Answer/>'
    trace = run_doc(tmp_path, inner, options={"auto_answer": False})
    assert trace.heard == ["Ringing."]


@pytest.mark.parametrize("element", ["Call", "Geo", "Schedule"])
def test_filter_without_condition_always_matches(tmp_path: Path, element: str) -> None:
    trace = run_doc(tmp_path, f"<{element}><Say>In.</Say></{element}><Say>After.</Say>")
    assert trace.heard == ["In.", "After."]


@pytest.mark.parametrize(
    ("from_", "location", "attributes", "matched"),
    [
        pytest.param("+12015550123", None, 'states="NJ,NY"', True, id="geocoded-nj"),
        pytest.param("12015550123", None, 'states="NJ"', True, id="geocoded-without-plus"),
        pytest.param("+12015550123", None, 'states="CA"', False, id="geocoded-not-listed"),
        pytest.param("+12015550123", "CA", 'states="CA"', True, id="location-overrides"),
        pytest.param("+12015550123", "CA", 'states="NJ"', False, id="location-beats-number"),
        pytest.param(CALLER, "NJ,ESSEX", 'states="NJ" county="ESSEX"', True, id="state-and-county"),
        pytest.param(CALLER, "NJ,BERGEN", 'states="NJ" county="ESSEX"', False, id="county-differs"),
        pytest.param(CALLER, "NY,ESSEX", 'states="NJ" county="ESSEX"', False, id="and-not-or"),
        pytest.param("+12015550123", None, 'states="NJ" county="ESSEX"', False, id="no-county"),
        pytest.param(CALLER, "NJ,essex", 'county="ESSEX"', True, id="county-only"),
        pytest.param(
            CALLER, Location("NJ", "ESSEX"), 'states="NJ" county="ESSEX"', True, id="location"
        ),
    ],
)
def test_geo_filter(
    tmp_path: Path, from_: str, location: str | Location | None, attributes: str, matched: bool
) -> None:
    inner = f"<Geo {attributes}><Say>Local.</Say></Geo><Say>After.</Say>"
    trace = run_doc(tmp_path, inner, from_=from_, location=location)
    assert trace.heard == (["Local.", "After."] if matched else ["After."])
    assert trace.of(FilterEvent)[0].matched is matched


WEEKDAYS = 'dow="mon,tue,wed,thu,fri"'
OFFICE = 'time="09:00:00-17:59:59"'


@pytest.mark.parametrize(
    ("attributes", "at", "tz", "matched"),
    [
        pytest.param(WEEKDAYS, "2024-06-03T12:00:00", "UTC", True, id="monday"),
        pytest.param(WEEKDAYS, "2024-06-01T12:00:00", "UTC", False, id="saturday"),
        pytest.param('dow="sat,sun"', "2024-06-02T23:59:59", "UTC", True, id="dow-all-day"),
        pytest.param(OFFICE, "2024-06-03T09:00:00", "UTC", True, id="time-start-inclusive"),
        pytest.param(OFFICE, "2024-06-03T17:59:59", "UTC", True, id="time-end-inclusive"),
        pytest.param(OFFICE, "2024-06-03T18:00:00", "UTC", False, id="time-after"),
        pytest.param(OFFICE, "2024-06-02T10:00:00", "UTC", True, id="time-every-day"),
        pytest.param(
            f"{WEEKDAYS} {OFFICE}", "2024-06-01T10:00:00", "UTC", False, id="dow-and-time"
        ),
        pytest.param('time="22:00:00-06:00:00"', "2024-06-03T23:30:00", "UTC", True, id="night"),
        pytest.param('time="22:00:00-06:00:00"', "2024-06-04T05:59:59", "UTC", True, id="dawn"),
        pytest.param('time="22:00:00-06:00:00"', "2024-06-04T12:00:00", "UTC", False, id="noon"),
        pytest.param(OFFICE, "2024-06-03T08:30:00", "America/New_York", False, id="naive-in-tz"),
        pytest.param(
            OFFICE, "2024-06-03T12:00:00+00:00", "America/New_York", False, id="utc-8am-ny"
        ),
        pytest.param(
            OFFICE, "2024-06-03T14:00:00+00:00", "America/New_York", True, id="utc-10am-ny"
        ),
        pytest.param(OFFICE, "2024-06-03T08:30:00+00:00", "Europe/Paris", True, id="utc-to-paris"),
        pytest.param(
            'dow="fri"', "2024-06-01T02:00:00+00:00", "America/Los_Angeles", True, id="dow-in-tz"
        ),
    ],
)
def test_schedule_filter(tmp_path: Path, attributes: str, at: str, tz: str, matched: bool) -> None:
    inner = f"<Schedule {attributes}><Say>Open.</Say></Schedule><Say>After.</Say>"
    trace = run_doc(tmp_path, inner, at=datetime.fromisoformat(at), tz=tz)
    assert trace.heard == (["Open.", "After."] if matched else ["After."])


def test_schedule_uses_the_simulator_time_zone(tmp_path: Path) -> None:
    inner = f"<Schedule {OFFICE}><Say>Open.</Say></Schedule>"
    at = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 10:00 in New York, 07:00 in LA
    assert run_doc(tmp_path, inner, options={"tz": "America/New_York"}, at=at).heard == ["Open."]
    los_angeles = run_doc(tmp_path, inner, options={"tz": "America/New_York"}, at=at, tz="PST8PDT")
    assert los_angeles.heard == []  # the call's tz overrides the simulator's


def office_app(**settings: Any) -> App:
    app = App(secret="t", **settings)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc(f"<Schedule {OFFICE}><Say>Open.</Say></Schedule>")

    return app


@pytest.mark.parametrize(
    ("settings", "tz", "in_new_york"),
    [
        pytest.param({"time_zone": "America/New_York"}, None, True, id="app-time-zone"),
        pytest.param({}, None, False, id="default-utc"),
        pytest.param({"time_zone": "America/New_York"}, "UTC", False, id="explicit-tz-wins"),
    ],
)
def test_schedule_defaults_to_the_app_time_zone(
    settings: dict[str, str], tz: str | None, in_new_york: bool
) -> None:
    open_in_new_york = datetime(2024, 6, 3, 20, 0, tzinfo=UTC)  # 16:00 in New York
    open_in_utc = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)  # 08:00 in New York
    with Simulator(office_app(**settings), tz=tz) as simulator:
        assert simulator.call(at=open_in_new_york).heard == (["Open."] if in_new_york else [])
        assert simulator.call(at=open_in_utc).heard == ([] if in_new_york else ["Open."])


def test_filters_run_children_then_continue(tmp_path: Path) -> None:
    inner = (
        '<Schedule dow="mon"><Say>Monday.</Say><Geo><Call field="direction" value="in">'
        "<Say>Inbound.</Say></Call></Geo></Schedule><Say>After.</Say>"
    )
    trace = run_doc(tmp_path, inner, at=MONDAY_NOON)
    assert trace.heard == ["Monday.", "Inbound.", "After."]


# -- Error (§3.19, D7) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inner",
    [
        pytest.param('<Play record="x"><Error><Say>Handled.</Say></Error></Play>', id="child"),
        pytest.param('<Play record="x"/><Error><Say>Handled.</Say></Error>', id="sibling"),
    ],
)
def test_error_as_child_and_as_following_sibling(tmp_path: Path, inner: str) -> None:
    trace = run_doc(tmp_path, inner + "<Say>After.</Say>")
    assert trace.heard == ["Handled.", "After."]
    assert errors(trace)[0].handled


def test_sibling_error_does_not_run_on_success(tmp_path: Path) -> None:
    inner = "<Play>https://cdn.example.com/a.mp3</Play><Error><Say>Handled.</Say></Error>"
    trace = run_doc(tmp_path, inner + "<Say>After.</Say>")
    assert trace.heard == ["[play https://cdn.example.com/a.mp3]", "After."]
    assert errors(trace) == []


@pytest.mark.parametrize(
    ("attribute", "speaks"),
    [
        pytest.param('say="true"', True, id="say-true"),
        pytest.param('play="true"', True, id="legacy-play"),
        pytest.param('say="false"', False, id="say-false"),
        pytest.param("", False, id="default-silent"),
    ],
)
def test_error_say_speaks_the_reason(tmp_path: Path, attribute: str, speaks: bool) -> None:
    inner = f'<Play record="x"><Error {attribute}><Say>Handled.</Say></Error></Play>'
    trace = run_doc(tmp_path, inner)
    reason = errors(trace)[0].reason
    assert trace.heard == ([reason, "Handled."] if speaks else ["Handled."])


def test_unhandled_failure_continues(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Play record="x"/><Say>After.</Say>')
    (error,) = errors(trace)
    assert not error.handled
    assert trace.heard == ["After."]
    assert trace.ended_normally


def test_error_handler_may_hang_up(tmp_path: Path) -> None:
    inner = '<Play record="x"><Error><Hangup tag="failed"/></Error></Play><Say>Never.</Say>'
    trace = run_doc(tmp_path, inner)
    assert trace.heard == []
    assert trace.hangup_reason == "hangup (failed)"


# -- Hangup and the end of the document (§3.3, §7 #18) ---------------------------------------


def test_hangup_ends_the_call_with_its_tag(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, '<Say>Bye.</Say><Hangup tag="done"/><Say>Never.</Say>')
    assert trace.heard == ["Bye."]
    assert trace.hangup is not None
    assert (trace.hangup.ended_by, trace.hangup.tag) == ("hangup", "done")
    assert trace.hangup_reason == "hangup (done)"
    assert trace.ended_normally
    assert trace.events[-1] is trace.hangup


def test_plain_hangup_reason(tmp_path: Path) -> None:
    assert run_doc(tmp_path, "<Hangup/>").hangup_reason == "hangup"


def test_end_of_document_hangs_up(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Say>Hi.</Say>")
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "end-of-document"
    assert trace.hangup_reason == "end of document"
    assert trace.ended_normally
    assert trace.exit_code == 0


def test_hangup_inside_a_filter_ends_the_call(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Geo><Hangup/></Geo><Say>Never.</Say>")
    assert trace.heard == []
    assert trace.hangup_reason == "hangup"


# -- limits --------------------------------------------------------------------------------------


def loop_app() -> App:
    """An App whose flow redirects to itself forever."""
    app = App(secret="t")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Say("Again."), Callback(url="/"))

    return app


def test_callback_loop_hits_max_fetches() -> None:
    trace = run_app(loop_app())
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "limit"
    assert not trace.ended_normally
    assert trace.hangup_reason == "max fetches"
    assert trace.hangup.detail == f"more than {MAX_FETCHES} requests, documents and Curl"
    assert trace.exit_code == 1
    assert len(trace.requests) == MAX_FETCHES


def test_max_fetches_is_configurable() -> None:
    trace = run_app(loop_app(), options={"max_fetches": 3})
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "limit"
    assert len(trace.requests) == 3
    assert trace.heard == ["Again."] * 3


def test_callback_loop_hits_max_commands() -> None:
    trace = run_app(loop_app(), options={"max_commands": 7, "max_fetches": 1000})
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "limit"
    assert trace.hangup_reason == "max commands"
    assert trace.hangup.detail == "more than 7 commands"
    assert len(trace.heard) == 4  # Say, Callback, Say, Callback, Say, Callback, Say


def test_huge_document_hits_max_commands(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Pause/>" * 10_001)
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "limit"
    assert len(trace.of(PauseEvent)) == 10_000


def test_document_at_the_command_limit_ends_normally(tmp_path: Path) -> None:
    trace = run_doc(tmp_path, "<Pause/>" * 10, options={"max_commands": 10})
    assert trace.hangup is not None
    assert trace.hangup.ended_by == "end-of-document"


# -- the App's event webhook (§6.2, §6.3) ------------------------------------------------------


def events_app(seen: list[Event]) -> App:
    app = App(secret="t")

    @app.on_event("call_state")
    def on_state(event: Event) -> None:
        seen.append(event)

    @app.on_event("call_flow")
    async def on_flow(event: Event) -> None:
        seen.append(event)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc(
            '<Answer tag="greet"/><Say>Hello.</Say>'
            "<Dial><To>15550100200</To><Error/></Dial>"
            '<Hangup tag="done"/>'
        )

    return app


def test_app_event_webhook_receives_the_simulated_events() -> None:
    seen: list[Event] = []
    run_app(events_app(seen), options={"events": True, "auto_answer": False}, dial=["no-answer"])
    states = [event for event in seen if isinstance(event, CallStateEvent)]
    flows = [event for event in seen if isinstance(event, CallFlowEvent)]
    assert len(states) + len(flows) == len(seen)
    assert [event.state for event in states] == ["init", "ringing", "live", "hangup", "destroyed"]
    assert [event.message for event in states] == [
        f"CallSCA in {CALLER} > {CALLED} - {event.state}" for event in states
    ]
    assert [(e.command, e.success, e.tag) for e in flows] == [
        ("Answer", True, "greet"),
        ("Say", True, None),
        ("Dial", False, None),
        ("Hangup", True, "done"),
    ]
    dial = flows[2]
    assert (dial.reason or "").startswith("[originate] ERR NO_USER_RESPONSE")
    assert dial.message is not None
    assert dial.message.startswith("[failure] command Dial")
    uuids = {event.call_uuid for event in seen}
    assert len(uuids) == 1
    assert None not in uuids


def test_app_events_are_not_sent_by_default() -> None:
    seen: list[Event] = []
    trace = run_app(events_app(seen))
    assert seen == []
    assert [request.purpose for request in trace.requests] == ["webhook"]


def test_a_call_flow_event_per_executed_command() -> None:
    seen: list[Event] = []
    app = App(secret="t")

    @app.on_event("call_flow")
    def on_flow(event: Event) -> None:
        seen.append(event)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc('<Answer/><Pause/><Tone/><Hold timeout="1000"/><Unhold/><Geo/><Hangup/>')

    run_app(app, options={"events": True})
    assert [event.command for event in seen if isinstance(event, CallFlowEvent)] == [
        "Answer",
        "Pause",
        "Tone",
        "Hold",
        "Unhold",
        "Geo",
        "Hangup",
    ]


def test_a_call_flow_event_per_executed_command_across_documents() -> None:
    seen: list[Event] = []
    app = App(secret="t")

    @app.on_event("call_flow")
    def on_flow(event: Event) -> None:
        seen.append(event)

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return doc(
            '<Meta name="a" value="1"/><RecordStart tag="r"/><RecordStop tag="r"/>'
            '<RecordWait tag="r"/><Record tag="m" timeout="1000"/>'
            '<Call field="direction" value="in"><Say>In.</Say></Call>'
            '<Schedule><Pause/></Schedule><Callback url="/next"/><Say>Never.</Say>'
        )

    @app.flow("/next")
    def after(call: CallContext) -> bytes:
        return doc('<Say>Next.</Say><Hangup tag="bye"/>')

    trace = run_app(app, options={"events": True})
    assert trace.heard == ["In.", "Next."]
    flows = [event for event in seen if isinstance(event, CallFlowEvent)]
    assert len(flows) == len(seen)
    assert [(event.command, event.success) for event in flows] == [
        ("Meta", True),
        ("RecordStart", True),
        ("RecordStop", True),
        ("RecordWait", True),
        ("Record", True),
        ("Say", True),
        ("Call", True),
        ("Pause", True),
        ("Schedule", True),
        ("Callback", True),
        ("Say", True),
        ("Hangup", True),
    ]
    assert flows[-1].tag == "bye"


def test_answer_on_an_auto_answered_call_sends_live_once() -> None:
    seen: list[Event] = []
    run_app(events_app(seen), options={"events": True}, dial=["no-answer"])
    states = [event.state for event in seen if isinstance(event, CallStateEvent)]
    assert states == ["init", "ringing", "live", "hangup", "destroyed"]


# -- locked-down Apps: Simulator(query=..., auth=...) ------------------------------------------

ACCESS_KEY = {"token": "k-123"}
BASIC = ("opentact", "s3:cret")


def locked_app(seen: list[Event]) -> App:
    """An App with an access key and Basic auth; 1 follows a path-only link, 2 url_for."""
    app = App(secret="t", access_key="k-123", basic_auth=BASIC)

    @app.on_event("*")
    def on_event(event: Event) -> None:
        seen.append(event)

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(
            Gather(
                Say("Press."),
                DTMF(Callback(url="/next"), value="1"),
                DTMF(Callback(url=call.url_for("next", state="signed")), value="2"),
                dtmf_length=1,
            ),
        )

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        return Response(Say(f"Next {call.state}."), Hangup())

    return app


@pytest.mark.parametrize(
    ("options", "status"),
    [
        pytest.param({}, 401, id="nothing"),
        pytest.param({"query": ACCESS_KEY}, 401, id="key-only"),
        pytest.param({"auth": BASIC}, 401, id="basic-only"),
        pytest.param({"query": {"token": "wrong"}, "auth": BASIC}, 403, id="wrong-key"),
        pytest.param(
            {"query": ACCESS_KEY, "auth": ("opentact", "wrong")}, 401, id="wrong-password"
        ),
    ],
)
def test_a_locked_down_app_refuses_a_simulator_without_its_credentials(
    options: dict[str, Any], status: int
) -> None:
    trace = run_app(locked_app([]), options=options, keys=["1"])
    assert trace.heard == []
    assert [(r.purpose, r.status) for r in trace.requests] == [("webhook", status)]
    assert trace.hangup_reason == "webhook failed"


@pytest.mark.parametrize(
    ("keys", "heard"),
    [
        pytest.param(["1"], "Next None.", id="path-only-link"),
        pytest.param(["2"], "Next signed.", id="url-for-link"),
    ],
)
def test_simulator_query_and_auth_reach_a_locked_down_app(keys: list[str], heard: str) -> None:
    trace = run_app(locked_app([]), options={"query": ACCESS_KEY, "auth": BASIC}, keys=keys)
    assert trace.heard == ["Press.", heard]
    assert trace.hangup_reason == "hangup"
    webhook, callback = trace.requests
    assert (webhook.purpose, webhook.status, callback.purpose, callback.status) == (
        "webhook",
        200,
        "callback",
        200,
    )
    # The key goes first, as the URL's own query; Opentact's parameters follow (D9). The
    # trace shows it redacted.
    assert parse_qsl(webhook.url.partition("?")[2])[0] == ("token", "REDACTED")
    assert "k-123" not in trace.transcript() + trace.to_json()
    # The App put its key on the link back (absolutize or url_for): it is sent once.
    sent = [name for name, _ in parse_qsl(callback.url.partition("?")[2])]
    assert sent.count("token") == 1


def test_simulated_events_reach_a_locked_down_app() -> None:
    seen: list[Event] = []
    run_app(locked_app(seen), options={"query": ACCESS_KEY, "auth": BASIC, "events": True})
    states = [event.state for event in seen if isinstance(event, CallStateEvent)]
    assert states == ["init", "ringing", "live", "hangup", "destroyed"]


def test_on_event_sees_every_trace_event_as_it_happens(tmp_path: Path) -> None:
    live: list[TraceEvent] = []
    trace = run_doc(tmp_path, MENU.format(attributes=""), keys=["1"], on_event=live.append)
    assert live == trace.events


def test_request_events_record_purpose_and_status() -> None:
    server = Recorder(
        {
            "/": doc('<Gather url="/g"><Say>Enter.</Say></Gather>'),
            "/g": doc('<Curl url="/c"/><Callback url="/cb"/>'),
            "/c": doc(""),
            "/cb": doc("<Hangup/>"),
        }
    )
    trace = server.call(keys=["1"])
    assert [(r.purpose, r.method, r.status) for r in trace.requests] == [
        ("webhook", "GET", 200),
        ("gather", "GET", 200),
        ("curl", "GET", 200),
        ("callback", "GET", 200),
    ]
    assert all(isinstance(request, RequestEvent) for request in trace.requests)
