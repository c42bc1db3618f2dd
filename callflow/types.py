"""Type aliases for the DSL: which children each element takes (spec §4) and the enums.

mypy reads these unions to reject a wrong child (``Gather(Hangup())``) before the code runs;
the constructors check the same table (:mod:`callflow.dialect.nesting`) at run time.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

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
Leg: TypeAlias = Literal["aleg", "bleg", "both"]
SayType: TypeAlias = Literal["WaveNet", "Standard"]
SayGender: TypeAlias = Literal["MALE", "FEMALE"]
GatherMethod: TypeAlias = Literal["GET", "POST"]
CallbackMethod: TypeAlias = Literal["GET", "POST", "PATCH", "DELETE"]
CallField: TypeAlias = Literal["from", "to", "tn", "direction", "state"]
Day: TypeAlias = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
