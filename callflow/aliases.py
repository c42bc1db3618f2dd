"""Type aliases for the DSL: which children each element takes (spec §4) and the enums.

mypy reads these unions to reject a wrong child (``Gather(Hangup())``) before the code runs;
the constructors check the same table (:mod:`callflow.nesting`) at run time.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from .audio import Pause, Play, Say, Tone
from .call_control import Answer, Hangup, Hold, Unhold
from .dial import Dial, Sip, To
from .document import Error, Meta
from .fetch import Callback, Curl
from .filters import Call, Geo, Schedule
from .gather import DTMF, Case, Default, Gather, Switch
from .recording import Record, RecordStart, RecordStop, RecordWait

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
