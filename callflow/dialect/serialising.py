"""How an element writes its XML: escaping, the wire form of values, and the serialiser code.

Every element class compiles :func:`attribute` and :func:`text` into its generated
``__init__`` (:mod:`callflow.dialect.elements.constructors`), so an element writes its XML
once, when it is built; :mod:`callflow.dialect.rendering` then only joins and encodes. This
module imports no element: the elements import it.
"""

from __future__ import annotations

from typing import Any, Literal

from callflow.dialect import values as checks
from callflow.dialect.values import Checker


def escape_text(text: str) -> str:
    """Escape character data; ``\\r`` as a reference so parsers keep it."""
    # One test per character: a text holding one of them (an "&", mostly) pays one replace.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def escape_attribute(value: str) -> str:
    """Escape an attribute value in double quotes; whitespace as references so parsers keep it."""
    value = escape_text(value)
    if '"' in value or "\n" in value or "\t" in value:  # rare in attributes
        return value.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return value


def wire_value(value: object) -> str:
    """Return the unescaped wire form of a stored attribute value."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, tuple):
        return ",".join(wire_value(item) for item in value)
    return repr(value) if isinstance(value, float) else str(value)


ContentMode = Literal["text", "attribute-with-children", "text-if-multiline"]

_INTEGERS = frozenset((checks.ms, checks.count, checks.hold_ms))

NAMES: dict[str, Any] = {"WIRE": wire_value, "STR": str}
"""The names the serialiser's code uses (upper case: no field, a lower-case identifier, can
shadow one)."""


_TEXT_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ATTRIBUTE_ESCAPES = (*_TEXT_ESCAPES, ('"', "&quot;"), ("\n", "&#10;"), ("\t", "&#9;"))


def _escaping(variable: str, escapes: tuple[tuple[str, str], ...], check: Checker) -> list[str]:
    # escape_text and escape_attribute inlined: most values hold nothing to escape, and a
    # test per character costs less than a call.
    if check in checks.WHITESPACE_FREE:
        escapes = tuple((char, ref) for char, ref in escapes if not char.isspace())
    return [
        f"if {char!r} in {variable}: {variable} = {variable}.replace({char!r}, {ref!r})"
        for char, ref in escapes
    ]


def attribute(name: str, check: Checker) -> list[str]:
    """The lines appending `` name="..."`` to ``_a``: the attribute ``name``, whose value,
    accepted by ``check``, is in the variable ``name``. Only values that can hold markup are
    escaped."""
    if check in _INTEGERS:
        # The checker returned an int (never a bool): its format is its str, in one string.
        return [f"_a = f'{{_a}} {name}=\"{{{name}}}\"'"]
    if check is checks.boolean:
        return [f"_a += ' {name}=\"true\"' if {name} else ' {name}=\"false\"'"]
    if check in checks.MARKUP_FREE:
        return [f"_a += ' {name}=\"' + {name} + '\"'"]
    if check in (checks.days, checks.states):
        return [f"_a += ' {name}=\"' + ','.join({name}) + '\"'"]
    if check is checks.frequencies:
        return [f"_a += ' {name}=\"' + WIRE({name}) + '\"'"]
    if check is checks.volume:
        return [f"_a += ' {name}=\"' + STR({name}) + '\"'"]
    return [
        f"_e = {name}",
        *_escaping("_e", _ATTRIBUTE_ESCAPES, check),
        f"_a += ' {name}=\"' + _e + '\"'",
    ]


def text(variable: str, target: str, check: Checker) -> list[str]:
    """The lines assigning the text ``variable``, accepted by ``check``, to ``target``, escaped
    as character data."""
    return [f"{target} = {variable}", *_escaping(target, _TEXT_ESCAPES, check)]
