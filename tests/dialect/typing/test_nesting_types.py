"""Typing tests (click ``tests/typing/``, htpy): the types users see, checked by mypy --strict.

``assert_type`` pins the good cases. Every deliberately wrong call carries a
``# type: ignore[<code>]``; strict mypy turns on ``warn_unused_ignores``, so the day a wrong
nesting or value type-checks, its ignore is unused and mypy fails. At run time the same call
must raise, so both halves of "check nesting twice" (style guide §6) are covered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, assert_type

import pytest

from callflow import (
    DTMF,
    Answer,
    Call,
    Callback,
    Case,
    Curl,
    Default,
    Dial,
    Element,
    Error,
    Gather,
    Geo,
    Hangup,
    Hold,
    InvalidAttributeError,
    Meta,
    NestingError,
    Pause,
    Play,
    Problem,
    Record,
    RecordStart,
    RecordStop,
    RecordWait,
    Response,
    Say,
    Schedule,
    Sip,
    Switch,
    To,
    Tone,
    Unhold,
    parse,
    render,
    validate,
)
from callflow.types import BlockChild, CommandBlockChild, GatherChild

MP3 = "https://cdn.example.com/hold.mp3"
Day = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def test_constructors_return_their_class() -> None:
    assert_type(Response(), Response)
    assert_type(Answer(), Answer)
    assert_type(Hangup(), Hangup)
    assert_type(Say("Hi"), Say)
    assert_type(Play(MP3), Play)
    assert_type(Pause(), Pause)
    assert_type(Record(), Record)
    assert_type(RecordStart(), RecordStart)
    assert_type(RecordStop(), RecordStop)
    assert_type(RecordWait(), RecordWait)
    assert_type(Dial(To("15550100200")), Dial)
    assert_type(To("15550100200"), To)
    assert_type(Sip("2001@pbx"), Sip)
    assert_type(Gather(), Gather)
    assert_type(DTMF(value="1"), DTMF)
    assert_type(Switch(), Switch)
    assert_type(Case(dtmf="1"), Case)
    assert_type(Default(), Default)
    assert_type(Error(), Error)
    assert_type(Callback(url="/next"), Callback)
    assert_type(Hold(), Hold)
    assert_type(Unhold(), Unhold)
    assert_type(Tone(), Tone)
    assert_type(Meta("lang", "fr"), Meta)
    assert_type(Curl(url="/hit"), Curl)
    assert_type(Call(), Call)
    assert_type(Geo(), Geo)
    assert_type(Schedule(), Schedule)


def test_attribute_types() -> None:
    gather = Gather(DTMF(value="1"), Default(), dtmf_length=4)
    assert_type(gather.dtmf_length, int | None)
    assert_type(gather.dtmf_stop, str | None)
    assert_type(gather.method, Literal["GET", "POST"] | None)
    assert_type(gather.children, tuple[Element, ...])
    assert_type(gather.branches(), tuple[tuple[DTMF, str], ...])
    assert_type(gather.find(DTMF), tuple[DTMF, ...])
    assert_type(gather.default, Default | None)
    assert_type(gather.error, Element | None)
    assert_type(Say("Hi").text, str)
    assert_type(Say("Hi").type, Literal["WaveNet", "Standard"] | None)
    assert_type(Say("Hi").gender, Literal["MALE", "FEMALE"] | None)
    assert_type(Say("Hi").loop, int | None)
    assert_type(Play(MP3).url, str | None)
    assert_type(Play(MP3).leg, Literal["aleg", "bleg", "both"] | None)
    assert_type(Record().asr, bool | None)
    assert_type(Dial(To("15550100200")).targets, tuple[To | Sip, ...])
    assert_type(To("15550100200").target, str)
    assert_type(DTMF(value="1").value, str)
    assert_type(Case(dtmf="1").dtmf, str)
    assert_type(Error().say, bool | None)
    assert_type(Callback(url="/n").url, str)
    assert_type(Callback(url="/n").method, Literal["GET", "POST", "PATCH", "DELETE"] | None)
    assert_type(Hold().timeout, int | None)
    assert_type(Tone().volume, float | None)
    assert_type(Tone().hz, tuple[int | float, ...] | None)
    assert_type(Meta("n", 1).value, str)
    assert_type(Curl(url="/hit").body, str | None)
    assert_type(Call().field, Literal["from", "to", "tn", "direction", "state"] | None)
    assert_type(Call().value, str | None)
    assert_type(Geo().states, tuple[str, ...] | None)
    assert_type(Schedule().dow, tuple[Day, ...] | None)
    assert_type(Answer().attributes(), dict[str, object])
    assert_type(render(Response()), bytes)
    assert_type(validate(b"<Response/>"), list[Problem])
    assert_type(parse(b"<Response/>"), Response)


def test_good_nesting_type_checks_and_builds() -> None:
    fillers: list[GatherChild] = [Say("Press 1"), Play(MP3), Pause(length=500)]
    steps: list[BlockChild] = [Answer(), Meta("lang", "fr")]
    handled: list[CommandBlockChild] = [Say("Recording"), Error(Say("Sorry"))]
    doc = Response(
        *steps,
        Gather(
            *fillers,
            DTMF(Dial(To("15550100200"), Sip("2001@pbx"), Error(), Meta("k", "v")), value="1"),
            Switch(Case(Hangup(), dtmf="2"), Default(), Error()),
            Meta("menu", "main"),
        ),
        Record(*handled, tag="msg"),
        Callback(Error(), Meta("k", "v"), url="/next"),
        Tone(Meta("k", "v"), Error()),
        Curl("{}", Error(), url="/hit"),
        Call(
            Geo(Schedule(Hangup(Error()), dow=["mon"]), states=["NJ"]),
            field="direction",
            value="in",
        ),
    )
    assert_type(doc, Response)
    assert validate(doc, strict=True) == []


WRONG_NESTING = [
    pytest.param(lambda: Response(To("15550100200")), id="to-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Sip("2001@pbx")), id="sip-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(DTMF(value="1")), id="dtmf-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Case(dtmf="1")), id="case-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Switch()), id="switch-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Default()), id="default-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Error()), id="error-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Response()), id="response-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response("Hello"), id="str-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Hangup()), id="hangup-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Dial(To("15550100200"))), id="dial-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Gather()), id="gather-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Case(dtmf="1")), id="case-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Tone()), id="tone-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Switch(DTMF(value="1")), id="dtmf-in-switch"),  # type: ignore[arg-type]
    pytest.param(lambda: Switch(Say("Hi")), id="say-in-switch"),  # type: ignore[arg-type]
    pytest.param(lambda: DTMF(Case(dtmf="1"), value="1"), id="case-in-dtmf"),  # type: ignore[arg-type]
    pytest.param(lambda: Case(Error(), dtmf="1"), id="error-in-case"),  # type: ignore[arg-type]
    pytest.param(lambda: Default(To("15550100200")), id="to-in-default"),  # type: ignore[arg-type]
    pytest.param(lambda: Error(Error()), id="error-in-error"),  # type: ignore[arg-type]
    pytest.param(lambda: Record(DTMF(value="1")), id="dtmf-in-record"),  # type: ignore[arg-type]
    pytest.param(lambda: Call(Sip("2001@pbx")), id="sip-in-call"),  # type: ignore[arg-type]
    pytest.param(lambda: Geo(Default()), id="default-in-geo"),  # type: ignore[arg-type]
    pytest.param(lambda: Schedule(Switch()), id="switch-in-schedule"),  # type: ignore[arg-type]
    pytest.param(lambda: Dial(To("15550100200"), Say("Hi")), id="say-in-dial"),  # type: ignore[arg-type]
    pytest.param(lambda: Dial(To("15550100200"), Dial(To("15550100201"))), id="dial-in-dial"),  # type: ignore[arg-type]
    pytest.param(lambda: Callback(Say("Hi"), url="/n"), id="say-in-callback"),  # type: ignore[arg-type]
    pytest.param(lambda: Tone(Say("Hi")), id="say-in-tone"),  # type: ignore[arg-type]
    pytest.param(lambda: Curl("x", Meta("k", "v"), url="/h"), id="meta-in-curl"),  # type: ignore[arg-type]
    pytest.param(lambda: Say("Hi", Meta("k", "v")), id="meta-in-say"),  # type: ignore[arg-type]
    pytest.param(lambda: Play(MP3, Pause()), id="pause-in-play"),  # type: ignore[arg-type]
    pytest.param(lambda: Answer(Hangup()), id="hangup-in-answer"),  # type: ignore[arg-type]
    pytest.param(lambda: Hangup(Say("Bye")), id="say-in-hangup"),  # type: ignore[arg-type]
    pytest.param(lambda: Pause(Meta("k", "v")), id="meta-in-pause"),  # type: ignore[arg-type]
    pytest.param(lambda: Hold(Unhold()), id="unhold-in-hold"),  # type: ignore[arg-type]
    pytest.param(lambda: Unhold(Hold()), id="hold-in-unhold"),  # type: ignore[arg-type]
    pytest.param(lambda: RecordStart(RecordStop()), id="in-recordstart"),  # type: ignore[arg-type]
    pytest.param(lambda: RecordStop(Meta("k", "v")), id="meta-in-recordstop"),  # type: ignore[arg-type]
    pytest.param(lambda: RecordWait(Hangup()), id="hangup-in-recordwait"),  # type: ignore[arg-type]
    # Attributes are keyword-only: a positional value is taken for a child.
    pytest.param(lambda: Answer(1500), id="positional-answer-delay"),  # type: ignore[arg-type]
    pytest.param(lambda: Say("Hi", "WaveNet"), id="positional-say-type"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("build", WRONG_NESTING)
def test_wrong_nesting_fails_type_check_and_raises(build: Callable[[], Element]) -> None:
    with pytest.raises(NestingError):
        build()


WRONG_VALUES = [
    pytest.param(lambda: Gather(method="PUT"), id="gather-method-put"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(method="get"), id="gather-method-lower"),  # type: ignore[arg-type]
    pytest.param(lambda: Say("Hi", type="Neural"), id="say-type"),  # type: ignore[arg-type]
    pytest.param(lambda: Say("Hi", gender="male"), id="say-gender"),  # type: ignore[arg-type]
    pytest.param(lambda: Play(MP3, leg="left"), id="play-leg"),  # type: ignore[arg-type]
    pytest.param(lambda: Tone(leg="ALEG"), id="tone-leg"),  # type: ignore[arg-type]
    pytest.param(lambda: Callback(url="/n", method="PUT"), id="callback-method"),  # type: ignore[arg-type]
    pytest.param(lambda: Call(field="caller", value="x"), id="call-field"),  # type: ignore[arg-type]
    pytest.param(lambda: Schedule(dow=["monday"]), id="schedule-dow"),  # type: ignore[list-item]
    pytest.param(lambda: Gather(dtmf_length="4"), id="gather-dtmf-length-str"),  # type: ignore[arg-type]
    pytest.param(lambda: Pause(length=1.5), id="pause-length-float"),  # type: ignore[arg-type]
    pytest.param(lambda: Hold(timeout="300000"), id="hold-timeout-str"),  # type: ignore[arg-type]
    pytest.param(lambda: Record(asr="yes"), id="record-asr-str"),  # type: ignore[arg-type]
    pytest.param(lambda: Error(say=1), id="error-say-int"),  # type: ignore[arg-type]
    pytest.param(lambda: Callback(url="/n", body="true"), id="callback-body-str"),  # type: ignore[arg-type]
    pytest.param(lambda: Tone(hz=440), id="tone-hz-int"),  # type: ignore[arg-type]
    pytest.param(lambda: Geo(states=5), id="geo-states-int"),  # type: ignore[arg-type]
    pytest.param(lambda: Meta("n", None), id="meta-value-none"),  # type: ignore[arg-type]
    pytest.param(lambda: Meta("n", [1]), id="meta-value-list"),  # type: ignore[arg-type]
    pytest.param(lambda: Curl(5, url="/hit"), id="curl-body-int"),  # type: ignore[arg-type]
    pytest.param(lambda: To(15550100200), id="to-int"),  # type: ignore[arg-type]
    pytest.param(lambda: Say(None), id="say-none"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("build", WRONG_VALUES)
def test_wrong_value_fails_type_check_and_raises(build: Callable[[], Element]) -> None:
    with pytest.raises(InvalidAttributeError):
        build()


def test_missing_required_argument_fails_type_check() -> None:
    with pytest.raises(TypeError):
        DTMF()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Case()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Callback()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Curl("{}")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Meta("lang")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Say()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        To()  # type: ignore[call-arg]


def test_unknown_attribute_fails_type_check() -> None:
    with pytest.raises(TypeError):
        Gather(numDigits=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Dial(To("15550100200"), tag="d")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Error(play=True)  # type: ignore[call-arg]


def test_run_time_checks_catch_what_types_cannot() -> None:
    # bool is an int to the type checker, but not a count or a duration to the spec (D21).
    with pytest.raises(InvalidAttributeError):
        Gather(dtmf_length=True)
    with pytest.raises(InvalidAttributeError):
        Hold(timeout=0)
    with pytest.raises(InvalidAttributeError):
        Tone(volume=float("nan"))
    with pytest.raises(InvalidAttributeError):
        Dial()
    with pytest.raises(NestingError):
        Say("Hi", Error(), Error())
