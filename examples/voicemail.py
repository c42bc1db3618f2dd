"""Voicemail with transcription: take a message, and keep what the event webhook says of it.

The line offers the plumber on call for emergencies (press 1; a message is taken when they do
not answer), and otherwise records a message with ``Record(asr=True, tag="voicemail")``:
Opentact records it and transcribes it.

What it shows:

* one constant document, with a ``Gather`` whose no input is the usual answer (an empty
  ``Error`` lets the call go on to the message) and a ``Dial`` with a voicemail fallback;
* ``@app.on_event("call_flow")``: Opentact reports every command it ran (§6.3). The report of
  the ``Record`` tagged ``voicemail`` says a message was left, on which call, by whom;
* ``@app.on_event(TRANSCRIPT_EVENT)``: the transcription arrives later, as an event of its own.
  Opentact names it ("Transcript Available", spec §3.7) but documents neither its ``type``
  string nor its fields, so callflow hands it over as a plain :class:`callflow.Event`.
  This example assumes ``type="transcript_available"`` with the text in ``payload.text``, and
  keeps the raw payload as well: check both against what your account really sends;
* messages kept in memory (``mailbox``), for the test and for a page that lists them.

From the repository root::

    callflow serve examples.voicemail:app
    callflow simulate examples.voicemail:app --no-input
    callflow simulate examples.voicemail:app --press 1 --dial no-answer
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from callflow import (
    DTMF,
    App,
    CallContext,
    CallFlowEvent,
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
    Tone,
)

app = App()  # settings from CALLFLOW_* variables; see docs/configuration.md

ON_CALL: Final = "15550100500"
RECORDING_TAG: Final = "voicemail"
TRANSCRIPT_EVENT: Final = "transcript_available"
"""The event type of a finished transcription: an assumption, see the module docstring."""


@dataclass
class Message:
    """One voicemail: who left it, on which call, and its transcription once it arrives."""

    call: str
    caller: str | None = None
    recorded: bool = False
    """Opentact reported the ``Record`` command as a success."""
    reason: str | None = None
    """Why the recording failed, when it did."""
    transcript: str | None = None
    transcript_event: dict[str, Any] = field(default_factory=dict)
    """The transcription event's payload, as received."""


class Mailbox:
    """The messages left on this line, by call uuid (in memory, for the example)."""

    def __init__(self) -> None:
        self._messages: dict[str, Message] = {}

    def message(self, call: str) -> Message:
        """The message of ``call``, made when first needed (events may come in any order)."""
        return self._messages.setdefault(call, Message(call))

    @property
    def messages(self) -> list[Message]:
        """Every message, oldest first."""
        return list(self._messages.values())

    def clear(self) -> None:
        self._messages.clear()


mailbox = Mailbox()

LEAVE_MESSAGE = (
    Say("Please leave your name, your number and a short message after the tone."),
    Say("Press pound when you are done."),
    Tone(hz=[1000], timeout=500),
    Record(Pause(length=120_000, dtmf_stop="#"), tag=RECORDING_TAG, asr=True),
    Say("Thank you. We will call you back soon. Goodbye."),
    Hangup(tag="message"),
)

VOICEMAIL = Response(
    Say("You have reached Acme Plumbing. Nobody can take your call right now."),
    Gather(
        Say("For a plumbing emergency, press 1. To leave a message, stay on the line."),
        DTMF(
            Say("Connecting you to the plumber on call."),
            Dial(To(ON_CALL), Error(Say("The plumber on call cannot answer."), *LEAVE_MESSAGE)),
            Say("Goodbye."),
            Hangup(tag="on-call"),
            value="1",
        ),
        Default(Say("Sorry, that is not an option.")),
        Error(tag="no-emergency"),  # no key: the usual answer, go on to the message
        dtmf_length=1,
        timeout=4000,
    ),
    *LEAVE_MESSAGE,
)


@app.flow("/", name="voicemail")
async def voicemail(call: CallContext) -> Response:
    """The same document on every call: built once, at import."""
    return VOICEMAIL


@app.on_event("call_flow")
async def recorded(event: Event) -> None:
    """Note a message when Opentact reports the ``Record`` command that took it."""
    if not isinstance(event, CallFlowEvent) or event.command != "Record":
        return
    if event.tag != RECORDING_TAG or event.call_uuid is None:
        return
    message = mailbox.message(event.call_uuid)
    caller = (event.call or {}).get("from")
    message.caller = str(caller) if caller is not None else None
    message.recorded = event.success is True
    message.reason = None if message.recorded else event.reason


@app.on_event(TRANSCRIPT_EVENT)
async def transcribed(event: Event) -> None:
    """Attach the transcription to the message of its call."""
    if event.call_uuid is None:
        return  # nothing says which message it belongs to
    message = mailbox.message(event.call_uuid)
    message.transcript = _text(event.payload.get("text"))
    message.transcript_event = dict(event.payload)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
