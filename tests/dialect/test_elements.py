"""The DSL elements (spec §3, §4, canonical-form.md): every attribute with a valid value, every
rejected value, every allowed and forbidden child, and value semantics (immutability,
equality, hashing, repr, copy, pickle).

Each valid row is rendered inside a minimal valid ``<Response>``, compared structurally with
the expected XML and validated in the same test (style guide §16).
"""

from __future__ import annotations

import copy
import math
import pickle
import typing
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Final

import pytest
from lxml import etree

import callflow
import callflow.types
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
    render,
    validate,
)
from callflow.dialect import values as checks
from callflow.types import BlockChild

Build = Callable[[], Element]
"""Builds an element when called, so a table row that must raise does so inside its test."""

BlockChildren = tuple[BlockChild, ...]

CLASSES: Final[tuple[type[Element], ...]] = (
    Response, Answer, Hangup, Say, Play, Pause, Record, RecordStart, RecordStop, RecordWait,
    Dial, To, Sip, Gather, DTMF, Switch, Case, Default, Error, Callback, Hold, Unhold, Tone,
    Meta, Curl, Call, Geo, Schedule,
)  # fmt: skip
"""Every element class, in the order of spec §3."""

MP3: Final = "https://cdn.example.com/hold.mp3"

# -- the nesting table of spec §4, written out independently of callflow.dialect.nesting

COMMANDS: Final = frozenset(
    {
        "Answer", "Hangup", "Say", "Play", "Pause", "Record", "RecordStart", "RecordStop",
        "RecordWait", "Dial", "Gather", "Callback", "Hold", "Unhold", "Tone", "Curl", "Call",
        "Geo", "Schedule",
    }
)  # fmt: skip
"""Spec §4 "any command": every §3 element except the blocks, targets, branches and Meta."""

PLAIN_BLOCK: Final = COMMANDS | {"Meta"}
COMMAND_BLOCK: Final = PLAIN_BLOCK | {"Error"}
ERROR_ONLY: Final = frozenset({"Error"})

SPEC_ALLOWED: Final[dict[str, frozenset[str]]] = {
    "Response": PLAIN_BLOCK,
    "DTMF": PLAIN_BLOCK,
    "Case": PLAIN_BLOCK,
    "Default": PLAIN_BLOCK,
    "Error": PLAIN_BLOCK,
    "Record": COMMAND_BLOCK,
    "Call": COMMAND_BLOCK,
    "Geo": COMMAND_BLOCK,
    "Schedule": COMMAND_BLOCK,
    "Gather": frozenset({"Say", "Play", "Pause", "DTMF", "Switch", "Default", "Error", "Meta"}),
    "Switch": frozenset({"Case", "Default", "Error"}),
    "Dial": frozenset({"To", "Sip", "Error", "Meta"}),
    "Callback": frozenset({"Error", "Meta"}),
    "Tone": frozenset({"Meta", "Error"}),
    "Curl": ERROR_ONLY,
    "Say": ERROR_ONLY,
    "Play": ERROR_ONLY,
    "Answer": ERROR_ONLY,
    "Hangup": ERROR_ONLY,
    "Pause": ERROR_ONLY,
    "Hold": ERROR_ONLY,
    "Unhold": ERROR_ONLY,
    "RecordStart": ERROR_ONLY,
    "RecordStop": ERROR_ONLY,
    "RecordWait": ERROR_ONLY,
    "To": frozenset(),
    "Sip": frozenset(),
    "Meta": frozenset(),
}
"""Parent -> the children spec §4 lets it hold (canonical form, plus the Switch variant)."""

SAMPLES: Final[dict[str, Build]] = {
    "Response": lambda: Response(),
    "Answer": lambda: Answer(),
    "Hangup": lambda: Hangup(),
    "Say": lambda: Say("Hello"),
    "Play": lambda: Play(MP3),
    "Pause": lambda: Pause(),
    "Record": lambda: Record(),
    "RecordStart": lambda: RecordStart(),
    "RecordStop": lambda: RecordStop(),
    "RecordWait": lambda: RecordWait(),
    "Dial": lambda: Dial(To("15550100200")),
    "To": lambda: To("15550100200"),
    "Sip": lambda: Sip("2001@10.0.0.5:5080"),
    "Gather": lambda: Gather(),
    "DTMF": lambda: DTMF(value="1"),
    "Switch": lambda: Switch(),
    "Case": lambda: Case(dtmf="1"),
    "Default": lambda: Default(),
    "Error": lambda: Error(),
    "Callback": lambda: Callback(url="/next"),
    "Hold": lambda: Hold(),
    "Unhold": lambda: Unhold(),
    "Tone": lambda: Tone(),
    "Meta": lambda: Meta("lang", "fr"),
    "Curl": lambda: Curl(url="/hit"),
    "Call": lambda: Call(),
    "Geo": lambda: Geo(),
    "Schedule": lambda: Schedule(),
}
"""A minimal valid instance of every element, by name."""

PARENTS: Final[dict[str, Callable[..., Element]]] = {
    "Response": Response,
    "Answer": Answer,
    "Hangup": Hangup,
    "Say": lambda *children: Say("Hello", *children),
    "Play": lambda *children: Play(MP3, *children),
    "Pause": Pause,
    "Record": Record,
    "RecordStart": RecordStart,
    "RecordStop": RecordStop,
    "RecordWait": RecordWait,
    "Dial": lambda *children: Dial(To("15550100200"), *children),
    "Gather": Gather,
    "DTMF": lambda *children: DTMF(*children, value="1"),
    "Switch": Switch,
    "Case": lambda *children: Case(*children, dtmf="1"),
    "Default": Default,
    "Error": Error,
    "Callback": lambda *children: Callback(*children, url="/next"),
    "Hold": Hold,
    "Unhold": Unhold,
    "Tone": Tone,
    "Curl": lambda *children: Curl("{}", *children, url="/hit"),
    "Call": Call,
    "Geo": Geo,
    "Schedule": Schedule,
}
"""Build a parent holding the given children (plus whatever it requires), by name."""


def in_document(element: Element, xml: str) -> tuple[Response, str]:
    """Place ``element`` (and its expected ``xml``) in a minimal valid document (spec §4)."""
    if isinstance(element, Response):
        return element, xml
    if isinstance(element, To | Sip):
        return Response(Dial(element)), f"<Response><Dial>{xml}</Dial></Response>"
    if isinstance(element, DTMF | Switch | Default):
        return Response(Gather(element)), f"<Response><Gather>{xml}</Gather></Response>"
    if isinstance(element, Case):
        # Gather replaces a Switch by its canonical equivalent (D5): ``xml`` is that form.
        return Response(Gather(Switch(element))), f"<Response><Gather>{xml}</Gather></Response>"
    if isinstance(element, Error):
        return Response(Hangup(element)), f"<Response><Hangup>{xml}</Hangup></Response>"
    return Response(typing.cast(BlockChild, element)), f"<Response>{xml}</Response>"


def canonical(xml: str | bytes) -> str:
    """The C14N 2.0 form of ``xml``, so that two documents compare structurally."""
    data = xml.encode() if isinstance(xml, str) else xml
    return etree.canonicalize(etree.fromstring(data))


def assert_renders(element: Element, xml: str) -> None:
    """Render ``element`` in a document, compare with ``xml`` and validate the output."""
    doc, expected = in_document(element, xml)
    rendered = render(doc)
    assert canonical(rendered) == canonical(expected)
    assert validate(rendered, strict=True) == []


# -- every attribute with a valid value ----------------------------------------------------

VALID = [
    pytest.param(lambda: Response(), "<Response/>", id="response-empty"),
    # Answer
    pytest.param(lambda: Answer(), "<Answer/>", id="answer-bare"),
    pytest.param(lambda: Answer(delay=1500), '<Answer delay="1500"/>', id="answer-delay"),
    pytest.param(lambda: Answer(delay=0), '<Answer delay="0"/>', id="answer-delay-zero"),
    pytest.param(lambda: Answer(tag="greet"), '<Answer tag="greet"/>', id="answer-tag"),
    # Hangup
    pytest.param(lambda: Hangup(), "<Hangup/>", id="hangup-bare"),
    pytest.param(lambda: Hangup(tag="done"), '<Hangup tag="done"/>', id="hangup-tag"),
    # Say
    pytest.param(lambda: Say("Thanks."), "<Say>Thanks.</Say>", id="say-text"),
    pytest.param(
        lambda: Say("Thanks.", Error()), '<Say text="Thanks."><Error/></Say>', id="say-text-error"
    ),
    pytest.param(
        lambda: Say("Hi", type="WaveNet"), '<Say type="WaveNet">Hi</Say>', id="say-wavenet"
    ),
    pytest.param(
        lambda: Say("Hi", type="Standard"), '<Say type="Standard">Hi</Say>', id="say-standard"
    ),
    pytest.param(lambda: Say("Hi", gender="MALE"), '<Say gender="MALE">Hi</Say>', id="say-male"),
    pytest.param(
        lambda: Say("Hi", gender="FEMALE"), '<Say gender="FEMALE">Hi</Say>', id="say-female"
    ),
    pytest.param(
        lambda: Say("Hi", code="en-US-Wavenet-D"),
        '<Say code="en-US-Wavenet-D">Hi</Say>',
        id="say-code",
    ),
    pytest.param(lambda: Say("Hi", lang="en-US"), '<Say lang="en-US">Hi</Say>', id="say-lang"),
    pytest.param(lambda: Say("Hola", lang="es"), '<Say lang="es">Hola</Say>', id="say-lang-bare"),
    pytest.param(lambda: Say("Hi", loop=1), '<Say loop="1">Hi</Say>', id="say-loop-1"),
    pytest.param(lambda: Say("Hi", loop=3), '<Say loop="3">Hi</Say>', id="say-loop-3"),
    pytest.param(lambda: Say("Hi", tag="greeting"), '<Say tag="greeting">Hi</Say>', id="say-tag"),
    # Play
    pytest.param(lambda: Play(MP3), f"<Play>{MP3}</Play>", id="play-url"),
    pytest.param(
        lambda: Play("/media/hold.wav"), "<Play>/media/hold.wav</Play>", id="play-url-path"
    ),
    pytest.param(
        lambda: Play(MP3, Error()), f'<Play url="{MP3}"><Error/></Play>', id="play-url-error"
    ),
    pytest.param(lambda: Play(record="msg"), '<Play record="msg"/>', id="play-record"),
    pytest.param(
        lambda: Play(None, Error(), record="msg"),
        '<Play record="msg"><Error/></Play>',
        id="play-record-error",
    ),
    pytest.param(lambda: Play(MP3, leg="aleg"), f'<Play leg="aleg">{MP3}</Play>', id="play-aleg"),
    pytest.param(lambda: Play(MP3, leg="bleg"), f'<Play leg="bleg">{MP3}</Play>', id="play-bleg"),
    pytest.param(lambda: Play(MP3, leg="both"), f'<Play leg="both">{MP3}</Play>', id="play-both"),
    pytest.param(lambda: Play(MP3, loop=2), f'<Play loop="2">{MP3}</Play>', id="play-loop"),
    pytest.param(lambda: Play(MP3, tag="music"), f'<Play tag="music">{MP3}</Play>', id="play-tag"),
    # Pause
    pytest.param(lambda: Pause(), "<Pause/>", id="pause-bare"),
    pytest.param(lambda: Pause(length=2000), '<Pause length="2000"/>', id="pause-length"),
    pytest.param(lambda: Pause(length=0), '<Pause length="0"/>', id="pause-length-zero"),
    pytest.param(lambda: Pause(dtmf_stop="#"), '<Pause dtmf_stop="#"/>', id="pause-stop-hash"),
    pytest.param(lambda: Pause(dtmf_stop="*"), '<Pause dtmf_stop="*"/>', id="pause-stop-star"),
    pytest.param(lambda: Pause(dtmf_stop="0"), '<Pause dtmf_stop="0"/>', id="pause-stop-digit"),
    # Record, RecordStart, RecordStop, RecordWait
    pytest.param(lambda: Record(), "<Record/>", id="record-bare"),
    pytest.param(lambda: Record(tag="msg"), '<Record tag="msg"/>', id="record-tag"),
    pytest.param(lambda: Record(asr=True), '<Record asr="true"/>', id="record-asr-true"),
    pytest.param(lambda: Record(asr=False), '<Record asr="false"/>', id="record-asr-false"),
    pytest.param(lambda: Record(timeout=60000), '<Record timeout="60000"/>', id="record-timeout"),
    pytest.param(
        lambda: Record(Pause(length=60000, dtmf_stop="#"), tag="msg"),
        '<Record tag="msg"><Pause length="60000" dtmf_stop="#"/></Record>',
        id="record-container",
    ),
    pytest.param(lambda: RecordStart(), "<RecordStart/>", id="recordstart-bare"),
    pytest.param(lambda: RecordStart(tag="r1"), '<RecordStart tag="r1"/>', id="recordstart-tag"),
    pytest.param(lambda: RecordStop(), "<RecordStop/>", id="recordstop-bare"),
    pytest.param(lambda: RecordStop(tag="r1"), '<RecordStop tag="r1"/>', id="recordstop-tag"),
    pytest.param(lambda: RecordWait(), "<RecordWait/>", id="recordwait-bare"),
    pytest.param(lambda: RecordWait(tag="r1"), '<RecordWait tag="r1"/>', id="recordwait-tag"),
    # Dial, To, Sip
    pytest.param(
        lambda: Dial(To("15550100200")), "<Dial><To>15550100200</To></Dial>", id="dial-to"
    ),
    pytest.param(lambda: Dial(Sip("2001@pbx")), "<Dial><Sip>2001@pbx</Sip></Dial>", id="dial-sip"),
    pytest.param(
        lambda: Dial(To("15550100200"), Sip("2001@10.0.0.5:5080"), To("ann@acme.example")),
        "<Dial><To>15550100200</To><Sip>2001@10.0.0.5:5080</Sip><To>ann@acme.example</To></Dial>",
        id="dial-targets",
    ),
    pytest.param(lambda: To("15550100200"), "<To>15550100200</To>", id="to-digits"),
    pytest.param(lambda: To("+15550100200"), "<To>15550100200</To>", id="to-plus"),
    pytest.param(lambda: To("+1 (555) 010-0200"), "<To>15550100200</To>", id="to-spelt"),
    pytest.param(lambda: To("5550100200"), "<To>15550100200</To>", id="to-national"),
    pytest.param(lambda: To("+44 20 7183 8750"), "<To>+442071838750</To>", id="to-international"),
    pytest.param(
        lambda: To("ann@acme.sip.opentact.org"), "<To>ann@acme.sip.opentact.org</To>", id="to-sip"
    ),
    pytest.param(lambda: Sip("2001@10.0.0.5:5080"), "<Sip>2001@10.0.0.5:5080</Sip>", id="sip-port"),
    pytest.param(lambda: Sip("ann@acme.example"), "<Sip>ann@acme.example</Sip>", id="sip-no-port"),
    # Gather
    pytest.param(lambda: Gather(), "<Gather/>", id="gather-bare"),
    pytest.param(
        lambda: Gather(dtmf_length=4), '<Gather dtmf_length="4"/>', id="gather-dtmf-length"
    ),
    pytest.param(lambda: Gather(dtmf_stop="#"), '<Gather dtmf_stop="#"/>', id="gather-dtmf-stop"),
    pytest.param(
        lambda: Gather(url="https://ivr.example.com/next?k=1"),
        '<Gather url="https://ivr.example.com/next?k=1"/>',
        id="gather-url",
    ),
    pytest.param(lambda: Gather(url="/next"), '<Gather url="/next"/>', id="gather-url-path"),
    pytest.param(lambda: Gather(method="GET"), '<Gather method="GET"/>', id="gather-method-get"),
    pytest.param(lambda: Gather(method="POST"), '<Gather method="POST"/>', id="gather-method-post"),
    pytest.param(lambda: Gather(timeout=8000), '<Gather timeout="8000"/>', id="gather-timeout"),
    pytest.param(lambda: Gather(attempts=3), '<Gather attempts="3"/>', id="gather-attempts"),
    pytest.param(lambda: Gather(tag="menu"), '<Gather tag="menu"/>', id="gather-tag"),
    # DTMF, Switch, Case, Default
    pytest.param(lambda: DTMF(value="1"), '<DTMF value="1"/>', id="dtmf-value"),
    pytest.param(lambda: DTMF(value="21"), '<DTMF value="21"/>', id="dtmf-value-digits"),
    pytest.param(lambda: DTMF(value="*0#"), '<DTMF value="*0#"/>', id="dtmf-value-star-hash"),
    pytest.param(
        lambda: DTMF(Say("Sales"), value="1"),
        '<DTMF value="1"><Say>Sales</Say></DTMF>',
        id="dtmf-children",
    ),
    # Switch and Case are the variant form: a Gather renders them as DTMF, Default, Error.
    pytest.param(lambda: Switch(), "", id="switch-bare"),
    pytest.param(
        lambda: Switch(Case(Say("One"), dtmf="1"), Default(), Error()),
        '<DTMF value="1"><Say>One</Say></DTMF><Default/><Error/>',
        id="switch-children",
    ),
    pytest.param(lambda: Case(dtmf="1"), '<DTMF value="1"/>', id="case-dtmf"),
    pytest.param(lambda: Case(dtmf="#9*"), '<DTMF value="#9*"/>', id="case-dtmf-keys"),
    pytest.param(lambda: Default(), "<Default/>", id="default-bare"),
    pytest.param(lambda: Default(tag="bad-key"), '<Default tag="bad-key"/>', id="default-tag"),
    # Error
    pytest.param(lambda: Error(), "<Error/>", id="error-bare"),
    pytest.param(lambda: Error(tag="dial-failed"), '<Error tag="dial-failed"/>', id="error-tag"),
    pytest.param(lambda: Error(say=True), '<Error say="true"/>', id="error-say-true"),
    pytest.param(lambda: Error(say=False), '<Error say="false"/>', id="error-say-false"),
    pytest.param(
        lambda: Error(Say("Sorry"), Hangup()),
        "<Error><Say>Sorry</Say><Hangup/></Error>",
        id="error-children",
    ),
    # Callback
    pytest.param(
        lambda: Callback(url="https://ivr.example.com/next"),
        '<Callback url="https://ivr.example.com/next"/>',
        id="callback-url",
    ),
    pytest.param(lambda: Callback(url="/next"), '<Callback url="/next"/>', id="callback-url-path"),
    pytest.param(
        lambda: Callback(url="/n", method="GET"),
        '<Callback url="/n" method="GET"/>',
        id="callback-method-get",
    ),
    pytest.param(
        lambda: Callback(url="/n", method="POST"),
        '<Callback url="/n" method="POST"/>',
        id="callback-method-post",
    ),
    pytest.param(
        lambda: Callback(url="/n", method="PATCH"),
        '<Callback url="/n" method="PATCH"/>',
        id="callback-method-patch",
    ),
    pytest.param(
        lambda: Callback(url="/n", method="DELETE"),
        '<Callback url="/n" method="DELETE"/>',
        id="callback-method-delete",
    ),
    pytest.param(
        lambda: Callback(url="/n", body=True),
        '<Callback url="/n" body="true"/>',
        id="callback-body-true",
    ),
    pytest.param(
        lambda: Callback(url="/n", body=False),
        '<Callback url="/n" body="false"/>',
        id="callback-body-false",
    ),
    pytest.param(
        lambda: Callback(url="/n", timeout=5000),
        '<Callback url="/n" timeout="5000"/>',
        id="callback-timeout",
    ),
    pytest.param(
        lambda: Callback(url="/n", tag="s2"), '<Callback url="/n" tag="s2"/>', id="callback-tag"
    ),
    # Hold, Unhold
    pytest.param(lambda: Hold(), "<Hold/>", id="hold-bare"),
    pytest.param(lambda: Hold(tag="h"), '<Hold tag="h"/>', id="hold-tag"),
    pytest.param(lambda: Hold(timeout=120000), '<Hold timeout="120000"/>', id="hold-timeout"),
    pytest.param(
        lambda: Hold(timeout=300000), '<Hold timeout="300000"/>', id="hold-timeout-default"
    ),
    pytest.param(
        lambda: Hold(timeout=600000), '<Hold timeout="600000"/>', id="hold-timeout-over-default"
    ),
    pytest.param(lambda: Hold(timeout=1), '<Hold timeout="1"/>', id="hold-timeout-one"),
    pytest.param(lambda: Unhold(), "<Unhold/>", id="unhold-bare"),
    pytest.param(lambda: Unhold(tag="h"), '<Unhold tag="h"/>', id="unhold-tag"),
    # Tone
    pytest.param(lambda: Tone(), "<Tone/>", id="tone-bare"),
    pytest.param(lambda: Tone(tag="ring"), '<Tone tag="ring"/>', id="tone-tag"),
    pytest.param(lambda: Tone(loop=3), '<Tone loop="3"/>', id="tone-loop"),
    pytest.param(lambda: Tone(volume=-12), '<Tone volume="-12"/>', id="tone-volume"),
    pytest.param(lambda: Tone(volume=0), '<Tone volume="0"/>', id="tone-volume-zero"),
    pytest.param(lambda: Tone(volume=-12.5), '<Tone volume="-12.5"/>', id="tone-volume-decimal"),
    pytest.param(lambda: Tone(volume=-3.0), '<Tone volume="-3"/>', id="tone-volume-whole-float"),
    pytest.param(lambda: Tone(volume=-0.0), '<Tone volume="0"/>', id="tone-volume-minus-zero"),
    pytest.param(
        lambda: Tone(volume=-0.00001), '<Tone volume="-0.00001"/>', id="tone-volume-no-exponent"
    ),
    pytest.param(lambda: Tone(don=2000), '<Tone don="2000"/>', id="tone-don"),
    pytest.param(lambda: Tone(doff=4000), '<Tone doff="4000"/>', id="tone-doff"),
    pytest.param(lambda: Tone(hz=[350, 440]), '<Tone hz="350,440"/>', id="tone-hz-list"),
    pytest.param(lambda: Tone(hz="350,440"), '<Tone hz="350,440"/>', id="tone-hz-string"),
    pytest.param(lambda: Tone(hz=[440.5]), '<Tone hz="440.5"/>', id="tone-hz-float"),
    pytest.param(lambda: Tone(timeout=30000), '<Tone timeout="30000"/>', id="tone-timeout"),
    pytest.param(lambda: Tone(leg="aleg"), '<Tone leg="aleg"/>', id="tone-leg-aleg"),
    pytest.param(lambda: Tone(leg="bleg"), '<Tone leg="bleg"/>', id="tone-leg-bleg"),
    pytest.param(lambda: Tone(leg="both"), '<Tone leg="both"/>', id="tone-leg-both"),
    pytest.param(
        lambda: Tone(hz="350,440", don=2000, doff=4000, volume=-12, loop=3, leg="aleg"),
        '<Tone hz="350,440" don="2000" doff="4000" volume="-12" loop="3" leg="aleg"/>',
        id="tone-spec-example",
    ),
    # Meta
    pytest.param(lambda: Meta("lang", "fr"), '<Meta name="lang" value="fr"/>', id="meta-str"),
    pytest.param(
        lambda: Meta("_call.id-2", "x"), '<Meta name="_call.id-2" value="x"/>', id="meta-name"
    ),
    pytest.param(lambda: Meta("2fa", "x"), '<Meta name="2fa" value="x"/>', id="meta-name-digit"),
    pytest.param(
        lambda: Meta('a&b<c>"d', "x"),
        '<Meta name="a&amp;b&lt;c&gt;&quot;d" value="x"/>',
        id="meta-name-markup",
    ),
    pytest.param(lambda: Meta("käse", "x"), '<Meta name="käse" value="x"/>', id="meta-name-utf8"),
    pytest.param(lambda: Meta("n", 3), '<Meta name="n" value="3"/>', id="meta-int"),
    pytest.param(lambda: Meta("n", -1.5), '<Meta name="n" value="-1.5"/>', id="meta-float"),
    pytest.param(lambda: Meta("vip", True), '<Meta name="vip" value="true"/>', id="meta-true"),
    pytest.param(lambda: Meta("vip", False), '<Meta name="vip" value="false"/>', id="meta-false"),
    pytest.param(lambda: Meta("empty", ""), '<Meta name="empty" value=""/>', id="meta-empty"),
    pytest.param(
        lambda: Meta("note", "line 1\nline 2"),
        '<Meta name="note">line 1\nline 2</Meta>',
        id="meta-multiline",
    ),
    # Curl
    pytest.param(
        lambda: Curl(url="https://crm.example.com/hit"),
        '<Curl url="https://crm.example.com/hit"/>',
        id="curl-url",
    ),
    pytest.param(
        lambda: Curl('{"n":1}', url="/hit"), '<Curl url="/hit">{"n":1}</Curl>', id="curl-body"
    ),
    pytest.param(
        lambda: Curl(url="/hit", method="POST"),
        '<Curl url="/hit" method="POST"/>',
        id="curl-method",
    ),
    pytest.param(
        lambda: Curl(url="/hit", method="PURGE"),
        '<Curl url="/hit" method="PURGE"/>',
        id="curl-method-any-verb",
    ),
    pytest.param(
        lambda: Curl(url="/hit", timeout=3000),
        '<Curl url="/hit" timeout="3000"/>',
        id="curl-timeout",
    ),
    pytest.param(
        lambda: Curl(url="/hit", tag="crm"), '<Curl url="/hit" tag="crm"/>', id="curl-tag"
    ),
    # Call, Geo, Schedule
    pytest.param(lambda: Call(), "<Call/>", id="call-bare"),
    pytest.param(
        lambda: Call(field="from", value="+15550100999"),
        '<Call field="from" value="+15550100999"/>',
        id="call-from",
    ),
    pytest.param(
        lambda: Call(field="to", value="15550100200"),
        '<Call field="to" value="15550100200"/>',
        id="call-to",
    ),
    pytest.param(
        lambda: Call(field="tn", value=15550100200),
        '<Call field="tn" value="15550100200"/>',
        id="call-tn-int",
    ),
    pytest.param(
        lambda: Call(field="direction", value="in"),
        '<Call field="direction" value="in"/>',
        id="call-direction",
    ),
    pytest.param(
        lambda: Call(field="state", value="live"),
        '<Call field="state" value="live"/>',
        id="call-state",
    ),
    pytest.param(lambda: Geo(), "<Geo/>", id="geo-bare"),
    pytest.param(lambda: Geo(states=["NJ", "NY"]), '<Geo states="NJ,NY"/>', id="geo-states"),
    pytest.param(lambda: Geo(states="DC"), '<Geo states="DC"/>', id="geo-states-one"),
    pytest.param(lambda: Geo(county="ESSEX"), '<Geo county="ESSEX"/>', id="geo-county"),
    pytest.param(
        lambda: Geo(county="ST. MARY'S"), '<Geo county="ST. MARY\'S"/>', id="geo-county-marks"
    ),
    pytest.param(lambda: Schedule(), "<Schedule/>", id="schedule-bare"),
    pytest.param(
        lambda: Schedule(dow=["mon", "tue", "wed", "thu", "fri"]),
        '<Schedule dow="mon,tue,wed,thu,fri"/>',
        id="schedule-dow",
    ),
    pytest.param(
        lambda: Schedule(time="09:00:00-17:59:59"),
        '<Schedule time="09:00:00-17:59:59"/>',
        id="schedule-time",
    ),
    pytest.param(
        lambda: Schedule(time="22:00:00-06:00:00"),
        '<Schedule time="22:00:00-06:00:00"/>',
        id="schedule-time-midnight",
    ),
    pytest.param(
        lambda: Schedule(Say("Closed."), dow=["sat", "sun"], time="00:00:00-23:59:59"),
        '<Schedule dow="sat,sun" time="00:00:00-23:59:59"><Say>Closed.</Say></Schedule>',
        id="schedule-both",
    ),
]


@pytest.mark.parametrize(("build", "xml"), VALID)
def test_valid_value_renders_and_validates(build: Build, xml: str) -> None:
    assert_renders(build(), xml)


def test_valid_table_sets_every_attribute_of_every_element() -> None:
    covered: set[tuple[str, str]] = set()
    built: set[str] = set()
    for param in VALID:
        element = typing.cast(Build, param.values[0])()
        built.add(element.xml_tag)
        covered |= {(element.xml_tag, name) for name in element.attributes()}
    assert built == {cls.xml_tag for cls in CLASSES}
    expected = {(cls.xml_tag, spec.name) for cls in CLASSES for spec in cls.fields}
    assert expected - covered == set()


# -- rejected values -------------------------------------------------------------------------

REJECTED = [
    # Answer, Hangup
    pytest.param(lambda: Answer(delay=-1), "Answer", "delay", -1, ">= 0", id="answer-delay-neg"),
    pytest.param(
        lambda: Answer(delay=True), "Answer", "delay", True, "an int", id="answer-delay-bool"
    ),
    pytest.param(
        lambda: Answer(delay=1.5),  # type: ignore[arg-type]
        "Answer",
        "delay",
        1.5,
        "must be an int",
        id="answer-delay-float",
    ),
    pytest.param(
        lambda: Answer(delay="1500"),  # type: ignore[arg-type]
        "Answer",
        "delay",
        "1500",
        "must be an int",
        id="answer-delay-str",
    ),
    pytest.param(
        lambda: Hangup(tag="a\x00b"), "Hangup", "tag", "a\x00b", "U+0000", id="hangup-tag-nul"
    ),
    pytest.param(
        lambda: Hangup(tag=5),  # type: ignore[arg-type]
        "Hangup",
        "tag",
        5,
        "must be a str",
        id="hangup-tag-int",
    ),
    # Say
    pytest.param(lambda: Say(""), "Say", "text", "", "must not be empty", id="say-text-empty"),
    pytest.param(lambda: Say(" \n"), "Say", "text", " \n", "must not be empty", id="say-blank"),
    pytest.param(lambda: Say("Hi\x00"), "Say", "text", "Hi\x00", "U+0000", id="say-text-nul"),
    pytest.param(lambda: Say("\x1b[0m"), "Say", "text", "\x1b[0m", "U+001B", id="say-text-esc"),
    pytest.param(lambda: Say("\ud800"), "Say", "text", "\ud800", "U+D800", id="say-surrogate"),
    pytest.param(lambda: Say("\ufffe"), "Say", "text", "\ufffe", "U+FFFE", id="say-text-fffe"),
    pytest.param(
        lambda: Say(None),  # type: ignore[arg-type]
        "Say",
        "text",
        None,
        "is required",
        id="say-text-none",
    ),
    pytest.param(
        lambda: Say("Hi", type="Neural"),  # type: ignore[arg-type]
        "Say",
        "type",
        "Neural",
        "must be one of WaveNet | Standard",
        id="say-type",
    ),
    pytest.param(
        lambda: Say("Hi", gender="male"),  # type: ignore[arg-type]
        "Say",
        "gender",
        "male",
        "must be one of MALE | FEMALE",
        id="say-gender-lowercase",
    ),
    pytest.param(
        lambda: Say("Hi", code="en US"), "Say", "code", "en US", "voice code", id="say-code-space"
    ),
    pytest.param(
        lambda: Say("Hi", lang="english"), "Say", "lang", "english", "language", id="say-lang"
    ),
    pytest.param(lambda: Say("Hi", loop=0), "Say", "loop", 0, "must be >= 1", id="say-loop-0"),
    pytest.param(
        lambda: Say("Hi", loop=True), "Say", "loop", True, "must be an int", id="say-loop-bool"
    ),
    # Play
    pytest.param(
        lambda: Play("next.xml"), "Play", "url", "next.xml", "absolute http(s)", id="play-relative"
    ),
    pytest.param(
        lambda: Play("ftp://cdn.example.com/a.mp3"),
        "Play",
        "url",
        "ftp://cdn.example.com/a.mp3",
        "absolute http(s) URL",
        id="play-url-ftp",
    ),
    pytest.param(
        lambda: Play("https://cdn.example.com/a b.mp3"),
        "Play",
        "url",
        "https://cdn.example.com/a b.mp3",
        "absolute http(s) URL",
        id="play-url-space",
    ),
    pytest.param(
        lambda: Play(MP3, record="msg"),
        "Play",
        "url",
        (MP3, "msg"),
        "exactly one source",
        id="play-url-and-record",
    ),
    pytest.param(lambda: Play(), "Play", "url", (None, None), "exactly one", id="play-no-source"),
    pytest.param(
        lambda: Play(record=""), "Play", "record", "", "must not be empty", id="play-record-empty"
    ),
    pytest.param(
        lambda: Play(MP3, leg="left"),  # type: ignore[arg-type]
        "Play",
        "leg",
        "left",
        "must be one of aleg | bleg | both",
        id="play-leg",
    ),
    pytest.param(lambda: Play(MP3, loop=0), "Play", "loop", 0, "must be >= 1", id="play-loop-0"),
    # Pause
    pytest.param(lambda: Pause(length=-1), "Pause", "length", -1, ">= 0", id="pause-length-neg"),
    pytest.param(
        lambda: Pause(length=False), "Pause", "length", False, "an int", id="pause-length-bool"
    ),
    pytest.param(
        lambda: Pause(dtmf_stop="##"), "Pause", "dtmf_stop", "##", "one key", id="pause-stop-two"
    ),
    pytest.param(
        lambda: Pause(dtmf_stop="+"), "Pause", "dtmf_stop", "+", "one key", id="pause-stop-plus"
    ),
    pytest.param(
        lambda: Pause(dtmf_stop=""), "Pause", "dtmf_stop", "", "one key", id="pause-stop-empty"
    ),
    pytest.param(
        lambda: Pause(dtmf_stop=1),  # type: ignore[arg-type]
        "Pause",
        "dtmf_stop",
        1,
        "must be one key of 0-9 * #",
        id="pause-stop-int",
    ),
    # Record family
    pytest.param(
        lambda: Record(asr="true"),  # type: ignore[arg-type]
        "Record",
        "asr",
        "true",
        "must be a bool",
        id="record-asr-str",
    ),
    pytest.param(
        lambda: Record(asr=1),  # type: ignore[arg-type]
        "Record",
        "asr",
        1,
        "must be a bool",
        id="record-asr-int",
    ),
    pytest.param(
        lambda: Record(timeout=-5), "Record", "timeout", -5, ">= 0", id="record-timeout-neg"
    ),
    pytest.param(
        lambda: RecordStart(tag=1),  # type: ignore[arg-type]
        "RecordStart",
        "tag",
        1,
        "must be a str",
        id="recordstart-tag-int",
    ),
    pytest.param(
        lambda: RecordStop(tag="\x00"), "RecordStop", "tag", "\x00", "U+0000", id="recordstop-tag"
    ),
    pytest.param(
        lambda: RecordWait(tag="\x00"), "RecordWait", "tag", "\x00", "U+0000", id="recordwait-tag"
    ),
    # Dial, To, Sip
    pytest.param(lambda: Dial(), "Dial", "children", (), "at least one", id="dial-no-target"),
    pytest.param(
        lambda: Dial(Error(), Meta("k", "v")),
        "Dial",
        "children",
        (),
        "needs at least one <To> or <Sip> target",
        id="dial-only-error-meta",
    ),
    pytest.param(lambda: To(""), "To", "target", "", "phone number", id="to-empty"),
    pytest.param(lambda: To("1555"), "To", "target", "1555", "phone number", id="to-too-short"),
    pytest.param(
        lambda: To("555 0100"), "To", "target", "555 0100", "phone number", id="to-no-area-code"
    ),
    pytest.param(lambda: To("1555x"), "To", "target", "1555x", "phone number", id="to-letters"),
    pytest.param(
        lambda: To("sip:ann@acme.example"),
        "To",
        "target",
        "sip:ann@acme.example",
        "user@host",
        id="to-sip-prefix",
    ),
    pytest.param(
        lambda: To(None),  # type: ignore[arg-type]
        "To",
        "target",
        None,
        "is required",
        id="to-none",
    ),
    pytest.param(lambda: Sip("2001"), "Sip", "target", "2001", "user@host", id="sip-no-host"),
    pytest.param(
        lambda: Sip("2001@pbx:123456"), "Sip", "target", "2001@pbx:123456", "port", id="sip-port"
    ),
    pytest.param(lambda: Sip("a@b c"), "Sip", "target", "a@b c", "user@host", id="sip-space"),
    # Gather
    pytest.param(
        lambda: Gather(dtmf_length=0), "Gather", "dtmf_length", 0, ">= 1", id="gather-length-0"
    ),
    pytest.param(
        lambda: Gather(dtmf_length=True),
        "Gather",
        "dtmf_length",
        True,
        "must be an int",
        id="gather-length-bool",
    ),
    pytest.param(
        lambda: Gather(dtmf_length="4"),  # type: ignore[arg-type]
        "Gather",
        "dtmf_length",
        "4",
        "must be an int",
        id="gather-length-str",
    ),
    pytest.param(
        lambda: Gather(dtmf_stop="##"), "Gather", "dtmf_stop", "##", "one key", id="gather-stop"
    ),
    pytest.param(
        lambda: Gather(dtmf_stop="+"), "Gather", "dtmf_stop", "+", "one key", id="gather-stop-plus"
    ),
    pytest.param(
        lambda: Gather(url="next.xml"), "Gather", "url", "next.xml", "http(s)", id="gather-url"
    ),
    pytest.param(
        lambda: Gather(url="https://ivr.example.com/a b"),
        "Gather",
        "url",
        "https://ivr.example.com/a b",
        "absolute http(s) URL",
        id="gather-url-space",
    ),
    pytest.param(
        lambda: Gather(method="PUT"),  # type: ignore[arg-type]
        "Gather",
        "method",
        "PUT",
        "must be one of GET | POST",
        id="gather-method-put",
    ),
    pytest.param(
        lambda: Gather(method="get"),  # type: ignore[arg-type]
        "Gather",
        "method",
        "get",
        "must be one of GET | POST",
        id="gather-method-lowercase",
    ),
    pytest.param(
        lambda: Gather(timeout=-1), "Gather", "timeout", -1, ">= 0", id="gather-timeout-neg"
    ),
    pytest.param(
        lambda: Gather(attempts=0), "Gather", "attempts", 0, ">= 1", id="gather-attempts-0"
    ),
    pytest.param(
        lambda: Gather(tag="\x00"), "Gather", "tag", "\x00", "U+0000", id="gather-tag-nul"
    ),
    pytest.param(
        lambda: Gather(DTMF(value="1"), DTMF(Hangup(), value="1")),
        "DTMF",
        "value",
        "1",
        "duplicates another branch",
        id="gather-duplicate-dtmf",
    ),
    # A Switch is replaced by DTMF branches first, so its Case is reported as that DTMF.
    pytest.param(
        lambda: Gather(DTMF(value="12"), Switch(Case(dtmf="12"))),
        "DTMF",
        "value",
        "12",
        "duplicates another branch",
        id="gather-duplicate-dtmf-and-case",
    ),
    pytest.param(
        lambda: Gather(Switch(Case(dtmf="#"), Case(dtmf="#"))),
        "DTMF",
        "value",
        "#",
        "duplicates another branch",
        id="gather-duplicate-case",
    ),
    # DTMF, Case, Default, Error
    pytest.param(lambda: DTMF(value="1a"), "DTMF", "value", "1a", "keys", id="dtmf-value-1a"),
    pytest.param(lambda: DTMF(value=""), "DTMF", "value", "", "keys", id="dtmf-value-empty"),
    pytest.param(
        lambda: DTMF(value=1),  # type: ignore[arg-type]
        "DTMF",
        "value",
        1,
        "must be one or more keys of 0-9 * #",
        id="dtmf-value-int",
    ),
    pytest.param(
        lambda: DTMF(value=None),  # type: ignore[arg-type]
        "DTMF",
        "value",
        None,
        "is required",
        id="dtmf-value-none",
    ),
    pytest.param(lambda: Case(dtmf="x"), "Case", "dtmf", "x", "keys", id="case-dtmf-letter"),
    pytest.param(
        lambda: Case(dtmf=None),  # type: ignore[arg-type]
        "Case",
        "dtmf",
        None,
        "is required",
        id="case-dtmf-none",
    ),
    pytest.param(
        lambda: Default(tag=1),  # type: ignore[arg-type]
        "Default",
        "tag",
        1,
        "must be a str",
        id="default-tag-int",
    ),
    pytest.param(
        lambda: Error(say="true"),  # type: ignore[arg-type]
        "Error",
        "say",
        "true",
        "must be a bool",
        id="error-say-str",
    ),
    pytest.param(
        lambda: Error(say=1),  # type: ignore[arg-type]
        "Error",
        "say",
        1,
        "must be a bool",
        id="error-say-int",
    ),
    # Callback
    pytest.param(
        lambda: Callback(url="next.xml"), "Callback", "url", "next.xml", "http", id="callback-url"
    ),
    pytest.param(
        lambda: Callback(url="ftp://x/y"), "Callback", "url", "ftp://x/y", "http", id="callback-ftp"
    ),
    pytest.param(
        lambda: Callback(url=None),  # type: ignore[arg-type]
        "Callback",
        "url",
        None,
        "is required",
        id="callback-url-none",
    ),
    pytest.param(
        lambda: Callback(url="/n", method="OPTIONS"),  # type: ignore[arg-type]
        "Callback",
        "method",
        "OPTIONS",
        "must be one of GET | POST | PATCH | DELETE",
        id="callback-method-options",
    ),
    pytest.param(
        lambda: Callback(url="/n", method="post"),  # type: ignore[arg-type]
        "Callback",
        "method",
        "post",
        "must be one of GET | POST | PATCH | DELETE",
        id="callback-method-lowercase",
    ),
    pytest.param(
        lambda: Callback(url="/n", body="true"),  # type: ignore[arg-type]
        "Callback",
        "body",
        "true",
        "must be a bool",
        id="callback-body-str",
    ),
    pytest.param(
        lambda: Callback(url="/n", timeout=-1),
        "Callback",
        "timeout",
        -1,
        ">= 0",
        id="callback-timeout-neg",
    ),
    # Hold, Unhold
    pytest.param(lambda: Hold(timeout=0), "Hold", "timeout", 0, ">= 1", id="hold-timeout-zero"),
    pytest.param(lambda: Hold(timeout=-1), "Hold", "timeout", -1, ">= 1", id="hold-timeout-neg"),
    pytest.param(
        lambda: Hold(timeout=1.5),  # type: ignore[arg-type]
        "Hold",
        "timeout",
        1.5,
        "an int",
        id="hold-timeout-float",
    ),
    pytest.param(
        lambda: Hold(timeout=True), "Hold", "timeout", True, "an int", id="hold-timeout-bool"
    ),
    pytest.param(lambda: Unhold(tag="\x00"), "Unhold", "tag", "\x00", "U+0000", id="unhold-tag"),
    # Tone
    pytest.param(lambda: Tone(volume=3), "Tone", "volume", 3, "<= 0", id="tone-volume-3"),
    pytest.param(lambda: Tone(volume=1), "Tone", "volume", 1, "<= 0", id="tone-volume-1"),
    pytest.param(lambda: Tone(volume=0.5), "Tone", "volume", 0.5, "<= 0", id="tone-volume-half"),
    pytest.param(
        lambda: Tone(volume=True), "Tone", "volume", True, "a number", id="tone-volume-bool"
    ),
    pytest.param(
        lambda: Tone(volume=-math.inf), "Tone", "volume", -math.inf, "finite", id="tone-volume-inf"
    ),
    pytest.param(lambda: Tone(loop=0), "Tone", "loop", 0, ">= 1", id="tone-loop-0"),
    pytest.param(lambda: Tone(don=-1), "Tone", "don", -1, ">= 0", id="tone-don-neg"),
    pytest.param(lambda: Tone(doff=-1), "Tone", "doff", -1, ">= 0", id="tone-doff-neg"),
    pytest.param(lambda: Tone(timeout=-1), "Tone", "timeout", -1, ">= 0", id="tone-timeout"),
    pytest.param(lambda: Tone(hz=[0]), "Tone", "hz", [0], "frequencies", id="tone-hz-zero"),
    pytest.param(
        lambda: Tone(hz=[100001]), "Tone", "hz", [100001], "1 to 100000", id="tone-hz-too-high"
    ),
    pytest.param(
        lambda: Tone(hz=[math.inf]), "Tone", "hz", [math.inf], "frequencies", id="tone-hz-inf"
    ),
    pytest.param(lambda: Tone(hz=[True]), "Tone", "hz", [True], "frequencies", id="tone-hz-bool"),
    pytest.param(
        lambda: Tone(hz="350;440"), "Tone", "hz", "350;440", "frequencies", id="tone-hz-semicolon"
    ),
    pytest.param(
        lambda: Tone(hz="350x2"), "Tone", "hz", "350x2", "frequencies", id="tone-hz-legacy-x"
    ),
    pytest.param(lambda: Tone(hz=""), "Tone", "hz", "", "frequencies", id="tone-hz-empty-string"),
    pytest.param(lambda: Tone(hz=[]), "Tone", "hz", [], "must not be empty", id="tone-hz-empty"),
    pytest.param(
        lambda: Tone(hz=350),  # type: ignore[arg-type]
        "Tone",
        "hz",
        350,
        "must be a sequence or a comma-separated string",
        id="tone-hz-scalar",
    ),
    pytest.param(
        lambda: Tone(leg="a"),  # type: ignore[arg-type]
        "Tone",
        "leg",
        "a",
        "must be one of aleg | bleg | both",
        id="tone-leg",
    ),
    # Meta
    pytest.param(
        lambda: Meta("a b", "x"), "Meta", "name", "a b", "without whitespace", id="meta-name-space"
    ),
    pytest.param(lambda: Meta("", "x"), "Meta", "name", "", "non-empty", id="meta-name-empty"),
    pytest.param(
        lambda: Meta(None, "x"),  # type: ignore[arg-type]
        "Meta",
        "name",
        None,
        "is required",
        id="meta-name-none",
    ),
    pytest.param(
        lambda: Meta("n", "a\x00"), "Meta", "value", "a\x00", "U+0000", id="meta-value-nul"
    ),
    pytest.param(
        lambda: Meta("n", None),  # type: ignore[arg-type]
        "Meta",
        "value",
        None,
        "is required",
        id="meta-value-none",
    ),
    pytest.param(
        lambda: Meta("n", [1]),  # type: ignore[arg-type]
        "Meta",
        "value",
        [1],
        "must be a str",
        id="meta-value-list",
    ),
    # Curl
    pytest.param(
        lambda: Curl(url="next.xml"), "Curl", "url", "next.xml", "http(s)", id="curl-url-relative"
    ),
    pytest.param(
        lambda: Curl(url=None),  # type: ignore[arg-type]
        "Curl",
        "url",
        None,
        "is required",
        id="curl-url-none",
    ),
    pytest.param(
        lambda: Curl(url="/h", method="post"), "Curl", "method", "post", "upper", id="curl-method"
    ),
    pytest.param(
        lambda: Curl(url="/h", method="P0ST"), "Curl", "method", "P0ST", "upper", id="curl-digit"
    ),
    pytest.param(lambda: Curl(url="/h", timeout=-1), "Curl", "timeout", -1, ">= 0", id="curl-ms"),
    pytest.param(
        lambda: Curl("\x00", url="/h"), "Curl", "body", "\x00", "U+0000", id="curl-body-nul"
    ),
    pytest.param(
        lambda: Curl(5, url="/h"),  # type: ignore[arg-type]
        "Curl",
        "body",
        5,
        "must be a str",
        id="curl-body-int",
    ),
    # Call, Geo, Schedule
    pytest.param(
        lambda: Call(field="from"), "Call", "value", None, "is required", id="call-field-no-value"
    ),
    pytest.param(
        lambda: Call(value="in"), "Call", "field", None, "is required", id="call-value-no-field"
    ),
    pytest.param(
        lambda: Call(field="caller", value="x"),  # type: ignore[arg-type]
        "Call",
        "field",
        "caller",
        "must be one of from | to | tn | direction | state",
        id="call-field-caller",
    ),
    pytest.param(
        lambda: Call(field="to", value="\x07"), "Call", "value", "\x07", "U+0007", id="call-value"
    ),
    pytest.param(lambda: Geo(states="nj"), "Geo", "states", "nj", "state codes", id="geo-nj"),
    pytest.param(lambda: Geo(states=["ZZ"]), "Geo", "states", ["ZZ"], "US state", id="geo-zz"),
    pytest.param(
        lambda: Geo(states="NJ NY"), "Geo", "states", "NJ NY", "state codes", id="geo-states-space"
    ),
    pytest.param(
        lambda: Geo(states="NJ,NJ"), "Geo", "states", "NJ,NJ", "not repeat", id="geo-states-twice"
    ),
    pytest.param(lambda: Geo(states=[]), "Geo", "states", [], "not be empty", id="geo-no-states"),
    pytest.param(
        lambda: Geo(county="essex"), "Geo", "county", "essex", "upper-case", id="geo-county-lower"
    ),
    pytest.param(
        lambda: Geo(county="1ST"), "Geo", "county", "1ST", "upper-case", id="geo-county-digit"
    ),
    pytest.param(
        lambda: Schedule(dow=["monday"]),  # type: ignore[list-item]
        "Schedule",
        "dow",
        ["monday"],
        "must hold day names of sun mon tue wed thu fri sat",
        id="schedule-dow-monday",
    ),
    pytest.param(
        lambda: Schedule(dow=["Mon"]),  # type: ignore[list-item]
        "Schedule",
        "dow",
        ["Mon"],
        "day names",
        id="schedule-dow-capitalised",
    ),
    pytest.param(
        lambda: Schedule(dow=["mon", "mon"]),
        "Schedule",
        "dow",
        ["mon", "mon"],
        "must not repeat a day",
        id="schedule-dow-twice",
    ),
    pytest.param(
        lambda: Schedule(dow=[]), "Schedule", "dow", [], "not be empty", id="schedule-dow-empty"
    ),
    pytest.param(
        lambda: Schedule(time="25:00:00-26:00:00"),
        "Schedule",
        "time",
        "25:00:00-26:00:00",
        "must be HH:MM:SS-HH:MM:SS",
        id="schedule-time-25",
    ),
    pytest.param(
        lambda: Schedule(time="09:00:00-17:60:00"),
        "Schedule",
        "time",
        "09:00:00-17:60:00",
        "HH:MM:SS",
        id="schedule-time-minute-60",
    ),
    pytest.param(
        lambda: Schedule(time="9:00:00-17:00:00"),
        "Schedule",
        "time",
        "9:00:00-17:00:00",
        "HH:MM:SS",
        id="schedule-time-one-digit-hour",
    ),
    pytest.param(
        lambda: Schedule(time="09:00-17:00"),
        "Schedule",
        "time",
        "09:00-17:00",
        "HH:MM:SS",
        id="schedule-time-short",
    ),
]


@pytest.mark.parametrize(("build", "element", "attribute", "value", "rule"), REJECTED)
def test_rejected_value(
    build: Build, element: str, attribute: str, value: object, rule: str
) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        build()
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.element, error.attribute) == (element, attribute)
    assert error.value == value
    assert rule in error.rule
    assert str(error) == f"<{element}> '{attribute}' {error.rule} (got {value!r})"


# -- nesting ---------------------------------------------------------------------------------

FORBIDDEN = [
    pytest.param(lambda: Gather(Hangup()), "Gather", "Hangup", id="hangup-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Dial(To("15550100200"))), "Gather", "Dial", id="dial-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Gather()), "Gather", "Gather", id="gather-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Gather(Case(dtmf="1")), "Gather", "Case", id="case-in-gather"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(To("15550100200")), "Response", "To", id="to-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Sip("a@b")), "Response", "Sip", id="sip-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(DTMF(value="1")), "Response", "DTMF", id="dtmf-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Switch()), "Response", "Switch", id="switch-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Default()), "Response", "Default", id="default-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Error()), "Response", "Error", id="error-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Response(Response()), "Response", "Response", id="response-in-response"),  # type: ignore[arg-type]
    pytest.param(lambda: Say("Hi", Meta("n", "v")), "Say", "Meta", id="meta-in-say"),  # type: ignore[arg-type]
    pytest.param(lambda: Play(MP3, Say("Hi")), "Play", "Say", id="say-in-play"),  # type: ignore[arg-type]
    pytest.param(lambda: Dial(To("15550100200"), Say("Hi")), "Dial", "Say", id="say-in-dial"),  # type: ignore[arg-type]
    pytest.param(lambda: Switch(DTMF(value="1")), "Switch", "DTMF", id="dtmf-in-switch"),  # type: ignore[arg-type]
    pytest.param(lambda: Tone(Say("Hi")), "Tone", "Say", id="say-in-tone"),  # type: ignore[arg-type]
    pytest.param(lambda: Callback(Hangup(), url="/n"), "Callback", "Hangup", id="in-callback"),  # type: ignore[arg-type]
    pytest.param(lambda: Curl("x", Meta("n", "v"), url="/h"), "Curl", "Meta", id="meta-in-curl"),  # type: ignore[arg-type]
    pytest.param(lambda: Answer(Say("Hi")), "Answer", "Say", id="say-in-answer"),  # type: ignore[arg-type]
    pytest.param(lambda: Hangup(Hangup()), "Hangup", "Hangup", id="hangup-in-hangup"),  # type: ignore[arg-type]
    pytest.param(lambda: Pause(Meta("n", "v")), "Pause", "Meta", id="meta-in-pause"),  # type: ignore[arg-type]
    pytest.param(lambda: Record(To("15550100200")), "Record", "To", id="to-in-record"),  # type: ignore[arg-type]
    pytest.param(lambda: DTMF(Default(), value="1"), "DTMF", "Default", id="default-in-dtmf"),  # type: ignore[arg-type]
    pytest.param(lambda: Default(Error()), "Default", "Error", id="error-in-default"),  # type: ignore[arg-type]
    pytest.param(lambda: Error(Error()), "Error", "Error", id="error-in-error"),  # type: ignore[arg-type]
    pytest.param(lambda: Geo(Case(dtmf="1")), "Geo", "Case", id="case-in-geo"),  # type: ignore[arg-type]
    pytest.param(lambda: Schedule(Switch()), "Schedule", "Switch", id="switch-in-schedule"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("build", "parent", "child"), FORBIDDEN)
def test_forbidden_child(build: Build, parent: str, child: str) -> None:
    with pytest.raises(NestingError) as info:
        build()
    error = info.value
    assert isinstance(error, TypeError)
    assert (error.parent, error.child) == (parent, child)
    assert set(error.allowed) == SPEC_ALLOWED[parent]
    allowed = ", ".join(error.allowed)
    assert str(error) == f"<{child}> cannot be nested in <{parent}> (allowed: {allowed})"


def test_nesting_error_message_lists_allowed_children_in_spec_order() -> None:
    with pytest.raises(NestingError) as info:
        Gather(Hangup())  # type: ignore[arg-type]
    assert str(info.value) == (
        "<Hangup> cannot be nested in <Gather> "
        "(allowed: Say, Play, Pause, DTMF, Switch, Default, Error, Meta)"
    )
    assert info.value.allowed == (
        "Say",
        "Play",
        "Pause",
        "DTMF",
        "Switch",
        "Default",
        "Error",
        "Meta",
    )


@pytest.mark.parametrize(
    ("build", "parent"),
    [
        pytest.param(lambda: Response("Hello"), "Response", id="str-in-response"),  # type: ignore[arg-type]
        pytest.param(lambda: Gather("Press 1"), "Gather", id="str-in-gather"),  # type: ignore[arg-type]
        pytest.param(lambda: Dial(To("15550100200"), "1556"), "Dial", id="str-in-dial"),  # type: ignore[arg-type]
        pytest.param(lambda: Say("Hi", "there"), "Say", id="str-in-say"),  # type: ignore[arg-type]
    ],
)
def test_plain_string_child(build: Build, parent: str) -> None:
    with pytest.raises(NestingError) as info:
        build()
    error = info.value
    assert (error.parent, error.child) == (parent, "str")
    assert set(error.allowed) == SPEC_ALLOWED[parent]
    assert str(error).startswith(f"<{parent}> children must be elements, not str '")


def test_element_class_as_child() -> None:
    with pytest.raises(NestingError) as info:
        Response(Hangup)  # type: ignore[arg-type]
    assert (info.value.parent, info.value.child) == ("Response", "type")


@pytest.mark.parametrize(
    ("build", "parent", "child"),
    [
        pytest.param(lambda: Say("Hi", Error(), Error()), "Say", "Error", id="two-errors-in-say"),
        pytest.param(
            lambda: Dial(To("15550100200"), Error(), Error(tag="x")),
            "Dial",
            "Error",
            id="two-errors-dial",
        ),
        pytest.param(lambda: Record(Error(), Error()), "Record", "Error", id="two-errors-record"),
        pytest.param(lambda: Gather(Error(), Error()), "Gather", "Error", id="two-errors-gather"),
        pytest.param(
            lambda: Gather(Default(), Default(tag="x")), "Gather", "Default", id="two-defaults"
        ),
        pytest.param(
            lambda: Gather(Default(), Switch(Default())),
            "Gather",
            "Default",
            id="two-defaults-counting-switch",
        ),
        pytest.param(
            lambda: Gather(Switch(Error()), Error()),
            "Gather",
            "Error",
            id="two-errors-counting-switch",
        ),
        pytest.param(
            lambda: Gather(Switch(Case(dtmf="1")), Switch(Case(dtmf="2"))),
            "Gather",
            "Switch",
            id="two-switches",
        ),
        pytest.param(
            lambda: Switch(Default(), Default()), "Switch", "Default", id="two-defaults-in-switch"
        ),
        pytest.param(
            lambda: Switch(Error(), Error()), "Switch", "Error", id="two-errors-in-switch"
        ),
    ],
)
def test_child_allowed_at_most_once(build: Build, parent: str, child: str) -> None:
    with pytest.raises(NestingError) as info:
        build()
    error = info.value
    assert (error.parent, error.child) == (parent, child)
    assert set(error.allowed) == SPEC_ALLOWED[parent]
    allowed = ", ".join(error.allowed)
    assert str(error) == f"<{parent}> can hold at most one <{child}> (allowed: {allowed})"


FORBIDDEN_PAIRS = [
    pytest.param(parent, child, id=f"{child}-in-{parent}")
    for parent in PARENTS
    for child in SAMPLES
    if child not in SPEC_ALLOWED[parent]
]
"""Every (parent, child) pair spec §4 forbids, for the parents that take children."""

ALLOWED_PAIRS = [
    pytest.param(parent, child, id=f"{child}-in-{parent}")
    for parent in PARENTS
    for child in sorted(SPEC_ALLOWED[parent])
]
"""Every (parent, child) pair spec §4 allows."""


@pytest.mark.parametrize(("parent", "child"), FORBIDDEN_PAIRS)
def test_every_forbidden_child_is_rejected(parent: str, child: str) -> None:
    with pytest.raises(NestingError) as info:
        PARENTS[parent](SAMPLES[child]())
    error = info.value
    assert (error.parent, error.child) == (parent, child)
    assert set(error.allowed) == SPEC_ALLOWED[parent]
    assert str(error).startswith(f"<{child}> cannot be nested in <{parent}> (allowed: ")


@pytest.mark.parametrize(("parent", "child"), ALLOWED_PAIRS)
def test_every_allowed_child_renders_and_validates(parent: str, child: str) -> None:
    element = PARENTS[parent](SAMPLES[child]())
    doc, _ = in_document(element, "")
    rendered = render(doc)
    assert validate(rendered, strict=True) == []
    tree = etree.fromstring(rendered)
    assert tree.find(".//Switch") is None
    assert tree.find(".//Case") is None
    if child == "Switch":  # replaced by its (here: no) branches when the Gather is built
        assert element.children == ()
        return
    assert child in [c.xml_tag for c in element.children]
    # In the output a Switch is its Gather and a Case is a DTMF (D5).
    holder = {"Switch": "Gather", "Case": "DTMF"}.get(parent, parent)
    held = {"Case": "DTMF"}.get(child, child)
    assert any(c.tag == held for el in tree.iter(holder) for c in el)


def test_text_only_elements_take_no_children() -> None:
    assert SPEC_ALLOWED["To"] == SPEC_ALLOWED["Sip"] == SPEC_ALLOWED["Meta"] == frozenset()
    with pytest.raises(TypeError):
        To("15550100200", Hangup())  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sip("2001@pbx", Hangup())  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Meta("lang", "fr", Hangup())  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "cls", [cls for cls in CLASSES if cls not in (To, Sip, Meta)], ids=lambda cls: cls.xml_tag
)
def test_children_type_matches_the_nesting_table(cls: type[Element]) -> None:
    hints = typing.get_type_hints(cls.__init__, localns=vars(callflow.types))
    annotation = hints["children"]
    members = typing.get_args(annotation) or (annotation,)
    assert {member.xml_tag for member in members} == SPEC_ALLOWED[cls.xml_tag]


# -- value semantics -------------------------------------------------------------------------


def spec_example() -> Response:
    """The example document of spec §1."""
    return Response(
        Answer(),
        Schedule(Say("We are closed."), Hangup(), dow=["sat", "sun"]),
        Gather(
            Say("Press 1 for support, 2 for messages."),
            DTMF(Dial(To("15550100200"), To("ann@acme.sip.opentact.org")), value="1"),
            DTMF(Callback(url="https://ivr.example.com/vm"), value="2"),
            Default(Say("Not an option.")),
            Error(say=True),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
        Hangup(),
    )


FULL: Final[dict[str, Build]] = {
    "Answer": lambda: Answer(Error(tag="e"), delay=1500, tag="greet"),
    "Hangup": lambda: Hangup(tag="done"),
    "Say": lambda: Say(
        "Hi",
        Error(say=True),
        type="WaveNet",
        gender="MALE",
        code="c1",
        lang="en-US",
        loop=2,
        tag="s",
    ),
    "Play": lambda: Play(MP3, Error(), leg="both", loop=2, tag="p"),
    "Play-record": lambda: Play(record="msg", leg="aleg"),
    "Pause": lambda: Pause(Error(), length=2000, dtmf_stop="#"),
    "Record": lambda: Record(
        Pause(length=60000), Meta("k", "v"), Error(), tag="msg", asr=True, timeout=60000
    ),
    "RecordStart": lambda: RecordStart(tag="r1"),
    "RecordStop": lambda: RecordStop(tag="r1"),
    "RecordWait": lambda: RecordWait(Error(), tag="r1"),
    "Dial": lambda: Dial(
        To("15550100200"), Sip("2001@pbx:5080"), Error(Say("Busy")), Meta("k", "v")
    ),
    "Gather": lambda: Gather(
        Say("Press 1"),
        Play(MP3),
        Pause(length=500),
        DTMF(Say("One"), value="1"),
        Switch(Case(Say("Two"), dtmf="2"), Default(tag="d")),
        Error(Hangup()),
        Meta("menu", "main"),
        dtmf_length=1,
        dtmf_stop="#",
        url="/next",
        method="POST",
        timeout=8000,
        attempts=3,
        tag="menu",
    ),
    "Callback": lambda: Callback(
        Error(), Meta("k", 1), url="/next", method="PATCH", body=True, timeout=5000, tag="s2"
    ),
    "Hold": lambda: Hold(tag="h", timeout=120000),
    "Unhold": lambda: Unhold(tag="h"),
    "Tone": lambda: Tone(
        Meta("k", "v"),
        Error(),
        tag="t",
        loop=3,
        volume=-12,
        don=2000,
        doff=4000,
        hz=[350, 440.5],
        timeout=30000,
        leg="aleg",
    ),
    "Meta": lambda: Meta("note", "line 1\nline 2"),
    "Curl": lambda: Curl('{"n":1}', Error(), url="/hit", method="POST", timeout=3000, tag="crm"),
    "Call": lambda: Call(Say("In"), Error(), field="direction", value="in"),
    "Geo": lambda: Geo(Say("Jersey"), states=["NJ", "NY"], county="ESSEX"),
    "Schedule": lambda: Schedule(Say("Open"), dow=["mon", "tue"], time="09:00:00-17:59:59"),
    "spec-example": spec_example,
}
"""Elements with every attribute set, and a whole document."""

TREES = [pytest.param(build, id=name) for name, build in {**SAMPLES, **FULL}.items()]


@pytest.mark.parametrize("build", [pytest.param(b, id=n) for n, b in FULL.items()])
def test_full_elements_render_and_validate(build: Build) -> None:
    element = build()
    doc, _ = in_document(element, "")
    assert validate(render(doc), strict=True) == []


@pytest.mark.parametrize("build", TREES)
def test_fields_and_children_cannot_be_assigned_or_deleted(build: Build) -> None:
    element = build()
    before = repr(element)
    for name in [*(spec.name for spec in element.fields), "children"]:
        with pytest.raises(FrozenInstanceError):
            setattr(element, name, None)
        with pytest.raises(FrozenInstanceError):
            delattr(element, name)
    # No other attribute can be added: the classes are slotted, without a __dict__.
    with pytest.raises(AttributeError):
        element.extra = None  # type: ignore[attr-defined]
    assert not hasattr(element, "__dict__")
    assert repr(element) == before


def test_assigning_a_typed_attribute_raises() -> None:
    say = Say("Hi")
    with pytest.raises(FrozenInstanceError, match="Say is immutable"):
        say.text = "Bye"  # type: ignore[misc]
    assert say.text == "Hi"


def test_children_are_a_tuple() -> None:
    children: list[BlockChild] = [Say("Hi"), Hangup()]
    doc = Response(*children)
    children.append(Answer())
    assert doc.children == (Say("Hi"), Hangup())


@pytest.mark.parametrize("build", TREES)
def test_equal_trees_are_equal_and_hash_alike(build: Build) -> None:
    first, second = build(), build()
    assert first is not second
    assert first == second
    assert not first != second  # noqa: SIM202 - exercises __ne__
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(Meta("n", 1), Meta("n", "1"), id="meta-int-is-its-string"),
        pytest.param(Meta("n", True), Meta("n", "true"), id="meta-bool-is-its-string"),
        pytest.param(Call(field="tn", value=15), Call(field="tn", value="15"), id="call-value"),
        pytest.param(Schedule(dow=["mon"]), Schedule(dow=("mon",)), id="dow-list-tuple"),
        pytest.param(Geo(states="NJ,NY"), Geo(states=["NJ", "NY"]), id="states-str-list"),
        pytest.param(Tone(hz="350,440"), Tone(hz=(350, 440)), id="hz-str-tuple"),
    ],
)
def test_equal_after_normalisation(first: Element, second: Element) -> None:
    assert first == second
    assert hash(first) == hash(second)
    assert render(Response(typing.cast(BlockChild, first))) == render(
        Response(typing.cast(BlockChild, second))
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(Say("Hi"), Say("Bye"), id="text"),
        pytest.param(Say("Hi"), Say("Hi", loop=2), id="attribute-set"),
        pytest.param(Say("Hi", loop=2), Say("Hi", loop=3), id="attribute-value"),
        pytest.param(Say("Hi"), Say("Hi", Error()), id="child-added"),
        pytest.param(Error(say=True), Error(say=False), id="bool"),
        pytest.param(Error(say=False), Error(), id="false-is-not-unset"),
        pytest.param(Gather(dtmf_length=1), Gather(attempts=1), id="same-value-other-field"),
        pytest.param(Response(Answer(), Hangup()), Response(Hangup(), Answer()), id="child-order"),
        pytest.param(Default(tag="x"), Error(tag="x"), id="same-fields-other-class"),
        pytest.param(RecordStart(tag="r"), RecordStop(tag="r"), id="same-shape-other-class"),
        pytest.param(Dial(To("15550100200")), Dial(Sip("1555@pbx")), id="target-kind"),
        pytest.param(
            spec_example(),
            Response(*typing.cast(BlockChildren, spec_example().children[:-1]), Hangup(tag="bye")),
            id="deep-leaf",
        ),
    ],
)
def test_different_trees_are_not_equal(first: Element, second: Element) -> None:
    assert first != second
    assert second != first
    assert not first == second  # noqa: SIM201 - exercises __eq__
    assert len({first, second}) == 2


def test_element_is_not_equal_to_other_types() -> None:
    assert Say("Hi") != "Hi"
    assert Meta("n", "v") != ("n", "v")
    assert Response() != None  # noqa: E711 - exercises __eq__ with None


def namespace() -> dict[str, object]:
    return {name: getattr(callflow, name) for name in callflow.__all__}


@pytest.mark.parametrize(
    "build",
    [
        *TREES,
        pytest.param(lambda: Play(None, Error(), record="msg"), id="play-record-with-error"),
        pytest.param(lambda: Curl(None, Error(), url="/hit"), id="curl-no-body-with-error"),
    ],
)
def test_repr_round_trip(build: Build) -> None:
    element = build()
    assert eval(repr(element), namespace()) == element


@pytest.mark.parametrize(
    ("element", "text"),
    [
        pytest.param(Say("Hi", loop=2), "Say('Hi', loop=2)", id="say"),
        pytest.param(Meta("n", 5), "Meta('n', '5')", id="meta"),
        pytest.param(Play(record="msg"), "Play(record='msg')", id="play-record"),
        pytest.param(
            Play(None, Error(), record="msg"),
            "Play(None, Error(), record='msg')",
            id="play-record-with-error",
        ),
        pytest.param(
            Curl(None, Error(), url="/hit"), "Curl(None, Error(), url='/hit')", id="curl-with-error"
        ),
        pytest.param(Dial(To("15550100200")), "Dial(To('15550100200'))", id="dial"),
        pytest.param(Schedule(dow=["mon"]), "Schedule(dow=('mon',))", id="schedule"),
        pytest.param(
            Gather(DTMF(Hangup(), value="1"), dtmf_length=1),
            "Gather(DTMF(Hangup(), value='1'), dtmf_length=1)",
            id="gather",
        ),
    ],
)
def test_repr_shape(element: Element, text: str) -> None:
    assert repr(element) == text


@pytest.mark.parametrize("build", TREES)
def test_copy_and_deepcopy_are_equal(build: Build) -> None:
    element = build()
    assert copy.copy(element) == element
    assert copy.deepcopy(element) == element
    assert copy.deepcopy({"doc": element})["doc"] == element


@pytest.mark.parametrize("build", TREES)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(build: Build, protocol: int) -> None:
    element = build()
    doc, _ = in_document(element, "")
    rendered = render(doc)  # fills the render cache, which must not be pickled stale
    restored = pickle.loads(pickle.dumps(element, protocol=protocol))
    assert type(restored) is type(element)
    assert restored == element
    assert hash(restored) == hash(element)
    assert render(in_document(restored, "")[0]) == rendered
    with pytest.raises(FrozenInstanceError):
        restored.children = ()  # type: ignore[misc]


# -- sequences -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "attribute", "expected", "wire"),
    [
        pytest.param(
            lambda: Schedule(dow=["mon", "tue"]), "dow", ("mon", "tue"), "mon,tue", id="dow-list"
        ),
        pytest.param(
            lambda: Schedule(dow=("mon", "tue")), "dow", ("mon", "tue"), "mon,tue", id="dow-tuple"
        ),
        pytest.param(
            lambda: Schedule(dow="mon,tue"),
            "dow",
            ("mon", "tue"),
            "mon,tue",
            id="dow-string",
        ),
        pytest.param(
            lambda: Geo(states=["NJ", "NY"]), "states", ("NJ", "NY"), "NJ,NY", id="states-list"
        ),
        pytest.param(
            lambda: Geo(states=("NJ", "NY")), "states", ("NJ", "NY"), "NJ,NY", id="states-tuple"
        ),
        pytest.param(
            lambda: Geo(states="NJ,NY"), "states", ("NJ", "NY"), "NJ,NY", id="states-string"
        ),
        pytest.param(lambda: Tone(hz=[350, 440]), "hz", (350, 440), "350,440", id="hz-list"),
        pytest.param(lambda: Tone(hz=(350, 440)), "hz", (350, 440), "350,440", id="hz-tuple"),
        pytest.param(lambda: Tone(hz="350,440"), "hz", (350, 440), "350,440", id="hz-string"),
        pytest.param(
            lambda: Tone(hz="350.5,440"), "hz", (350.5, 440), "350.5,440", id="hz-string-float"
        ),
    ],
)
def test_sequence_attribute_is_stored_as_tuple(
    build: Build, attribute: str, expected: tuple[object, ...], wire: str
) -> None:
    element = build()
    value = getattr(element, attribute)
    assert isinstance(value, tuple)
    assert value == expected
    assert [type(item) for item in value] == [type(item) for item in expected]
    rendered = render(Response(typing.cast(BlockChild, element)))
    assert validate(rendered, strict=True) == []
    assert etree.fromstring(rendered)[0].get(attribute) == wire


def test_sequence_attribute_does_not_alias_the_callers_list() -> None:
    days: list[typing.Literal["mon", "tue"]] = ["mon"]
    schedule = Schedule(dow=days)
    days.append("tue")
    assert schedule.dow == ("mon",)


@pytest.mark.parametrize(
    "hz",
    [
        pytest.param([440] * 64, id="list"),
        pytest.param(",".join(["440"] * 64), id="comma-string"),
    ],
)
def test_tone_hz_holds_up_to_64_frequencies(hz: list[int] | str) -> None:
    assert Tone(hz=hz).hz == (440,) * 64


@pytest.mark.parametrize(
    "hz",
    [
        pytest.param([440] * 65, id="list"),
        pytest.param(",".join(["440"] * 65), id="comma-string"),
        pytest.param([350.5] * 1000, id="many"),
    ],
)
def test_tone_hz_rejects_more_than_64_frequencies(hz: list[float] | str) -> None:
    with pytest.raises(InvalidAttributeError, match="must hold at most 64 frequencies") as info:
        Tone(hz=hz)
    assert (info.value.element, info.value.attribute) == ("Tone", "hz")


def test_tone_hz_rejects_bytes() -> None:
    with pytest.raises(InvalidAttributeError) as info:
        Tone(hz=b"440")
    assert (info.value.element, info.value.attribute) == ("Tone", "hz")


# -- the fast paths of the generated constructors ---------------------------------------------
# Each check's common case is tested inline (an int compared, a str found in its checker's memo
# of accepted values, a text tested for printable characters); whatever misses it takes the
# checker itself. These tests warm every fast path first, then ask it for what it must refuse.


def _warm() -> None:
    Response(
        Say("Warm", lang="en-US", loop=2, type="WaveNet", tag="t"),
        Pause(length=1, dtmf_stop="#"),
        Schedule(Hangup(), dow=("sat", "sun"), time="09:00:00-17:00:00"),
        Gather(DTMF(Callback(url="https://ivr.example.com/warm"), value="1"), method="GET"),
        Meta("name", "value"),
    )


class _Text(str):
    """A str subclass: never in a memo, always checked in full."""


@pytest.mark.parametrize(
    ("build", "attribute", "rule"),
    [
        pytest.param(lambda: Say("Warm", loop=True), "loop", "must be an int", id="bool-as-count"),
        pytest.param(lambda: Say("Warm", loop=0), "loop", ">= 1", id="count-zero"),
        pytest.param(
            lambda: Say("Warm", loop=2.0),  # type: ignore[arg-type]
            "loop",
            "must be an int",
            id="float-count",
        ),
        pytest.param(lambda: Pause(length=-1), "length", ">= 0", id="negative-ms"),
        pytest.param(lambda: Pause(dtmf_stop="##"), "dtmf_stop", "one key", id="two-keys"),
        pytest.param(lambda: Pause(dtmf_stop=""), "dtmf_stop", "one key", id="no-key"),
        pytest.param(lambda: Say(""), "text", "must not be empty", id="empty-text"),
        pytest.param(lambda: Say(" \t "), "text", "must not be empty", id="blank-text"),
        pytest.param(lambda: Say("a\x00"), "text", r"U\+0000", id="nul-in-text"),
        pytest.param(lambda: Say("Warm", tag="\x1b"), "tag", r"U\+001B", id="escape-in-tag"),
        pytest.param(
            lambda: Say("Warm", type="wavenet"),  # type: ignore[arg-type]
            "type",
            "one of",
            id="choice-case",
        ),
        pytest.param(lambda: Say("Warm", lang="en_US"), "lang", "language tag", id="lang"),
        pytest.param(
            lambda: Error(say=1),  # type: ignore[arg-type]
            "say",
            "must be a bool",
            id="int-as-bool",
        ),
        pytest.param(lambda: DTMF(value="1 "), "value", "keys", id="keys-space"),
        pytest.param(lambda: Callback(url="ftp://x.example"), "url", "http", id="url-scheme"),
        pytest.param(
            lambda: Callback(url=_Text("https://ivr.example.com/warm\x00")),
            "url",
            r"U\+0000",
            id="url-subclass",
        ),
        pytest.param(lambda: Meta("na me", "v"), "name", "whitespace", id="meta-name"),
        pytest.param(lambda: Meta("name", "a\x0b"), "value", r"U\+000B", id="meta-value"),
        pytest.param(
            lambda: Schedule(dow=("sat", "sat")), "dow", "must not repeat", id="dow-repeated"
        ),
        pytest.param(
            lambda: Schedule(dow=(["sat"],)),  # type: ignore[arg-type]
            "dow",
            "day names",
            id="dow-unhashable",
        ),
        pytest.param(lambda: Schedule(dow="sat,sat"), "dow", "must not repeat", id="dow-str"),
        pytest.param(
            lambda: Schedule(time="09:00:00-24:00:00"), "time", "HH:MM:SS", id="time-hour-24"
        ),
    ],
)
def test_the_fast_paths_refuse_what_the_checkers_refuse(
    build: Callable[[], Element], attribute: str, rule: str
) -> None:
    _warm()
    with pytest.raises(InvalidAttributeError, match=rule) as info:
        build()
    assert info.value.attribute == attribute


def test_a_memo_keeps_only_accepted_str_values_and_stays_bounded() -> None:
    memo = checks.ACCEPTED[checks.url]
    for bad in ("ftp://x.example", "https://", "not a url"):
        with pytest.raises(InvalidAttributeError):
            Callback(url=bad)
        assert bad not in memo
    Callback(url=_Text("https://ivr.example.com/subclass"))
    assert all(type(value) is str for value in memo)
    for i in range(checks.MEMO_SIZE + 10):
        Callback(url=f"https://ivr.example.com/bound/{i}")
    assert len(memo) <= checks.MEMO_SIZE
    with pytest.raises(InvalidAttributeError):  # past the bound, values are still checked
        Callback(url="https://ivr.example.com/bound/\x00")
    assert all(len(memo) <= checks.MEMO_SIZE for memo in checks.ACCEPTED.values())


def test_a_remembered_day_list_is_stored_as_the_first_was() -> None:
    first = Schedule(dow=("sat", "sun"))
    assert Schedule(dow=("sat", "sun")).dow == Schedule(dow="sat,sun").dow == first.dow
    assert Schedule(dow=["sat", "sun"]) == first  # a list takes the full check
    stored = Schedule(dow=(_Text("sat"),)).dow  # type: ignore[arg-type]
    assert stored is not None and type(stored[0]) is str


def test_a_rule_skipped_by_its_guard_still_runs_when_the_guard_fails() -> None:
    # Dial's rule is skipped when its first child is a target; Play's and Call's when their
    # values are consistent. Otherwise the rule runs, and passes or raises as before.
    assert Dial(Error(), To("15550100200")).targets == (To("15550100200"),)
    with pytest.raises(InvalidAttributeError, match="at least one"):
        Dial(Error(Say("No one.")), Meta("k", "v"))
    with pytest.raises(InvalidAttributeError, match="exactly one source"):
        Play("https://cdn.example.com/a.mp3", record="msg")
    with pytest.raises(InvalidAttributeError, match="is required with the other"):
        Call(field="from")


def test_children_off_the_fast_path_are_checked_in_full() -> None:
    class Loud(Say):
        __slots__ = ()

    doc = Response(Loud("Hi"), Say("Hi"))
    assert render(doc) == b'<?xml version="1.0" encoding="UTF-8"?>\n' + (
        b"<Response><Say>Hi</Say><Say>Hi</Say></Response>"
    )
    with pytest.raises(NestingError, match="at most one <Error>"):
        Dial(To("15550100200"), Error(), Error())
    with pytest.raises(NestingError, match="at most one <Default>"):
        Gather(Default(), Say("x"), Default())
    with pytest.raises(NestingError, match="cannot be nested in <Response>"):
        Response(*[Say("x")] * 9, Error())  # type: ignore[arg-type]
    with pytest.raises(NestingError, match="must be elements"):
        Response(*[Say("x")] * 9, "text")  # type: ignore[arg-type]
