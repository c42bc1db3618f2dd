"""The immutable base of every DSL element.

A subclass declares its XML name, its attributes (Python name, wire name, checker) in wire
order, and where its text goes; :meth:`Element._setup` checks every value and child when the
object is built, so a wrong tree fails in the developer's code, never during a live call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar

from . import nesting
from .checks import Checker, fail
from .exceptions import NestingError

_set = object.__setattr__
E = TypeVar("E", bound="Element")


class Field(NamedTuple):
    """One attribute: its Python name, its name on the wire and the rule for its value."""

    name: str
    wire: str
    check: Checker


class Element:
    """Base class of the Opentact XML elements; values are immutable and compare by value."""

    __slots__ = ("_xml", "children")

    xml_tag: ClassVar[str]
    """The element's name in XML."""
    fields: ClassVar[tuple[Field, ...]] = ()
    """Attributes in wire order (the order they are rendered in)."""
    content: ClassVar[str | None] = None
    """The field rendered as text content, if any."""
    content_mode: ClassVar[Literal["text", "attribute-with-children", "text-if-multiline"]] = "text"
    """Where ``content`` goes: always text; its attribute when the element has children
    (Say, Play: §7 #11); text only when it holds a line break (Meta: D17)."""

    children: tuple[Element, ...]
    _xml: str | None

    def _setup(self, children: tuple[object, ...], values: tuple[object, ...]) -> None:
        """Check and store attribute ``values`` (in ``fields`` order) and ``children``."""
        name = self.xml_tag
        for spec, value in zip(self.fields, values, strict=True):
            if value is not None:
                value = spec.check(name, spec.name, value)
            _set(self, spec.name, value)
        if children:
            self._check_children(children)
        _set(self, "children", children)
        _set(self, "_xml", None)
        self._check()

    def _check_children(self, children: tuple[object, ...]) -> None:
        parent = self.xml_tag
        allowed = nesting.ALLOWED[parent]
        seen: set[str] = set()
        for child in children:
            if not isinstance(child, Element):
                raise NestingError(
                    parent,
                    type(child).__name__,
                    nesting.allowed_children(parent),
                    reason=f"<{parent}> children must be elements, not {type(child).__name__}"
                    f" {child!r}",
                )
            child_name = child.xml_tag
            if child_name not in allowed:
                raise NestingError(parent, child_name, nesting.allowed_children(parent))
            if child_name in nesting.AT_MOST_ONE:
                if child_name in seen:
                    raise NestingError(
                        parent,
                        child_name,
                        nesting.allowed_children(parent),
                        reason=f"<{parent}> can hold at most one <{child_name}>",
                    )
                seen.add(child_name)

    def _check(self) -> None:
        """Check rules that span several values; subclasses override."""

    # -- value semantics -------------------------------------------------------------------

    def _key(self) -> tuple[object, ...]:
        return (*(getattr(self, spec.name) for spec in self.fields), self.children)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}: {self.xml_tag} is immutable")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}: {self.xml_tag} is immutable")

    def __copy__(self) -> Element:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Element:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        state = {spec.name: getattr(self, spec.name) for spec in self.fields}
        return (_restore, (type(self), self.children, state))

    def __repr__(self) -> str:
        args: list[str] = []
        positional = self._positional()
        for name in positional:
            args.append(repr(getattr(self, name)))
        if not positional and self.content is not None and self.children:
            args.append("None")  # the text slot comes first: keep eval(repr(x)) == x
        args.extend(repr(child) for child in self.children)
        for spec in self.fields:
            value = getattr(self, spec.name)
            if value is not None and spec.name not in positional:
                args.append(f"{spec.name}={value!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def _positional(self) -> tuple[str, ...]:
        """Fields passed positionally in the constructor (used by ``repr``)."""
        content = self.content
        if content is not None and getattr(self, content) is not None:
            return (content,)
        return ()

    # -- navigation ------------------------------------------------------------------------

    def attributes(self) -> dict[str, object]:
        """Return the attributes that are set, by Python name, in wire order."""
        result: dict[str, object] = {}
        for spec in self.fields:
            value = getattr(self, spec.name)
            if value is not None:
                result[spec.name] = value
        return result

    def iter(self) -> Iterator[Element]:
        """Yield this element and every descendant, depth first, in document order."""
        yield self
        for child in self.children:
            yield from child.iter()

    def find(self, cls: type[E]) -> tuple[E, ...]:
        """Return the direct children that are instances of ``cls``."""
        return tuple(child for child in self.children if isinstance(child, cls))

    @property
    def error(self) -> Element | None:
        """The ``<Error>`` child handling this element's failure, if any."""
        for child in self.children:
            if child.xml_tag == "Error":
                return child
        return None


def _restore(
    cls: type[Element], children: tuple[Element, ...], state: dict[str, object]
) -> Element:
    obj = cls.__new__(cls)
    for name, value in state.items():
        _set(obj, name, value)
    _set(obj, "children", children)
    _set(obj, "_xml", None)
    return obj


def require(element: str, attribute: str, value: object) -> None:
    """Raise when a required attribute is missing."""
    if value is None:
        raise fail(element, attribute, "is required", value)
