"""Type aliases for the DSL: which children each element takes (spec §4) and the enums.

mypy reads these unions to reject a wrong child (``Gather(Hangup())``) before the code runs;
the constructors check the same table (:mod:`callflow.dialect.nesting`) at run time. The enums
(``Leg``, ``Day``, ...) are defined in :mod:`callflow.dialect.choices`, which the checkers
read too.
"""

from __future__ import annotations

from typing import TypeAlias

from callflow.dialect.choices import CallbackMethod as CallbackMethod
from callflow.dialect.choices import CallField as CallField
from callflow.dialect.choices import Day as Day
from callflow.dialect.choices import GatherMethod as GatherMethod
from callflow.dialect.choices import Leg as Leg
from callflow.dialect.choices import SayGender as SayGender
from callflow.dialect.choices import SayType as SayType
from callflow.dialect.elements.audio import Pause, Play, Say, Tone
from callflow.dialect.elements.call_control import Answer, Hangup, Hold, Unhold
from callflow.dialect.elements.dial import Dial, Sip, To
from callflow.dialect.elements.document import Error, Meta
from callflow.dialect.elements.filters import Call, Geo, Schedule
from callflow.dialect.elements.gather import DTMF, Case, Default, Gather, Switch
from callflow.dialect.elements.recording import Record, RecordStart, RecordStop, RecordWait
from callflow.dialect.elements.remote import Callback, Curl

Command: TypeAlias = (
    Answer
    | Hangup
    | Say
    | Play
    | Pause
    | Record
    | RecordStart
    | RecordStop
    | RecordWait
    | Dial
    | Gather
    | Callback
    | Hold
    | Unhold
    | Tone
    | Curl
    | Call
    | Geo
    | Schedule
)
"""Any command (spec §4)."""

BlockChild: TypeAlias = Command | Meta
"""Children of Response, DTMF, Case, Default and Error."""

CommandBlockChild: TypeAlias = Command | Meta | Error
"""Children of Record, Call, Geo and Schedule (their Error is their own handler)."""

GatherChild: TypeAlias = Say | Play | Pause | DTMF | Switch | Default | Error | Meta
SwitchChild: TypeAlias = Case | Default | Error
DialChild: TypeAlias = To | Sip | Error | Meta
CallbackChild: TypeAlias = Error | Meta
ToneChild: TypeAlias = Meta | Error

Scalar: TypeAlias = str | int | float | bool
