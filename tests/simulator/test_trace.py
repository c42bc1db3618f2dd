"""The trace of a simulated call (callflow/trace.py): events, helpers, transcript, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest

from callflow.simulator.trace import (
    REASON_CALLER_HUNG_UP,
    REASON_END_OF_DOCUMENT,
    REASON_HANGUP,
    REASON_INVALID_DOCUMENT,
    REASON_MAX_COMMANDS,
    REASON_MAX_FETCHES,
    REASON_WEBHOOK_FAILED,
    REASONS,
    AnswerEvent,
    CallbackEvent,
    DialEvent,
    EndedBy,
    ErrorEvent,
    FallbackEvent,
    FetchedDocument,
    FetchFailedEvent,
    FilterEvent,
    GatherEvent,
    HangupEvent,
    HangupReason,
    HoldEvent,
    MetaEvent,
    PauseEvent,
    PlayEvent,
    RecordEvent,
    RequestEvent,
    SayEvent,
    ToneEvent,
    Trace,
    TraceEvent,
    WarningEvent,
    is_reason,
    tagged_hangup,
)

WEBHOOK = RequestEvent("GET", "http://x/?from=1", {"from": "1"}, 200, "webhook")


@pytest.mark.parametrize(
    ("event", "line"),
    [
        pytest.param(WEBHOOK, "[webhook] GET http://x/?from=1 -> HTTP 200", id="request"),
        pytest.param(
            RequestEvent("GET", "/x", {}, None, "curl", "request failed: refused"),
            "[curl] GET /x -> request failed: refused",
            id="request-failed",
        ),
        pytest.param(AnswerEvent(), "(call answered)", id="answer"),
        pytest.param(SayEvent("Hi\n   there."), "Say: Hi there.", id="say"),
        pytest.param(SayEvent("Hi.", 2), "Say: Hi. (x2)", id="say-loop"),
        pytest.param(PlayEvent("https://cdn/a.mp3"), "Play: https://cdn/a.mp3", id="play"),
        pytest.param(PlayEvent(None, "msg", 3), "Play: recording 'msg' (x3)", id="play-record"),
        pytest.param(PauseEvent(1000), "(pause 1000 ms)", id="pause"),
        pytest.param(ToneEvent((350, 440)), "Tone: 350,440 Hz", id="tone"),
        pytest.param(ToneEvent(None), "Tone: default Hz", id="tone-bare"),
        pytest.param(
            GatherEvent(["P."], None, None, "no-input", 2),
            "Gather attempt 2: no input -> no-input",
            id="gather-no-input",
        ),
        pytest.param(
            GatherEvent(["P."], "1", "1", "match", 1, "1"),
            "Gather attempt 1: pressed '1' -> match (branch '1')",
            id="gather-match",
        ),
        pytest.param(DialEvent(["a", "b"], "busy"), "Dial a, b: busy", id="dial"),
        pytest.param(
            DialEvent(["a", "b"], "answer", "b"), "Dial a, b: answer, answered by b", id="dial-b"
        ),
        pytest.param(RecordEvent("record", "vm"), "Record record 'vm'", id="record"),
        pytest.param(RecordEvent("start"), "Record start", id="record-untagged"),
        pytest.param(CallbackEvent("/next", "POST"), "Callback POST /next", id="callback"),
        pytest.param(HoldEvent("hold", "h"), "(hold)", id="hold"),
        pytest.param(MetaEvent("k", "v"), "Meta k='v'", id="meta"),
        pytest.param(
            FilterEvent("Geo", False, "(in NJ)"), "Geo did not match (in NJ)", id="filter"
        ),
        pytest.param(
            ErrorEvent("Dial", "busy", handled=True),
            "! Dial failed: busy (Error handler runs)",
            id="error-handled",
        ),
        pytest.param(ErrorEvent("Play", "gone"), "! Play failed: gone", id="error-unhandled"),
        pytest.param(WarningEvent("careful"), "warning: careful", id="warning"),
        pytest.param(
            HangupEvent("hangup (done)", "hangup", "done"), "Hangup: hangup (done)", id="hangup"
        ),
    ],
)
def test_describe(event: TraceEvent, line: str) -> None:
    assert event.describe() == line


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(
            SayEvent("Hi.", 2, "en-US"),
            {"type": "say", "text": "Hi.", "loop": 2, "lang": "en-US"},
            id="say",
        ),
        pytest.param(
            DialEvent(["a"], "answer", "a"),
            {"type": "dial", "targets": ["a"], "outcome": "answer", "answered_by": "a"},
            id="dial",
        ),
        pytest.param(
            WEBHOOK,
            {
                "type": "request",
                "method": "GET",
                "url": "http://x/?from=1",
                "params": {"from": "1"},
                "status": 200,
                "purpose": "webhook",
                "error": None,
            },
            id="request",
        ),
        pytest.param(
            HangupEvent("limit", "limit"),
            {"type": "hangup", "reason": "limit", "ended_by": "limit", "tag": None, "detail": ""},
            id="hangup",
        ),
    ],
)
def test_event_to_dict(event: TraceEvent, expected: dict[str, object]) -> None:
    assert event.to_dict() == expected


def make_trace() -> Trace:
    return Trace(
        [
            WEBHOOK,
            SayEvent("Bonjour  à tous.", 2),
            PlayEvent("https://cdn/a.mp3"),
            PlayEvent(None, "vm"),
            DialEvent(["a", "b"], "busy"),
            DialEvent(["c"], "answer", "c"),
            HangupEvent("hangup", "hangup"),
        ]
    )


def test_helpers() -> None:
    trace = make_trace()
    assert trace.heard == [
        "Bonjour à tous.",
        "Bonjour à tous.",
        "[play https://cdn/a.mp3]",
        "[play recording:vm]",
    ]
    assert trace.dialed == ["a", "b", "c"]
    assert trace.requests == [WEBHOOK]
    assert trace.of(DialEvent)[1].answered_by == "c"
    assert trace.hangup == HangupEvent("hangup", "hangup")
    assert trace.hangup_reason == "hangup"
    assert trace.ended_normally


def test_transcript_is_one_line_per_event() -> None:
    trace = make_trace()
    lines = trace.transcript().splitlines()
    assert lines == [event.describe() for event in trace.events]


def test_to_dict_and_json() -> None:
    trace = make_trace()
    data = trace.to_dict()
    assert data["hangup_reason"] == "hangup"
    assert data["ended_by"] == "hangup"
    assert [event["type"] for event in data["events"]] == [
        "request",
        "say",
        "play",
        "play",
        "dial",
        "dial",
        "hangup",
    ]
    text = trace.to_json()
    assert "à tous" in text  # not escaped
    assert json.loads(text) == data


@pytest.mark.parametrize(
    ("ended_by", "normally"),
    [
        ("hangup", True),
        ("end-of-document", True),
        ("caller", True),
        ("error", False),
        ("limit", False),
    ],
)
def test_ended_normally(ended_by: EndedBy, normally: bool) -> None:
    trace = Trace([HangupEvent("why", ended_by)])
    assert trace.ended_normally is normally


def test_documents_are_kept_apart_from_the_events_and_out_of_json() -> None:
    document = FetchedDocument(WEBHOOK.url, "webhook", 200, b"<Response/>", 0)
    trace = Trace([WEBHOOK, HangupEvent("end of document", "end-of-document")], [document])
    assert trace.documents == [document]
    assert trace.events[document.index] == WEBHOOK
    assert Trace().documents == []
    assert Trace([WEBHOOK]).documents == []
    assert set(trace.to_dict()) == {"events", "hangup_reason", "ended_by", "failed"}
    assert "Response" not in trace.to_json()  # bodies are not redacted: never in JSON
    assert document.too_large is False
    with pytest.raises(AttributeError):
        document.body = b""  # type: ignore[misc]


def test_unfinished_trace() -> None:
    trace = Trace([SayEvent("Hi.")])
    assert trace.hangup is None
    assert trace.hangup_reason is None
    assert not trace.ended_normally
    assert trace.to_dict()["ended_by"] is None


# -- failures and the documented hang-up reasons -------------------------------------------------

FALLBACK = FallbackEvent("http://x/?from=1", "error")
UNHANDLED = FetchFailedEvent("http://x/next", "callback", "HTTP 500 from http://x/next")
HANDLED = FetchFailedEvent("http://x/next", "gather", "timed out after 10 ms", handled=True)


@pytest.mark.parametrize(
    ("event", "line"),
    [
        pytest.param(FALLBACK, "! fallback document (error) from http://x/?from=1", id="fallback"),
        pytest.param(
            UNHANDLED,
            "! [callback] fetch failed: HTTP 500 from http://x/next (no <Error> handled it)",
            id="fetch-failed",
        ),
        pytest.param(
            HANDLED,
            "! [gather] fetch failed: timed out after 10 ms (Error handler runs)",
            id="fetch-failed-handled",
        ),
        pytest.param(
            PauseEvent(500, "1#", stopped=True),
            "(pause 500 ms, ended early: pressed '1#')",
            id="pause-stopped",
        ),
        pytest.param(
            HangupEvent("max fetches", "limit", None, "more than 3 requests"),
            "Hangup: max fetches (more than 3 requests)",
            id="hangup-detail",
        ),
    ],
)
def test_describe_failures(event: TraceEvent, line: str) -> None:
    assert event.describe() == line


@pytest.mark.parametrize(
    ("events", "failed", "normally"),
    [
        pytest.param([HangupEvent("hangup", "hangup")], False, True, id="clean"),
        pytest.param(
            [FALLBACK, HangupEvent("hangup (callflow-fallback)", "hangup")],
            True,
            False,
            id="fallback",
        ),
        pytest.param(
            [UNHANDLED, HangupEvent("hangup", "hangup")], True, False, id="unhandled-fetch"
        ),
        pytest.param([HANDLED, HangupEvent("hangup", "hangup")], False, True, id="handled-fetch"),
        pytest.param([HangupEvent("webhook failed", "error")], True, False, id="error"),
        pytest.param([HangupEvent("max commands", "limit")], False, False, id="limit"),
        pytest.param([HangupEvent("caller hung up", "caller")], False, True, id="caller"),
        pytest.param(
            [UNHANDLED, HangupEvent("caller hung up", "caller")],
            True,
            False,
            id="caller-after-a-failure",
        ),
        pytest.param([], False, False, id="unfinished"),
    ],
)
def test_failed_ended_normally_and_the_exit_code(
    events: list[TraceEvent], failed: bool, normally: bool
) -> None:
    trace = Trace(events)
    assert trace.failed is failed
    assert trace.ended_normally is normally
    assert trace.exit_code == (0 if normally else 1)
    assert trace.to_dict()["failed"] is failed


def test_fallbacks_and_failed_fetches_in_order() -> None:
    trace = Trace([UNHANDLED, FALLBACK, HANDLED, HangupEvent("hangup", "hangup")])
    assert trace.fallbacks == [FALLBACK]
    assert trace.failed_fetches == [UNHANDLED, HANDLED]


def test_the_documented_reasons() -> None:
    assert {
        REASON_HANGUP,
        REASON_END_OF_DOCUMENT,
        REASON_CALLER_HUNG_UP,
        REASON_WEBHOOK_FAILED,
        REASON_INVALID_DOCUMENT,
        REASON_MAX_FETCHES,
        REASON_MAX_COMMANDS,
    } == REASONS
    assert set(get_args(HangupReason)) == REASONS
    assert tagged_hangup("vm") == "hangup (vm)"
    assert tagged_hangup(None) == REASON_HANGUP
    assert all(is_reason(reason) for reason in [*REASONS, "hangup (vm)"])
    assert not any(is_reason(text) for text in ["vm", "hang", "limit", "hangup vm", "error"])


def test_every_reason_is_documented_in_testing_md() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    for reason in [*REASONS, "hangup (TAG)"]:
        assert f"| `{reason}` |" in text
