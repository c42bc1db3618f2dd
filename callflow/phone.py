"""Phone numbers in E.164, with Google's libphonenumber (the ``phonenumbers`` package)."""

from __future__ import annotations

import functools

import phonenumbers


@functools.lru_cache(maxsize=4096)
def to_e164(raw: str, region: str = "US") -> str | None:
    """Return ``raw`` as E.164 (``+15550100200``), or None when it is not a phone number.

    Opentact sends numbers with or without ``+`` (``15550100200``); digits without ``+`` are
    read as carrying their country code first, then as a national number of ``region``.

    >>> to_e164("15550100200"), to_e164("+1 555 010 0200"), to_e164("alice")
    ('+15550100200', '+15550100200', None)
    """
    text = raw.strip()
    if not text or not any(ch.isdigit() for ch in text) or "@" in text:
        return None
    parsed = []
    for candidate, hint in ((text, None), ("+" + text, None), (text, region)):
        if hint is None and not candidate.startswith("+"):
            continue
        try:
            parsed.append(phonenumbers.parse(candidate, hint))
        except phonenumbers.NumberParseException:
            continue
    # Prefer a number valid as given, then one valid in the region, then a possible one.
    for accept in (phonenumbers.is_valid_number, phonenumbers.is_possible_number):
        for number in parsed:
            if accept(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def same_number(a: str | None, b: str | None, region: str = "US") -> bool:
    """Whether ``a`` and ``b`` are the same number once both are in E.164 (§7 #15)."""
    if a is None or b is None:
        return a == b
    return (to_e164(a, region) or a) == (to_e164(b, region) or b)
