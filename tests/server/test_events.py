"""The event webhook (callflow.server.app) and event payloads (callflow.server.events, spec §6)."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from callflow import App, CallFlowEvent, CallStateEvent, Event
from callflow.server.events import parse_event

if TYPE_CHECKING:
    from conftest import ClientFactory

CALL: dict[str, Any] = {
    "uuid": "c-42",
    "type": "CallSCA",
    "direction": "in",
    "from": "+15550100999",
    "to": "15550100200",
    "state": "live",
    "tn": {"tn": 15550100200, "deleted_on": None},
    "sip_control_app": {"uuid": "sca-7", "shaken_verify_policy": "none"},
}

CALL_STATE_CALL_FIRST: dict[str, Any] = {
    "uuid": "ev-1",
    "created_on": "2024-05-01T10:00:00Z",
    "type": "call_state",
    "message": "CallSCA in +15550100999 > 15550100200 - Live",
    "payload": {"state": "Live", "duration": 12},
    "call": CALL,
}

CALL_STATE_PAYLOAD_FIRST: dict[str, Any] = {
    "type": "call_state",
    "payload": {
        "uuid": "c-43",
        "type": "CALLSCA",
        "direction": "in",
        "from": "15550100999",
        "to": "15550100200",
        "init_on": "2024-05-01T10:00:00Z",
        "state": "Hangup",
        "sipcontrol_app": {"uuid": "sca-7", "shake_verify_policy": "none"},
        "tn": {"tn": 15550100200, "delete_on": None},
    },
}

CALL_FLOW: dict[str, Any] = {
    "timestamp": "2024-05-01T10:00:01Z",
    "success": False,
    "message": "[error] command Dial[2], reason: [originate] ERR NO_USER_RESPONSE",
    "type": "call_flow",
    "command": "Dial",
    "payload": {
        "command": {
            "name": "Dial",
            "success": False,
            "reason": "[originate] ERR NO_USER_RESPONSE",
            "path": "Dial[2]",
            "tag": "sales",
            "children": [],
            "error": [],
        },
        "call": CALL,
    },
}


class Recorder:
    """An App with sync and async handlers that keep what they receive."""

    def __init__(self, **options: Any) -> None:
        self.app = App(secret="test-secret", **options)
        self.seen: list[tuple[str, Event]] = []

        @self.app.on_event("call_state")
        def on_state(event: Event) -> None:
            self.seen.append(("sync call_state", event))

        @self.app.on_event("call_flow")
        async def on_flow(event: Event) -> None:
            await anyio.sleep(0)
            self.seen.append(("async call_flow", event))

        @self.app.on_event("*")
        async def on_any(event: Event) -> None:
            self.seen.append(("async *", event))

    @property
    def events(self) -> list[Event]:
        return [event for _, event in self.seen]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def test_a_call_state_event_call_first(recorder: Recorder, client_for: ClientFactory) -> None:
    reply = client_for(recorder.app).post("/events", json=CALL_STATE_CALL_FIRST)
    assert reply.status_code == 204
    assert reply.content == b""
    assert [who for who, _ in recorder.seen] == ["sync call_state", "async *"]
    event = recorder.events[0]
    assert recorder.events[1] is event
    assert isinstance(event, CallStateEvent)
    assert event.type == "call_state"
    assert event.state == "live"
    assert event.duration == 12
    assert event.uuid == "ev-1"
    assert event.created_on == "2024-05-01T10:00:00Z"
    assert event.message == "CallSCA in +15550100999 > 15550100200 - Live"
    assert event.call == CALL
    assert event.call_uuid == "c-42"
    assert event.raw == CALL_STATE_CALL_FIRST


def test_a_call_state_event_payload_first(recorder: Recorder, client_for: ClientFactory) -> None:
    reply = client_for(recorder.app).post("/events", json=CALL_STATE_PAYLOAD_FIRST)
    assert reply.status_code == 204
    event = recorder.events[0]
    assert isinstance(event, CallStateEvent)
    assert event.state == "hangup"
    assert event.call == CALL_STATE_PAYLOAD_FIRST["payload"]
    assert event.call_uuid == "c-43"
    assert event.uuid is None


def test_a_call_flow_event(recorder: Recorder, client_for: ClientFactory) -> None:
    reply = client_for(recorder.app).post("/events", json=CALL_FLOW)
    assert reply.status_code == 204
    assert [who for who, _ in recorder.seen] == ["async call_flow", "async *"]
    event = recorder.events[0]
    assert isinstance(event, CallFlowEvent)
    assert (event.command, event.success, event.path, event.tag) == (
        "Dial",
        False,
        "Dial[2]",
        "sales",
    )
    assert event.reason == "[originate] ERR NO_USER_RESPONSE"
    assert event.timestamp == "2024-05-01T10:00:01Z"
    assert event.call_uuid == "c-42"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        pytest.param("Initiated", "initiated", id="initiated"),
        pytest.param("Ringing", "ringing", id="ringing"),
        pytest.param("LIVE", "live", id="upper"),
        pytest.param("destroyed", "destroyed", id="lower"),
        pytest.param("Failed", "failed", id="failed"),
    ],
)
def test_states_are_lower_cased(state: str, expected: str) -> None:
    body = copy.deepcopy(CALL_STATE_CALL_FIRST)
    body["payload"]["state"] = state
    event = parse_event(body)
    assert isinstance(event, CallStateEvent)
    assert event.state == expected


def test_the_state_may_come_from_the_call_object_only() -> None:
    event = parse_event({"type": "call_state", "call": {"uuid": "c-1", "state": "Ringing"}})
    assert isinstance(event, CallStateEvent)
    assert (event.state, event.call_uuid, event.duration) == ("ringing", "c-1", None)


@pytest.mark.parametrize(
    ("body", "kind", "cls"),
    [
        pytest.param({"command": "Answer", "payload": {}}, "call_flow", CallFlowEvent, id="flow"),
        pytest.param({"payload": {"state": "live"}}, "call_state", CallStateEvent, id="state"),
        pytest.param({"payload": {"text": "hi"}}, "", Event, id="unknown"),
        pytest.param({}, "", Event, id="empty"),
        pytest.param(
            {"type": 7, "payload": {"state": "live"}},
            "call_state",
            CallStateEvent,
            id="type-not-text",
        ),
        pytest.param({"type": "sms", "payload": "not an object"}, "sms", Event, id="sms"),
    ],
)
def test_the_type_is_guessed_when_missing(body: dict[str, Any], kind: str, cls: type) -> None:
    event = parse_event(body)
    assert type(event) is cls
    assert event.type == kind


def test_call_flow_success_from_the_command_and_odd_values() -> None:
    event = parse_event(
        {
            "type": "call_flow",
            "payload": {"command": {"name": "Say", "success": True, "path": "Say[1]"}},
        }
    )
    assert isinstance(event, CallFlowEvent)
    assert (event.command, event.success, event.path, event.reason) == ("Say", True, "Say[1]", None)
    odd = parse_event({"type": "call_flow", "success": "yes", "payload": {"command": "Say"}})
    assert isinstance(odd, CallFlowEvent)
    assert (odd.command, odd.success) == (None, None)


def test_call_uuid_is_text() -> None:
    assert parse_event({"call": {"uuid": 5}}).call_uuid == "5"
    assert parse_event({"call": {}}).call_uuid is None
    assert parse_event({}).call_uuid is None


def test_other_event_types_reach_their_handlers_and_the_wildcard(
    client_for: ClientFactory,
) -> None:
    app = App(secret="test-secret")
    seen: list[str] = []

    @app.on_event("sms")
    def on_sms(event: Event) -> None:
        seen.append(f"sms {event.payload['text']}")

    @app.on_event("*")
    def on_any(event: Event) -> None:
        seen.append(f"* {event.type}")

    client = client_for(app)
    assert (
        client.post("/events", json={"type": "sms", "payload": {"text": "hi"}}).status_code == 204
    )
    assert client.post("/events", json=CALL_FLOW).status_code == 204
    assert seen == ["sms hi", "* sms", "* call_flow"]


def test_on_event_returns_the_handler_unchanged() -> None:
    app = App(secret="test-secret")

    def handler(event: Event) -> None:
        return None

    assert app.on_event("call_state")(handler) is handler


def test_an_event_without_handlers_is_accepted(client_for: ClientFactory) -> None:
    reply = client_for(App(secret="test-secret")).post("/events", json=CALL_FLOW)
    assert reply.status_code == 204


@pytest.mark.callflow_expect_fallback
def test_a_failing_handler_is_logged_and_the_others_still_run(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="callflow")
    app = App(secret="test-secret")
    seen: list[str] = []

    @app.on_event("call_state")
    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    @app.on_event("call_state")
    async def broken_async(event: Event) -> None:
        raise ValueError("async handler bug")

    @app.on_event("*")
    def fine(event: Event) -> None:
        seen.append(event.type)

    reply = client_for(app).post("/events", json=CALL_STATE_CALL_FIRST)
    assert reply.status_code == 204
    assert seen == ["call_state"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "event handler 'broken' failed on a call_state event",
        "event handler 'broken_async' failed on a call_state event",
    ]
    assert [r.exc_info[0] if r.exc_info else None for r in errors] == [RuntimeError, ValueError]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{oops", "not valid JSON", id="bad-json"),
        pytest.param(b"[1, 2]", "must be a JSON object", id="array"),
        pytest.param(b'"live"', "must be a JSON object", id="string"),
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON", id="integer-too-long"),
        pytest.param(b"[" * 60_000, "nested too deeply", id="too-deep"),
    ],
)
def test_a_malformed_event_gets_400(
    recorder: Recorder, client_for: ClientFactory, content: bytes, message: str
) -> None:
    client = client_for(recorder.app, raise_server_exceptions=False)
    reply = client.post("/events", content=content, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert message in reply.text
    assert recorder.seen == []


def test_an_oversized_event_gets_413(client_for: ClientFactory) -> None:
    recorder = Recorder(max_body_bytes=100)
    body = copy.deepcopy(CALL_STATE_CALL_FIRST)
    reply = client_for(recorder.app).post("/events", json=body)
    assert reply.status_code == 413
    assert recorder.seen == []


def test_a_get_event_reads_the_query(recorder: Recorder, client_for: ClientFactory) -> None:
    # Reported by integrators: `state`, `from`, `to` appended to a GET webhook (§2.6).
    query = {"state": "Live", "from": "+15550100999", "to": "15550100200", "token": "x"}
    reply = client_for(recorder.app).get("/events", params=query)
    assert reply.status_code == 204
    event = recorder.events[0]
    assert isinstance(event, CallStateEvent)
    assert event.state == "live"
    assert event.call == {"from": "+15550100999", "to": "15550100200"}


def test_a_get_event_with_a_type(recorder: Recorder, client_for: ClientFactory) -> None:
    reply = client_for(recorder.app).get("/events", params={"type": "call_flow", "command": "Say"})
    assert reply.status_code == 204
    assert [who for who, _ in recorder.seen] == ["async call_flow", "async *"]
    assert recorder.events[0].payload == {"command": "Say"}


def test_unsupported_methods_on_events_get_405(
    recorder: Recorder, client_for: ClientFactory
) -> None:
    assert client_for(recorder.app).put("/events", json=CALL_FLOW).status_code == 405


def test_a_custom_events_path(client_for: ClientFactory) -> None:
    recorder = Recorder(events_path="/opentact/events")
    client = client_for(recorder.app)
    assert client.post("/opentact/events", json=CALL_FLOW).status_code == 204
    assert client.post("/events", json=CALL_FLOW).status_code == 404
    assert len(recorder.seen) == 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_dispatch_runs_handlers_without_http(recorder: Recorder) -> None:
    await recorder.app.dispatch(parse_event(CALL_FLOW))
    await recorder.app.dispatch(parse_event(CALL_STATE_PAYLOAD_FIRST))
    assert [who for who, _ in recorder.seen] == [
        "async call_flow",
        "async *",
        "sync call_state",
        "async *",
    ]
