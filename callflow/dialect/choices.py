"""The closed sets of values some attributes take, as ``Literal`` types.

mypy reads them in the constructors' signatures (``Say(type="Wavenet")`` is an error before
the code runs); the run-time checks are made from the same types
(``values.one_of(SayType)``), so the two can never disagree.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

Leg: TypeAlias = Literal["aleg", "bleg", "both"]
SayType: TypeAlias = Literal["WaveNet", "Standard"]
SayGender: TypeAlias = Literal["MALE", "FEMALE"]
GatherMethod: TypeAlias = Literal["GET", "POST"]
CallbackMethod: TypeAlias = Literal["GET", "POST", "PATCH", "DELETE"]
CallField: TypeAlias = Literal["from", "to", "tn", "direction", "state"]
Day: TypeAlias = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
