"""Turn a DSL tree into canonical Opentact XML bytes (spec §5 General, D1).

The output is UTF-8 with an XML declaration, attributes in the order each element declares
them, text and attributes escaped for any string the DSL accepted. Every element caches its
serialised form the first time it is rendered; values are immutable, so a subtree that is
built once (a module-level menu, say) costs one lookup on every later render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import checks
from .document import Response
from .element import Element, _set_xml
from .slot import MARK, MARK_OPEN

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render(doc: Response) -> bytes:
    """Render ``doc`` as UTF-8 bytes with an XML declaration.

    >>> from callflow import Response, Say
    >>> render(Response(Say("Fish & chips")))
    b'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Fish &amp; chips</Say></Response>'
    """
    if not isinstance(doc, Response):
        raise TypeError(f"render() takes a Response, not {type(doc).__name__}")
    xml = to_xml(doc)
    if MARK_OPEN in xml and MARK.search(xml):
        raise TypeError("the document has Slots: render it with callflow.prepare(doc).render()")
    return (DECLARATION + xml).encode()


def to_xml(node: Element) -> str:
    """Return the XML of ``node`` (no declaration) as a string, using its cached form."""
    cached = node._xml
    if cached is None:
        serialise = _SERIALISERS.get(type(node))
        if serialise is None:
            serialise = _SERIALISERS[type(node)] = _compile(type(node))
        cached = serialise(node)
        _set_xml(node, cached)
    return cached


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
_SERIALISERS: dict[type[Element], Callable[[Element], str]] = {}


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


def _compile(cls: type[Element]) -> Callable[[Element], str]:
    """Generate the serialiser of ``cls``: unrolled per attribute, escaping only the values
    that can hold markup. Built once per class, the first time one is rendered."""
    fields = cls.fields
    names = [f"v{i}" for i in range(len(fields))]
    content = next((i for i, f in enumerate(fields) if f.name == cls.content), None)
    close = f"</{cls.xml_tag}>"
    lines = ["def serialise(node):"]
    if names:
        lines.append(f"    {', '.join(names)}, = node._values")
    lines.append("    children = node.children")
    lines.append(f"    s = {'<' + cls.xml_tag!r}")
    if content is not None:
        value = f"v{content}"
        if cls.content_mode == "attribute-with-children":
            lines.append(f"    text, inline = (None, {value}) if children else ({value}, None)")
        elif cls.content_mode == "text-if-multiline":
            lines.append(f"    multi = {value} is not None and '\\n' in {value}")
            lines.append(f"    text, inline = ({value}, None) if multi else (None, {value})")
        else:
            lines.append(f"    text, inline = {value}, None")
    for i, spec in enumerate(fields):
        variable = "inline" if i == content else f"v{i}"
        expression = _format(variable, spec.check)
        lines.append(f"    if {variable} is not None: s += ' {spec.wire}=\"' + {expression} + '\"'")
    children = "''.join([c._xml or TO_XML(c) for c in children])"
    if content is None:
        lines.append("    if not children: return s + '/>'")
        lines.append(f"    return s + '>' + {children} + {close!r}")
    else:
        lines.append("    if text is None:")
        lines.append("        if not children: return s + '/>'")
        lines.append(f"        return s + '>' + {children} + {close!r}")
        lines.append(f"    return s + '>' + ESCAPE_TEXT(text) + {children} + {close!r}")
    namespace: dict[str, Any] = {
        "TO_XML": to_xml,
        "ESCAPE_TEXT": escape_text,
        "ESCAPE_ATTRIBUTE": escape_attribute,
        "WIRE": wire_value,
    }
    exec("\n".join(lines), namespace)
    serialise: Callable[[Element], str] = namespace["serialise"]
    return serialise
