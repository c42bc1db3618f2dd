"""The demo support line: greeting, business hours, menu, dial with voicemail fallback,
and an account lookup that round-trips to a second Python step with signed state and answers
from a template (``templates/balance.xml``)."""

from __future__ import annotations

from callflow import (
    DTMF,
    Callback,
    CallContext,
    Default,
    Dial,
    Error,
    Gather,
    Hangup,
    Meta,
    Pause,
    Record,
    Rendered,
    Response,
    Router,
    Say,
    Schedule,
    Sip,
    To,
)

router = Router()

SUPPORT_NUMBER = "15550100200"
SUPPORT_DESK = "desk@acme.sip.opentact.org"
VOICEMAIL_MS = 60_000

# Constant subtrees are built once: their XML is cached and reused on every call.
VOICEMAIL = (
    Say("Please leave a message after the tone, then press pound."),
    Record(Pause(length=VOICEMAIL_MS, dtmf_stop="#"), tag="voicemail", asr=True),
    Say("Thank you. Goodbye."),
    Hangup(tag="voicemail"),
)
CLOSED = (
    Say("Our office is closed. Opening hours are nine to six, Monday to Friday."),
    *VOICEMAIL,
)
AFTER_HOURS = Schedule(*CLOSED, time="18:00:00-08:59:59")
WEEKEND = Schedule(*CLOSED, dow=("sat", "sun"))
SUPPORT = DTMF(
    Say("Connecting you to support."),
    Dial(To(SUPPORT_NUMBER), Sip(SUPPORT_DESK), Error(Say("Nobody is available."), *VOICEMAIL)),
    value="1",
)
HOURS = DTMF(Callback(url="/documents/hours.xml"), value="3")
NOT_AN_OPTION = Default(Say("Sorry, that is not an option."), tag="bad-key")
NO_INPUT = Error(Say("We did not hear a choice. Goodbye."), Hangup(tag="no-input"))


MAIN_MENU = Response(
    Say("Thank you for calling Acme support."),
    Meta("entry", "main-menu"),
    WEEKEND,
    AFTER_HOURS,
    Gather(
        Say("For support, press 1. For your account balance, press 2. For our hours, press 3."),
        SUPPORT,
        # A path-only URL: the app makes it absolute (adding the access key and the session
        # when there are any) when it is sent.
        DTMF(Callback(url="/account/prompt"), value="2"),
        HOURS,
        NOT_AN_OPTION,
        NO_INPUT,
        dtmf_length=1,
        timeout=6000,
        attempts=2,
    ),
    Say("Goodbye."),
    Hangup(),
)


@router.flow("/", name="main")
async def main(call: CallContext) -> Response:
    """Greet, close outside business hours, then offer the menu.

    The menu is the same for every caller, so it is built once; its XML is rendered on the
    first call and reused. A flow with no blocking I/O is ``async``: it runs on the event
    loop instead of a worker thread.
    """
    return MAIN_MENU


@router.flow("/account/prompt", name="account_prompt")
async def account_prompt(call: CallContext) -> Response:
    """Ask for the account number; the digits go to the ``account`` step."""
    attempt = int((call.state or {}).get("attempt", 1))
    return Response(
        Gather(
            Say("Please enter your six digit account number, then press pound."),
            Error(Say("We did not get your account number. Goodbye."), Hangup(tag="no-input")),
            dtmf_length=6,
            dtmf_stop="#",
            timeout=8000,
            url=call.url_for("account", state={"attempt": attempt}),
        ),
    )


@router.flow("/account", name="account")
async def account(call: CallContext) -> Response | Rendered:
    """Read the account number collected by the Gather; retry once on a short number, else
    speak the balance (the template gets the last four digits, and reads them one by one)."""
    attempt = int((call.state or {}).get("attempt", 1))
    digits = call.digits or ""
    if len(digits) != 6:
        if attempt >= 2:
            return Response(Say("Sorry, we could not find that account. Goodbye."), Hangup())
        retry = call.url_for("account_prompt", state={"attempt": attempt + 1})
        return Response(Say("That was not six digits."), Callback(url=retry))
    call.session["account"] = digits
    return call.render_template("balance.xml", ending=digits[-4:])
