"""What exploration tries: the keys for each Gather, the outcomes of a Dial, the times for
``Schedule`` and the places for ``Geo``; and how each is named on an edge of the map.

A Gather whose branches are DTMF children gets each branch's value, one key no branch
matches, and no input. A Gather whose digits go to a ``url`` is read by Python code nobody can
see, so it gets every key when it collects one digit; when it collects more, a full-length
entry (``1234...``), a one-digit entry and the codes the caller of :func:`explore` gave (a
PIN), each with the stop key when the Gather has one. A ``Schedule`` is tried at the start of
each of its windows and just after its end, on a day it lists and a day it does not; a
``Geo``, from each state it lists and from one it does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final, Literal

from callflow.dialect.elements.base import Element
from callflow.dialect.elements.document import Response
from callflow.dialect.elements.filters import Call, Geo, Schedule
from callflow.dialect.elements.gather import DEFAULT_DTMF_LENGTH, DTMF, Gather
from callflow.simulator.commands import in_time_range
from callflow.simulator.geography import state_of
from callflow.simulator.inputs import DIAL_OUTCOMES, GatherPrompt

KEYPAD: Final = "0123456789*#"
"""Every key, in the order they are tried."""
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REFERENCE_DAY: Final = datetime(2026, 1, 5)
"""A Monday: calls start in its week (naive, in the App's time zone), so runs repeat."""
REFERENCE_CLOCK: Final = time(12, 0)
"""Noon: the time of day of a call when no Schedule asks for another."""
OTHER_STATES: Final = ("NY", "NJ", "IL", "WA", "MA")
"""States tried as "elsewhere" for a Geo (the first it does not list)."""
WEEKEND: Final = frozenset(("sat", "sun"))
WEEKDAYS: Final = frozenset(("mon", "tue", "wed", "thu", "fri"))

ChoiceKind = Literal["keys", "dial"]


@dataclass(frozen=True, slots=True)
class Choice:
    """What the caller (or the far end of a Dial) did at one point of a call."""

    kind: ChoiceKind
    value: str | None
    """The keys (None: no input), or a Dial outcome."""

    @property
    def label(self) -> str:
        """How an edge of the map names it: ``press 1``, ``no input``, ``busy``."""
        if self.kind == "dial":
            return "answered" if self.value == "answer" else str(self.value)
        return "no input" if self.value is None else f"press {self.value}"


NO_INPUT: Final = Choice("keys", None)


def gathers_for(prompt: GatherPrompt, document: Response | None) -> list[Gather]:
    """The Gathers of ``document`` that may be the one asking: same length, attempts and stop
    key and, when one has them, the same spoken prompt."""
    if document is None:
        return []
    alike = [
        el
        for el in document.iter()
        if isinstance(el, Gather)
        and (el.dtmf_length or DEFAULT_DTMF_LENGTH) == prompt.dtmf_length
        and (el.attempts or 1) == prompt.attempts
        and el.dtmf_stop == prompt.dtmf_stop
    ]
    said = [el for el in alike if _spoken(el) == [" ".join(p.split()) for p in prompt.prompt]]
    return said or alike


def _spoken(el: Gather) -> list[str]:
    return [" ".join(str(getattr(child, "text", "")).split()) for child in _says(el)]


def _says(el: Gather) -> list[object]:
    return [child for child in el.children if child.xml_tag == "Say"]


def key_choices(
    prompt: GatherPrompt, candidates: Sequence[Gather], codes: Sequence[str] = ()
) -> list[Choice]:
    """What to try when a command listens: see the module docstring. Only the first attempt
    of a Gather gets keys; a later one gets no input, so every path also runs out of them."""
    stop = prompt.dtmf_stop
    if prompt.command == "Pause":
        return [NO_INPUT, Choice("keys", stop or "#")]
    if prompt.attempt > 1:
        return [NO_INPUT]
    length = prompt.dtmf_length
    values = _unique(
        child.value for el in candidates for child in el.children if isinstance(child, DTMF)
    )
    keys: list[str] = []
    if not candidates or any(el.url is not None for el in candidates):
        if length == 1:
            keys = [key for key in KEYPAD if key != stop]
        else:
            full = ("1234567890" * (length // 10 + 1))[:length]
            keys = [full, "1", *(code for code in codes if len(code) <= length), *values]
    else:
        keys = list(values)
        unmatched = _unmatched(values, length, stop)
        if unmatched is not None:
            keys.append(unmatched)
    pressed = [_with_stop(key, length, stop) for key in _unique(keys)]
    return [*(Choice("keys", key) for key in _unique(pressed)), NO_INPUT]


def _with_stop(keys: str, length: int, stop: str | None) -> str:
    """``keys`` as a caller types them: shorter than the Gather wants, then the stop key."""
    return keys + stop if stop is not None and len(keys) < length else keys


def _unmatched(values: Sequence[str], length: int, stop: str | None) -> str | None:
    """A key (or a code of ``length`` keys) that no branch of the Gather matches."""
    for key in KEYPAD:
        if key == stop:
            continue
        code = key * length
        if code not in values:
            return code
    return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def dial_choices() -> list[Choice]:
    """Every outcome of a Dial, ``answer`` first (what the simulator does by default)."""
    return [Choice("dial", outcome) for outcome in DIAL_OUTCOMES]


# -- the clock and the place of a call ----------------------------------------------------------


def _next_second(clock: str) -> str:
    moment = datetime.combine(REFERENCE_DAY, time.fromisoformat(clock)) + timedelta(seconds=1)
    return moment.strftime("%H:%M:%S")


def schedule_days(el: Schedule) -> list[str]:
    """A day ``el`` lists and a day it does not (when it lists days)."""
    if not el.dow:
        return []
    listed = [day for day in DAYS if day in el.dow]
    others = [day for day in DAYS if day not in el.dow]
    return listed[:1] + others[:1]


def schedule_clocks(el: Schedule) -> list[str]:
    """The start of ``el``'s window and the second after its end."""
    if el.time is None:
        return []
    start, end = el.time.split("-")
    return [start, _next_second(end)]


def times_for(days: Iterable[str], clocks: Iterable[str]) -> list[datetime]:
    """Every day with every time of day, in the reference week."""
    moments = []
    for day in days:
        date = REFERENCE_DAY + timedelta(days=DAYS.index(day))
        for clock in clocks:
            moments.append(datetime.combine(date.date(), time.fromisoformat(clock)))
    return moments


def schedule_matches(el: Schedule, at: datetime) -> bool:
    """Whether ``el`` matches a call that starts at ``at`` (the simulator's rule)."""
    day = DAYS[at.weekday()]
    if el.dow is not None and day not in el.dow:
        return False
    return el.time is None or in_time_range(at.strftime("%H:%M:%S"), el.time)


def geo_locations(el: Geo, caller: str) -> list[str]:
    """Each state ``el`` lists (with its county) and one it does not."""
    county = f",{el.county}" if el.county else ""
    if not el.states:
        home = state_of(caller) or OTHER_STATES[0]
        return [f"{home}{county}", home] if county else []
    inside = [f"{state}{county}" for state in el.states]
    outside = next((s for s in OTHER_STATES if s not in el.states), None)
    return inside + ([outside] if outside else [])


def geo_matches(el: Geo, location: str | None, caller: str) -> bool:
    """Whether ``el`` matches a caller at ``location`` (``STATE[,COUNTY]``; None: where the
    caller's number is)."""
    if location is None:
        state, county = state_of(caller), None
    else:
        state, _, rest = location.partition(",")
        county = rest or None
    return (not el.states or state in el.states) and (el.county is None or county == el.county)


def describe_schedule(el: Schedule) -> str:
    """``weekend``, ``weekdays 18:00-08:59``, ``mon,wed``: a Schedule's window, short."""
    parts = []
    if el.dow:
        parts.append(_days(el.dow))
    if el.time:
        start, end = el.time.split("-")
        parts.append(f"{start[:5]}-{end[:5]}")
    return " ".join(parts) or "always"


def describe_geo(el: Geo) -> str:
    """``in AZ/CA``, ``in county ESSEX``: where a Geo's callers are."""
    where = "/".join(el.states) if el.states else ""
    county = f"county {el.county}" if el.county else ""
    return "in " + " ".join(part for part in (where, county) if part)


def filters_of(document: Response) -> tuple[list[Schedule], list[Geo]]:
    """The Schedules and the Geos of ``document``, in document order."""
    schedules = [el for el in document.iter() if isinstance(el, Schedule)]
    geos = [el for el in document.iter() if isinstance(el, Geo)]
    return schedules, geos


OTHERWISE: Final = {"Schedule": "other times", "Geo": "elsewhere"}
"""An edge's name for a call no Schedule (or no Geo) of its document matched, when
:func:`describe_outside` cannot say more."""


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def _shifted(clock: str, seconds: int) -> time:
    moment = datetime.combine(REFERENCE_DAY, time.fromisoformat(clock))
    return (moment + timedelta(seconds=seconds)).time()


def _outside_window(window: str) -> str:
    """The times of day outside ``window`` (``18:00:00-08:59:59`` -> ``09:00-17:59``), or
    ``outside 09:00-17:00`` when whole minutes cannot say it."""
    start, end = window.split("-")
    after, before = _shifted(end, 1), _shifted(start, -1)
    if after.second == 0 and before.second == 59:
        return f"{_clock(after)}-{_clock(before)}"
    return f"outside {start[:5]}-{end[:5]}"


def _days(days: Iterable[str]) -> str:
    chosen = frozenset(days)
    if chosen == WEEKEND:
        return "weekend"
    if chosen == WEEKDAYS:
        return "weekdays"
    return ",".join(day for day in DAYS if day in chosen)


def _days_left(days: set[str]) -> str:
    """``weekdays``, ``mon,wed``, or ``not tue`` when most days are left."""
    if frozenset(days) in (WEEKDAYS, WEEKEND) or len(days) <= 3:
        return _days(days)
    return "not " + _days(set(DAYS) - days)


def describe_outside(schedules: Sequence[Schedule]) -> str:
    """When a call is that none of ``schedules`` matched, short: ``weekdays 09:00-17:59``
    outside ``weekend`` and ``18:00-08:59`` (the hours a line is open), ``not mon,wed
    10:00-11:59`` for a window of days and hours."""
    days = set(DAYS)
    clocks: list[str] = []
    others: list[str] = []
    for el in schedules:
        if el.dow and el.time is None:
            days -= set(el.dow)
        elif el.time is not None and not el.dow:
            clocks.append(_outside_window(el.time))
        else:
            others.append(f"not {describe_schedule(el)}")
    if not days:
        return OTHERWISE["Schedule"]
    parts = [] if days == set(DAYS) else [_days_left(days)]
    if len(clocks) == 1:
        parts.append(clocks[0])
    elif clocks:
        windows = "/".join(
            describe_schedule(el) for el in schedules if el.time is not None and not el.dow
        )
        parts.append(f"outside {windows}")
    return " ".join([*parts, *others]) or OTHERWISE["Schedule"]


def describe_not_geo(geos: Sequence[Geo]) -> str:
    """Where a caller is whom none of ``geos`` matched: ``not in AZ/CA/TX``."""
    if geos and all(el.states and not el.county for el in geos):
        states = dict.fromkeys(state for el in geos for state in el.states or ())
        return "not in " + "/".join(states)
    return OTHERWISE["Geo"]


def unmatched_filters(
    document: Response, tag: str, count: int, at: datetime, location: str | None, caller: str
) -> list[Element]:
    """The first ``count`` filters named ``tag`` of ``document`` that do not match a call at
    ``at`` from ``location`` (the ones the call ran, in document order)."""
    found: list[Element] = []
    for el in document.iter():
        if len(found) == count:
            break
        if el.xml_tag != tag:
            continue
        if isinstance(el, Schedule):
            missed = not schedule_matches(el, at)
        else:
            missed = isinstance(el, Geo) and not geo_matches(el, location, caller)
        if missed:
            found.append(el)
    return found


def otherwise_label(
    document: Response, tag: str, count: int, at: datetime, location: str | None, caller: str
) -> str:
    """The name of the edge of a call the ``count`` filters named ``tag`` it ran all missed:
    when it was (:func:`describe_outside`) or where the caller was (:func:`describe_not_geo`)."""
    missed = unmatched_filters(document, tag, count, at, location, caller)
    if tag == "Schedule":
        return describe_outside([el for el in missed if isinstance(el, Schedule)])
    return describe_not_geo([el for el in missed if isinstance(el, Geo)])


def filter_label(
    document: Response, tag: str, seen: int, at: datetime, location: str | None, caller: str
) -> str:
    """The name of the ``seen``-th filter named ``tag`` that matched in ``document``, for a
    call at ``at`` from ``location``: ``weekend``, ``in AZ/CA``, ``from +15550100999``."""
    for el in [el for el in document.iter() if el.xml_tag == tag]:
        if isinstance(el, Schedule) and schedule_matches(el, at):
            matching: str | None = describe_schedule(el)
        elif isinstance(el, Geo) and geo_matches(el, location, caller):
            matching = describe_geo(el)
        elif isinstance(el, Call):
            matching = f"{el.field} {el.value}" if el.field else "any call"
        else:
            matching = None
        if matching is not None:
            if seen == 0:
                return matching
            seen -= 1
    return tag.lower()
