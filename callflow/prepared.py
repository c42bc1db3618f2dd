"""Prepared documents: render the constant structure once, fill in checked values per call.

A flow's document is mostly constant; usually only a few values change per call (the caller's
name, a number to dial, a URL). ``prepare`` renders the tree once, with :class:`Slot`
placeholders where the values go, and :meth:`PreparedDocument.render` then costs one check and
one escape per value: close to hand-written string building, with every value still checked
by the rule of the attribute it fills.

>>> from callflow import Hangup, Response, Say, Slot, prepare
>>> doc = prepare(Response(Say(Slot("greeting")), Hangup()))
>>> doc.render(greeting="Hi Bob & co").decode()
'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Hi Bob &amp; co</Say><Hangup/></Response>'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .checks import Checker
from .document import Response
from .element import Element
from .exceptions import InvalidAttributeError
from .render import DECLARATION, escape_attribute, escape_text, to_xml
from .slot import MARK, Slot


@dataclass(frozen=True, slots=True)
class _Use:
    """Where a slot is used: its element, attribute and rule."""

    element: str
    attribute: str
    check: Checker


def _uses(doc: Element) -> dict[str, list[_Use]]:
    found: dict[str, list[_Use]] = {}
    for el in doc.iter():
        for spec, value in zip(el.fields, el._values, strict=True):
            if isinstance(value, Slot):
                found.setdefault(value.name, []).append(_Use(el.xml_tag, spec.name, spec.check))
    return found


class PreparedDocument:
    """A document rendered once with slots; :meth:`render` fills them in."""

    def __init__(self, doc: Response) -> None:
        if not isinstance(doc, Response):
            raise TypeError(f"prepare() takes a Response, not {type(doc).__name__}")
        self.uses = _uses(doc)
        skeleton = DECLARATION + to_xml(doc)
        self._fragments: list[bytes] = []
        self._slots: list[tuple[str, Callable[[str], str]]] = []
        done = 0
        for match in MARK.finditer(skeleton):
            before = skeleton[: match.start()]
            in_tag = before.rfind("<") > before.rfind(">")
            self._fragments.append(skeleton[done : match.start()].encode())
            self._slots.append((match.group(1), escape_attribute if in_tag else escape_text))
            done = match.end()
        self._fragments.append(skeleton[done:].encode())
        self.names = frozenset(self.uses)
        """The slot names the document needs."""

    def render(self, **values: object) -> bytes:
        """Return the document with every slot filled; each value is checked by the rule of
        the attribute it fills (``InvalidAttributeError``), and escaped for its place."""
        missing = self.names - values.keys()
        if missing:
            raise TypeError(f"missing values for slots: {', '.join(sorted(missing))}")
        unknown = values.keys() - self.names
        if unknown:
            raise TypeError(f"no such slots: {', '.join(sorted(unknown))}")
        checked: dict[str, str] = {}
        for name, uses in self.uses.items():
            value = values[name]
            for use in uses:
                value = use.check(use.element, use.attribute, value)
            if isinstance(value, Slot):
                raise InvalidAttributeError(
                    uses[0].element, uses[0].attribute, "must be a value, not a Slot", value
                )
            checked[name] = str(value)
        fragments = self._fragments
        parts = [fragments[0]]
        for index, (name, escape) in enumerate(self._slots, start=1):
            parts.append(escape(checked[name]).encode())
            parts.append(fragments[index])
        return b"".join(parts)


def prepare(doc: Response) -> PreparedDocument:
    """Render ``doc`` once, with its :class:`Slot` placeholders, for fast per-call renders."""
    return PreparedDocument(doc)
