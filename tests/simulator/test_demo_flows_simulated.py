"""The demo flows (``flows:app``) simulated end to end along every branch, in process and
against a real ``callflow serve flows:app`` on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from starlette.testclient import TestClient

from callflow.simulator.inputs import DialScript
from callflow.simulator.trace import CallbackEvent, ErrorEvent, GatherEvent, RecordEvent, Trace
from callflow.testing import (
    Simulator,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_requested,
)
from flows import app as demo_app

if TYPE_CHECKING:
    from conftest import Server

WELCOME = "Thank you for calling Acme support."
MENU = "For support, press 1. For your account balance, press 2. For our hours, press 3."
SUPPORT_NUMBER = "15550100200"
SUPPORT_DESK = "desk@acme.sip.opentact.org"
ACCOUNT_PROMPT = "Please enter your six digit account number, then press pound."
CLOSED = "Our office is closed. Opening hours are nine to six, Monday to Friday."
VOICEMAIL = [
    "Please leave a message after the tone, then press pound.",
    "Thank you. Goodbye.",
]
HOURS = "We are open from nine in the morning to six in the evening, Monday to Friday."
MONDAY_NOON = datetime(2024, 6, 3, 12, 0, 0)


# -- targets: the App in process, and a real server ----------------------------------------------


@pytest.fixture(params=["in-process", "served"])
def target(request: pytest.FixtureRequest) -> object:
    """The demo flows: the App itself, or the URL of a real server running them."""
    if request.param == "served":
        server: Server = request.getfixturevalue("demo_server")
        return f"{server.base_url}/"
    return demo_app


def call(
    target: object,
    *,
    keys: Sequence[str | None] = (),
    dial: Sequence[DialScript] = (),
    at: datetime = MONDAY_NOON,
    redact: bool = True,
) -> Trace:
    with Simulator(target, redact=redact) as simulator:
        return simulator.call(keys=keys, dial=dial, at=at)


# -- the main menu -------------------------------------------------------------------------------


def test_support_answered(target: object) -> None:
    trace = call(target, keys=["1"])
    assert trace.heard == [WELCOME, MENU, "Connecting you to support.", "Goodbye."]
    assert trace.dialed == [SUPPORT_NUMBER, SUPPORT_DESK]
    assert trace.hangup_reason == "hangup"
    assert_ended(trace, "hangup")


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_support_unavailable_goes_to_voicemail(target: object, outcome: str) -> None:
    trace = call(target, keys=["1"], dial=[outcome])
    assert trace.heard == [
        WELCOME,
        MENU,
        "Connecting you to support.",
        "Nobody is available.",
        *VOICEMAIL,
    ]
    assert trace.of(ErrorEvent)[0].handled
    (record,) = trace.of(RecordEvent)
    assert record.tag == "voicemail"
    assert trace.hangup_reason == "hangup (voicemail)"
    assert_dialed(trace, SUPPORT_DESK)


def test_account_balance_round_trip(target: object) -> None:
    trace = call(target, keys=["2", "123456#"])
    assert trace.heard == [
        WELCOME,
        MENU,
        ACCOUNT_PROMPT,
        "The balance of the account ending in 3 4 5 6 is twelve dollars and fifty cents.",
        "Goodbye.",
    ]
    assert trace.hangup_reason == "hangup (balance)"
    assert [request.purpose for request in trace.requests] == ["webhook", "callback", "gather"]
    assert all(request.status == 200 for request in trace.requests)
    callback, gather = trace.requests[1:]
    assert urlsplit(callback.url).path == "/account/prompt"
    assert callback.params["entry"] == "main-menu"  # the Meta of the main flow
    assert urlsplit(gather.url).path == "/account"
    assert "cf_state" in dict(parse_qsl(urlsplit(gather.url).query))  # signed state
    assert gather.params["dtmf"] == "123456"


def test_short_account_number_is_retried(target: object) -> None:
    trace = call(target, keys=["2", "12#", "654321#"])
    assert trace.heard == [
        WELCOME,
        MENU,
        ACCOUNT_PROMPT,
        "That was not six digits.",
        ACCOUNT_PROMPT,
        "The balance of the account ending in 4 3 2 1 is twelve dollars and fifty cents.",
        "Goodbye.",
    ]
    assert trace.hangup_reason == "hangup (balance)"


def test_short_account_number_twice_gives_up(target: object) -> None:
    trace = call(target, keys=["2", "12#", "1#"])
    assert trace.heard[-3:] == [
        "That was not six digits.",
        ACCOUNT_PROMPT,
        "Sorry, we could not find that account. Goodbye.",
    ]
    assert trace.hangup_reason == "hangup"  # the signed attempt counter reached 2


def test_no_account_number(target: object) -> None:
    trace = call(target, keys=["2"])
    assert trace.heard == [
        WELCOME,
        MENU,
        ACCOUNT_PROMPT,
        "We did not get your account number. Goodbye.",
    ]
    assert trace.hangup_reason == "hangup (no-input)"
    assert [request.purpose for request in trace.requests] == ["webhook", "callback"]


def test_hours_document(target: object) -> None:
    trace = call(target, keys=["3"])
    assert trace.heard == [WELCOME, MENU, HOURS, "Goodbye."]
    assert trace.hangup_reason == "hangup"
    (callback,) = trace.of(CallbackEvent)
    url = urlsplit(callback.url)  # made absolute by the App
    assert (url.scheme, url.path, url.query) == ("http", "/documents/hours.xml", "")
    assert_requested(trace, "/documents/hours.xml")


def test_bad_key(target: object) -> None:
    trace = call(target, keys=["9"])
    assert trace.heard == [WELCOME, MENU, "Sorry, that is not an option.", "Goodbye."]
    assert trace.of(GatherEvent)[0].outcome == "default"
    assert trace.hangup_reason == "hangup"


def test_no_input(target: object) -> None:
    trace = call(target)
    assert trace.heard == [WELCOME, MENU, MENU, "We did not hear a choice. Goodbye."]
    assert trace.hangup_reason == "hangup (no-input)"
    assert trace.dialed == []


def test_no_input_then_a_choice(target: object) -> None:
    trace = call(target, keys=[None, "3"])
    assert trace.heard == [WELCOME, MENU, MENU, HOURS, "Goodbye."]


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(datetime(2024, 6, 1, 12, 0), id="saturday"),
        pytest.param(datetime(2024, 6, 2, 10, 0), id="sunday"),
        pytest.param(datetime(2024, 6, 3, 20, 0), id="monday-evening"),
        pytest.param(datetime(2024, 6, 4, 7, 30), id="tuesday-early"),
        pytest.param(datetime(2024, 6, 4, 0, 0), id="midnight"),
    ],
)
def test_closed_goes_to_voicemail(target: object, at: datetime) -> None:
    trace = call(target, keys=["1"], at=at)
    assert trace.heard == [WELCOME, CLOSED, *VOICEMAIL]
    assert trace.of(GatherEvent) == []
    assert trace.dialed == []
    assert trace.hangup_reason == "hangup (voicemail)"


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(datetime(2024, 6, 3, 9, 30), id="monday-morning"),
        pytest.param(datetime(2024, 6, 7, 17, 30), id="friday-afternoon"),
    ],
)
def test_open_during_business_hours(target: object, at: datetime) -> None:
    trace = call(target, keys=["9"], at=at)
    assert_heard(trace, MENU, exact=True)
    assert trace.hangup_reason == "hangup"


# -- what only the in-process App shows ---------------------------------------------------------


def test_account_number_is_kept_in_the_session() -> None:
    trace = call(demo_app, keys=["2", "123456#"], redact=False)  # the token is read below
    gather = trace.requests[-1]
    # The session travels as a token callflow signed for this call, never keyed by the uuid.
    token = dict(parse_qsl(urlsplit(gather.url).query))["cf_session"]
    secret = demo_app.settings.secret
    assert secret is not None
    payload = URLSafeTimedSerializer(secret, salt="callflow.session").loads(token)
    assert asyncio.run(demo_app.store.load(payload["s"]["k"])) == {"account": "123456"}


def test_tampered_state_is_rejected() -> None:
    trace = call(demo_app, keys=["2", "123456#"], redact=False)  # the token is forged below
    account_url = trace.requests[2].url  # the Gather of the account prompt, with its state
    assert urlsplit(account_url).path == "/account"
    token = dict(parse_qsl(urlsplit(account_url).query))["cf_state"]
    payload, _, rest = token.partition(".")
    first = "A" if payload[0] != "A" else "B"
    forged = account_url.replace(token, f"{first}{payload[1:]}.{rest}")
    with TestClient(demo_app) as client:
        assert client.get(account_url).status_code == 200
        assert client.get(forged).status_code == 403
