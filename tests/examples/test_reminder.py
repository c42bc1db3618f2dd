"""examples/reminder.py: an appointment reminder answered by key, recorded through a Callback,
followed through call_state events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

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
    assert_requested,
)
from examples import reminder
from examples.reminder import Outcome

if TYPE_CHECKING:
    from conftest import ServerFactory

SimulatorFactory = Callable[..., Simulator]

CLINIC = "+15550100200"
MARIA = "+15550100123"
GREETING = (
    "Hello Maria, this is Riverside Clinic. This is a reminder of your appointment with "
    "Doctor Rivera on Tuesday, December 8, at 10:30 in the morning."
)
MENU = "To confirm it, press 1. To cancel it, press 2. To talk to someone at the clinic, press 3."
STATES = ["init", "ringing", "live", "hangup", "destroyed"]
MESSAGE = "Please leave a message after the tone, then press pound. We will call you back."


@pytest.fixture(autouse=True)
def _no_outcomes() -> Iterator[None]:
    reminder.outcomes.clear()
    yield
    reminder.outcomes.clear()


@pytest.fixture
def sim(callflow_simulator: SimulatorFactory) -> Simulator:
    """A simulator that also sends the call's events to the App's event webhook."""
    return callflow_simulator(reminder.app, events=True)


def call_maria(sim: Simulator, *keys: str | None, dial: tuple[str, ...] = ()) -> Trace:
    """The outbound reminder call: from the clinic to the patient."""
    return sim.call(from_=CLINIC, to=MARIA, keys=list(keys), dial=list(dial))


def recordings(trace: Trace) -> list[str | None]:
    return [e["tag"] for e in trace.to_dict()["events"] if e["type"] == "record"]


# -- the answers ---------------------------------------------------------------------------


def test_1_confirms(sim: Simulator) -> None:
    trace = call_maria(sim, "1")
    assert trace.heard == [
        GREETING,
        MENU,
        "Thank you. Your appointment on Tuesday, December 8, at 10:30 in the morning is "
        "confirmed. Goodbye.",
    ]
    assert_requested(trace, "/reminder/answer")
    assert_ended(trace, "hangup (confirmed)")
    assert reminder.outcomes == {"A-1001": Outcome("confirmed", STATES, follow_up=False)}


def test_2_cancels(sim: Simulator) -> None:
    trace = call_maria(sim, "2")
    assert_heard(trace, "Your appointment is cancelled.")
    assert_ended(trace, "hangup (cancelled)")
    assert reminder.outcomes == {"A-1001": Outcome("cancelled", STATES, follow_up=False)}


def test_3_reaches_the_front_desk(sim: Simulator) -> None:
    trace = call_maria(sim, "3", dial=("answer",))
    assert_dialed(trace, reminder.FRONT_DESK)
    assert trace.heard[2:] == ["Connecting you to the front desk.", "Goodbye."]
    assert recordings(trace) == []
    assert_ended(trace, "hangup (front-desk)")
    # The desk talked to the patient, but the appointment is neither confirmed nor cancelled.
    assert reminder.outcomes == {"A-1001": Outcome("front-desk", STATES, follow_up=True)}


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_3_takes_a_message_when_the_desk_does_not_answer(sim: Simulator, outcome: str) -> None:
    trace = call_maria(sim, "3", dial=(outcome,))
    assert_dialed(trace, reminder.FRONT_DESK)
    assert trace.heard[2:] == [
        "Connecting you to the front desk.",
        "Nobody at the front desk can answer.",
        MESSAGE,
        "Thank you. Goodbye.",
    ]
    assert recordings(trace) == ["reminder-message"]
    assert_ended(trace, "hangup (voicemail)")
    assert reminder.outcomes["A-1001"].follow_up


def test_a_wrong_key_asks_again_without_the_greeting(sim: Simulator) -> None:
    trace = call_maria(sim, "7", "1")
    assert trace.heard[:4] == [GREETING, MENU, "Sorry, that is not an option.", MENU]
    assert_ended(trace, "hangup (confirmed)")
    assert reminder.outcomes["A-1001"].answer == "confirmed"


def test_two_wrong_keys_end_the_call(sim: Simulator) -> None:
    trace = call_maria(sim, "7", "#", "1")
    assert trace.heard.count(MENU) == 2
    assert_heard(trace, "Sorry, we could not understand you. We will call again later.")
    assert_not_heard(trace, "confirmed")
    assert_ended(trace, "hangup (no-choice)")
    assert reminder.outcomes == {"A-1001": Outcome(None, STATES, follow_up=True)}


def test_no_input_asks_twice_then_ends(sim: Simulator) -> None:
    trace = call_maria(sim)
    assert trace.heard == [
        GREETING,
        MENU,
        MENU,
        "We did not hear an answer. We will call again later. Goodbye.",
    ]
    assert_ended(trace, "hangup (no-input)")
    assert reminder.outcomes == {"A-1001": Outcome(None, STATES, follow_up=True)}


def test_each_patient_hears_their_own_appointment(sim: Simulator) -> None:
    trace = sim.call(from_=CLINIC, to="15550100124", keys=["1"])
    assert_heard(trace, "Hello Sam, this is Riverside Clinic.")
    assert_heard(trace, "Doctor Okafor on Friday, December 11, at 3 pm.")
    assert_not_heard(trace, "Maria")
    assert set(reminder.outcomes) == {"A-1002"}


def test_an_unknown_number_is_not_reminded(sim: Simulator) -> None:
    trace = sim.call(from_=CLINIC, to="+15550100777", keys=["1"])
    assert trace.heard == ["Sorry, this call was made in error. Goodbye."]
    assert_ended(trace, "hangup (unknown-number)")
    assert reminder.outcomes == {}


# -- where the outcome comes from ----------------------------------------------------------


def test_without_events_only_the_callback_records(callflow_simulator: SimulatorFactory) -> None:
    sim = callflow_simulator(reminder.app)  # no events sent
    call_maria(sim, "1")
    assert reminder.outcomes == {"A-1001": Outcome("confirmed", [], follow_up=False)}


def test_a_hangup_event_spelled_payload_first_marks_a_follow_up() -> None:
    client = TestClient(reminder.app)
    event = {
        "type": "call_state",
        "payload": {"uuid": "c-1", "from": CLINIC, "to": "15550100123", "state": "Hangup"},
    }
    assert client.post("/events", json=event).status_code == 204
    assert reminder.outcomes == {"A-1001": Outcome(None, ["hangup"], follow_up=True)}


def test_the_answer_step_needs_the_signed_appointment() -> None:
    client = TestClient(reminder.app)
    unsigned = client.get("/reminder/answer", params={"tag": "confirmed", "tn": MARIA})
    assert b"this call was made in error" in unsigned.content
    forged = client.get("/reminder/answer", params={"tag": "confirmed", "cf_state": "x"})
    assert forged.status_code == 403
    assert reminder.outcomes == {}


# -- documents -----------------------------------------------------------------------------


def test_constant_documents_are_strictly_valid() -> None:
    assert validate(reminder.UNKNOWN, strict=True) == []


@pytest.mark.parametrize(
    ("keys", "dial", "served"),
    [
        pytest.param(["1"], [], 2, id="confirm"),
        pytest.param(["2"], [], 2, id="cancel"),
        pytest.param(["3"], ["busy"], 2, id="front-desk-busy"),
        pytest.param(["7", "7"], [], 3, id="wrong-keys"),
    ],
)
def test_every_served_document_is_strictly_valid(
    callflow_simulator: SimulatorFactory, keys: list[str], dial: list[str], served: int
) -> None:
    recorder = ServedDocuments(reminder.app)
    trace = callflow_simulator(recorder).call(from_=CLINIC, to=MARIA, keys=keys, dial=dial)
    assert_ended(trace)
    assert_strictly_valid(recorder.documents, at_least=served)


def test_a_reminder_against_callflow_serve(
    start_server: ServerFactory, callflow_simulator: SimulatorFactory
) -> None:
    server = start_server(app="examples.reminder:app")
    trace = callflow_simulator(server.base_url + "/").call(from_=CLINIC, to=MARIA, keys=["2"])
    assert_heard(trace, GREETING, exact=True)
    assert_ended(trace, "hangup (cancelled)")
