"""Turn a DSL tree into canonical Opentact XML bytes (spec §5 General, D1).

The output is UTF-8 with an XML declaration, attributes in the order each element declares
them, text and attributes escaped for any string the DSL accepted. This module writes the
code that serialises each element class; every element runs it once, when it is built (its
children are built, and written, before it). Values are immutable, so a subtree built once (a
module-level menu, say) costs nothing on every later document that holds it.
"""

from __future__ import annotations

from typing import Any

from callflow.dialect import values as checks
from callflow.dialect.elements.base import Element
from callflow.dialect.elements.document import Response
from callflow.dialect.slots import MARK, MARK_OPEN

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render(doc: Response) -> bytes:
    """Render ``doc`` as UTF-8 bytes with an XML declaration.

    >>> from callflow import Response, Say
    >>> render(Response(Say("Fish & chips")))
    b'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Fish &amp; chips</Say></Response>'
    """
    if not isinstance(doc, Response):
        raise TypeError(f"render() takes a Response, not {type(doc).__name__}")
    rendered: bytes | None = getattr(doc, "_bytes", None)
    if rendered is None:
        xml = to_xml(doc)
        if MARK_OPEN in xml and MARK.search(xml):
            raise TypeError("the document has Slots: render it with callflow.prepare(doc).render()")
        rendered = (DECLARATION + xml).encode()
        _keep_bytes(doc, rendered)  # immutable: the next render of it is a lookup
    return rendered


_keep_bytes = Response.__dict__["_bytes"].__set__


def to_xml(node: Element) -> str:
    """Return the XML of ``node`` (no declaration) as a string.

    Every element writes its XML once, when it is built (children first, so a parent only
    joins their strings); a subtree built once, at module level say, costs nothing on the
    next document that holds it.
    """
    return node._xml or ""


def escape_text(text: str) -> str:
    """Escape character data; ``\\r`` as a reference so parsers keep it."""
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
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
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


_INTEGERS = frozenset((checks.ms, checks.count, checks.hold_ms, checks.volume))


def _format(variable: str, check: object) -> str:
    """The expression writing ``variable``, a value accepted by ``check``, on the wire."""
    if check in _INTEGERS:
        return f"str({variable})"
    if check is checks.boolean:
        return f"('true' if {variable} else 'false')"
    if check in checks.MARKUP_FREE:
        return variable
    if check in (checks.days, checks.states):
        return f"','.join({variable})"
    if check is checks.frequencies:
        return f"WIRE({variable})"
    return f"ESCAPE_ATTRIBUTE({variable})"


def serialiser_lines(cls: type[Element]) -> tuple[list[str], dict[str, Any]]:
    """Return the code that writes an element of ``cls`` (and the names it uses).

    The code is part of each class's generated ``_init``: it reads the checked values
    ``v0``, ``v1``... and ``inner`` (the children's XML, already written) and assigns the
    element's XML to ``s``. Unrolled per attribute; only values that can hold markup are
    escaped.
    """
    fields = cls.fields
    content = next((i for i, f in enumerate(fields) if f.name == cls.content), None)
    close = f"</{cls.xml_tag}>"
    lines = [f"s = {'<' + cls.xml_tag!r}"]
    if content is not None:
        value = f"v{content}"
        if cls.content_mode == "attribute-with-children":
            lines.append(f"text, inline = (None, {value}) if children else ({value}, None)")
        elif cls.content_mode == "text-if-multiline":
            lines.append(f"multi = {value} is not None and '\\n' in {value}")
            lines.append(f"text, inline = ({value}, None) if multi else (None, {value})")
        else:
            lines.append(f"text, inline = {value}, None")
    for i, spec in enumerate(fields):
        variable = "inline" if i == content else f"v{i}"
        expression = _format(variable, spec.check)
        lines.append(f"if {variable} is not None: s += ' {spec.wire}=\"' + {expression} + '\"'")
    if content is None:
        lines.append(f"s = s + '>' + inner + {close!r} if children else s + '/>'")
    else:
        lines.append("if text is not None:")
        lines.append(f"    s = s + '>' + ESCAPE_TEXT(text) + inner + {close!r}")
        lines.append("elif children:")
        lines.append(f"    s = s + '>' + inner + {close!r}")
        lines.append("else:")
        lines.append("    s += '/>'")
    namespace: dict[str, Any] = {
        "ESCAPE_TEXT": escape_text,
        "ESCAPE_ATTRIBUTE": escape_attribute,
        "WIRE": wire_value,
    }
    return lines, namespace
