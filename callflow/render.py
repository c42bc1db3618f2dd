"""Turn a DSL tree into canonical Opentact XML bytes (spec §5 General, D1).

The output is UTF-8 with an XML declaration, attributes in the order each element declares
them, text and attributes escaped for any string the DSL accepted. Every element caches its
serialised form the first time it is rendered; values are immutable, so a subtree that is
built once (a module-level menu, say) costs one lookup on every later render.
"""

from __future__ import annotations

from .document import Response
from .element import Element

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

_set = object.__setattr__


def render(doc: Response) -> bytes:
    """Render ``doc`` as UTF-8 bytes with an XML declaration.

    >>> from callflow import Response, Say
    >>> render(Response(Say("Fish & chips")))
    b'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Fish &amp; chips</Say></Response>'
    """
    if not isinstance(doc, Response):
        raise TypeError(f"render() takes a Response, not {type(doc).__name__}")
    return (DECLARATION + to_xml(doc)).encode()


def to_xml(node: Element) -> str:
    """Return the XML of ``node`` (no declaration) as a string, using its cached form."""
    cached = node._xml
    if cached is None:
        cached = _serialise(node)
        _set(node, "_xml", cached)
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


def _serialise(node: Element) -> str:
    cls = type(node)
    tag = cls.xml_tag
    children = node.children
    content = cls.content
    text: str | None = None
    if content is not None:
        text = getattr(node, content)
        if text is not None:
            mode = cls.content_mode
            if (mode == "attribute-with-children" and children) or (
                mode == "text-if-multiline" and "\n" not in text
            ):
                content = None  # rendered as its attribute below
                text = None
    parts = ["<", tag]
    for spec in cls.fields:
        if spec.name == content:
            continue
        value = getattr(node, spec.name)
        if value is not None:
            parts.append(f' {spec.wire}="{escape_attribute(wire_value(value))}"')
    if text is None and not children:
        parts.append("/>")
        return "".join(parts)
    parts.append(">")
    if text is not None:
        parts.append(escape_text(text))
    for child in children:
        cached = child._xml
        parts.append(cached if cached is not None else to_xml(child))
    parts.append(f"</{tag}>")
    return "".join(parts)
