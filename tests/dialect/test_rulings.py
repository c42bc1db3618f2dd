"""Issue 10 §3 rulings, and the value rules mutation testing found untested.

* Hold ``timeout``: any int >= 1; 300000 is the default when it is absent, not a maximum.
* Tone ``volume``: a finite decimal <= 0 (``-12.5``), written canonically (``-3.0`` as ``-3``,
  ``-0`` as ``0``, never with an exponent).
* Meta ``name``: any non-empty string without whitespace or control characters (``2fa``),
  percent-encoded when the simulator sends it.

Each rule is checked three times: by the DSL constructor, by both XSDs, and through the
render -> validate -> parse round trip; the two must agree on every value.
"""

from __future__ import annotations

import math
import pickle
import sys
import unicodedata
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from lxml import etree
from strategies import hold_milliseconds, meta_names, volumes

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Dial,
    Error,
    Gather,
    Hangup,
    Hold,
    InvalidAttributeError,
    Meta,
    Pause,
    Response,
    Say,
    Schedule,
    Slot,
    To,
    Tone,
    lint,
    parse,
    prepare,
    render,
    validate,
)
from callflow.dialect.values import DECIMAL
from callflow.simulator.trace import DialEvent, ErrorEvent, RequestEvent, Trace
from callflow.testing import Simulator, assert_ended, assert_heard, assert_not_heard

MODES = [pytest.param(False, id="compat"), pytest.param(True, id="strict")]
MONDAY_10AM = datetime(2026, 12, 7, 10, 0)


def doc(inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


def valid(inner: str, *, strict: bool) -> bool:
    return validate(doc(inner), strict=strict) == []


def attribute(element: Response, name: str) -> str | None:
    """The wire value of ``name`` on the root's first child, as rendered."""
    return etree.fromstring(render(element))[0].get(name)


# -- Hold timeout ------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [1, 120_000, 300_000, 300_001, 600_000, 10**12])
def test_any_positive_hold_timeout_is_valid(timeout: int) -> None:
    hold = Response(Hold(timeout=timeout))
    assert attribute(hold, "timeout") == str(timeout)
    for strict in (False, True):
        assert validate(render(hold), strict=strict) == []
        assert parse(render(hold), strict=strict) == hold


@pytest.mark.parametrize(
    ("timeout", "rule"),
    [
        pytest.param(0, "must be >= 1 (milliseconds)", id="zero"),
        pytest.param(-1, "must be >= 1 (milliseconds)", id="negative"),
        pytest.param(True, "must be an int", id="bool"),
        pytest.param(1.5, "must be an int", id="float"),
        pytest.param("300000", "must be an int", id="str"),
    ],
)
def test_hold_timeout_must_be_an_int_of_at_least_one(timeout: object, rule: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Hold(timeout=timeout)  # type: ignore[arg-type]
    assert (info.value.element, info.value.attribute, info.value.rule) == ("Hold", "timeout", rule)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1", True),
        ("300000", True),
        ("300001", True),
        ("600000", True),
        ("99999999999999999999", True),
        ("0", False),
        ("-1", False),
        ("+5", False),
        ("1.5", False),
        ("", False),
    ],
)
def test_both_schemas_read_hold_timeout_as_the_dsl_does(text: str, ok: bool, mode: bool) -> None:
    assert valid(f'<Hold timeout="{text}"/>', strict=mode) is ok


def test_a_simulated_hold_lasts_its_whole_timeout_past_the_default() -> None:
    app = App(secret="rulings")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        # Ten minutes on hold, then a Schedule that only matches ten minutes later.
        return Response(
            Hold(timeout=600_000),
            Schedule(Say("Ten minutes later."), time="10:10:00-10:10:59"),
            Hangup(),
        )

    with Simulator(app) as sim:
        trace = sim.call(at=MONDAY_10AM)
    assert_heard(trace, "Ten minutes later.")


# -- Tone volume -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_", "stored", "wire"),
    [
        pytest.param(-12, -12, "-12", id="int"),
        pytest.param(0, 0, "0", id="zero"),
        pytest.param(-12.5, -12.5, "-12.5", id="decimal"),
        pytest.param(-12.50, -12.5, "-12.5", id="trailing-zero"),
        pytest.param(-3.0, -3, "-3", id="whole-float-is-an-int"),
        pytest.param(-0.0, 0, "0", id="minus-zero-is-zero"),
        pytest.param(-0.00001, -0.00001, "-0.00001", id="no-exponent-small"),
        pytest.param(-1.5e-7, -1.5e-7, "-0.00000015", id="no-exponent-tiny"),
        pytest.param(-1e20, -(10**20), "-100000000000000000000", id="no-exponent-large"),
        pytest.param(-(10**30), -(10**30), "-" + "1" + "0" * 30, id="big-int"),
        pytest.param("-12.5", -12.5, "-12.5", id="wire-text"),
        pytest.param("-3.0", -3, "-3", id="wire-text-whole"),
        pytest.param("-0", 0, "0", id="wire-text-minus-zero"),
        pytest.param(" -1.25\n", -1.25, "-1.25", id="wire-text-xml-whitespace"),
    ],
)
def test_tone_volume_is_a_decimal_written_canonically(
    given_: float | str, stored: float, wire: str
) -> None:
    tone = Tone(volume=given_)  # type: ignore[arg-type]
    assert tone.volume == stored
    assert type(tone.volume) is int if isinstance(stored, int) else isinstance(tone.volume, float)
    assert str(tone.volume) == wire == repr(tone.volume)
    document = Response(tone)
    assert attribute(document, "volume") == wire
    for strict in (False, True):
        assert validate(render(document), strict=strict) == []
        assert parse(render(document), strict=strict) == document


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        pytest.param(1, "must be <= 0 (dB, 0 is loudest)", id="one"),
        pytest.param(0.5, "must be <= 0 (dB, 0 is loudest)", id="half"),
        pytest.param(5e-324, "must be <= 0 (dB, 0 is loudest)", id="tiniest-positive"),
        pytest.param("0.5", "must be <= 0 (dB, 0 is loudest)", id="wire-positive"),
        pytest.param(math.nan, "must be a finite number", id="nan"),
        pytest.param(-math.inf, "must be a finite number", id="minus-inf"),
        pytest.param(math.inf, "must be a finite number", id="inf"),
        pytest.param("-1" + "0" * 400 + ".5", "must be a finite number", id="beyond-float"),
        pytest.param(True, "must be a number (int or float)", id="bool"),
        pytest.param(Decimal("-1"), "must be a number (int or float)", id="decimal-object"),
        pytest.param([-1], "must be a number (int or float)", id="list"),
    ],
)
def test_tone_volume_rejects(value: object, rule: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Tone(volume=value)  # type: ignore[arg-type]
    assert (info.value.element, info.value.attribute, info.value.rule) == ("Tone", "volume", rule)


WIRE_VOLUMES = [
    pytest.param("-12", True, id="int"),
    pytest.param("-12.5", True, id="decimal"),
    pytest.param("0", True, id="zero"),
    pytest.param("-0", True, id="minus-zero"),
    pytest.param("-0.0", True, id="minus-zero-point-zero"),
    pytest.param("-3.000", True, id="whole-with-zeros"),
    pytest.param("-00012.5", True, id="leading-zeros"),
    pytest.param("1", False, id="positive"),
    pytest.param("0.5", False, id="positive-decimal"),
    pytest.param("-1e3", False, id="exponent"),
    pytest.param("-1E3", False, id="exponent-upper"),
    pytest.param("NaN", False, id="nan"),
    pytest.param("nan", False, id="nan-lower"),
    pytest.param("-INF", False, id="minus-inf"),
    pytest.param("-inf", False, id="minus-inf-lower"),
    pytest.param("+0", False, id="plus"),
    pytest.param("-.5", False, id="no-integer-part"),
    pytest.param("-5.", False, id="no-fraction-digits"),
    pytest.param("-1_0", False, id="underscore"),
    pytest.param("", False, id="empty"),
    pytest.param("-12 dB", False, id="unit"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("text", "ok"), WIRE_VOLUMES)
def test_both_schemas_and_the_dsl_agree_on_tone_volume(text: str, ok: bool, mode: bool) -> None:
    assert valid(f'<Tone volume="{text}"/>', strict=mode) is ok
    assert valid(f'<Tone v="{text}"/>', strict=False) is ok  # the legacy alias (D16)
    try:
        Tone(volume=text)  # type: ignore[arg-type]
    except InvalidAttributeError:
        accepted = False
    else:
        accepted = True
    assert accepted is ok


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("-0", "0"), ("-0.0", "0"), ("-3.0", "-3"), ("-12.50", "-12.5"), ("-00012.5", "-12.5")],
)
def test_a_parsed_volume_is_rendered_canonically(text: str, canonical: str) -> None:
    parsed = parse(doc(f'<Tone volume="{text}"/>'), strict=True)
    assert attribute(parsed, "volume") == canonical
    assert parse(doc(f'<Tone v="{text}"/>')) == parsed


def test_a_decimal_volume_survives_repr_and_pickle() -> None:
    tone = Tone(volume=-0.00001, hz=[440])
    assert repr(tone) == "Tone(volume=-0.00001, hz=(440,))"
    assert eval(repr(tone)) == tone
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(tone, protocol))
        assert copy == tone
        assert render(Response(copy)) == render(Response(tone))


@settings(max_examples=300, deadline=None)
@given(volumes)
def test_any_volume_round_trips_and_is_written_as_a_plain_decimal(volume: float) -> None:
    document = Response(Tone(volume=volume))
    text = attribute(document, "volume")
    assert text is not None
    assert DECIMAL.fullmatch(text), text
    assert not text.startswith("-0") or text.startswith("-0.")  # never "-0"
    # A whole number exactly (it is stored as an int), any other as the shortest digits that
    # read back as the same float: no rounding, no exponent.
    whole = float(volume).is_integer()
    assert Decimal(text) == (Decimal(volume) if whole else Decimal(repr(float(volume))))
    assert float(text) == volume
    assert validate(render(document), strict=True) == []
    assert parse(render(document), strict=True) == document


@settings(max_examples=200, deadline=None)
@given(hold_milliseconds)
def test_any_hold_timeout_round_trips(timeout: int) -> None:
    document = Response(Hold(timeout=timeout))
    assert validate(render(document), strict=True) == []
    assert parse(render(document), strict=True) == document


# -- Meta name ---------------------------------------------------------------------------------

NAMES = ["2fa", "x.y-z", "_call.id-2", "käse", "a&b", 'q"<>', "k=v?x#y", "%41", "\U0001f4de"]


@pytest.mark.parametrize("name", NAMES)
def test_a_meta_name_is_any_text_without_whitespace_or_control_characters(name: str) -> None:
    document = Response(Meta(name, "v"))
    assert attribute(document, "name") == name
    for strict in (False, True):
        assert validate(render(document), strict=strict) == []
        assert parse(render(document), strict=strict) == document


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        pytest.param("", "non-empty", id="empty"),
        pytest.param(" ", "without whitespace", id="space"),
        pytest.param("first name", "without whitespace", id="inner-space"),
        pytest.param("a\tb", "without whitespace", id="tab"),
        pytest.param("a\nb", "without whitespace", id="line-feed"),
        pytest.param("a\xa0b", "without whitespace", id="no-break-space"),
        pytest.param("a\u2028b", "without whitespace", id="line-separator"),
        pytest.param("a\u3000b", "without whitespace", id="ideographic-space"),
        pytest.param("a\u180eb", "without whitespace", id="mongolian-vowel-separator"),
        pytest.param("a\x7fb", "control characters", id="delete"),
        pytest.param("a\x85b", "control characters", id="next-line"),
        pytest.param("a\x9fb", "control characters", id="c1-control"),
        pytest.param("a\x00b", "U+0000, which XML cannot hold", id="nul"),
        pytest.param("a\x01b", "U+0001, which XML cannot hold", id="c0-control"),
        pytest.param("a\ud800", "U+D800, which XML cannot hold", id="surrogate"),
        pytest.param("a\uffff", "U+FFFF, which XML cannot hold", id="non-character"),
        pytest.param(5, "must be a str", id="int"),
        pytest.param(Slot("n"), "not a Slot", id="slot"),
    ],
)
def test_a_meta_name_rejects(name: object, rule: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Meta(name, "v")  # type: ignore[arg-type]
    assert (info.value.element, info.value.attribute) == ("Meta", "name")
    assert rule in info.value.rule


def _near_the_rule() -> list[str]:
    """Every character whitespace or control rules might disagree on (categories Z, Cc, Cf,
    and U+180E), as XML can hold them."""
    return [
        chr(c)
        for c in range(0x9, sys.maxunicode + 1)
        if unicodedata.category(chr(c))[0] in "ZC"
        and unicodedata.category(chr(c)) not in ("Cs", "Co", "Cn")
        and (c >= 0x20 or c in (0x9, 0xA, 0xD))
        and c not in (0xFFFE, 0xFFFF)
    ]


@pytest.mark.parametrize("mode", MODES)
def test_both_schemas_and_the_dsl_agree_on_meta_names(mode: bool) -> None:
    disagreements = []
    for char in [*_near_the_rule(), "a", "2", "&", "\U0001f4de"]:
        name = f"a{char}b"
        element = etree.Element("Response")
        etree.SubElement(element, "Meta", name=name, value="v")
        schema_ok = validate(etree.tostring(element), strict=mode) == []
        try:
            Meta(name, "v")
        except InvalidAttributeError:
            dsl_ok = False
        else:
            dsl_ok = True
        if schema_ok is not dsl_ok:
            disagreements.append(f"U+{ord(char):04X}")
    assert disagreements == []


@settings(max_examples=300, deadline=None)
@given(meta_names)
def test_any_meta_name_round_trips(name: str) -> None:
    document = Response(Meta(name, "v"), Meta(name, "two\nlines"))
    assert validate(render(document), strict=True) == []
    assert parse(render(document), strict=True) == document


def test_a_meta_name_needs_no_lint_finding() -> None:
    assert lint(render(Response(Meta("2fa", "yes"), Meta("a&b=c", "1")))) == []


@pytest.mark.parametrize("name", ["2fa", "a&b"])
def test_a_prepared_meta_with_any_name_renders_as_built(name: str) -> None:
    prepared = prepare(Response(Meta(name, Slot("value"))))
    assert prepared.render(value="two\nlines") == render(Response(Meta(name, "two\nlines")))


def test_meta_names_are_percent_encoded_in_callback_requests() -> None:
    app = App(secret="rulings")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(
            Meta("2fa", "yes"),
            Meta("a&b=c", "1 2"),
            Meta("käse", "x"),
            Callback(url=call.url_for("next")),
        )

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        heard = ", ".join(f"{k}={call.meta.get(k)}" for k in ("2fa", "a&b=c", "käse"))
        return Response(Say(heard), Hangup())

    with Simulator(app) as sim:
        trace = sim.call()
    callback = [e for e in trace.events if isinstance(e, RequestEvent)][-1]
    assert callback.purpose == "callback"
    assert "2fa=yes" in callback.url
    assert "a%26b%3Dc=1+2" in callback.url  # urlencode: & = and space never raw
    assert "k%C3%A4se=x" in callback.url  # UTF-8, percent-encoded
    assert_heard(trace, "2fa=yes, a&b=c=1 2, käse=x", exact=True)


# -- what mutation testing found untested ------------------------------------------------------


@pytest.mark.parametrize("value", ["A", "a", "1A", "D", "+", "1 2", ""])
def test_a_dtmf_value_outside_the_keypad_is_rejected_by_the_dsl(value: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        DTMF(Hangup(), value=value)
    assert (info.value.element, info.value.attribute) == ("DTMF", "value")
    assert info.value.rule == "must be one or more keys of 0-9 * #"
    for strict in (False, True):
        assert not valid(f'<Gather><DTMF value="{value}"/></Gather>', strict=strict)


@pytest.mark.parametrize(
    "time", ["24:00:00-24:59:59", "00:00:00-24:00:00", "23:00:00-24:00:00", "24:00:00-08:00:00"]
)
def test_hour_24_is_rejected_in_a_schedule(time: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Schedule(time=time)
    assert (info.value.element, info.value.attribute) == ("Schedule", "time")
    for strict in (False, True):
        assert not valid(f'<Schedule time="{time}"/>', strict=strict)


def test_23_59_59_is_the_last_second_of_a_schedule() -> None:
    assert Schedule(time="00:00:00-23:59:59").time == "00:00:00-23:59:59"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "inner",
    [
        pytest.param('<Gather dtmf_stop="+"/>', id="gather"),
        pytest.param('<Pause dtmf_stop="+"/>', id="pause"),
        pytest.param('<Gather dtmf_stop="#+"/>', id="two-keys"),
    ],
)
def test_a_plus_is_no_stop_key(inner: str, mode: bool) -> None:
    assert not valid(inner, strict=mode)


def test_a_plus_is_no_legacy_stop_key_either() -> None:
    # Older vocabulary allowed "+" for finishOnKey; it is not accepted (§3.14).
    assert not valid('<Gather finishOnKey="+"/>', strict=False)
    assert valid('<Gather finishOnKey="#"/>', strict=False)


@pytest.mark.parametrize("build", [lambda: Gather(dtmf_stop="+"), lambda: Pause(dtmf_stop="+")])
def test_a_plus_stop_key_is_rejected_by_the_dsl(build: object) -> None:
    with pytest.raises(InvalidAttributeError, match="must be one key of 0-9"):
        build()  # type: ignore[operator]


# -- how a Dial fails when its targets fail differently ----------------------------------------

SUPPORT, DESK = "15550100200", "desk@acme.sip.opentact.org"


def _dial_app() -> App:
    app = App(secret="rulings")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(
            Dial(To(SUPPORT), To(DESK), Error(Say("Nobody answered."), Hangup(tag="dial-failed"))),
            Say("Connected call over."),
            Hangup(tag="done"),
        )

    return app


def _dial(script: str | dict[str, str]) -> Trace:
    with Simulator(_dial_app()) as sim:
        return sim.call(dial=[script])


@pytest.mark.parametrize(
    ("script", "outcome", "reason"),
    [
        pytest.param("busy", "busy", "[originate] ERR USER_BUSY", id="all-busy"),
        pytest.param("fail", "fail", "[originate] ERR CALL_REJECTED", id="all-fail"),
        pytest.param(
            "no-answer", "no-answer", "[originate] ERR NO_USER_RESPONSE", id="all-no-answer"
        ),
        pytest.param(
            {SUPPORT: "busy", DESK: "busy"}, "busy", "[originate] ERR USER_BUSY", id="both-busy"
        ),
        pytest.param(
            {SUPPORT: "busy", DESK: "fail"},
            "no-answer",
            "[originate] ERR NO_USER_RESPONSE",
            id="busy-and-fail",
        ),
        pytest.param(
            {SUPPORT: "fail", DESK: "no-answer"},
            "no-answer",
            "[originate] ERR NO_USER_RESPONSE",
            id="fail-and-no-answer",
        ),
        pytest.param(
            {SUPPORT: "busy"},  # the desk is not scripted: it does not answer
            "no-answer",
            "[originate] ERR NO_USER_RESPONSE",
            id="busy-and-unscripted",
        ),
    ],
)
def test_a_failed_dial_reports_one_reason_for_all_its_targets(
    script: str | dict[str, str], outcome: str, reason: str
) -> None:
    trace = _dial(script)
    dial = next(e for e in trace.events if isinstance(e, DialEvent))
    assert (dial.targets, dial.outcome, dial.answered_by) == ([SUPPORT, DESK], outcome, None)
    error = next(e for e in trace.events if isinstance(e, ErrorEvent))
    assert (error.command, error.reason, error.handled) == ("Dial", reason, True)
    assert_heard(trace, "Nobody answered.")
    assert_not_heard(trace, "Connected call over.")
    assert_ended(trace, "hangup (dial-failed)")  # reasons are compared exactly
    assert trace.hangup_reason == "hangup (dial-failed)"


@pytest.mark.parametrize(
    "script",
    [
        pytest.param({SUPPORT: "fail", DESK: "answer"}, id="second-answers"),
        pytest.param({SUPPORT: "answer", DESK: "busy"}, id="first-answers"),
    ],
)
def test_one_answering_target_wins_over_the_failed_ones(script: dict[str, str]) -> None:
    trace = _dial(script)
    winner = next(t for t, outcome in script.items() if outcome == "answer")
    dial = next(e for e in trace.events if isinstance(e, DialEvent))
    assert (dial.outcome, dial.answered_by) == ("answer", winner)
    assert not [e for e in trace.events if isinstance(e, ErrorEvent)]
    assert_heard(trace, "Connected call over.")
    assert trace.hangup_reason == "hangup (done)"


def test_without_an_error_handler_a_failed_dial_continues_after_it() -> None:
    app = App(secret="rulings")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Dial(To(SUPPORT), To(DESK)), Say("After the dial."))

    with Simulator(app) as sim:
        trace = sim.call(dial=[{SUPPORT: "busy", DESK: "fail"}])
    error = next(e for e in trace.events if isinstance(e, ErrorEvent))
    assert (error.reason, error.handled) == ("[originate] ERR NO_USER_RESPONSE", False)
    assert_heard(trace, "After the dial.")
    assert trace.hangup is not None and trace.hangup.ended_by == "end-of-document"
    assert_ended(trace, "end of document")


def test_an_error_handler_that_says_the_reason_speaks_the_mixed_reason() -> None:
    app = App(secret="rulings")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Dial(To(SUPPORT), To(DESK), Error(Hangup(tag="x"), say=True)))

    with Simulator(app) as sim:
        trace = sim.call(dial=[{SUPPORT: "fail", DESK: "busy"}])
    assert trace.heard == ["[originate] ERR NO_USER_RESPONSE"]
    assert_ended(trace, "hangup (x)")
