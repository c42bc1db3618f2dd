"""The closed value sets: each is one ``Literal`` type, which the signature names and the
run-time check is made from, so mypy and the constructor accept exactly the same values."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest

import callflow.types
from callflow import Call, Callback, Element, Gather, InvalidAttributeError, Play, Say, Tone
from callflow.dialect import choices
from callflow.dialect import values as checks

CHOSEN = [
    pytest.param(Say, "type", choices.SayType, id="Say-type"),
    pytest.param(Say, "gender", choices.SayGender, id="Say-gender"),
    pytest.param(Play, "leg", choices.Leg, id="Play-leg"),
    pytest.param(Tone, "leg", choices.Leg, id="Tone-leg"),
    pytest.param(Gather, "method", choices.GatherMethod, id="Gather-method"),
    pytest.param(Callback, "method", choices.CallbackMethod, id="Callback-method"),
    pytest.param(Call, "field", choices.CallField, id="Call-field"),
]


@pytest.mark.parametrize(("cls", "name", "literal"), CHOSEN)
def test_the_check_accepts_exactly_the_literals_values(
    cls: type[Element], name: str, literal: Any
) -> None:
    [spec] = [spec for spec in cls.fields if spec.name == name]
    allowed = typing.get_args(literal)
    for value in allowed:
        assert spec.check(cls.xml_tag, name, value) == value
    rule = re.escape(f"must be one of {' | '.join(allowed)}")
    with pytest.raises(InvalidAttributeError, match=rule):
        spec.check(cls.xml_tag, name, "other")


@pytest.mark.parametrize(("cls", "name", "literal"), CHOSEN)
def test_the_signature_names_the_same_literal(cls: type[Element], name: str, literal: Any) -> None:
    hints = typing.get_type_hints(cls.__init__, localns=vars(callflow.types))
    assert hints[name] == literal | None


def test_day_names_are_the_day_literals() -> None:
    assert typing.get_args(choices.Day) == checks.DAYS
    assert typing.get_args(choices.CallField) == checks.CALL_FIELDS


def test_callflow_types_names_the_same_literals() -> None:
    for name in (
        "Leg",
        "SayType",
        "SayGender",
        "GatherMethod",
        "CallbackMethod",
        "CallField",
        "Day",
    ):
        assert getattr(callflow.types, name) is getattr(choices, name)
