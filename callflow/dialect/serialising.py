"""How an element writes its XML: escaping, the wire form of values, and the serialiser code.

Every element class compiles :func:`serialiser_lines` into its generated ``_init``
(:mod:`callflow.dialect.elements.base`), so an element writes its XML once, when it is built;
:mod:`callflow.dialect.rendering` then only joins and encodes. This module imports no element:
the elements import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

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


class Attribute(Protocol):
    """What the serialiser reads of an element's field: its name and the rule of its value."""

    @property
    def name(self) -> str: ...

    @property
    def check(self) -> Checker: ...


ContentMode = Literal["text", "attribute-with-children", "text-if-multiline"]

_INTEGERS = frozenset((checks.ms, checks.count, checks.hold_ms, checks.volume))


def _format(variable: str, check: object) -> str:
    """The expression writing ``variable``, a value accepted by ``check``, on the wire."""
    if check in _INTEGERS:
        return f"STR({variable})"
    if check is checks.boolean:
        return f"('true' if {variable} else 'false')"
    if check in checks.MARKUP_FREE:
        return variable
    if check in (checks.days, checks.states):
        return f"','.join({variable})"
    if check is checks.frequencies:
        return f"WIRE({variable})"
    return f"ESCAPE_ATTRIBUTE({variable})"


def serialiser_lines(
    tag: str, fields: Sequence[Attribute], content: str | None, content_mode: ContentMode
) -> tuple[list[str], dict[str, Any]]:
    """Return the code that writes an element ``tag`` (and the names it uses).

    The code is part of each class's generated ``_init``: it reads the checked values, in
    variables named after the fields, and ``_inner`` (the children's XML, already written)
    and assigns the element's XML to ``_xml``. Its own variables start with ``_`` and its
    names are upper case, so no field (a lower-case identifier) can shadow one. Unrolled per
    attribute; only values that can hold markup are escaped.
    """
    close = f"</{tag}>"
    lines = [f"_xml = {'<' + tag!r}"]
    if content is not None:
        if content_mode == "attribute-with-children":
            lines.append(f"_text, _inline = (None, {content}) if children else ({content}, None)")
        elif content_mode == "text-if-multiline":
            lines.append(f"_multi = {content} is not None and '\\n' in {content}")
            lines.append(f"_text, _inline = ({content}, None) if _multi else (None, {content})")
        else:
            lines.append(f"_text, _inline = {content}, None")
    for spec in fields:
        variable = "_inline" if spec.name == content else spec.name
        expression = _format(variable, spec.check)
        lines.append(f"if {variable} is not None: _xml += ' {spec.name}=\"' + {expression} + '\"'")
    if content is None:
        lines.append(f"_xml = _xml + '>' + _inner + {close!r} if children else _xml + '/>'")
    else:
        lines.append("if _text is not None:")
        lines.append(f"    _xml = _xml + '>' + ESCAPE_TEXT(_text) + _inner + {close!r}")
        lines.append("elif children:")
        lines.append(f"    _xml = _xml + '>' + _inner + {close!r}")
        lines.append("else:")
        lines.append("    _xml += '/>'")
    namespace: dict[str, Any] = {
        "ESCAPE_TEXT": escape_text,
        "ESCAPE_ATTRIBUTE": escape_attribute,
        "WIRE": wire_value,
        "STR": str,
    }
    return lines, namespace
