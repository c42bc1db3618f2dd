"""Filters whose children run only on a match (D19): Call, Geo, Schedule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.choices import CallField, Day
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.types import CommandBlockChild, Scalar


class Call(Element):
    """Run the children when the call's ``field`` equals ``value`` (numbers compared in
    E.164, §7 #15). Without attributes it always matches."""

    __slots__ = ()
    xml_tag = "Call"
    fields = (
        Field("field", checks.one_of(CallField)),
        Field("value", checks.scalar),
    )

    field: CallField | None
    value: str | None

    def __init__(
        self,
        *children: CommandBlockChild,
        field: CallField | None = None,
        value: Scalar | None = None,
    ) -> None: ...

    _check_unless = "(field is None) == (value is None)"

    def _check(self) -> None:
        if (self.field is None) != (self.value is None):
            missing = "value" if self.value is None else "field"
            raise checks.invalid("Call", missing, "is required with the other of field/value", None)


class Geo(Element):
    """Run the children when the caller's number is in one of ``states`` and in ``county``
    (both must match, §7 #13). Without attributes it always matches."""

    __slots__ = ()
    xml_tag = "Geo"
    fields = (Field("states", checks.states), Field("county", checks.county))

    states: tuple[str, ...] | None
    county: str | None

    def __init__(
        self,
        *children: CommandBlockChild,
        states: Sequence[str] | None = None,
        county: str | None = None,
    ) -> None: ...


class Schedule(Element):
    """Run the children on the days ``dow`` within ``time`` (``HH:MM:SS-HH:MM:SS``,
    inclusive, in the app's time zone; a range may cross midnight, D19).

    >>> from callflow import Say
    >>> Schedule(Say("Open"), dow=["mon", "tue"], time="09:00:00-17:59:59")
    Schedule(Say('Open'), dow=('mon', 'tue'), time='09:00:00-17:59:59')
    """

    __slots__ = ()
    xml_tag = "Schedule"
    fields = (Field("dow", checks.days), Field("time", checks.time_range))

    dow: tuple[Day, ...] | None
    time: str | None

    def __init__(
        self,
        *children: CommandBlockChild,
        dow: Sequence[Day] | str | None = None,
        time: str | None = None,
    ) -> None: ...
