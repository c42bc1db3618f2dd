"""The building blocks of the commands (callflow/simulator/commands.py): the digits a Gather
collects (D6, §7 #3) and Schedule's time ranges (§7 #14). The commands themselves are tested
through whole calls in test_simulator.py."""

from __future__ import annotations

import pytest

from callflow.simulator.commands import collect, in_time_range


@pytest.mark.parametrize(
    ("pressed", "length", "stop", "expected"),
    [
        pytest.param("1", 1, None, "1", id="one-key"),
        pytest.param("1234", 2, None, "12", id="longer-than-length-truncated"),
        pytest.param("12#", 4, "#", "12", id="stop-key-ends-not-part-of-code"),
        pytest.param("12#34", 6, "#", "12", id="keys-after-stop-ignored"),
        pytest.param("#", 4, "#", None, id="stop-key-only-is-no-input"),
        pytest.param("#5", 1, "#", None, id="stop-key-first-is-no-input"),
        pytest.param("", 1, None, None, id="empty-is-no-input"),
        pytest.param(None, 1, None, None, id="none-is-no-input"),
        pytest.param("*#", 2, None, "*#", id="star-and-pound-are-keys-without-stop"),
        pytest.param("1#", 1, "#", "1", id="length-reached-before-stop"),
    ],
)
def test_collect(pressed: str | None, length: int, stop: str | None, expected: str | None) -> None:
    assert collect(pressed, length, stop) == expected


@pytest.mark.parametrize(
    ("clock", "time_range", "expected"),
    [
        pytest.param("09:00:00", "09:00:00-17:59:59", True, id="start-inclusive"),
        pytest.param("17:59:59", "09:00:00-17:59:59", True, id="end-inclusive"),
        pytest.param("08:59:59", "09:00:00-17:59:59", False, id="before"),
        pytest.param("18:00:00", "09:00:00-17:59:59", False, id="after"),
        pytest.param("23:30:00", "22:00:00-06:00:00", True, id="midnight-wrap-evening"),
        pytest.param("00:00:00", "22:00:00-06:00:00", True, id="midnight-wrap-midnight"),
        pytest.param("06:00:00", "22:00:00-06:00:00", True, id="midnight-wrap-end-inclusive"),
        pytest.param("06:00:01", "22:00:00-06:00:00", False, id="midnight-wrap-after-end"),
        pytest.param("12:00:00", "22:00:00-06:00:00", False, id="midnight-wrap-midday"),
    ],
)
def test_in_time_range(clock: str, time_range: str, expected: bool) -> None:
    assert in_time_range(clock, time_range) is expected
