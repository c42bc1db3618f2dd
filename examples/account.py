"""A PIN-protected account line: the caller signs in with a PIN, then uses a menu.

The account is the one of the number calling (caller ID); the PIN proves it is its owner.

What it shows:

* a PIN collected with ``Gather(dtmf_stop="#")`` and sent to a Python step
  (``url=call.url_for(...)``), compared in constant time;
* ``call.session``, a dict kept between the steps of one call: it counts the PIN attempts
  (three at most, then the call ends) and, once the caller is signed in, holds the account
  the menu reads. The PIN itself is never stored, nor put in a URL;
* a menu that loops back to itself with ``Callback(url=call.url_for("menu"))``, and a sign-out
  step that clears the session.

The accounts are a dict in this module: look yours up in your database.

From the repository root::

    callflow serve examples.account:app
    callflow simulate examples.account:app --from +15550100999 --press 2468# --press 1 --press 9
    callflow simulate examples.account:app --press 1111# --press 2222# --press 3333#
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Final

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Default,
    Error,
    Gather,
    Hangup,
    Response,
    Say,
)

app = App()  # settings from CALLFLOW_* variables; see docs/configuration.md

MAX_PIN_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class Account:
    """An account, found by the number its owner calls from."""

    id: str
    owner: str
    pin: str
    balance_cents: int
    last_payment_cents: int
    last_payment_on: str
    """As it is spoken: ``November 20``."""


ACCOUNTS: Final = {
    "+15550100999": Account("AC-4411", "Jordan", "2468", 12_550, 4_000, "November 20"),
    "+15550100998": Account("AC-5120", "Priya", "1357", 0, 9_999, "December 1"),
}
"""Accounts by the owner's number, in E.164 (``call.from_`` is E.164 too)."""

UNKNOWN_CALLER = Response(
    Say("Sorry, we cannot find an account for the number you are calling from. Goodbye."),
    Hangup(tag="unknown-caller"),
)
LOCKED = Response(
    Say("That PIN is not correct. For your security, this call will now end. Goodbye."),
    Hangup(tag="locked"),
)
NOT_SIGNED_IN = Response(Say("Please call again to sign in. Goodbye."), Hangup(tag="signed-out"))


@app.flow("/", name="welcome")
async def welcome(call: CallContext) -> Response:
    """Greet the owner of the calling number and ask for the PIN."""
    if call.from_ not in ACCOUNTS:
        return UNKNOWN_CALLER
    return Response(Say("Welcome to Acme Bank."), ask_pin(call))


@app.flow("/pin", name="check_pin")
async def check_pin(call: CallContext) -> Response:
    """Check the PIN; three wrong ones end the call."""
    account = ACCOUNTS.get(call.from_ or "")
    if account is None:
        return UNKNOWN_CALLER
    attempts = int(call.session.get("pin_attempts", 0)) + 1
    call.session["pin_attempts"] = attempts
    if hmac.compare_digest((call.digits or "").encode(), account.pin.encode()):
        call.session["account"] = account.id
        return Response(
            Say(f"Thank you, {account.owner}."), Callback(url=call.url_for("menu"), tag="signed-in")
        )
    if attempts >= MAX_PIN_ATTEMPTS:
        return LOCKED
    left = MAX_PIN_ATTEMPTS - attempts
    tries = "1 more try" if left == 1 else f"{left} more tries"
    return Response(Say(f"That PIN is not correct. You have {tries}."), ask_pin(call))


@app.flow("/menu", name="menu")
async def menu(call: CallContext) -> Response:
    """The account menu: only for a caller signed in on this call."""
    account = _signed_in(call)
    if account is None:
        return NOT_SIGNED_IN
    again = Callback(url=call.url_for("menu"))
    return Response(
        Gather(
            Say("For your balance, press 1. For your last payment, press 2. To sign out, press 9."),
            DTMF(Say(f"Your balance is {dollars(account.balance_cents)}."), again, value="1"),
            DTMF(
                Say(
                    f"Your last payment was {dollars(account.last_payment_cents)}, "
                    f"on {account.last_payment_on}."
                ),
                again,
                value="2",
            ),
            DTMF(Callback(url=call.url_for("sign_out")), value="9"),
            Default(Say("Sorry, that is not an option."), again),
            Error(Say("We did not hear a choice. Goodbye."), Hangup(tag="no-input")),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
    )


@app.flow("/sign-out", name="sign_out")
async def sign_out(call: CallContext) -> Response:
    """Forget the session: an empty one is deleted from the store."""
    call.session.clear()
    return Response(Say("You are signed out. Thank you for calling. Goodbye."), Hangup(tag="bye"))


def ask_pin(call: CallContext) -> Gather:
    """Ask for the PIN; the digits (without the ``#``) go to ``check_pin``."""
    return Gather(
        Say("Please enter your PIN, then press pound."),
        Error(Say("We did not get your PIN. Goodbye."), Hangup(tag="no-pin")),
        dtmf_length=8,
        dtmf_stop="#",
        timeout=8000,
        attempts=2,
        url=call.url_for("check_pin"),
    )


def dollars(cents: int) -> str:
    """``12550`` -> ``125 dollars and 50 cents``, as it is best spoken."""
    whole, rest = divmod(cents, 100)
    spoken = f"{whole} dollar{'' if whole == 1 else 's'}"
    return f"{spoken} and {rest} cent{'' if rest == 1 else 's'}" if rest else spoken


def _signed_in(call: CallContext) -> Account | None:
    account_id = call.session.get("account")
    return next((a for a in ACCOUNTS.values() if a.id == account_id), None)
