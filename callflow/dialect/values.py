"""Value rules of the spec, shared by the DSL constructors and the validator.

Each checker takes the element and attribute names (for the error message) and the value,
and returns the value as stored (normalised) or raises :class:`InvalidAttributeError`.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final, get_args

from callflow.dialect.choices import CallField, Day
from callflow.dialect.phone_numbers import DIAL_REGION, dial_text
from callflow.dialect.slots import Slot
from callflow.exceptions import InvalidAttributeError

Checker = Callable[[str, str, object], object]

# Characters XML 1.0 cannot carry, not even as character references.
XML_FORBIDDEN: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
KEY: Final = re.compile(r"[0-9*#]")
KEYS: Final = re.compile(r"[0-9*#]+")
URL: Final = re.compile(r"(?:https?://[^\s/?#]+[^\s]*|/[^\s]*)")
LANG: Final = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
TOKEN: Final = re.compile(r"[A-Za-z0-9_.:-]+")
METHOD_TOKEN: Final = re.compile(r"[A-Z]+")
META_NAME: Final = re.compile(
    r"[^\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+"
)
"""A Meta name (§3.24): no whitespace (``str.isspace``: Unicode Zs, Zl, Zp) and no control
character (Cc). The XSDs say ``[^\\p{Cc}\\p{Z}]+``; libxml2's Unicode tables still count
U+180E (a space before Unicode 6.3) as Zs, so it is refused here too."""
DECIMAL: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
"""A decimal as the XSDs' ``volume`` pattern writes one: no exponent, ``+``, ``.5`` or ``5.``."""
COUNTY: Final = re.compile(r"[A-Z][A-Z .'-]*")
TIME_RANGE: Final = re.compile(
    r"([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])"
)
SIP_ADDRESS: Final = re.compile(r"[^@\s:]+@[^@\s]+")
SIP_TARGET: Final = re.compile(r"[^@\s:]+@[^@\s:]+(?::[0-9]{1,5})?")

DAYS: Final[tuple[str, ...]] = get_args(Day)
CALL_FIELDS: Final[tuple[str, ...]] = get_args(CallField)
MAX_FREQUENCIES: Final = 64
"""Most frequencies a Tone may list (none of the docs' examples has more than 4)."""
# USPS codes of the states, DC, the territories and the armed forces "states".
_STATE_CODES = """
AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP UM AA AE AP
"""
US_STATES: Final = frozenset(_STATE_CODES.split())


def invalid(element: str, attribute: str, rule: str, value: object) -> InvalidAttributeError:
    """Build the error for ``value`` breaking ``rule`` (callers ``raise`` it)."""
    return InvalidAttributeError(element, attribute, rule, value)


def xml_text(element: str, attribute: str, value: object) -> str:
    """Any string XML can hold."""
    if not isinstance(value, str):
        raise invalid(element, attribute, "must be a str", value)
    if value.isprintable():  # fast path: printable characters are all legal in XML
        return value
    bad = XML_FORBIDDEN.search(value)
    if bad is not None:
        char = f"U+{ord(bad.group()):04X}"
        raise invalid(element, attribute, f"must not contain {char}, which XML cannot hold", value)
    return value


def non_empty_text(element: str, attribute: str, value: object) -> str:
    """A string XML can hold with at least one non-blank character."""
    if isinstance(value, str) and value and value.isprintable() and not value.isspace():
        return value  # the common case, without the regex of xml_text
    text = xml_text(element, attribute, value)
    if not text.strip():
        raise invalid(element, attribute, "must not be empty", value)
    return text


def _int(element: str, attribute: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(element, attribute, "must be an int", value)
    return value


def ms(element: str, attribute: str, value: object) -> int:
    """A duration in milliseconds (D3): int >= 0."""
    number = _int(element, attribute, value)
    if number < 0:
        raise invalid(element, attribute, "must be >= 0 (milliseconds)", value)
    return number


def count(element: str, attribute: str, value: object) -> int:
    """A count such as ``loop`` or ``attempts``: int >= 1."""
    number = _int(element, attribute, value)
    if number < 1:
        raise invalid(element, attribute, "must be >= 1", value)
    return number


def hold_ms(element: str, attribute: str, value: object) -> int:
    """Hold ``timeout``: milliseconds > 0, the longest the call stays on hold (D15; 300000 is
    the default when it is absent, not a maximum)."""
    number = _int(element, attribute, value)
    if number < 1:
        raise invalid(element, attribute, "must be >= 1 (milliseconds)", value)
    return number


class FixedPoint(float):
    """A float whose ``str`` and ``repr`` are fixed-point decimals (``-0.00001``, never
    ``-1e-05``): XML Schema's ``xs:decimal`` has no exponent, and the renderer writes
    numbers with ``str``."""

    __slots__ = ()

    def __repr__(self) -> str:
        # float's repr has the fewest digits that read back as the same float; only the
        # notation changes.
        return format(Decimal(float.__repr__(self)), "f")

    __str__ = __repr__


def volume(element: str, attribute: str, value: object) -> int | float:
    """Tone ``volume`` in dB relative to full scale: a finite decimal <= 0 (``-12``,
    ``-12.5``), an int, a float or its wire text (what the parser passes on).

    Stored canonically: a whole number as an ``int`` (``-3.0`` and ``"-3.0"`` -> ``-3``,
    ``-0.0`` -> ``0``), any other as a :class:`FixedPoint` float (``-12.50`` -> ``-12.5``).
    """
    number: object = value
    if isinstance(value, str):
        text = value.strip(" \t\n\r")  # xs:decimal collapses XML whitespace
        if DECIMAL.fullmatch(text) is None:
            rule = "must be a decimal number <= 0 such as -12.5 (digits, no exponent)"
            raise invalid(element, attribute, rule, value)
        try:
            number = int(text)
        except ValueError:  # a fraction, or more digits than int() reads (4300)
            number = float(text)
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise invalid(element, attribute, "must be a number (int or float)", value)
    if isinstance(number, float) and not math.isfinite(number):
        raise invalid(element, attribute, "must be a finite number", value)
    if number > 0:
        raise invalid(element, attribute, "must be <= 0 (dB, 0 is loudest)", value)
    if isinstance(number, float):
        return int(number) if number.is_integer() else FixedPoint(number)
    return number


def boolean(element: str, attribute: str, value: object) -> bool:
    """A boolean (D21)."""
    if not isinstance(value, bool):
        raise invalid(element, attribute, "must be a bool", value)
    return value


KEY_CHARS: Final = frozenset("0123456789*#")
"""The DTMF keys, for the constructors' fast path of :func:`key`."""


def key(element: str, attribute: str, value: object) -> str:
    """One DTMF key of ``0-9 * #``."""
    if not isinstance(value, str) or KEY.fullmatch(value) is None:
        raise invalid(element, attribute, "must be one key of 0-9 * #", value)
    return value


ACCEPTED: Final[dict[Checker, dict[str, None]]] = {}
"""Checkers that remember the values they accepted, each in a bounded memo (at most
:data:`MEMO_SIZE` values of class ``str`` exactly, the first ones seen). A value found in its
checker's memo is accepted as it is, so the constructors test membership before they call the
checker. Only accepted values are ever stored: a memo cannot let a rejected value through."""
MEMO_SIZE: Final = 256
"""Most values one memo keeps: flows repeat a handful of URLs, keys and names."""


def _memo(check: Checker) -> dict[str, None]:
    memo: dict[str, None] = {}
    ACCEPTED[check] = memo
    return memo


def _remember(memo: dict[str, None], value: str) -> None:
    if value.__class__ is str and len(memo) < MEMO_SIZE:
        memo[value] = None


def url(element: str, attribute: str, value: object) -> str:
    """An absolute http(s) URL or a path starting with ``/``."""
    if value.__class__ is str and value in _URLS:
        return value
    if not isinstance(value, str) or URL.fullmatch(value) is None:
        rule = "must be an absolute http(s) URL or a path starting with '/'"
        raise invalid(element, attribute, rule, value)
    text = xml_text(element, attribute, value)
    _remember(_URLS, text)
    return text


_URLS: Final = _memo(url)


def tag(element: str, attribute: str, value: object) -> str:
    """A free-form tag (copied into events)."""
    return xml_text(element, attribute, value)


MARKUP_FREE: set[Checker] = {key}
"""Checkers whose accepted values hold no character XML escapes (& < > " and whitespace
other than space), so the renderer writes them as they are."""
CHOICES: Final[dict[Checker, frozenset[str]]] = {}
"""The values each :func:`one_of` checker accepts, for the constructors' fast path."""


def one_of(literal: Any) -> Checker:
    """A checker accepting exactly one of the values of the ``Literal`` type ``literal``
    (:mod:`callflow.dialect.choices`)."""
    choices: tuple[str, ...] = get_args(literal)
    allowed = " | ".join(choices)

    def check(element: str, attribute: str, value: object) -> object:
        if value not in choices:
            raise invalid(element, attribute, f"must be one of {allowed}", value)
        return value

    CHOICES[check] = frozenset(choices)
    if not any(ch in '&<>"\t\n\r' for choice in choices for ch in choice):
        MARKUP_FREE.add(check)
    return check


def pattern(regex: re.Pattern[str], rule: str, *, markup_free: bool = False) -> Checker:
    """A checker for strings that fully match ``regex``; ``markup_free`` when no match can
    hold a character XML escapes. It remembers the values it accepted (:data:`ACCEPTED`)."""

    def check(element: str, attribute: str, value: object) -> object:
        if value.__class__ is str and value in accepted:
            return value
        if not isinstance(value, str) or regex.fullmatch(value) is None:
            raise invalid(element, attribute, rule, value)
        _remember(accepted, value)
        return value

    accepted = _memo(check)
    if markup_free:
        MARKUP_FREE.add(check)
    return check


keys = pattern(KEYS, "must be one or more keys of 0-9 * #", markup_free=True)
"""One or more DTMF keys of ``0-9 * #``."""
lang = pattern(LANG, "must be a language tag such as en-US", markup_free=True)
voice_code = pattern(
    TOKEN, "must be a voice code (letters, digits, '_', '.', ':', '-')", markup_free=True
)
curl_method = pattern(
    METHOD_TOKEN, "must be an upper-case HTTP method such as POST", markup_free=True
)
time_range = pattern(TIME_RANGE, "must be HH:MM:SS-HH:MM:SS (00-23:00-59:00-59)", markup_free=True)
"""``HH:MM:SS-HH:MM:SS`` with valid hours, minutes and seconds."""


def meta_name(element: str, attribute: str, value: object) -> str:
    """A Meta ``name`` (§3.24): any non-empty string XML can hold without whitespace or
    control characters (``2fa``, ``x.y-z``, ``käse``); Callback requests percent-encode it."""
    if value.__class__ is str and value in _META_NAMES:
        return value
    if isinstance(value, Slot):  # a name is structure: only values may be filled in
        raise invalid(element, attribute, "must be a str, not a Slot", value)
    name = xml_text(element, attribute, value)
    if META_NAME.fullmatch(name) is None:
        rule = "must be a non-empty name without whitespace or control characters"
        raise invalid(element, attribute, rule, value)
    _remember(_META_NAMES, name)
    return name


_META_NAMES: Final = _memo(meta_name)
county = pattern(COUNTY, "must be an upper-case county name such as ESSEX", markup_free=True)
sip_target = pattern(SIP_TARGET, "must be a user@host[:port] SIP address")


_NOT_A_TARGET: Final = (
    "must be a phone number (such as 15550100200, or +442071838750: digits without '+' are"
    f" read as a {DIAL_REGION} number) or a user@host address"
)
_TARGETS: dict[str, str] = {}  # targets seen before, as stored: most flows dial a handful


def to_target(element: str, attribute: str, value: object) -> str:
    """A dial target (§3.12, D10): a phone number in any spelling
    :func:`~callflow.dialect.phone_numbers.to_e164` reads (``+1 555 010 0200``, ``(555)
    010-0200``), stored
    as :func:`~callflow.dialect.phone_numbers.dial_text` writes it (``15550100200``), or a
    ``user@host`` SIP
    address, stored as given."""
    if type(value) is str:
        stored = _TARGETS.get(value)
        if stored is not None:
            return stored
    if not isinstance(value, str):
        raise invalid(element, attribute, "must be a str", value)
    if "@" in value:
        if SIP_ADDRESS.fullmatch(value) is None:
            raise invalid(element, attribute, _NOT_A_TARGET, value)
        stored = xml_text(element, attribute, value)
    else:
        number = dial_text(value)
        if number is None:
            raise invalid(element, attribute, _NOT_A_TARGET, value)
        stored = number
    if len(_TARGETS) < MEMO_SIZE and len(value) <= 64:
        _TARGETS[value] = stored
    return stored


def _items(element: str, attribute: str, value: object) -> tuple[object, ...]:
    # A comma-separated string is accepted as well as a sequence: "NJ,NY" == ("NJ", "NY").
    if isinstance(value, bytes | bytearray | memoryview):
        raise invalid(element, attribute, "must be a sequence or a comma-separated str", value)
    if isinstance(value, str):
        items: tuple[object, ...] = tuple(value.split(","))
    elif isinstance(value, Sequence):
        items = tuple(value)
    else:
        raise invalid(element, attribute, "must be a sequence or a comma-separated string", value)
    if not items:
        raise invalid(element, attribute, "must not be empty", value)
    return items


LISTED: Final[dict[Checker, dict[object, tuple[str, ...]]]] = {}
"""The lists :func:`days` and :func:`states` accepted (tuples of ``str`` exactly, or
comma-separated ``str``), each with the tuple stored for it, bounded as :data:`ACCEPTED`: a
list found there is stored as the first was, without a call."""
_LISTS = LISTED


def _listed(check: Checker, value: object) -> tuple[str, ...] | None:
    """``value`` as ``check`` stored it before (a tuple or a comma-separated str that it
    accepted), or None: the fast path of :func:`days` and :func:`states`."""
    if value.__class__ is tuple or value.__class__ is str:
        try:
            return _LISTS[check].get(value)
        except TypeError:  # an unhashable item: the full check says what is wrong
            return None
    return None


def _keep_listed(check: Checker, value: object, stored: tuple[str, ...]) -> None:
    memo = _LISTS[check]
    if len(memo) >= MEMO_SIZE:
        return
    if value.__class__ is str or (
        isinstance(value, tuple)
        and value.__class__ is tuple
        and all(item.__class__ is str for item in value)
    ):
        memo[value] = stored


def days(element: str, attribute: str, value: object) -> tuple[str, ...]:
    """Day names ``sun``..``sat`` (no duplicates)."""
    stored = _listed(days, value)
    if stored is not None:
        return stored
    items = _items(element, attribute, value)
    for item in items:
        if item not in DAYS:
            raise invalid(element, attribute, f"must hold day names of {' '.join(DAYS)}", value)
    if len(set(items)) != len(items):
        raise invalid(element, attribute, "must not repeat a day", value)
    stored = tuple(str(item) for item in items)
    _keep_listed(days, value, stored)
    return stored


def states(element: str, attribute: str, value: object) -> tuple[str, ...]:
    """Two-letter US postal codes, upper case (no duplicates)."""
    stored = _listed(states, value)
    if stored is not None:
        return stored
    items = _items(element, attribute, value)
    for item in items:
        if item not in US_STATES:
            raise invalid(
                element, attribute, "must hold two-letter US state codes such as NJ", value
            )
    if len(set(items)) != len(items):
        raise invalid(element, attribute, "must not repeat a state", value)
    stored = tuple(str(item) for item in items)
    _keep_listed(states, value, stored)
    return stored


_LISTS.update({days: {}, states: {}})


def frequencies(element: str, attribute: str, value: object) -> tuple[int | float, ...]:
    """Tone frequencies in Hz: positive numbers."""
    items = _items(element, attribute, value)
    if len(items) > MAX_FREQUENCIES:
        raise invalid(element, attribute, f"must hold at most {MAX_FREQUENCIES} frequencies", value)
    result: list[int | float] = []
    for item in items:
        number: object = item
        if isinstance(item, str):
            try:
                number = float(item) if "." in item else int(item)
            except ValueError:
                number = None
        # Bounded so that repr() never needs exponent notation, which XML Schema rejects.
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not (math.isfinite(number) and 1 <= number <= 1e5)
        ):
            raise invalid(element, attribute, "must hold frequencies from 1 to 100000 Hz", value)
        result.append(number)
    return tuple(result)


def scalar(element: str, attribute: str, value: object) -> str:
    """A string, int, float or bool, stored as its wire string (bools as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return xml_text(element, attribute, value)


NORMALISED: Final[dict[Checker, dict[str, str]]] = {to_target: _TARGETS}
"""Checkers that remember, for the values they accepted, the value they stored (bounded as
:data:`ACCEPTED`): a value stored as it was given (a number already written as Opentact
writes it) is accepted without a call."""
WHITESPACE_FREE: Final = frozenset((url, to_target, sip_target, meta_name))
"""Checkers whose accepted values hold no whitespace (their patterns exclude it), so the
serialiser skips the tests for tab, line feed and return. (A Slot in their place is a marker
without whitespace; the value it is filled with is escaped by the prepared renderer.)"""
SLOTTABLE: Final = frozenset((xml_text, non_empty_text, url, tag, scalar, to_target, sip_target))
"""Checkers of text values a :class:`~callflow.dialect.slots.Slot` may stand for."""
