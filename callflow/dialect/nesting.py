"""The nesting table of spec §4, by element name.

The DSL constructors and the validator both read this table, so the two can never disagree.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

import functools
from typing import Final

COMMANDS: Final = (
    "Answer",
    "Hangup",
    "Say",
    "Play",
    "Pause",
    "Record",
    "RecordStart",
    "RecordStop",
    "RecordWait",
    "Dial",
    "Gather",
    "Callback",
    "Hold",
    "Unhold",
    "Tone",
    "Curl",
    "Call",
    "Geo",
    "Schedule",
)
"""Elements that run as a step of a call (spec §4 "any command")."""

PLAIN_BLOCKS: Final = ("Response", "DTMF", "Case", "Default", "Error")
"""Blocks of commands that are not commands themselves: an Error in them is a sibling handler."""

COMMAND_BLOCKS: Final = ("Record", "Call", "Geo", "Schedule")
"""Commands holding commands; an Error child is the block's own failure handler."""

_BLOCK: Final = frozenset((*COMMANDS, "Meta"))

ALLOWED: Final[dict[str, frozenset[str]]] = {
    "Response": _BLOCK,
    "DTMF": _BLOCK,
    "Case": _BLOCK,
    "Default": _BLOCK,
    "Error": _BLOCK,
    "Record": _BLOCK | {"Error"},
    "Call": _BLOCK | {"Error"},
    "Geo": _BLOCK | {"Error"},
    "Schedule": _BLOCK | {"Error"},
    "Gather": frozenset(("Say", "Play", "Pause", "DTMF", "Switch", "Default", "Error", "Meta")),
    "Switch": frozenset(("Case", "Default", "Error")),
    "Dial": frozenset(("To", "Sip", "Error", "Meta")),
    "Callback": frozenset(("Error", "Meta")),
    "Tone": frozenset(("Meta", "Error")),
    "Curl": frozenset(("Error",)),
    "Say": frozenset(("Error",)),
    "Play": frozenset(("Error",)),
    "Answer": frozenset(("Error",)),
    "Hangup": frozenset(("Error",)),
    "Pause": frozenset(("Error",)),
    "Hold": frozenset(("Error",)),
    "Unhold": frozenset(("Error",)),
    "RecordStart": frozenset(("Error",)),
    "RecordStop": frozenset(("Error",)),
    "RecordWait": frozenset(("Error",)),
    "To": frozenset(),
    "Sip": frozenset(),
    "Meta": frozenset(),
}
"""Parent name -> names of the children it may hold (canonical form)."""

AT_MOST_ONE: Final = ("Error", "Default", "Switch")
"""Children a parent may hold at most once."""


@functools.lru_cache(maxsize=64)  # element names: a bounded set, asked once per problem
def allowed_children(parent: str) -> tuple[str, ...]:
    """Return the children ``parent`` may hold, in spec order, for messages."""
    allowed = ALLOWED.get(parent, frozenset())
    order = (*COMMANDS, "To", "Sip", "DTMF", "Switch", "Case", "Default", "Error", "Meta")
    return tuple(name for name in order if name in allowed)
