"""examples/voicemail.py: a message recorded with asr, noted from call_flow events, with the
transcription attached when its event arrives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from served_documents import ServedDocuments, assert_strictly_valid
from starlette.testclient import TestClient

from callflow import validate
from callflow.testing import (
    Simulator,
    Trace,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_not_heard,
)
from examples import voicemail
from examples.voicemail import Message

if TYPE_CHECKING:
    from conftest import ServerFactory

SimulatorFactory = Callable[..., Simulator]

CALLER = "+15550100999"
GREETING = "You have reached Acme Plumbing. Nobody can take your call right now."
OFFER = "For a plumbing emergency, press 1. To leave a message, stay on the line."
MESSAGE = [
    "Please leave your name, your number and a short message after the tone.",
    "Press pound when you are done.",
    "Thank you. We will call you back soon. Goodbye.",
]


@pytest.fixture(autouse=True)
def _empty_mailbox() -> Iterator[None]:
    voicemail.mailbox.clear()
    yield
    voicemail.mailbox.clear()


@pytest.fixture
def sim(callflow_simulator: SimulatorFactory) -> Simulator:
    """A simulator that also sends the call's events to the App's event webhook."""
    return callflow_simulator(voicemail.app, events=True)


def recordings(trace: Trace) -> list[dict[str, Any]]:
    return [e for e in trace.to_dict()["events"] if e["type"] == "record"]


def only_message() -> Message:
    messages = voicemail.mailbox.messages
    assert len(messages) == 1, messages
    return messages[0]


def post_event(body: dict[str, Any]) -> None:
    assert TestClient(voicemail.app).post("/events", json=body).status_code == 204


# -- the call ------------------------------------------------------------------------------


def test_no_key_leaves_a_message(sim: Simulator) -> None:
    trace = sim.call(keys=[None])
    assert trace.heard == [GREETING, OFFER, *MESSAGE]
    assert [(r["tag"], r["action"]) for r in recordings(trace)] == [("voicemail", "record")]
    assert trace.dialed == []
    assert_ended(trace, "hangup (message)")
    message = only_message()
    assert (message.caller, message.recorded, message.transcript) == (CALLER, True, None)


def test_1_reaches_the_plumber_on_call(sim: Simulator) -> None:
    trace = sim.call(keys=["1"], dial=["answer"])
    assert_dialed(trace, voicemail.ON_CALL)
    assert trace.heard[2:] == ["Connecting you to the plumber on call.", "Goodbye."]
    assert recordings(trace) == []
    assert_ended(trace, "hangup (on-call)")
    assert voicemail.mailbox.messages == []  # the call's other call_flow events are ignored


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_a_message_when_the_plumber_does_not_answer(sim: Simulator, outcome: str) -> None:
    trace = sim.call(keys=["1"], dial=[outcome])
    assert_dialed(trace, voicemail.ON_CALL)
    assert trace.heard[2:] == [
        "Connecting you to the plumber on call.",
        "The plumber on call cannot answer.",
        *MESSAGE,
    ]
    assert_ended(trace, "hangup (message)")
    assert only_message().recorded


def test_a_wrong_key_goes_on_to_the_message(sim: Simulator) -> None:
    trace = sim.call(keys=["5"])
    assert trace.heard == [GREETING, OFFER, "Sorry, that is not an option.", *MESSAGE]
    assert_not_heard(trace, "plumber on call")
    assert_ended(trace, "hangup (message)")
    assert only_message().recorded


def test_without_events_no_message_is_noted(callflow_simulator: SimulatorFactory) -> None:
    trace = callflow_simulator(voicemail.app).call()
    assert_heard(trace, MESSAGE[-1], exact=True)
    assert voicemail.mailbox.messages == []


# -- the events ----------------------------------------------------------------------------


def test_the_transcription_is_attached_to_the_message(sim: Simulator) -> None:
    sim.call()
    call = only_message().call
    payload = {"text": "Hi, this is Ann, my kitchen sink leaks.", "tag": "voicemail"}
    post_event({"type": voicemail.TRANSCRIPT_EVENT, "payload": payload, "call": {"uuid": call}})
    message = only_message()
    assert (message.call, message.caller, message.recorded) == (call, CALLER, True)
    assert message.transcript == "Hi, this is Ann, my kitchen sink leaks."
    assert message.transcript_event == payload


def test_a_transcription_may_come_first() -> None:
    event = {
        "type": voicemail.TRANSCRIPT_EVENT,
        "payload": {"text": "Hello"},
        "call": {"uuid": "c"},
    }
    post_event(event)
    assert voicemail.mailbox.messages == [
        Message("c", transcript="Hello", transcript_event={"text": "Hello"})
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"type": voicemail.TRANSCRIPT_EVENT, "payload": {"text": "?"}}, id="no-call"),
        pytest.param(
            {"type": "transcript", "payload": {"text": "?"}, "call": {"uuid": "c"}}, id="other-type"
        ),
    ],
)
def test_other_transcription_events_are_ignored(body: dict[str, Any]) -> None:
    post_event(body)
    assert voicemail.mailbox.messages == []


def test_a_failed_recording_is_noted_with_its_reason() -> None:
    command = {"name": "Record", "success": False, "reason": "media error", "tag": "voicemail"}
    call = {"uuid": "c-9", "from": CALLER}
    post_event({"type": "call_flow", "payload": {"command": command, "call": call}})
    assert voicemail.mailbox.messages == [Message("c-9", CALLER, False, "media error")]


def test_records_with_another_tag_are_ignored() -> None:
    command = {"name": "Record", "success": True, "tag": "greeting"}
    post_event({"type": "call_flow", "payload": {"command": command, "call": {"uuid": "c"}}})
    assert voicemail.mailbox.messages == []


# -- documents -----------------------------------------------------------------------------


def test_the_document_is_strictly_valid() -> None:
    assert validate(voicemail.VOICEMAIL, strict=True) == []


def test_the_served_document_is_strictly_valid(callflow_simulator: SimulatorFactory) -> None:
    recorder = ServedDocuments(voicemail.app)
    trace = callflow_simulator(recorder).call(keys=["1"], dial=["busy"])
    assert_ended(trace, "hangup (message)")
    assert_strictly_valid(recorder.documents, at_least=1)


def test_a_message_against_callflow_serve(
    start_server: ServerFactory, callflow_simulator: SimulatorFactory
) -> None:
    server = start_server(app="examples.voicemail:app")
    trace = callflow_simulator(server.base_url + "/").call()
    assert trace.heard == [GREETING, OFFER, *MESSAGE]
    assert_ended(trace, "hangup (message)")
