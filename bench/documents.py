"""The benchmark documents, written once per contender: small (3 commands), IVR (about 10
commands with a nested Gather, a Dial and caller-provided text that needs escaping) and large
(200 commands)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

import callflow as cf

from . import minimal_dsl as minimal

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
CALLERS = ["Zoë & <Co>", 'Ann "The Boss" O\'Neil', "Bob", "Chloé > Dan"]
NUMBERS = ["15550100200", "15550100201", "15550100202"]
DESK = "desk@acme.sip.opentact.org"
LARGE_COMMANDS = 200


# -- callflow -----------------------------------------------------------------------------


def callflow_small(name: str) -> cf.Response:
    return cf.Response(cf.Answer(), cf.Say(f"Hello {name}, goodbye."), cf.Hangup())


def callflow_ivr(name: str, number: str, ref: str) -> cf.Response:
    return cf.Response(
        cf.Answer(),
        cf.Say(f"Hello {name}, thanks for calling Acme & Co.", lang="en-US"),
        cf.Schedule(cf.Say("We are closed."), cf.Hangup(), dow=("sat", "sun")),
        cf.Gather(
            cf.Say("Press 1 for support, 2 for billing."),
            cf.DTMF(
                cf.Dial(
                    cf.To(number),
                    cf.Sip(DESK),
                    cf.Error(cf.Say("Nobody is available."), cf.Record(tag="vm", timeout=60000)),
                ),
                value="1",
            ),
            cf.DTMF(cf.Callback(url="https://ivr.example.com/billing"), value="2"),
            cf.Default(cf.Say("Sorry, that is not an option.")),
            cf.Error(say=True),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
        cf.Say(f"Your reference is {ref}."),
        cf.Hangup(),
    )


# The same IVR written the way a flow module would: constant subtrees built once.
ANSWER = cf.Answer()
CLOSED = cf.Schedule(cf.Say("We are closed."), cf.Hangup(), dow=("sat", "sun"))
PROMPT = cf.Say("Press 1 for support, 2 for billing.")
DESK_TARGET = cf.Sip(DESK)
DIAL_ERROR = cf.Error(cf.Say("Nobody is available."), cf.Record(tag="vm", timeout=60000))
BILLING = cf.DTMF(cf.Callback(url="https://ivr.example.com/billing"), value="2")
NOT_AN_OPTION = cf.Default(cf.Say("Sorry, that is not an option."))
NO_INPUT = cf.Error(say=True)
HANGUP = cf.Hangup()


def callflow_ivr_constant(name: str, number: str, ref: str) -> cf.Response:
    return cf.Response(
        ANSWER,
        cf.Say(f"Hello {name}, thanks for calling Acme & Co.", lang="en-US"),
        CLOSED,
        cf.Gather(
            PROMPT,
            cf.DTMF(cf.Dial(cf.To(number), DESK_TARGET, DIAL_ERROR), value="1"),
            BILLING,
            NOT_AN_OPTION,
            NO_INPUT,
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
        cf.Say(f"Your reference is {ref}."),
        HANGUP,
    )


def callflow_large(name: str) -> cf.Response:
    commands: list[cf.Say | cf.Pause | cf.Play] = []
    for i in range(LARGE_COMMANDS // 4):
        commands.append(cf.Say(f"Item {i} for {name}: fish & chips <large>."))
        commands.append(cf.Pause(length=500))
        commands.append(cf.Play(f"https://cdn.example.com/{i}.mp3?a=1&b=2"))
        commands.append(cf.Say("Thanks.", loop=2))
    return cf.Response(*commands)


# -- the minimal checked DSL (bench.minimal_dsl): the contender of a document built anew -------


def minimal_ivr(name: str, number: str, ref: str) -> bytes:
    return minimal.render(minimal.ivr(name, number, ref, DESK))


def minimal_large(name: str) -> bytes:
    return minimal.render(minimal.large(name, LARGE_COMMANDS))


ELEMENTS = {"small": 4, "ivr": 22, "large": LARGE_COMMANDS + 1}
"""How many elements each document has (for the cost per element)."""


# -- the floor: hand-written f-strings with xml.sax.saxutils ---------------------------------


def fstring_small(name: str) -> bytes:
    return (
        f"{DECLARATION}<Response><Answer/><Say>{escape(f'Hello {name}, goodbye.')}</Say>"
        "<Hangup/></Response>"
    ).encode()


def fstring_ivr(name: str, number: str, ref: str) -> bytes:
    greeting = escape(f"Hello {name}, thanks for calling Acme & Co.")
    return (
        f'{DECLARATION}<Response><Answer/><Say lang="en-US">{greeting}</Say>'
        '<Schedule dow="sat,sun"><Say>We are closed.</Say><Hangup/></Schedule>'
        '<Gather dtmf_length="1" timeout="6000" attempts="2">'
        "<Say>Press 1 for support, 2 for billing.</Say>"
        f'<DTMF value="1"><Dial><To>{escape(number)}</To><Sip>{escape(DESK)}</Sip>'
        '<Error><Say>Nobody is available.</Say><Record tag="vm" timeout="60000"/></Error>'
        "</Dial></DTMF>"
        f'<DTMF value="2"><Callback url={quoteattr("https://ivr.example.com/billing")}/></DTMF>'
        "<Default><Say>Sorry, that is not an option.</Say></Default>"
        '<Error say="true"/></Gather>'
        f"<Say>{escape(f'Your reference is {ref}.')}</Say><Hangup/></Response>"
    ).encode()


def fstring_large(name: str) -> bytes:
    parts = [DECLARATION, "<Response>"]
    for i in range(LARGE_COMMANDS // 4):
        parts.append(f"<Say>{escape(f'Item {i} for {name}: fish & chips <large>.')}</Say>")
        parts.append('<Pause length="500"/>')
        parts.append(f"<Play>{escape(f'https://cdn.example.com/{i}.mp3?a=1&b=2')}</Play>")
        parts.append('<Say loop="2">Thanks.</Say>')
    parts.append("</Response>")
    return "".join(parts).encode()


# -- lxml etree building ---------------------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> Any:
    el = etree.SubElement(parent, name, attrs)
    if text is not None:
        el.text = text
    return el


def _lxml_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def lxml_small(name: str) -> bytes:
    root = etree.Element("Response")
    _sub(root, "Answer")
    _sub(root, "Say", f"Hello {name}, goodbye.")
    _sub(root, "Hangup")
    return _lxml_bytes(root)


def lxml_ivr(name: str, number: str, ref: str) -> bytes:
    root = etree.Element("Response")
    _sub(root, "Answer")
    _sub(root, "Say", f"Hello {name}, thanks for calling Acme & Co.", lang="en-US")
    schedule = _sub(root, "Schedule", dow="sat,sun")
    _sub(schedule, "Say", "We are closed.")
    _sub(schedule, "Hangup")
    gather = _sub(root, "Gather", dtmf_length="1", timeout="6000", attempts="2")
    _sub(gather, "Say", "Press 1 for support, 2 for billing.")
    dial = _sub(_sub(gather, "DTMF", value="1"), "Dial")
    _sub(dial, "To", number)
    _sub(dial, "Sip", DESK)
    error = _sub(dial, "Error")
    _sub(error, "Say", "Nobody is available.")
    _sub(error, "Record", tag="vm", timeout="60000")
    _sub(_sub(gather, "DTMF", value="2"), "Callback", url="https://ivr.example.com/billing")
    _sub(_sub(gather, "Default"), "Say", "Sorry, that is not an option.")
    _sub(gather, "Error", say="true")
    _sub(root, "Say", f"Your reference is {ref}.")
    _sub(root, "Hangup")
    return _lxml_bytes(root)


def lxml_large(name: str) -> bytes:
    root = etree.Element("Response")
    for i in range(LARGE_COMMANDS // 4):
        _sub(root, "Say", f"Item {i} for {name}: fish & chips <large>.")
        _sub(root, "Pause", length="500")
        _sub(root, "Play", f"https://cdn.example.com/{i}.mp3?a=1&b=2")
        _sub(root, "Say", "Thanks.", loop="2")
    return _lxml_bytes(root)


# -- twilio-python (TwiML, the closest equivalent) ------------------------------------------


def twilio_ivr(name: str, number: str, ref: str) -> bytes:
    from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

    response = VoiceResponse()
    response.say(f"Hello {name}, thanks for calling Acme & Co.", language="en-US")
    gather = Gather(num_digits=1, timeout=6, action="https://ivr.example.com/menu")
    gather.say("Press 1 for support, 2 for billing.")
    response.append(gather)
    dial = Dial(action="https://ivr.example.com/dial-error")
    dial.number(number)
    dial.sip(f"sip:{DESK}")
    response.append(dial)
    response.say("Nobody is available.")
    response.record(max_length=60)
    response.redirect("https://ivr.example.com/billing")
    response.say("Sorry, that is not an option.")
    response.say(f"Your reference is {ref}.")
    response.hangup()
    return str(response).encode()


def twilio_small(name: str) -> bytes:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(f"Hello {name}, goodbye.")
    response.hangup()
    return str(response).encode()


def twilio_large(name: str) -> bytes:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    for i in range(LARGE_COMMANDS // 4):
        response.say(f"Item {i} for {name}: fish & chips <large>.")
        response.pause(length=1)
        response.play(f"https://cdn.example.com/{i}.mp3?a=1&b=2")
        response.say("Thanks.", loop=2)
    return str(response).encode()


# -- Plivo's plivoxml -------------------------------------------------------------------------


def plivo_ivr(name: str, number: str, ref: str) -> bytes:
    from plivo import plivoxml

    response = plivoxml.ResponseElement()
    response.add(plivoxml.SpeakElement(f"Hello {name}, thanks for calling Acme & Co."))
    digits = plivoxml.GetDigitsElement(
        action="https://ivr.example.com/menu", num_digits=1, timeout=6, retries=2
    )
    digits.add(plivoxml.SpeakElement("Press 1 for support, 2 for billing."))
    response.add(digits)
    dial = plivoxml.DialElement(action="https://ivr.example.com/dial-error")
    dial.add(plivoxml.NumberElement(number))
    dial.add(plivoxml.UserElement(f"sip:{DESK}"))
    response.add(dial)
    response.add(plivoxml.SpeakElement("Nobody is available."))
    response.add(plivoxml.RecordElement(max_length=60))
    response.add(plivoxml.RedirectElement("https://ivr.example.com/billing"))
    response.add(plivoxml.SpeakElement("Sorry, that is not an option."))
    response.add(plivoxml.SpeakElement(f"Your reference is {ref}."))
    response.add(plivoxml.HangupElement())
    return str(response.to_string(pretty=False)).encode()


def plivo_small(name: str) -> bytes:
    from plivo import plivoxml

    response = plivoxml.ResponseElement()
    response.add(plivoxml.SpeakElement(f"Hello {name}, goodbye."))
    response.add(plivoxml.HangupElement())
    return str(response.to_string(pretty=False)).encode()


def plivo_large(name: str) -> bytes:
    from plivo import plivoxml

    response = plivoxml.ResponseElement()
    for i in range(LARGE_COMMANDS // 4):
        response.add(plivoxml.SpeakElement(f"Item {i} for {name}: fish & chips <large>."))
        response.add(plivoxml.WaitElement(length=1))
        response.add(plivoxml.PlayElement(f"https://cdn.example.com/{i}.mp3?a=1&b=2"))
        response.add(plivoxml.SpeakElement("Thanks.", loop=2))
    return str(response.to_string(pretty=False)).encode()


# The same IVR prepared once with slots for the three values that change per call.
IVR_PREPARED = cf.prepare(
    cf.Response(
        ANSWER,
        cf.Say(cf.Slot("greeting"), lang="en-US"),
        CLOSED,
        cf.Gather(
            PROMPT,
            cf.DTMF(cf.Dial(cf.To(cf.Slot("number")), DESK_TARGET, DIAL_ERROR), value="1"),
            BILLING,
            NOT_AN_OPTION,
            NO_INPUT,
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
        cf.Say(cf.Slot("reference")),
        HANGUP,
    )
)


def callflow_ivr_prepared(name: str, number: str, ref: str) -> bytes:
    return IVR_PREPARED.render(
        greeting=f"Hello {name}, thanks for calling Acme & Co.",
        number=number,
        reference=f"Your reference is {ref}.",
    )
