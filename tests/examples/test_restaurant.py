"""examples/restaurant.py: opening hours on the restaurant's clock, and a booking in three
round trips whose answers travel in signed state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from served_documents import ServedDocuments, assert_strictly_valid
from starlette.testclient import TestClient

from callflow import validate
from callflow.testing import (
    Simulator,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_not_heard,
    assert_requested,
)
from examples import restaurant
from examples.restaurant import Reservation

if TYPE_CHECKING:
    from conftest import ServerFactory

SimulatorFactory = Callable[..., Simulator]

OPEN = datetime(2026, 12, 1, 18, 30)  # a Tuesday evening, New York time
MONDAY = datetime(2026, 12, 7, 18, 30)
GREETING = "Thank you for calling Luigi's Trattoria."
CLOSED = "We are closed right now."
MENU = "To book a table, press 1. For our address and opening hours, press 2."
PARTY = "How many people is the table for? Enter 1 to 12, then press pound."
TIME = "At what time? Enter four digits"
CALLER = "+15550100999"


@pytest.fixture(autouse=True)
def _no_bookings() -> Iterator[None]:
    restaurant.reservations.clear()
    yield
    restaurant.reservations.clear()


@pytest.fixture
def sim(callflow_simulator: SimulatorFactory) -> Simulator:
    """A simulator on the App itself: it reads the App's time zone, America/New_York."""
    return callflow_simulator(restaurant.app)


# -- opening hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(OPEN, id="tuesday-evening"),
        pytest.param(datetime(2026, 12, 1, 17, 0, 0), id="opening-second"),
        pytest.param(datetime(2026, 12, 1, 21, 59, 59), id="last-open-second"),
        pytest.param(datetime(2026, 12, 6, 20, 0), id="sunday"),
    ],
)
def test_open_hours_give_the_menu(sim: Simulator, at: datetime) -> None:
    trace = sim.call(keys=["2"], at=at)
    assert trace.heard[:2] == [GREETING, MENU + " To speak with the host, press 0."]
    assert_not_heard(trace, CLOSED)
    assert_ended(trace, "hangup (hours)")


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(MONDAY, id="monday"),
        pytest.param(datetime(2026, 12, 1, 16, 59, 59), id="before-opening"),
        pytest.param(datetime(2026, 12, 1, 22, 0, 0), id="closing-second"),
        pytest.param(datetime(2026, 12, 2, 2, 0), id="after-midnight"),
        pytest.param(datetime(2026, 12, 1, 11, 0), id="lunchtime"),
    ],
)
def test_closed_hours_give_the_hours_and_end(sim: Simulator, at: datetime) -> None:
    trace = sim.call(at=at)
    assert_heard(trace, f"{GREETING} {CLOSED} We are open from 5 to 10 in the evening")
    assert_heard(trace, "To book a table, press 1.", exact=True)
    assert_not_heard(trace, MENU)
    assert_ended(trace, "hangup (closed)")


def test_the_schedule_reads_the_apps_time_zone(sim: Simulator) -> None:
    # 23:30 in UTC is 18:30 in New York: open. Read as UTC, it would be closed.
    trace = sim.call(keys=["2"], at=datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    assert_not_heard(trace, CLOSED)
    assert_ended(trace, "hangup (hours)")


def test_closed_line_still_takes_a_booking(sim: Simulator) -> None:
    trace = sim.call(keys=["1", "2#", "1800#", "1"], at=MONDAY)
    assert_heard(trace, CLOSED)
    assert_heard(trace, "Your table for 2 at 6 pm is booked.")
    assert_ended(trace, "hangup (booked)")
    assert restaurant.reservations == [Reservation(CALLER, 2, "18:00")]


def test_closed_line_wrong_key(sim: Simulator) -> None:
    trace = sim.call(keys=["5"], at=MONDAY)
    assert_heard(trace, "Sorry, that is not an option.")
    assert_not_heard(trace, PARTY)
    assert_ended(trace, "hangup (closed)")


# -- the menu ------------------------------------------------------------------------------


def test_hours_on_2(sim: Simulator) -> None:
    trace = sim.call(keys=["2"], at=OPEN)
    assert trace.heard[2:] == [restaurant.HOURS, "Goodbye."]
    assert_ended(trace, "hangup (hours)")


def test_host_answers_on_0(sim: Simulator) -> None:
    trace = sim.call(keys=["0"], dial=["answer"], at=OPEN)
    assert_dialed(trace, restaurant.HOST_STAND)
    assert trace.heard[2:] == ["Connecting you to the host.", "Goodbye."]
    assert_ended(trace, "hangup (host)")


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_host_not_answering(sim: Simulator, outcome: str) -> None:
    trace = sim.call(keys=["0"], dial=[outcome], at=OPEN)
    assert_dialed(trace, restaurant.HOST_STAND)
    assert_heard(trace, "The host is busy with guests.")
    assert_not_heard(trace, "Goodbye.")
    assert_ended(trace, "hangup (host-busy)")


def test_wrong_key(sim: Simulator) -> None:
    trace = sim.call(keys=["7"], at=OPEN)
    assert trace.heard[2:] == ["Sorry, that is not an option.", "Please call again. Goodbye."]
    assert trace.dialed == []
    assert_ended(trace, "hangup (bad-key)")


def test_no_input_asks_twice_then_ends(sim: Simulator) -> None:
    trace = sim.call(keys=[None, None], at=OPEN)
    assert trace.heard.count(MENU + " To speak with the host, press 0.") == 2
    assert_heard(trace, "We did not hear a choice. Goodbye.", exact=True)
    assert_ended(trace, "hangup (no-input)")


# -- the booking ---------------------------------------------------------------------------


def test_booking_carries_party_and_time_to_the_confirmation(sim: Simulator) -> None:
    trace = sim.call(keys=["1", "4#", "1930#", "1"], at=OPEN)
    assert_requested(trace, "/reservation/party")
    assert_requested(trace, "/reservation/time")
    assert_requested(trace, "/reservation/confirm")
    assert_heard(trace, PARTY, exact=True)
    assert_heard(trace, f"A table for 4. {TIME}")
    assert_heard(trace, "That is a table for 4 at 7:30 pm. To confirm, press 1.")
    assert_heard(trace, "Your table for 4 at 7:30 pm is booked. See you soon!", exact=True)
    assert_ended(trace, "hangup (booked)")
    assert restaurant.reservations == [Reservation(CALLER, 4, "19:30")]


@pytest.mark.parametrize(
    ("party", "time", "booked"),
    [
        pytest.param("1#", "1700#", Reservation(CALLER, 1, "17:00"), id="smallest-first-seating"),
        pytest.param("12", "2130", Reservation(CALLER, 12, "21:30"), id="largest-last-seating"),
    ],
)
def test_booking_limits(sim: Simulator, party: str, time: str, booked: Reservation) -> None:
    trace = sim.call(keys=["1", party, time, "1"], at=OPEN)
    spoken = restaurant.spoken_time(booked.time)
    assert_heard(trace, f"Your table for {booked.party} at {spoken} is booked.")
    assert restaurant.reservations == [booked]


@pytest.mark.parametrize("party", ["0#", "13", "99"])
def test_party_size_out_of_range_is_asked_again(sim: Simulator, party: str) -> None:
    trace = sim.call(keys=["1", party, "3#", "2000#", "1"], at=OPEN)
    assert_heard(trace, "Sorry, we take bookings for 1 to 12 people.", exact=True)
    assert trace.heard.count(PARTY) == 2
    assert restaurant.reservations == [Reservation(CALLER, 3, "20:00")]


@pytest.mark.parametrize("time", ["1659#", "2131#", "2460#", "1775#", "930#"])
def test_time_outside_seating_is_asked_again(sim: Simulator, time: str) -> None:
    trace = sim.call(keys=["1", "2#", time, "1800#", "1"], at=OPEN)
    assert_heard(trace, "Sorry, we seat guests from 5 pm to 9:30 pm.", exact=True)
    assert restaurant.reservations == [Reservation(CALLER, 2, "18:00")]


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(["1", "0#", "13", "20#"], id="party-size"),
        pytest.param(["1", "2#", "1#", "2#", "3#"], id="time"),
        pytest.param(["1", "2#", "1800#", "5", "6", "7"], id="confirmation"),
    ],
)
def test_three_wrong_answers_give_up(sim: Simulator, keys: list[str]) -> None:
    trace = sim.call(keys=keys, at=OPEN)
    assert_heard(trace, "Sorry, we could not take your booking.")
    assert_ended(trace, "hangup (booking-failed)")
    assert restaurant.reservations == []


def test_start_again_forgets_the_first_answers(sim: Simulator) -> None:
    trace = sim.call(keys=["1", "4#", "1930#", "2", "6#", "2015#", "1"], at=OPEN)
    assert_heard(trace, "Let's start again.", exact=True)
    assert trace.heard.count(PARTY) == 2
    assert_heard(trace, "Your table for 6 at 8:15 pm is booked.")
    assert restaurant.reservations == [Reservation(CALLER, 6, "20:15")]


def test_wrong_key_at_the_confirmation_asks_again(sim: Simulator) -> None:
    trace = sim.call(keys=["1", "4#", "1930#", "8", "1"], at=OPEN)
    assert_heard(trace, "Sorry, that is not an option.", exact=True)
    assert (
        trace.heard.count(
            "That is a table for 4 at 7:30 pm. To confirm, press 1. To start again, press 2."
        )
        == 2
    )
    assert restaurant.reservations == [Reservation(CALLER, 4, "19:30")]


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(["1"], id="party-size"),
        pytest.param(["1", "4#"], id="time"),
        pytest.param(["1", "4#", "1930#"], id="confirmation"),
    ],
)
def test_no_input_during_the_booking(sim: Simulator, keys: list[str]) -> None:
    trace = sim.call(keys=keys, at=OPEN)
    assert_heard(trace, "We did not hear you. Goodbye.", exact=True)
    assert_ended(trace, "hangup (no-input)")
    assert restaurant.reservations == []


def test_a_forged_state_is_refused() -> None:
    client = TestClient(restaurant.app)
    reply = client.get("/reservation/confirm", params={"dtmf": "1", "cf_state": "forged"})
    assert reply.status_code == 403
    assert restaurant.reservations == []


@pytest.mark.parametrize(
    ("time", "spoken"),
    [("17:00", "5 pm"), ("19:30", "7:30 pm"), ("21:05", "9:05 pm"), ("00:15", "12:15 am")],
)
def test_spoken_time(time: str, spoken: str) -> None:
    assert restaurant.spoken_time(time) == spoken


# -- documents -----------------------------------------------------------------------------


def test_constant_documents_are_strictly_valid() -> None:
    assert validate(restaurant.MENU, strict=True) == []
    assert validate(restaurant.GIVE_UP, strict=True) == []


@pytest.mark.parametrize(
    ("keys", "at", "served"),
    [
        pytest.param(
            ["1", "0#", "4#", "1", "1930#", "8", "2", "2#", "1800#", "1"], OPEN, 12, id="booking"
        ),
        pytest.param(["1", "2#", "1800#", "1"], MONDAY, 5, id="closed"),
        pytest.param(["1", "0#", "13", "20#"], OPEN, 5, id="give-up"),
    ],
)
def test_every_served_document_is_strictly_valid(
    callflow_simulator: SimulatorFactory, keys: list[str], at: datetime, served: int
) -> None:
    recorder = ServedDocuments(restaurant.app)
    sim = callflow_simulator(recorder, tz="America/New_York")
    trace = sim.call(keys=keys, at=at)
    assert_ended(trace)
    assert_strictly_valid(recorder.documents, at_least=served)


def test_a_booking_against_callflow_serve(
    start_server: ServerFactory, callflow_simulator: SimulatorFactory
) -> None:
    server = start_server(app="examples.restaurant:app")
    sim = callflow_simulator(server.base_url + "/", tz="America/New_York")
    trace = sim.call(keys=["1", "4#", "1930#", "1"], at=OPEN)
    assert_heard(trace, "Your table for 4 at 7:30 pm is booked.")
    assert_ended(trace, "hangup (booked)")
