"""Hypothesis strategies for callflow documents (in the manner of attrs' ``tests/strategies.py``).

* :func:`texts` draws any text XML 1.0 can hold, biased towards the characters that need
  escaping or that parsers like to change (``&<>"'``, ``\\r``, ``\\n``, ``\\t``, astral
  characters, leading and trailing spaces).
* One strategy per element draws that element with valid attribute values; ``depth`` bounds
  how deep its children (including its ``<Error>`` handler) may nest.
* :func:`documents` draws whole valid ``Response`` trees in the canonical form: the nesting
  table of :mod:`callflow.dialect.nesting` plus the rules across values (unique DTMF values per
  Gather,
  at most one Error/Default per parent, Dial with a target, Play with exactly one source, Call
  field and value together). ``Switch``/``Case`` are variant forms, so :func:`switches` and
  :func:`cases` exist but :func:`documents` never uses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import phonenumbers
from hypothesis import strategies as st

from callflow import (
    DTMF,
    Answer,
    Call,
    Callback,
    Case,
    Curl,
    Default,
    Dial,
    Error,
    Gather,
    Geo,
    Hangup,
    Hold,
    Meta,
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
)
from callflow.dialect.values import CALL_FIELDS, US_STATES
from callflow.types import (
    BlockChild,
    CallbackChild,
    CallField,
    Command,
    CommandBlockChild,
    Day,
    DialChild,
    GatherChild,
    Leg,
    Scalar,
    SwitchChild,
    ToneChild,
)

T = TypeVar("T")

MAX_DEPTH = 2
"""Default nesting bound of :func:`documents`: blocks inside blocks inside the root."""

DAYS: tuple[Day, ...] = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
LEGS: tuple[Leg, ...] = ("aleg", "bleg", "both")
FIELDS: tuple[CallField, ...] = ("from", "to", "tn", "direction", "state")
assert FIELDS == CALL_FIELDS

# Characters that escaping and attribute normalisation get wrong most often.
TRICKY = (
    "&",
    "<",
    ">",
    '"',
    "'",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "]]>",
    "&amp;",
    "&#13;",
    "\u00a0",
    "\u0085",
    "\u2028",
    "\ufeff",
    "\U0001f4de",
    "\U00010000",
    "\U0010ffff",
)

_xml_chars = st.characters(
    min_codepoint=0x20, exclude_categories=["Cs"], exclude_characters="\ufffe\uffff"
)
# Printable and not whitespace by Python's rules (str.strip, the regex \s of
# callflow.dialect.values).
_visible_chars = st.characters(
    min_codepoint=0x21,
    exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
    exclude_characters="\ufffe\uffff",
)
_spaces = st.sampled_from(("", "", " ", "  ", "\t ", "\n", " \r\n "))


def texts(*, max_size: int = 12) -> st.SearchStrategy[str]:
    """Any text XML 1.0 can hold, possibly empty, with leading and trailing whitespace."""
    body = st.lists(st.one_of(st.sampled_from(TRICKY), _xml_chars), max_size=max_size)
    return st.tuples(_spaces, body.map("".join), _spaces).map("".join)


def non_blank_texts() -> st.SearchStrategy[str]:
    """Text with at least one character that is not whitespace (Say text, D11)."""
    return st.tuples(texts(), _visible_chars, texts()).map("".join)


def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """``strategy`` or ``None`` (an attribute left out)."""
    return st.none() | strategy


# -- attribute values ----------------------------------------------------------------------

milliseconds = st.integers(min_value=0, max_value=10**12)
counts = st.integers(min_value=1, max_value=10**6)
# Hold timeout: any int >= 1; 300000 is the default, not a maximum (§3.21).
hold_milliseconds = st.sampled_from((1, 300_000, 300_001, 600_000)) | st.integers(
    min_value=1, max_value=10**15
)
# Tone volume: any finite decimal <= 0 (§3.23): ints, floats (-0.0, whole floats, tiny ones
# that repr() would write with an exponent, huge ones) and decimals of a few places.
volumes: st.SearchStrategy[float] = st.one_of(
    st.sampled_from((0, -12, -12.5, -0.0, -3.0, -0.00001, -1e-300, -1e300)),
    st.integers(min_value=-(10**6), max_value=0),
    st.floats(max_value=0, allow_nan=False, allow_infinity=False),
    st.decimals(max_value=0, places=3, allow_nan=False, allow_infinity=False).map(float),
)
keys = st.sampled_from("0123456789*#")
key_sequences = st.text(alphabet="0123456789*#", min_size=1, max_size=4)
tags = texts()
langs = st.from_regex(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}", fullmatch=True)
voice_codes = st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True)
curl_methods = st.from_regex(r"[A-Z]{1,10}", fullmatch=True)
# Meta name: any non-empty text without whitespace or control characters (§3.24), markup
# and non-ASCII included; U+180E is refused too (a space to libxml2's Unicode tables).
_name_chars = st.characters(
    min_codepoint=0x21,
    exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
    exclude_characters="\ufffe\uffff\u180e",
)
meta_names = st.one_of(
    st.sampled_from(("2fa", "x.y-z", "_call.id-2", "a&b", 'q"<>', "k=v?x#y", "käse", "\U0001f4de")),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True),
    st.lists(
        st.sampled_from(("&", "<", ">", '"', "'", "]]>", "&amp;", "%20", "\ufeff")) | _name_chars,
        min_size=1,
        max_size=12,
    ).map("".join),
)
counties = st.from_regex(r"[A-Z][A-Z .'-]{0,15}", fullmatch=True)
states = st.lists(st.sampled_from(sorted(US_STATES)), min_size=1, max_size=4, unique=True)
days = st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True)
frequencies = st.lists(
    st.integers(min_value=1, max_value=100_000)
    | st.floats(min_value=1, max_value=100_000, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=4,
)
scalars: st.SearchStrategy[Scalar] = st.one_of(texts(), st.integers(), st.floats(), st.booleans())


def _clock() -> st.SearchStrategy[str]:
    return st.builds(
        "{:02d}:{:02d}:{:02d}".format,
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
    )


time_ranges = st.builds("{}-{}".format, _clock(), _clock())

# URL characters: anything visible, including the ones that need escaping (& < > " ').
_url_text = st.text(alphabet=st.one_of(st.sampled_from("&<>\"'%?#=;"), _visible_chars))
_hosts = st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,12}[a-z0-9])?", fullmatch=True)
urls = st.one_of(
    st.builds("{}://{}{}".format, st.sampled_from(("http", "https")), _hosts, _url_text),
    st.builds("/{}".format, _url_text),
)
_user = st.text(
    alphabet=st.one_of(st.sampled_from("&<>\"'+."), _visible_chars).filter(lambda c: c not in "@:"),
    min_size=1,
    max_size=8,
)
_host = st.text(
    alphabet=st.one_of(st.sampled_from('&<>".-'), _visible_chars).filter(lambda c: c not in "@:"),
    min_size=1,
    max_size=12,
)
_nanp = st.from_regex(r"[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True)  # area code, exchange, line
_NANP_SPELLINGS = ("{}", "1{}", "+1{}", "+1 {}", "({}) {}-{}", "1-{}-{}-{}", "+1.{}.{}.{}")
# E.164 with "+" and as libphonenumber writes them for people ("+44 121 234 5678").
_INTERNATIONAL = tuple(
    phonenumbers.format_number(number, style)
    for region in ("GB", "DE", "FR", "IN", "BR", "JP", "AU", "DK", "SG", "IS", "EG", "CN", "NZ")
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    for style in (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
)


@st.composite
def _nanp_spelt(draw: st.DrawFn) -> str:
    digits = draw(_nanp)
    spelling = draw(st.sampled_from(_NANP_SPELLINGS))
    if spelling.count("{}") == 3:
        return spelling.format(digits[:3], digits[3:6], digits[6:])
    if spelling.startswith("+1 "):
        return spelling.format(f"{digits[:3]} {digits[3:6]} {digits[6:]}")
    return spelling.format(digits)


numbers = _nanp_spelt() | st.sampled_from(_INTERNATIONAL)
"""Phone numbers as people write them (``<To>`` normalises them): North American ones with or
without the country code 1 or ``+``, with or without separators, and other countries' with
``+``."""
sip_addresses = st.builds("{}@{}".format, _user, _host)


# -- helpers -------------------------------------------------------------------------------


def _permuted(draw: st.DrawFn, children: Sequence[T]) -> tuple[T, ...]:
    return tuple(draw(st.permutations(list(children))))


def _handler(draw: st.DrawFn, depth: int) -> list[Error]:
    """Zero or one ``<Error>`` handler for a command at ``depth``."""
    return [draw(errors(depth - 1))] if draw(st.booleans()) else []


def _width(depth: int) -> int:
    # Wide near the root, narrow deep down: documents stay small and fast to check.
    return 1 if depth <= 0 else 3


# -- blocks --------------------------------------------------------------------------------


@st.composite
def block_children(draw: st.DrawFn, depth: int = 1) -> tuple[BlockChild, ...]:
    """Children of a plain block (Response, DTMF, Case, Default, Error): commands and Meta."""
    if depth < 0:
        return ()
    child: st.SearchStrategy[BlockChild] = st.one_of(commands(depth), metas())
    return tuple(draw(st.lists(child, max_size=_width(depth))))


@st.composite
def command_block_children(draw: st.DrawFn, depth: int = 1) -> tuple[CommandBlockChild, ...]:
    """Children of Record, Call, Geo, Schedule: commands, Meta and at most one Error."""
    body: list[CommandBlockChild] = [*draw(block_children(depth - 1))]
    body.extend(_handler(draw, depth))
    return _permuted(draw, body)


@st.composite
def errors(draw: st.DrawFn, depth: int = 1) -> Error:
    """``<Error tag say>`` holding commands nested at most ``depth`` levels (none at 0)."""
    body = draw(block_children(depth - 1)) if depth > 0 else ()
    return Error(*body, tag=draw(optional(tags)), say=draw(optional(st.booleans())))


@st.composite
def metas(draw: st.DrawFn) -> Meta:
    """``<Meta name value>`` with any scalar value, multi-line text included."""
    return Meta(draw(meta_names), draw(scalars))


# -- commands ------------------------------------------------------------------------------


@st.composite
def answers(draw: st.DrawFn, depth: int = 1) -> Answer:
    return Answer(
        *_handler(draw, depth), delay=draw(optional(milliseconds)), tag=draw(optional(tags))
    )


@st.composite
def hangups(draw: st.DrawFn, depth: int = 1) -> Hangup:
    return Hangup(*_handler(draw, depth), tag=draw(optional(tags)))


@st.composite
def holds(draw: st.DrawFn, depth: int = 1) -> Hold:
    return Hold(
        *_handler(draw, depth), tag=draw(optional(tags)), timeout=draw(optional(hold_milliseconds))
    )


@st.composite
def unholds(draw: st.DrawFn, depth: int = 1) -> Unhold:
    return Unhold(*_handler(draw, depth), tag=draw(optional(tags)))


@st.composite
def record_starts(draw: st.DrawFn, depth: int = 1) -> RecordStart:
    return RecordStart(*_handler(draw, depth), tag=draw(optional(tags)))


@st.composite
def record_stops(draw: st.DrawFn, depth: int = 1) -> RecordStop:
    return RecordStop(*_handler(draw, depth), tag=draw(optional(tags)))


@st.composite
def record_waits(draw: st.DrawFn, depth: int = 1) -> RecordWait:
    return RecordWait(*_handler(draw, depth), tag=draw(optional(tags)))


@st.composite
def says(draw: st.DrawFn, depth: int = 1) -> Say:
    """``<Say>`` with non-blank text (content, or the attribute when it has an Error)."""
    return Say(
        draw(non_blank_texts()),
        *_handler(draw, depth),
        type=draw(optional(st.sampled_from(("WaveNet", "Standard")))),
        gender=draw(optional(st.sampled_from(("MALE", "FEMALE")))),
        code=draw(optional(voice_codes)),
        lang=draw(optional(langs)),
        loop=draw(optional(counts)),
        tag=draw(optional(tags)),
    )


@st.composite
def plays(draw: st.DrawFn, depth: int = 1) -> Play:
    """``<Play>`` with exactly one source: a url or a recording's tag (D12)."""
    handler = _handler(draw, depth)
    leg = draw(optional(st.sampled_from(LEGS)))
    loop = draw(optional(counts))
    tag = draw(optional(tags))
    if draw(st.booleans()):
        return Play(draw(urls), *handler, leg=leg, loop=loop, tag=tag)
    return Play(None, *handler, record=draw(non_blank_texts()), leg=leg, loop=loop, tag=tag)


@st.composite
def pauses(draw: st.DrawFn, depth: int = 1) -> Pause:
    return Pause(
        *_handler(draw, depth),
        length=draw(optional(milliseconds)),
        dtmf_stop=draw(optional(keys)),
    )


@st.composite
def tones(draw: st.DrawFn, depth: int = 1) -> Tone:
    children: list[ToneChild] = [*draw(st.lists(metas(), max_size=2)), *_handler(draw, depth)]
    return Tone(
        *_permuted(draw, children),
        tag=draw(optional(tags)),
        loop=draw(optional(counts)),
        volume=draw(optional(volumes)),
        don=draw(optional(milliseconds)),
        doff=draw(optional(milliseconds)),
        hz=draw(optional(frequencies)),
        timeout=draw(optional(milliseconds)),
        leg=draw(optional(st.sampled_from(LEGS))),
    )


@st.composite
def tos(draw: st.DrawFn) -> To:
    """``<To>``: a phone number in any spelling, or a ``user@host`` address."""
    return To(draw(numbers | sip_addresses))


@st.composite
def sips(draw: st.DrawFn) -> Sip:
    """``<Sip>``: ``user@host`` with an optional port."""
    port = draw(st.none() | st.integers(min_value=0, max_value=99_999))
    address = draw(sip_addresses)
    return Sip(address if port is None else f"{address}:{port}")


@st.composite
def dials(draw: st.DrawFn, depth: int = 1) -> Dial:
    """``<Dial>`` with at least one target (D10), Meta and at most one Error."""
    targets: list[DialChild] = [*draw(st.lists(tos() | sips(), min_size=1, max_size=3))]
    children: list[DialChild] = [
        *targets,
        *draw(st.lists(metas(), max_size=1)),
        *_handler(draw, depth),
    ]
    return Dial(*_permuted(draw, children))


@st.composite
def callbacks(draw: st.DrawFn, depth: int = 1) -> Callback:
    children: list[CallbackChild] = [*draw(st.lists(metas(), max_size=1)), *_handler(draw, depth)]
    return Callback(
        *_permuted(draw, children),
        url=draw(urls),
        method=draw(optional(st.sampled_from(("GET", "POST", "PATCH", "DELETE")))),
        body=draw(optional(st.booleans())),
        timeout=draw(optional(milliseconds)),
        tag=draw(optional(tags)),
    )


@st.composite
def curls(draw: st.DrawFn, depth: int = 1) -> Curl:
    """``<Curl>`` with an optional non-blank text body and at most one Error.

    A blank body does not survive parsing; test_properties checks that case on its own.
    """
    return Curl(
        draw(optional(non_blank_texts())),
        *_handler(draw, depth),
        url=draw(urls),
        method=draw(optional(curl_methods)),
        timeout=draw(optional(milliseconds)),
        tag=draw(optional(tags)),
    )


@st.composite
def dtmfs(draw: st.DrawFn, depth: int = 1, value: str | None = None) -> DTMF:
    """A ``<DTMF>`` branch; pass ``value`` to choose its keys."""
    keys_ = value if value is not None else draw(key_sequences)
    return DTMF(*draw(block_children(depth - 1)), value=keys_)


@st.composite
def cases(draw: st.DrawFn, depth: int = 1, dtmf: str | None = None) -> Case:
    """A ``<Case>`` of a Switch (variant form, D5)."""
    keys_ = dtmf if dtmf is not None else draw(key_sequences)
    return Case(*draw(block_children(depth - 1)), dtmf=keys_)


@st.composite
def defaults(draw: st.DrawFn, depth: int = 1) -> Default:
    return Default(*draw(block_children(depth - 1)), tag=draw(optional(tags)))


@st.composite
def switches(draw: st.DrawFn, depth: int = 1) -> Switch:
    """A ``<Switch>`` with unique Case values, at most one Default and one Error (variant)."""
    values = draw(st.lists(key_sequences, max_size=3, unique=True))
    children: list[SwitchChild] = [draw(cases(depth, dtmf=value)) for value in values]
    if draw(st.booleans()):
        children.append(draw(defaults(depth)))
    children.extend(_handler(draw, depth))
    return Switch(*_permuted(draw, children))


@st.composite
def gathers(draw: st.DrawFn, depth: int = 1) -> Gather:
    """``<Gather>`` with fillers, DTMF branches of unique values, at most one Default/Error."""
    fillers: st.SearchStrategy[GatherChild] = st.one_of(
        says(depth - 1), plays(depth - 1), pauses(depth - 1), metas()
    )
    children: list[GatherChild] = [*draw(st.lists(fillers, max_size=2))]
    values = draw(st.lists(key_sequences, max_size=_width(depth), unique=True))
    children.extend(draw(dtmfs(depth, value=value)) for value in values)
    if draw(st.booleans()):
        children.append(draw(defaults(depth)))
    children.extend(_handler(draw, depth))
    return Gather(
        *_permuted(draw, children),
        dtmf_length=draw(optional(counts)),
        dtmf_stop=draw(optional(keys)),
        url=draw(optional(urls)),
        method=draw(optional(st.sampled_from(("GET", "POST")))),
        timeout=draw(optional(milliseconds)),
        attempts=draw(optional(counts)),
        tag=draw(optional(tags)),
    )


@st.composite
def records(draw: st.DrawFn, depth: int = 1) -> Record:
    """``<Record>``: empty or a container of commands (D14)."""
    return Record(
        *draw(command_block_children(depth)),
        tag=draw(optional(tags)),
        asr=draw(optional(st.booleans())),
        timeout=draw(optional(milliseconds)),
    )


@st.composite
def calls(draw: st.DrawFn, depth: int = 1) -> Call:
    """``<Call>`` filter: ``field`` and ``value`` both or neither."""
    children = draw(command_block_children(depth))
    if draw(st.booleans()):
        return Call(*children)
    return Call(*children, field=draw(st.sampled_from(FIELDS)), value=draw(scalars))


@st.composite
def geos(draw: st.DrawFn, depth: int = 1) -> Geo:
    return Geo(
        *draw(command_block_children(depth)),
        states=draw(optional(states)),
        county=draw(optional(counties)),
    )


@st.composite
def schedules(draw: st.DrawFn, depth: int = 1) -> Schedule:
    return Schedule(
        *draw(command_block_children(depth)),
        dow=draw(optional(days)),
        time=draw(optional(time_ranges)),
    )


def commands(depth: int = 1) -> st.SearchStrategy[Command]:
    """Any command; blocks hold commands at most ``depth`` levels further down."""
    options: list[st.SearchStrategy[Command]] = [
        answers(depth),
        hangups(depth),
        holds(depth),
        unholds(depth),
        record_starts(depth),
        record_stops(depth),
        record_waits(depth),
        says(depth),
        plays(depth),
        pauses(depth),
        tones(depth),
        dials(depth),
        callbacks(depth),
        curls(depth),
        gathers(depth),
        records(depth),
        calls(depth),
        geos(depth),
        schedules(depth),
    ]
    return st.one_of(options)


@st.composite
def documents(draw: st.DrawFn, depth: int = MAX_DEPTH) -> Response:
    """A valid ``<Response>`` in the canonical form, nesting at most ``depth`` blocks deep."""
    return Response(*draw(block_children(depth)))
