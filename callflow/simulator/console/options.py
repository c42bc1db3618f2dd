"""What the console page asks for when it places a call, read and checked: a bad value is a
400 with the reason, before any call starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callflow.exceptions import BadRequest, LocationError
from callflow.server.app import App
from callflow.simulator.geography import Location

DEFAULT_FROM = "+15550100999"
"""The caller's number unless told (the simulator's default)."""


@dataclass(frozen=True, slots=True)
class CallOptions:
    """What the page asks for when it places a call."""

    from_: str
    to: str
    at: datetime | None
    tz: str
    location: Location | None

    @classmethod
    def parse(cls, data: object, app: App) -> CallOptions:
        """Read the JSON the page sent; raise :class:`BadRequest` (400) for anything wrong."""
        if not isinstance(data, Mapping):
            raise BadRequest(400, "expected a JSON object")
        from_ = _number(data.get("from"), "from", DEFAULT_FROM)
        to = _number(data.get("to"), "to", default_number(app))
        tz = _text(data.get("tz"), "tz") or app.settings.time_zone
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadRequest(400, f"tz: unknown time zone {tz!r}") from None
        at_text = _text(data.get("at"), "at")
        try:
            at = datetime.fromisoformat(at_text) if at_text else None
        except ValueError:
            raise BadRequest(
                400, f"at: expected a date and time like 2026-12-07T10:00 (got {at_text!r})"
            ) from None
        where = _text(data.get("location"), "location")
        try:
            location = Location.parse(where) if where else None
        except LocationError as exc:
            raise BadRequest(400, f"location: {exc}") from None
        return cls(from_, to, at, tz, location)


def default_number(app: App) -> str:
    """The number a console call dials unless told: the App's first routed number, else the
    simulator's default."""
    numbers = [number for flow in app.flows for number in flow.numbers]
    return numbers[0] if numbers else "+15550100200"


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 100 or not value.isprintable():
        raise BadRequest(400, f"{name}: expected a short line of text")
    return value.strip()


def _number(value: object, name: str, default: str) -> str:
    text = _text(value, name) or default
    if not all(c.isalnum() or c in "+-.@_:() " for c in text):
        raise BadRequest(400, f"{name}: expected a phone number or SIP address (got {text!r})")
    return text
