"""Small Apps, each broken in one way that ``callflow explore`` must find (and one that is
not broken), served as ``tests.simulator.explore.explore_apps:NAME`` from the repository root.
"""

from __future__ import annotations

import asyncio

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Default,
    Dial,
    Error,
    Gather,
    Geo,
    Hangup,
    Response,
    Say,
    Schedule,
    To,
)

SECRET = "explore-tests"


def _app(**options: object) -> App:
    return App(secret=SECRET, **options)  # type: ignore[arg-type]


def menu(*branches: DTMF, **options: object) -> Gather:
    """A one-key menu with the given branches, a Default and an Error that hang up."""
    return Gather(
        Say("Choose."),
        *branches,
        Default(Say("No such option."), Hangup(tag="bad-key")),
        Error(Say("Goodbye."), Hangup(tag="no-input")),
        dtmf_length=1,
        **options,  # type: ignore[arg-type]
    )


# -- clean ----------------------------------------------------------------------------------

clean = _app()


@clean.flow("/", name="main")
async def clean_main(call: CallContext) -> Response:
    return Response(
        menu(
            DTMF(Say("One."), Hangup(tag="one"), value="1"),
            DTMF(Callback(url="/next"), value="2"),
        )
    )


@clean.flow("/next", name="next_step")
async def clean_next(call: CallContext) -> Response:
    return Response(Say("Next."), Hangup(tag="next"))


# -- CF701: a link to a path nothing serves -------------------------------------------------

missing_link = _app()


@missing_link.flow("/", name="main")
async def missing_main(call: CallContext) -> Response:
    return Response(
        menu(
            DTMF(Hangup(tag="one"), value="1"),
            DTMF(Callback(url="/nowhere", tag="lost"), value="2"),
        )
    )


# -- CF702: a flow that returns an invalid document -------------------------------------------

invalid_document = _app()


@invalid_document.flow("/", name="main")
async def invalid_main(call: CallContext) -> Response:
    return Response(menu(DTMF(Callback(url="/broken"), value="1")))


@invalid_document.flow("/broken", name="broken")
async def invalid_broken(call: CallContext) -> str:
    return "<Response><Say>unclosed</Response>"


# -- CF703: a path that ends in silence -------------------------------------------------------

silence = _app()


@silence.flow("/", name="main")
async def silent_main(call: CallContext) -> Response:
    return Response(
        menu(
            DTMF(Hangup(tag="one"), value="1"),
            DTMF(Callback(url="/thanks"), value="2"),
        ),
        Hangup(tag="after-menu"),
    )


@silence.flow("/thanks", name="thanks")
async def silent_thanks(call: CallContext) -> Response:
    return Response(Say("Thank you for calling."))  # then nothing: silence


silent_after_menu = _app()


@silent_after_menu.flow("/", name="main")
async def silent_after(call: CallContext) -> Response:
    # Every branch continues after the Gather, where the document ends.
    return Response(Gather(Say("Press 1."), DTMF(Say("One."), value="1"), dtmf_length=1))


# -- CF704: a cycle no key press leaves --------------------------------------------------------

trap = _app()


@trap.flow("/", name="main")
async def trap_main(call: CallContext) -> Response:
    return Response(
        menu(DTMF(Hangup(tag="one"), value="1"), DTMF(Callback(url="/hold"), value="2"))
    )


@trap.flow("/hold", name="hold")
async def trap_hold(call: CallContext) -> Response:
    # Every key, and no key, comes back here.
    again = Callback(url="/hold")
    return Response(
        Gather(
            Say("Please hold."),
            DTMF(again, value="1"),
            Default(again),
            Error(again),
            dtmf_length=1,
        )
    )


# -- CF705: branches and flows no input reaches -------------------------------------------------

unreachable = _app()


@unreachable.flow("/", name="main")
async def unreachable_main(call: CallContext) -> Response:
    return Response(
        Gather(
            Say("Press 1."),
            DTMF(Say("One."), Hangup(tag="one"), value="1"),
            DTMF(Say("Never."), Hangup(tag="never"), value="12"),  # longer than dtmf_length
            Default(Hangup(tag="bad-key")),
            Error(Hangup(tag="no-input")),
            dtmf_length=1,
        ),
        Hangup(tag="after"),
    )


@unreachable.flow("/orphan", name="orphan")
async def unreachable_orphan(call: CallContext) -> Response:
    return Response(Say("Nobody links here."), Hangup())


# -- CF706: flows that raise or time out --------------------------------------------------------

raising = _app(flow_timeout_ms=200)


@raising.flow("/", name="main")
async def raising_main(call: CallContext) -> Response:
    return Response(
        Gather(
            Say("Enter your order number."),
            Error(Hangup(tag="no-input")),
            dtmf_length=1,
            url=call.url_for("lookup"),
        )
    )


@raising.flow("/lookup", name="lookup")
async def raising_lookup(call: CallContext) -> Response:
    if call.digits == "7":
        raise ZeroDivisionError("order 7 divides by zero")
    if call.digits == "8":
        await asyncio.sleep(5)  # past flow_timeout_ms
    return Response(Say(f"Order {call.digits}."), Hangup(tag="order"))


# -- not in service: numbered flows only ------------------------------------------------------

numbers_only = _app()


@numbers_only.flow("/sales", name="sales", numbers=["+15550100300"])
async def sales(call: CallContext) -> Response:
    return Response(Say("Sales."), Hangup(tag="sales"))


# -- what exploration tries: filters and Dials --------------------------------------------------

filtered = _app(time_zone="Europe/Paris")


@filtered.flow("/", name="main")
async def filtered_main(call: CallContext) -> Response:
    return Response(
        Schedule(Say("Closed at the weekend."), Hangup(tag="weekend"), dow=("sat", "sun")),
        Schedule(Say("Closed at night."), Hangup(tag="night"), time="20:00:00-07:59:59"),
        Geo(Say("Hello Texas."), Hangup(tag="texas"), states=("TX",)),
        Dial(To("15550100400"), Error(Say("Busy."), Hangup(tag="dial-failed"))),
        Hangup(tag="dialled"),
    )


# -- what exploration tries: every value of every Gather --------------------------------------

two_menus = _app()


@two_menus.flow("/", name="main")
async def two_menus_main(call: CallContext) -> Response:
    # A key the first menu has no branch for, or none, goes on to the second menu.
    return Response(
        Gather(
            Say("Press 1 or 2."),
            DTMF(Hangup(tag="one"), value="1"),
            DTMF(Hangup(tag="two"), value="2"),
            dtmf_length=1,
        ),
        Gather(
            Say("Press 7 or 8."),
            DTMF(Hangup(tag="seven"), value="7"),
            DTMF(Hangup(tag="eight"), value="8"),
            Default(Hangup(tag="other-key")),
            Error(Hangup(tag="no-input")),
            dtmf_length=1,
        ),
        Hangup(tag="after"),
    )


# -- times in the App's time zone, places in each state ------------------------------------------

pacific = _app(time_zone="America/Los_Angeles")


@pacific.flow("/", name="main")
async def pacific_main(call: CallContext) -> Response:
    # One hour, far from UTC: a window read in the wrong time zone is never inside.
    return Response(
        Schedule(Hangup(tag="nine-oclock"), time="09:00:00-09:59:59"),
        Schedule(Hangup(tag="tuesday"), dow=("tue",)),
        Hangup(tag="other-times"),
    )


west = _app()


@west.flow("/", name="main")
async def west_main(call: CallContext) -> Response:
    return Response(
        Geo(Say("Hello the West."), Hangup(tag="west"), states=("AZ", "CA", "NV")),
        Hangup(tag="elsewhere"),
    )


# -- every registered number is a start ------------------------------------------------------

two_numbers = _app()


@two_numbers.flow("/sales", name="sales", numbers=["+15550100300"])
async def two_sales(call: CallContext) -> Response:
    return Response(Say("Sales."), Hangup(tag="sales"))


@two_numbers.flow("/support", name="support", numbers=["+15550100400", "+15550100401"])
async def two_support(call: CallContext) -> Response:
    return Response(Say("Support."), Hangup(tag="support"))


# -- signed state and sessions, as on a real call ---------------------------------------------

stateful = _app()


@stateful.flow("/", name="main")
async def stateful_main(call: CallContext) -> Response:
    call.session["caller"] = "known"
    return Response(Callback(url=call.url_for("round", state={"round": 1})))


@stateful.flow("/round", name="round")
async def stateful_round(call: CallContext) -> Response:
    # Without the signed state every round would be the first (a trap); without the
    # session the third round raises.
    done = int((call.state or {}).get("round", 1))
    if done < 3:
        return Response(
            Say(f"Round {done}."), Callback(url=call.url_for("round", state={"round": done + 1}))
        )
    if call.session.get("caller") != "known":
        raise LookupError("the session was lost")
    return Response(Say("Third round."), Hangup(tag="third-round"))


# -- CF707: a flow whose documents never repeat -------------------------------------------------

endless = _app()


@endless.flow("/", name="main")
async def endless_main(call: CallContext) -> Response:
    count = int((call.state or {}).get("count", 0))
    # A counter that never stops: every document is new.
    return Response(
        Say(f"Count {count}."), Callback(url=call.url_for("main", state={"count": count + 1}))
    )


# -- a finding only a Saturday call from California meets --------------------------------------

saturday_west = _app(time_zone="America/Los_Angeles")


@saturday_west.flow("/", name="main")
async def saturday_west_main(call: CallContext) -> Response:
    return Response(
        Schedule(
            Geo(Callback(url="/weekend-west"), states=("CA",)),  # nothing serves it: CF701
            dow=("sat",),
        ),
        Say("Hello."),
        Hangup(tag="hello"),
    )


# -- CF707: a flow that is not deterministic ----------------------------------------------------

fickle = _app()
_fickle_calls = [0]


@fickle.flow("/", name="main")
async def fickle_main(call: CallContext) -> Response:
    # Every other call dials instead of asking: a replayed call goes another way.
    _fickle_calls[0] += 1
    if _fickle_calls[0] % 2 == 0:
        return Response(Dial(To("15550100400")), Hangup(tag="dialled"))
    return Response(menu(DTMF(Hangup(tag="one"), value="1")))
