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

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callflow.dialect.codegen import compile_function
from callflow.dialect.elements.base import Element
from callflow.dialect.elements.document import Response
from callflow.dialect.rendering import DECLARATION, CheckedXML, to_xml
from callflow.dialect.serialising import escape_attribute, escape_text
from callflow.dialect.slots import MARK_CLOSE, MARK_OPEN, Slot
from callflow.dialect.values import Checker
from callflow.exceptions import InvalidAttributeError


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
                use = _Use(el.xml_tag, spec.name, spec.check)
                found.setdefault(value.name, []).append(use)
    return found


class PreparedDocument:
    """A document rendered once with slots; :meth:`render` fills them in."""

    def __init__(self, doc: Response) -> None:
        if not isinstance(doc, Response):
            raise TypeError(f"prepare() takes a Response, not {type(doc).__name__}")
        self.uses = _uses(doc)
        self.names = frozenset(self.uses)
        """The slot names the document needs."""
        skeleton = DECLARATION + to_xml(doc)
        fragments: list[str] = []
        places: list[tuple[str, str]] = []
        done = 0
        for match in _PLACE.finditer(skeleton):
            fragments.append(skeleton[done : match.start()])
            if match.group("meta") is not None:
                # A Meta value goes into the attribute or, with a line break, the text
                # (D17): the whole element is written per call.
                places.append((match.group("meta"), f"meta:{match.group('meta_name')}"))
            else:
                before = skeleton[: match.start()]
                in_tag = before.rfind("<") > before.rfind(">")
                places.append((match.group("slot"), "attribute" if in_tag else "text"))
            done = match.end()
        fragments.append(skeleton[done:])
        self._render = self._compile(fragments, places)

    def _compile(self, fragments: list[str], places: list[tuple[str, str]]) -> Callable[..., bytes]:
        """Generate the render function: one check per use, one escape per place, one join.

        Its keyword-only parameters are the slot names, so a missing or unknown value is
        Python's own ``TypeError``; ``inspect.getsource(doc._render)`` shows it.
        """
        namespace: dict[str, Any] = {
            "_TEXT": escape_text,
            "_ATTRIBUTE": escape_attribute,
            "_STR": str,
            "_SLOT": Slot,
            "_NOT_A_VALUE": _not_a_value,
            "_META": _meta,
            "_PREPARED": CheckedXML,
        }
        lines = (
            [f"def render(*, {', '.join(sorted(self.names))}):"]
            if self.names
            else ["def render():"]
        )
        # Each use checks the value by its own rule, and a rule may write a value its own way
        # (To writes a number canonically): each place gets the value its use checked. Places
        # appear in the skeleton in the order of the uses (document order).
        placed = {name: sum(1 for n, _ in places if n == name) for name in self.uses}
        for name, uses in sorted(self.uses.items()):
            lines.append(
                f"    if {name}.__class__ is _SLOT: _NOT_A_VALUE({uses[0].element!r}, "
                f"{uses[0].attribute!r}, {name})"
            )
            for index, use in enumerate(uses):
                checker = f"_check_{name}_{index}"
                namespace[checker] = use.check
                lines.append(
                    f"    _{index}_{name} = _STR({checker}({use.element!r}, "
                    f"{use.attribute!r}, {name}))"
                )
        # The constant fragments are bytes already: per call, only the values are encoded.
        pieces = []
        seen: dict[str, int] = {}
        for index, fragment in enumerate(fragments):
            namespace[f"_F{index}"] = fragment.encode()
            pieces.append(f"_F{index}")
            if index < len(places):
                name, kind = places[index]
                use_index = seen.get(name, 0)
                seen[name] = use_index + 1
                if placed[name] != len(self.uses[name]):
                    use_index = 0  # not one place per use: every place takes the first use's
                value = f"_{use_index}_{name}"  # slot names start with a letter: no clash
                if kind.startswith("meta:"):
                    pieces.append(f"_META({kind[5:]!r}, {value}).encode()")
                else:
                    escape = "_ATTRIBUTE" if kind == "attribute" else "_TEXT"
                    pieces.append(f"{escape}({value}).encode()")
        lines.append(f"    return _PREPARED(b''.join(({', '.join(pieces)},)))")
        slots = ", ".join(sorted(self.names)) or "no slots"
        filename = f"<callflow generated render of a prepared document ({slots})>"
        return compile_function("\n".join(lines), "render", filename, namespace, __name__)

    def render(self, **values: object) -> bytes:
        """Return the document with every slot filled; each value is checked by the rule of
        the attribute it fills (``InvalidAttributeError``), and escaped for its place.
        A missing or unknown slot name is a ``TypeError``. The bytes are a
        :class:`~callflow.dialect.rendering.CheckedXML`, which a flow may return: a server
        sends them as they are."""
        return self._render(**values)


def _meta(name: str, value: str) -> str:
    """A Meta element as ``render`` writes it: text content for a multi-line value (D17)."""
    if "\n" in value:
        return f'<Meta name="{name}">{escape_text(value)}</Meta>'
    return f'<Meta name="{name}" value="{escape_attribute(value)}"/>'


_SLOT_NAME = "[A-Za-z][A-Za-z0-9_]*"
_OPEN, _CLOSE = re.escape(MARK_OPEN), re.escape(MARK_CLOSE)
_PLACE = re.compile(
    f'<Meta name="(?P<meta_name>[^"]*)" '
    f'value="{_OPEN}(?P<meta>{_SLOT_NAME}){_CLOSE}"/>'
    f"|{_OPEN}(?P<slot>{_SLOT_NAME}){_CLOSE}"
)
"""A Meta whose value is a slot (written whole per call), or any other slot."""


def _not_a_value(element: str, attribute: str, value: object) -> None:
    raise InvalidAttributeError(element, attribute, "must be a value, not a Slot", value)


def prepare(doc: Response) -> PreparedDocument:
    """Render ``doc`` once, with its :class:`Slot` placeholders, for fast per-call renders."""
    return PreparedDocument(doc)
