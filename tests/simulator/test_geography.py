"""Where the caller is (callflow/simulator/geography.py): a ``STATE[,COUNTY]`` location, or
the state of the caller's number."""

from __future__ import annotations

import pytest

from callflow import CallflowError
from callflow.exceptions import LocationError
from callflow.simulator.geography import Location, state_of


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("NJ", Location("NJ"), id="state"),
        pytest.param("nj", Location("NJ"), id="state-lower-case"),
        pytest.param("NJ,ESSEX", Location("NJ", "ESSEX"), id="state-county"),
        pytest.param(" nj , essex ", Location("NJ", "ESSEX"), id="spaces-and-case"),
        pytest.param("NJ,", Location("NJ"), id="empty-county"),
    ],
)
def test_location_parse(text: str, expected: Location) -> None:
    assert Location.parse(text) == expected


@pytest.mark.parametrize("text", ["Jersey", "N", "N1", "", ",ESSEX"])
def test_location_parse_rejects(text: str) -> None:
    with pytest.raises(LocationError, match="STATE"):
        Location.parse(text)


def test_location_error_carries_the_text() -> None:
    with pytest.raises(LocationError) as raised:
        Location.parse("Jersey")
    assert raised.value.text == "Jersey"
    assert str(raised.value) == (
        "location must be STATE[,COUNTY] with a two-letter state (got 'Jersey')"
    )
    assert isinstance(raised.value, CallflowError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("number", "state"),
    [
        pytest.param("+12015550123", "NJ", id="new-jersey"),
        pytest.param("+14155552671", "CA", id="california"),
        pytest.param("+442071838750", None, id="not-north-american"),
        pytest.param("not a number", None, id="unparsable"),
    ],
)
def test_state_of(number: str, state: str | None) -> None:
    assert state_of(number) == state
