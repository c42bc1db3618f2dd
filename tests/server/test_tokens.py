"""Signed ``state`` tokens bound to a path, a call or a pair of numbers (callflow.server.state)."""

from __future__ import annotations

from typing import Any

import pytest

from callflow.exceptions import InvalidState
from callflow.server.state import StateSigner

SECRET = "a-test-secret-that-is-long-enough-for-production"
PATH = "/menu"
STATE = {"step": 2, "lang": "en"}
CALLER, CALLED = "+15550100200", "+12125550100"
OTHER_NUMBERS = "state token was issued for another caller or called number"

Numbers = tuple[str | None, str | None]


@pytest.fixture
def signer() -> StateSigner:
    return StateSigner(SECRET)


@pytest.mark.parametrize(
    "numbers",
    [
        pytest.param((CALLER, CALLED), id="both"),
        pytest.param((CALLER, None), id="no-called"),
        pytest.param((None, CALLED), id="no-caller"),
        pytest.param((None, None), id="neither"),
    ],
)
def test_a_numbers_bound_token_verifies_with_the_same_numbers(
    signer: StateSigner, numbers: Numbers
) -> None:
    token = signer.sign(STATE, PATH, numbers=numbers)
    assert signer.verify(token, PATH, numbers=numbers) == STATE


@pytest.mark.parametrize(
    ("signed", "verified"),
    [
        pytest.param((CALLER, CALLED), ("+15550100999", CALLED), id="other-caller"),
        pytest.param((CALLER, CALLED), (CALLER, "+12125550999"), id="other-called"),
        pytest.param((CALLER, CALLED), (CALLED, CALLER), id="swapped"),
        pytest.param((CALLER, CALLED), (CALLER, None), id="called-missing"),
        pytest.param((CALLER, None), (CALLER, CALLED), id="called-added"),
        pytest.param((CALLER, CALLED), None, id="numbers-none"),
        pytest.param((CALLER, CALLED), (None, None), id="numbers-both-none"),
    ],
)
def test_a_numbers_bound_token_fails_for_other_numbers(
    signer: StateSigner, signed: Numbers, verified: Numbers | None
) -> None:
    token = signer.sign(STATE, PATH, numbers=signed)
    with pytest.raises(InvalidState) as caught:
        signer.verify(token, PATH, numbers=verified)
    assert caught.value.reason == OTHER_NUMBERS
    assert str(caught.value) == OTHER_NUMBERS


@pytest.mark.parametrize(
    "numbers",
    [
        pytest.param((CALLER, CALLED), id="same-numbers"),
        pytest.param(("+15550100999", "+12125550999"), id="other-numbers"),
        pytest.param(None, id="no-numbers"),
    ],
)
def test_a_call_bound_token_ignores_numbers(signer: StateSigner, numbers: Numbers | None) -> None:
    token = signer.sign(STATE, PATH, call="call-1", numbers=(CALLER, CALLED))
    assert signer.verify(token, PATH, call="call-1", numbers=numbers) == STATE


def test_a_call_bound_token_still_needs_its_call(signer: StateSigner) -> None:
    token = signer.sign(STATE, PATH, call="call-1", numbers=(CALLER, CALLED))
    with pytest.raises(InvalidState) as caught:
        signer.verify(token, PATH, call="call-2", numbers=(CALLER, CALLED))
    assert caught.value.reason == "state token was issued for another call"


@pytest.mark.parametrize(
    "numbers",
    [pytest.param((CALLER, CALLED), id="numbers"), pytest.param(None, id="no-numbers")],
)
def test_an_unbound_token_verifies_with_any_numbers(
    signer: StateSigner, numbers: Numbers | None
) -> None:
    token = signer.sign(STATE, PATH)
    assert signer.verify(token, PATH, numbers=numbers) == STATE


def test_numbers_do_not_move_a_token_to_another_path(signer: StateSigner) -> None:
    token = signer.sign(STATE, PATH, numbers=(CALLER, CALLED))
    with pytest.raises(InvalidState) as caught:
        signer.verify(token, "/other", numbers=(CALLER, CALLED))
    assert caught.value.reason == "state token was issued for another path"


def test_a_numbers_bound_token_survives_key_rotation() -> None:
    token = StateSigner("old-secret").sign(STATE, PATH, numbers=(CALLER, CALLED))
    rotated = StateSigner("new-secret", old_secrets=["old-secret"])
    assert rotated.verify(token, PATH, numbers=(CALLER, CALLED)) == STATE
    with pytest.raises(InvalidState) as caught:
        StateSigner("new-secret").verify(token, PATH, numbers=(CALLER, CALLED))
    assert caught.value.reason == "state token signature is invalid"


@pytest.mark.parametrize(
    "state",
    [
        pytest.param(None, id="none"),
        pytest.param("text", id="text"),
        pytest.param([1, 2, {"a": None}], id="nested"),
    ],
)
def test_numbers_bound_state_round_trips(signer: StateSigner, state: Any) -> None:
    token = signer.sign(state, PATH, numbers=(CALLER, CALLED))
    assert signer.verify(token, PATH, numbers=(CALLER, CALLED)) == state
