"""An appointment reminder: the call flow of an outbound call to a patient.

Your system places the call (Opentact's REST API, from the clinic's number to the patient);
Opentact then asks this App for the call flow, with the patient's number as ``to``. The flow
reads the appointment and asks for an answer: 1 to confirm, 2 to cancel, 3 to talk to the
front desk (a message is taken when nobody answers there).

What it shows:

* a flow keyed by the number called (``call.to``), with a polite end for unknown numbers;
* each key answered with a ``Callback`` to the App: the appointment travels in signed state,
  the answer in the Callback's ``tag`` (``call.tag``), and the reply carries on the call:
  a goodbye, or a ``Dial`` whose ``Error`` falls back to voicemail (``Record``);
* a wrong key asks again (twice at most), no input ends the call;
* ``@app.on_event("call_state")``: the event webhook follows each reminder call; a call that
  hangs up without a 1 or a 2 is marked for a follow-up.

The answers are kept in memory (``outcomes``, by appointment): keep yours in a database.

From the repository root::

    callflow serve examples.reminder:app
    callflow simulate examples.reminder:app --from +15550100200 --to +15550100123 --press 1
    callflow simulate examples.reminder:app --to +15550100123 --press 3 --dial busy
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    CallStateEvent,
    Default,
    Dial,
    Error,
    Event,
    Gather,
    Hangup,
    Pause,
    Record,
    Response,
    Say,
    To,
)

app = App()  # settings from CALLFLOW_* variables; see docs/configuration.md

FRONT_DESK: Final = "15550100400"
MAX_TRIES: Final = 2
"""Menus a patient may hear (a wrong key asks again) before the call ends."""


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment to remind a patient of."""

    id: str
    patient: str
    """The patient's number, in E.164."""
    name: str
    doctor: str
    when: str
    """As it is spoken: ``Tuesday, December 8, at 10:30 in the morning``."""


@dataclass
class Outcome:
    """What happened on the reminder call of one appointment."""

    answer: str | None = None
    """``confirmed``, ``cancelled`` or ``front-desk``, from the Callback."""
    states: list[str] = field(default_factory=list)
    """The call states the event webhook reported: ``init``, ``ringing``, ``live``, ..."""
    follow_up: bool = False
    """The call ended without the appointment being confirmed or cancelled."""


APPOINTMENTS: Final = {
    appointment.patient: appointment
    for appointment in (
        Appointment(
            "A-1001",
            "+15550100123",
            "Maria",
            "Doctor Rivera",
            "Tuesday, December 8, at 10:30 in the morning",
        ),
        Appointment(
            "A-1002", "+15550100124", "Sam", "Doctor Okafor", "Friday, December 11, at 3 pm"
        ),
    )
}
outcomes: dict[str, Outcome] = {}
"""What each reminder call gave, by appointment id (in memory, for the example)."""

ANSWERS: Final = {"1": "confirmed", "2": "cancelled", "3": "front-desk"}
SETTLED: Final = ("confirmed", "cancelled")

LEAVE_MESSAGE = (
    Say("Please leave a message after the tone, then press pound. We will call you back."),
    Record(Pause(length=60_000, dtmf_stop="#"), tag="reminder-message"),
    Say("Thank you. Goodbye."),
    Hangup(tag="voicemail"),
)
UNKNOWN = Response(
    Say("Sorry, this call was made in error. Goodbye."), Hangup(tag="unknown-number")
)


@app.flow("/", name="reminder")
async def reminder(call: CallContext) -> Response:
    """Read the appointment of the patient called, then ask for an answer."""
    appointment = APPOINTMENTS.get(call.called or "")
    if appointment is None:
        return UNKNOWN
    tries = int(call.state.get("tries", 0)) if isinstance(call.state, dict) else 0
    if tries >= MAX_TRIES:
        return Response(
            Say("Sorry, we could not understand you. We will call again later. Goodbye."),
            Hangup(tag="no-choice"),
        )
    intro = () if tries else (_greeting(appointment),)
    answer_url = call.url_for("answer", state={"appointment": appointment.id})
    return Response(
        *intro,
        Gather(
            Say(
                "To confirm it, press 1. To cancel it, press 2. "
                "To talk to someone at the clinic, press 3."
            ),
            *(
                DTMF(Callback(url=answer_url, tag=answer), value=key)
                for key, answer in ANSWERS.items()
            ),
            Default(
                Say("Sorry, that is not an option."),
                Callback(url=call.url_for("reminder", state={"tries": tries + 1})),
            ),
            Error(
                Say("We did not hear an answer. We will call again later. Goodbye."),
                Hangup(tag="no-input"),
            ),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
    )


@app.flow("/reminder/answer", name="answer")
async def answer(call: CallContext) -> Response:
    """Record the patient's answer (the Callback's tag), then say what happens next."""
    state = call.state if isinstance(call.state, dict) else {}
    appointment = next((a for a in APPOINTMENTS.values() if a.id == state.get("appointment")), None)
    if appointment is None or call.tag not in ANSWERS.values():
        return UNKNOWN  # not a link this App made: signed state is checked, the tag is not
    outcomes.setdefault(appointment.id, Outcome()).answer = call.tag
    if call.tag == "confirmed":
        return Response(
            Say(f"Thank you. Your appointment on {appointment.when} is confirmed. Goodbye."),
            Hangup(tag="confirmed"),
        )
    if call.tag == "cancelled":
        return Response(
            Say("Your appointment is cancelled. Call us when you want a new one. Goodbye."),
            Hangup(tag="cancelled"),
        )
    return Response(
        Say("Connecting you to the front desk."),
        Dial(To(FRONT_DESK), Error(Say("Nobody at the front desk can answer."), *LEAVE_MESSAGE)),
        Say("Goodbye."),
        Hangup(tag="front-desk"),
    )


@app.on_event("call_state")
async def follow_call(event: Event) -> None:
    """Note each state of a reminder call; one that ends unanswered needs a follow-up."""
    if not isinstance(event, CallStateEvent) or event.state is None:
        return
    appointment = _appointment_called(event)
    if appointment is None:
        return
    outcome = outcomes.setdefault(appointment.id, Outcome())
    outcome.states.append(event.state)
    if event.state == "hangup" and outcome.answer not in SETTLED:
        outcome.follow_up = True


def _greeting(appointment: Appointment) -> Say:
    return Say(
        f"Hello {appointment.name}, this is Riverside Clinic. This is a reminder of your "
        f"appointment with {appointment.doctor} on {appointment.when}."
    )


def _appointment_called(event: Event) -> Appointment | None:
    """The appointment of the patient an event's call went to.

    Events carry the call object, whose ``to`` is the number as Opentact writes it: digits,
    usually without the ``+`` (``15550100123``). Digits are compared, so both spellings match.
    """
    called = str((event.call or {}).get("to") or "")
    digits = "".join(ch for ch in called if ch.isdigit())
    return next((a for a in APPOINTMENTS.values() if a.patient.lstrip("+") == digits), None)
