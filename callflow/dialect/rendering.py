"""Turn a DSL tree into canonical Opentact XML bytes (spec §5 General, D1).

The output is UTF-8 with an XML declaration, attributes in the order each element declares
them, text and attributes escaped for any string the DSL accepted. Every element writes its
own XML once, when it is built (its children are built, and written, before it), with code
from :mod:`callflow.dialect.serialising`; rendering joins and encodes. Values are immutable,
so a subtree built once (a module-level menu, say) costs nothing on every later document
that holds it. Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

from callflow.dialect.elements.base import Element
from callflow.dialect.elements.document import Response

# Re-exported for callflow.server.urls, which imports them from here; the escaping itself
# lives in callflow.dialect.serialising with the code that uses it.
from callflow.dialect.slots import MARK, MARK_OPEN

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class CheckedXML(bytes):
    """The bytes of a document the DSL wrote (:func:`render`, :meth:`PreparedDocument.render
    <callflow.dialect.prepared.PreparedDocument.render>`): every value checked by the rule of
    the attribute it fills and escaped for its place, every child checked when it was added.

    A server sends them as they are: no parse, no schema check, no rebuild (bytes of any other
    origin are checked). It is ``bytes`` in every other way; bytes made from it (a copy, a
    slice, a join) are plain ``bytes`` again.
    """

    __slots__ = ()


def render(doc: Response) -> bytes:
    """Render ``doc`` as UTF-8 bytes with an XML declaration (a :class:`CheckedXML`, which a
    flow may return as it is).

    >>> from callflow import Response, Say
    >>> render(Response(Say("Fish & chips")))
    b'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Fish &amp; chips</Say></Response>'
    """
    if not isinstance(doc, Response):
        raise TypeError(f"render() takes a Response, not {type(doc).__name__}")
    rendered = doc._bytes
    if rendered is None:
        xml = doc._xml
        if MARK_OPEN in xml and MARK.search(xml):
            raise TypeError("the document has Slots: render it with callflow.prepare(doc).render()")
        rendered = CheckedXML((DECLARATION + xml).encode())
        doc._bytes = rendered  # immutable: the next render of it is a lookup
    return rendered


def to_xml(node: Element) -> str:
    """Return the XML of ``node`` (no declaration) as a string.

    Every element writes its XML once, when it is built (children first, so a parent only
    joins their strings); a subtree built once, at module level say, costs nothing on the
    next document that holds it.
    """
    return node._xml
