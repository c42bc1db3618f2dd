"""The public face of callflow (httpx ``tests/test_exported_members.py``): users import from
``callflow`` only, so its ``__all__`` is exactly the public set and every name in it works."""

from __future__ import annotations

import importlib

import pytest

import callflow

PUBLIC = {
    # DSL elements (spec §3)
    "Answer",
    "Call",
    "Callback",
    "Case",
    "Curl",
    "DTMF",
    "Default",
    "Dial",
    "Error",
    "Gather",
    "Geo",
    "Hangup",
    "Hold",
    "Meta",
    "Pause",
    "Play",
    "Record",
    "RecordStart",
    "RecordStop",
    "RecordWait",
    "Response",
    "Say",
    "Schedule",
    "Sip",
    "Switch",
    "To",
    "Tone",
    "Unhold",
    "Element",
    # errors
    "CallflowError",
    "ConfigurationError",
    "InvalidAttributeError",
    "NestingError",
    "RegistrationError",
    "SchemaValidationError",
    "SessionStoreError",
    "SessionTooLarge",
    "TemplateError",
    # the call-control server
    "App",
    "CallContext",
    "CallFlowEvent",
    "CallStateEvent",
    "Event",
    "MemoryStore",
    "Rendered",
    "RedisSessionStore",
    "Router",
    "SessionStore",
    "Settings",
    "open_store",
    # rendering, validation, parsing
    "Finding",
    "Problem",
    "assert_valid",
    "lint",
    "prepare",
    "PreparedDocument",
    "Slot",
    "parse",
    "render",
    "validate",
    "__version__",
}

ELEMENT_CLASSES = [
    getattr(callflow, name)
    for name in sorted(PUBLIC)
    if isinstance(getattr(callflow, name), type)
    and issubclass(getattr(callflow, name), callflow.Element)
    and getattr(callflow, name) is not callflow.Element
]


def isort_key(name: str) -> tuple[int, str]:
    """Sort as ruff's RUF022 does: CONSTANTS, then Classes, then everything else."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def test_all_is_exactly_the_public_set() -> None:
    assert set(callflow.__all__) == PUBLIC
    assert len(callflow.__all__) == len(PUBLIC)


def test_all_is_sorted() -> None:
    assert callflow.__all__ == sorted(callflow.__all__, key=isort_key)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_exported_name_is_importable(name: str) -> None:
    module = importlib.import_module("callflow")
    assert getattr(module, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from callflow import {name}", namespace)
    assert namespace[name] is getattr(callflow, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from callflow import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(callflow.__all__)


def test_version_is_a_string() -> None:
    assert isinstance(callflow.__version__, str)
    assert callflow.__version__


def test_there_are_28_element_classes() -> None:
    assert len(ELEMENT_CLASSES) == 28


@pytest.mark.parametrize("cls", ELEMENT_CLASSES, ids=lambda cls: cls.__name__)
def test_element_xml_tag_is_the_class_name(cls: type[callflow.Element]) -> None:
    assert cls.xml_tag == cls.__name__


@pytest.mark.parametrize("name", sorted(PUBLIC - {"__version__"}))
def test_exported_objects_are_public_api_of_callflow(name: str) -> None:
    obj = getattr(callflow, name)
    assert obj.__module__.startswith("callflow.")
    assert not obj.__name__.startswith("_")
    assert obj.__doc__
