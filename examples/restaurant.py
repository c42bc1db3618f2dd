"""A restaurant line: opening hours, and a table booked over three round trips.

What it shows:

* ``App(time_zone="America/New_York")``: ``Schedule`` reads the restaurant's own clock, so the
  line is closed on Mondays and outside 5 pm to 10 pm there, wherever the server runs. When
  closed, callers hear the hours and may still book a table;
* a reservation taken in steps, party size -> time -> confirmation. Each step is a ``Gather``
  whose digits go to the next Python step (``url=call.url_for(...)``), and what the caller chose
  so far travels in signed ``state`` (read back as ``call.state``), so nothing is stored until
  the caller confirms. Wrong answers are asked again, three times at most;
* a ``Dial`` to the host stand with an ``Error`` fallback when nobody picks up.

A real line would also ask for the day and keep bookings in a database; this one keeps them
in the ``reservations`` list.

From the repository root::

    callflow serve examples.restaurant:app
    callflow simulate examples.restaurant:app --at 2026-12-01T18:30:00 \\
        --press 1 --press 4# --press 1930# --press 1

``--at`` is read in the App's time zone. Pin it: what the caller hears depends on the clock
(``--at 2026-12-07T18:30:00`` is a Monday, when the restaurant is closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    Response,
    Say,
    Schedule,
    To,
)

app = App(time_zone="America/New_York")  # other settings from CALLFLOW_* variables

HOST_STAND: Final = "15550100300"
MAX_PARTY: Final = 12
FIRST_SEATING: Final = "1700"  # HHMM on the restaurant's clock
LAST_SEATING: Final = "2130"
MAX_TRIES: Final = 3
"""Wrong answers allowed at each step of the booking before the line gives up."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """A booked table."""

    caller: str | None
    party: int
    time: str
    """``HH:MM`` on the restaurant's clock."""


reservations: list[Reservation] = []
"""The tables booked so far (in memory, for the example: keep yours in a database)."""


# -- the menu: one constant document, built once ---------------------------------------------

HOURS = "We are open from 5 to 10 in the evening, Tuesday to Sunday, at 12 Harbor Street."
BOOK = DTMF(Callback(url="/reservation"), value="1")  # path-only: the App makes it absolute

GREETING = "Thank you for calling Luigi's Trattoria."

CLOSED = (
    Say(f"{GREETING} We are closed right now. {HOURS}"),
    Gather(
        Say("To book a table, press 1."),
        BOOK,
        Default(Say("Sorry, that is not an option.")),
        Error(Say("Goodbye."), Hangup(tag="closed")),
        dtmf_length=1,
        timeout=5000,
    ),
    Say("Goodbye."),
    Hangup(tag="closed"),
)

MENU = Response(
    # First, so they read the clock when the call starts, not after a greeting.
    Schedule(*CLOSED, dow=("mon",)),
    Schedule(*CLOSED, time="22:00:00-16:59:59"),  # the range crosses midnight
    Say(GREETING),
    Gather(
        Say(
            "To book a table, press 1. For our address and opening hours, press 2. "
            "To speak with the host, press 0."
        ),
        BOOK,
        DTMF(Say(HOURS), Say("Goodbye."), Hangup(tag="hours"), value="2"),
        DTMF(
            Say("Connecting you to the host."),
            Dial(
                To(HOST_STAND),
                Error(
                    Say("The host is busy with guests. Please press 1 next time to book a table."),
                    Hangup(tag="host-busy"),
                ),
            ),
            Say("Goodbye."),
            Hangup(tag="host"),
            value="0",
        ),
        Default(Say("Sorry, that is not an option.")),
        Error(Say("We did not hear a choice. Goodbye."), Hangup(tag="no-input")),
        dtmf_length=1,
        timeout=6000,
        attempts=2,
    ),
    Say("Please call again. Goodbye."),
    Hangup(tag="bad-key"),
)

GIVE_UP = Response(
    Say("Sorry, we could not take your booking. Please call again, or press 0 for the host."),
    Hangup(tag="booking-failed"),
)
NO_ANSWER = Error(Say("We did not hear you. Goodbye."), Hangup(tag="no-input"))


@app.flow("/", name="main")
async def main(call: CallContext) -> Response:
    """Greet; when closed, give the hours; then the menu. The same for every call."""
    return MENU


# -- the booking: party size -> time -> confirmation ------------------------------------------


@app.flow("/reservation", name="reservation")
async def reservation(call: CallContext) -> Response:
    """Start a booking: ask for the party size."""
    return ask_party_size(call, tries=0)


@app.flow("/reservation/party", name="party_size")
async def party_size(call: CallContext) -> Response:
    """Read the party size; ask for the time."""
    tries = int(_state(call).get("tries", 0))
    party = int(call.digits) if call.digits and call.digits.isdigit() else 0
    if not 1 <= party <= MAX_PARTY:
        if tries + 1 >= MAX_TRIES:
            return GIVE_UP
        sorry = f"Sorry, we take bookings for 1 to {MAX_PARTY} people."
        return ask_party_size(call, tries=tries + 1, sorry=sorry)
    return ask_time(call, party=party, tries=0)


@app.flow("/reservation/time", name="reservation_time")
async def reservation_time(call: CallContext) -> Response:
    """Read the time (``HHMM``); ask the caller to confirm."""
    state = _state(call)
    party, tries = int(state["party"]), int(state.get("tries", 0))
    hhmm = call.digits or ""
    if not _seating_time(hhmm):
        if tries + 1 >= MAX_TRIES:
            return GIVE_UP
        sorry = "Sorry, we seat guests from 5 pm to 9:30 pm."
        return ask_time(call, party=party, tries=tries + 1, sorry=sorry)
    return ask_confirmation(call, party=party, time=f"{hhmm[:2]}:{hhmm[2:]}", tries=0)


@app.flow("/reservation/confirm", name="confirm")
async def confirm(call: CallContext) -> Response:
    """Book the table on 1, start again on 2."""
    state = _state(call)
    party, time, tries = int(state["party"]), str(state["time"]), int(state.get("tries", 0))
    if call.digits == "1":
        reservations.append(Reservation(call.from_, party, time))
        return Response(
            Say(f"Your table for {party} at {spoken_time(time)} is booked. See you soon!"),
            Hangup(tag="booked"),
        )
    if call.digits == "2":
        return Response(Say("Let's start again."), Callback(url=call.url_for("reservation")))
    if tries + 1 >= MAX_TRIES:
        return GIVE_UP
    return ask_confirmation(
        call, party=party, time=time, tries=tries + 1, sorry="Sorry, that is not an option."
    )


def ask_party_size(call: CallContext, *, tries: int, sorry: str | None = None) -> Response:
    """The party-size question; its digits go to ``party_size``."""
    return Response(
        *_sorry(sorry),
        Gather(
            Say(f"How many people is the table for? Enter 1 to {MAX_PARTY}, then press pound."),
            NO_ANSWER,
            dtmf_length=2,
            dtmf_stop="#",
            timeout=8000,
            attempts=2,
            url=call.url_for("party_size", state={"tries": tries}),
        ),
    )


def ask_time(call: CallContext, *, party: int, tries: int, sorry: str | None = None) -> Response:
    """The time question; the party size rides along in the state."""
    return Response(
        *_sorry(sorry),
        Gather(
            Say(
                f"A table for {party}. At what time? Enter four digits, such as 1 9 3 0 "
                "for 7:30 pm, then press pound."
            ),
            NO_ANSWER,
            dtmf_length=4,
            dtmf_stop="#",
            timeout=8000,
            attempts=2,
            url=call.url_for("reservation_time", state={"party": party, "tries": tries}),
        ),
    )


def ask_confirmation(
    call: CallContext, *, party: int, time: str, tries: int, sorry: str | None = None
) -> Response:
    """Read the booking back; the caller's answer goes to ``confirm``."""
    state = {"party": party, "time": time, "tries": tries}
    return Response(
        *_sorry(sorry),
        Gather(
            Say(
                f"That is a table for {party} at {spoken_time(time)}. "
                "To confirm, press 1. To start again, press 2."
            ),
            NO_ANSWER,
            dtmf_length=1,
            timeout=6000,
            attempts=2,
            url=call.url_for("confirm", state=state),
        ),
    )


def spoken_time(time: str) -> str:
    """``19:30`` -> ``7:30 pm``, ``17:00`` -> ``5 pm``."""
    hours, minutes = (int(part) for part in time.split(":"))
    suffix = "pm" if hours >= 12 else "am"
    hours = hours % 12 or 12
    return f"{hours}:{minutes:02d} {suffix}" if minutes else f"{hours} {suffix}"


def _seating_time(hhmm: str) -> bool:
    """Whether ``hhmm`` is a clock time (``HHMM``) when the kitchen takes a table."""
    if len(hhmm) != 4 or not hhmm.isdigit() or int(hhmm[:2]) > 23 or int(hhmm[2:]) > 59:
        return False
    return FIRST_SEATING <= hhmm <= LAST_SEATING


def _state(call: CallContext) -> dict[str, Any]:
    """The signed state of this step (callflow verified it before the flow ran)."""
    return call.state if isinstance(call.state, dict) else {}


def _sorry(text: str | None) -> tuple[Say, ...]:
    return (Say(text),) if text else ()
