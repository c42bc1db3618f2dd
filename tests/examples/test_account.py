"""examples/account.py: a PIN checked in three attempts counted in the session, then a menu
that reads the signed-in account from the session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from served_documents import ServedDocuments, assert_strictly_valid
from starlette.testclient import TestClient

from callflow import Callback, parse, validate
from callflow.testing import (
    Simulator,
    Trace,
    assert_ended,
    assert_heard,
    assert_not_heard,
    assert_requested,
)
from examples import account

if TYPE_CHECKING:
    from conftest import ServerFactory

SimulatorFactory = Callable[..., Simulator]

JORDAN = "+15550100999"
PRIYA = "+15550100998"
PIN = "2468#"
ASK_PIN = "Please enter your PIN, then press pound."
MENU = "For your balance, press 1. For your last payment, press 2. To sign out, press 9."
SIGNED_OUT = "You are signed out. Thank you for calling. Goodbye."


@pytest.fixture
def sim(callflow_simulator: SimulatorFactory) -> Simulator:
    return callflow_simulator(account.app)


def pin_checks(trace: Trace) -> int:
    return sum(1 for request in trace.requests if "/pin?" in request.url)


# -- signing in ----------------------------------------------------------------------------


def test_the_right_pin_opens_the_menu(sim: Simulator) -> None:
    trace = sim.call(from_=JORDAN, keys=[PIN, "1", "9"])
    assert trace.heard == [
        "Welcome to Acme Bank.",
        ASK_PIN,
        "Thank you, Jordan.",
        MENU,
        "Your balance is 125 dollars and 50 cents.",
        MENU,
        SIGNED_OUT,
    ]
    assert_requested(trace, "/sign-out")
    assert_ended(trace, "hangup (bye)")


@pytest.mark.parametrize(
    ("wrong", "told"),
    [
        pytest.param(["1111#"], ["You have 2 more tries."], id="second-attempt"),
        pytest.param(
            ["1111#", "0000#"], ["You have 2 more tries.", "You have 1 more try."], id="third"
        ),
    ],
)
def test_a_wrong_pin_may_be_tried_again(sim: Simulator, wrong: list[str], told: list[str]) -> None:
    trace = sim.call(from_=JORDAN, keys=[*wrong, PIN, "9"])
    assert [line for line in trace.heard if line.startswith("That PIN")] == [
        f"That PIN is not correct. {text}" for text in told
    ]
    assert trace.heard.count(ASK_PIN) == len(wrong) + 1
    assert_heard(trace, "Thank you, Jordan.", exact=True)
    assert_ended(trace, "hangup (bye)")


@pytest.mark.parametrize(
    "wrong", [["1111#", "2222#", "3333#"], ["2469#", "246#", "24680#"], ["1#", "*#", "2#"]]
)
def test_three_wrong_pins_end_the_call(sim: Simulator, wrong: list[str]) -> None:
    trace = sim.call(from_=JORDAN, keys=[*wrong, PIN])
    assert pin_checks(trace) == 3
    assert_heard(trace, "For your security, this call will now end.")
    assert_not_heard(trace, MENU)
    assert_ended(trace, "hangup (locked)")


def test_attempts_are_counted_per_call(sim: Simulator) -> None:
    for _ in range(2):
        trace = sim.call(from_=JORDAN, keys=["1111#", "2222#"])
        assert_heard(trace, "That PIN is not correct. You have 1 more try.", exact=True)
        assert_not_heard(trace, "For your security")


def test_no_pin_ends_the_call(sim: Simulator) -> None:
    trace = sim.call(from_=JORDAN, keys=[None, "#"])  # only the stop key is no input too
    assert trace.heard == [
        "Welcome to Acme Bank.",
        ASK_PIN,
        ASK_PIN,
        "We did not get your PIN. Goodbye.",
    ]
    assert pin_checks(trace) == 0
    assert_ended(trace, "hangup (no-pin)")


def test_an_unknown_caller_is_not_asked_for_a_pin(sim: Simulator) -> None:
    trace = sim.call(from_="+15550100777", keys=[PIN])
    assert trace.heard == [
        "Sorry, we cannot find an account for the number you are calling from. Goodbye."
    ]
    assert_ended(trace, "hangup (unknown-caller)")


def test_each_caller_has_their_own_pin(sim: Simulator) -> None:
    assert_heard(sim.call(from_=PRIYA, keys=[PIN]), "That PIN is not correct.")
    trace = sim.call(from_=PRIYA, keys=["1357#", "1"])
    assert_heard(trace, "Thank you, Priya.", exact=True)
    assert_heard(trace, "Your balance is 0 dollars.", exact=True)


# -- the menu ------------------------------------------------------------------------------


def test_2_gives_the_last_payment(sim: Simulator) -> None:
    trace = sim.call(from_=JORDAN, keys=[PIN, "2", "9"])
    assert_heard(trace, "Your last payment was 40 dollars, on November 20.", exact=True)
    assert_ended(trace, "hangup (bye)")


def test_a_wrong_key_gives_the_menu_again(sim: Simulator) -> None:
    trace = sim.call(from_=JORDAN, keys=[PIN, "5", "9"])
    assert trace.heard[3:] == [MENU, "Sorry, that is not an option.", MENU, SIGNED_OUT]


def test_no_choice_ends_the_call(sim: Simulator) -> None:
    trace = sim.call(from_=JORDAN, keys=[PIN, None, None])
    assert trace.heard[3:] == [MENU, MENU, "We did not hear a choice. Goodbye."]
    assert_ended(trace, "hangup (no-input)")


def test_the_menu_needs_a_signed_in_session() -> None:
    reply = TestClient(account.app).get("/menu", params={"from": JORDAN})
    assert b"Please call again to sign in." in reply.content
    assert b"For your balance" not in reply.content


@pytest.mark.parametrize(
    ("keys", "menu_after"),
    [pytest.param([PIN], True, id="signed-in"), pytest.param([PIN, "9"], False, id="signed-out")],
)
def test_signing_out_ends_the_session(
    callflow_simulator: SimulatorFactory, keys: list[str], menu_after: bool
) -> None:
    """Fetch the menu's own link again, as the same call, after the call ended."""
    recorder = ServedDocuments(account.app)
    trace = callflow_simulator(recorder).call(from_=JORDAN, keys=keys)
    menu = next(document for document in recorder.documents if MENU.encode() in document)
    link = next(
        el.url for el in parse(menu).iter() if isinstance(el, Callback) and "/menu?" in el.url
    )
    same_call = urlencode({"call": trace.requests[-1].params["call"], "from": JORDAN})
    reply = TestClient(account.app).get(f"{link}&{same_call}")
    assert (MENU.encode() in reply.content) is menu_after


@pytest.mark.parametrize(
    ("cents", "spoken"),
    [
        (0, "0 dollars"),
        (100, "1 dollar"),
        (101, "1 dollar and 1 cent"),
        (12_550, "125 dollars and 50 cents"),
    ],
)
def test_dollars(cents: int, spoken: str) -> None:
    assert account.dollars(cents) == spoken


# -- documents -----------------------------------------------------------------------------


def test_constant_documents_are_strictly_valid() -> None:
    for document in (account.UNKNOWN_CALLER, account.LOCKED, account.NOT_SIGNED_IN):
        assert validate(document, strict=True) == []


@pytest.mark.parametrize(
    ("keys", "served"),
    [
        pytest.param([PIN, "1", "2", "5", "9"], 7, id="menu"),
        pytest.param(["1#", "2#", "3#"], 4, id="locked"),
    ],
)
def test_every_served_document_is_strictly_valid(
    callflow_simulator: SimulatorFactory, keys: list[str], served: int
) -> None:
    recorder = ServedDocuments(account.app)
    trace = callflow_simulator(recorder).call(from_=JORDAN, keys=keys)
    assert_ended(trace)
    assert_strictly_valid(recorder.documents, at_least=served)


def test_signing_in_against_callflow_serve(
    start_server: ServerFactory, callflow_simulator: SimulatorFactory
) -> None:
    server = start_server(app="examples.account:app")
    trace = callflow_simulator(server.base_url + "/").call(from_=JORDAN, keys=["1#", PIN, "1"])
    assert_heard(trace, "That PIN is not correct. You have 2 more tries.", exact=True)
    assert_heard(trace, "Your balance is 125 dollars and 50 cents.", exact=True)
