"""Where a caller is: the US state of a number, from libphonenumber's geocoding data, or a
:class:`Location` given instead."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder

from callflow.exceptions import LocationError

_STATE_NAMES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC",
    "District of Columbia": "DC", "Puerto Rico": "PR", "Guam": "GU",
    "U.S. Virgin Islands": "VI", "American Samoa": "AS", "Northern Mariana Islands": "MP",
}  # fmt: skip
_CITY_STATE = re.compile(r",\s*([A-Z]{2})$")
_STATE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Location:
    """Where the caller is, overriding the number's geocoding (for ``Geo``)."""

    state: str | None
    county: str | None = None

    @classmethod
    def parse(cls, text: str) -> Location:
        """Read ``STATE[,COUNTY]``; raise :class:`LocationError` for anything else.

        >>> Location.parse("nj, Essex")
        Location(state='NJ', county='ESSEX')
        """
        state, _, county = text.partition(",")
        state = state.strip().upper()
        if not _STATE.fullmatch(state):
            raise LocationError(text)
        return cls(state, county.strip().upper() or None)


@functools.lru_cache(maxsize=4096)
def state_of(number: str) -> str | None:
    """Return the two-letter US state of ``number`` (E.164), or None when unknown.

    >>> state_of("+12015550123"), state_of("+14155552671"), state_of("+442071838750")
    ('NJ', 'CA', None)
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 1:
        return None
    description = geocoder.description_for_number(parsed, "en")
    found = _CITY_STATE.search(description)
    if found:
        return found.group(1)
    return _STATE_NAMES.get(description.strip())
