"""Phone numbers in E.164, read with Google's libphonenumber (the ``phonenumbers`` package).

Opentact sends numbers with or without a leading ``+`` (D9): ``from`` often carries one,
``to`` and ``tn`` usually not (§6.1). Digits without ``+`` are first read as a number of the
default region (a national number, or one that starts with the region's own country code),
and only when no such number is possible there as international digits (country code
first). "Possible" is libphonenumber's length check, not its validity check, so fictional
numbers such as 555-01xx still read as numbers.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

DIAL_REGION: Final = "US"
"""Region of a ``<To>`` number written without a country code: Opentact's (North America).
A document means the same on every server, so it does not follow ``default_region``."""
MAX_INPUT_LENGTH: Final = 250
"""Longest text read as a number; libphonenumber refuses longer input itself (TOO_LONG),
and checking first keeps a huge value out of the parser and the cache."""

# What a number may be spelt with: digits of any script (libphonenumber folds them to ASCII),
# the separators people write, a leading "+", and an RFC 3966 "tel:" prefix. Letters are
# refused on purpose: libphonenumber would read "1-800-FLOWERS" or a SIP user name as digits.
_SPELLING: Final = re.compile(r"(?:tel:)?\+?[\d ().-]+", re.IGNORECASE)


def to_e164(raw: str, region: str = "US") -> str | None:
    """Return ``raw`` as E.164 (``+15550100200``), or None when it is not a phone number.

    Digits without ``+`` are read in ``region`` (an ISO 3166 code such as ``US`` or ``GB``)
    when they are a possible number there, else as international digits.

    >>> to_e164("5550100300"), to_e164("15550100300"), to_e164("+1 (555) 010-0300")
    ('+15550100300', '+15550100300', '+15550100300')
    >>> to_e164("442071838750"), to_e164("02071838750", "GB"), to_e164("alice")
    ('+442071838750', '+442071838750', None)
    """
    if len(raw) > MAX_INPUT_LENGTH:
        return None
    return _read(raw.strip(), region.upper())


@functools.lru_cache(maxsize=4096)
def _read(text: str, region: str) -> str | None:
    if _SPELLING.fullmatch(text) is None:
        return None
    if text[:4].lower() == "tel:":
        text = text[4:]
    if text.startswith("+"):
        readings: tuple[tuple[str, str | None], ...] = ((text, None),)
    else:
        readings = ((text, region), ("+" + text, None))
    for candidate, hint in readings:
        try:
            number = phonenumbers.parse(candidate, hint)
        except NumberParseException:  # no digits, too short, unknown region or country code
            continue
        # IS_POSSIBLE only: a number that is possible "local only" (seven US digits) lacks
        # its area code, and would give a wrong E.164.
        if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
            continue
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        # A national prefix after the country code ("+353 00 ...") loses one digit per
        # reading: only a number that reads back as itself is canonical.
        if _reads_back(e164):
            return e164
    return None


def _reads_back(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) == e164


def dial_text(raw: str) -> str | None:
    """Return ``raw`` as a ``<To>`` writes it, or None when it is not a phone number.

    Digits without ``+`` are read in :data:`DIAL_REGION`. A North American number is written
    as Opentact writes its own (``to``, ``tn``, the spec's ``<To>15550100200</To>``): country
    code 1 and ten digits. A number of any other country keeps the ``+`` of E.164, since its
    digits alone would read as a North American number (``4512345678``).

    >>> dial_text("+1 555 010 0200"), dial_text("5550100200"), dial_text("+45 12 34 56 78")
    ('15550100200', '15550100200', '+4512345678')
    """
    number = to_e164(raw, DIAL_REGION)
    if number is not None and number.startswith("+1"):
        return number[1:]
    return number


def same_number(a: str | None, b: str | None, region: str = "US") -> bool:
    """Whether ``a`` and ``b`` are the same number once both are in E.164 (§7 #15).

    >>> same_number("5550100300", "+1 555 010 0300"), same_number("alice", "bob")
    (True, False)
    """
    if a is None or b is None:
        return a == b
    return (to_e164(a, region) or a) == (to_e164(b, region) or b)
