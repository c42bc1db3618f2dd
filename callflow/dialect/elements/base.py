"""The immutable base of every DSL element.

A subclass declares its XML name, its attributes (name and checker) in wire order, where its
text goes, and its constructor's signature (the body is ``...``). An attribute's Python name is
its name on the wire: every attribute of the dialect is a snake_case word. The constructor's
body is generated when the class is defined (:mod:`callflow.dialect.elements.constructors`):
it checks every value and child when the object is built, so a wrong tree fails in the
developer's code, never during a live call, and writes the element's XML at once (children
first), so rendering is a join.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

from callflow.dialect import nesting
from callflow.dialect.elements.constructors import compile_constructor
from callflow.dialect.serialising import ContentMode
from callflow.dialect.values import Checker, invalid
from callflow.exceptions import InvalidAttributeError, NestingError

_AT_MOST_ONE = frozenset(nesting.AT_MOST_ONE)
_UNIQUE_CLASSES: set[type] = set()
"""Classes of the children a parent may hold at most once."""
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TAKEN = frozenset(("self", "children"))
"""The generated ``__init__``'s own parameters, which no field may be named."""
E = TypeVar("E", bound="Element")


class Field(NamedTuple):
    """One attribute: its name (in Python and on the wire), the rule for its value, and
    whether it must be given."""

    name: str
    check: Checker
    required: bool = False


def _check_declaration(cls: type[Element]) -> None:
    """Refuse field names the generated code cannot use as its parameters."""
    names = [spec.name for spec in cls.fields]
    for name in names:
        if _FIELD_NAME.fullmatch(name) is None or keyword.iskeyword(name) or name in _TAKEN:
            raise TypeError(f"{cls.__name__}: a field name must be a snake_case word: {name!r}")
    if len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__}: field names repeat: {names}")
    if cls.content is not None and cls.content not in names:
        raise TypeError(f"{cls.__name__}: content {cls.content!r} is not a field")


def _required(element: str, attribute: str) -> InvalidAttributeError:
    return invalid(element, attribute, "is required", None)


def _refuse_assignment(name: str) -> Callable[[Element, object], None]:
    def assign(self: Element, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}: {self.xml_tag} is immutable")

    return assign


def _refuse_deletion(name: str) -> Callable[[Element], None]:
    def delete(self: Element) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}: {self.xml_tag} is immutable")

    return delete


def _frozen(get: Callable[[Element], object], name: str, doc: str) -> property:
    """A read-only attribute ``name``: assigning or deleting it raises FrozenInstanceError."""
    return property(get, _refuse_assignment(name), _refuse_deletion(name), doc)


def _field_property(index: int, name: str) -> property:
    def get(self: Element) -> object:
        return self._values[index]

    return _frozen(get, name, f"The ``{name}`` value.")


class Element:
    """Base class of the Opentact XML elements; values are immutable and compare by value.

    Every public attribute is read-only (assigning one raises ``FrozenInstanceError``); the
    constructor stores the element's state, once, in three private slots with plain stores
    (a ``__setattr__`` refusing every store would make each of them a call).
    """

    __slots__ = ("_children", "_values", "_xml")

    xml_tag: ClassVar[str]
    """The element's name in XML."""
    fields: ClassVar[tuple[Field, ...]] = ()
    """Attributes in wire order (the order they are rendered in)."""
    content: ClassVar[str | None] = None
    """The field rendered as text content, if any."""
    content_mode: ClassVar[ContentMode] = "text"
    """Where ``content`` goes: always text; its attribute when the element has children
    (Say, Play: §7 #11); text only when it holds a line break (Meta: D17)."""
    _unique: ClassVar[bool] = False
    _allowed: ClassVar[frozenset[type] | None] = None
    _slow_children: ClassVar[frozenset[str]] = frozenset()
    """Children that always take the slow path of the children's check (a Gather rewrites
    its Switch there)."""
    _distinct: ClassVar[tuple[str, int] | None] = None
    """``(tag, index)``: the children named ``tag`` must differ in their field number
    ``index`` (a Gather's DTMF branches, D5); ``_duplicated`` raises otherwise."""
    _check_unless: ClassVar[str | None] = None
    """A test over the field variables of the generated ``__init__`` (``"(url is None) !=
    (record is None)"``), true when ``_check`` would pass: it then is not called."""
    _cache_slots: ClassVar[tuple[str, ...]] = ()
    """Slots of a subclass that its constructor sets to None (values computed later)."""
    _positional_fields: ClassVar[tuple[str, ...]] = ()
    """The fields the constructor takes by position (before ``*children``)."""

    _children: tuple[Element, ...]
    _values: tuple[Any, ...]
    """The attribute values, in ``fields`` order (``None`` = absent)."""
    _xml: str
    """The element's XML, written when it was built."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "xml_tag" not in cls.__dict__:
            return
        _check_declaration(cls)
        if cls.xml_tag in nesting.AT_MOST_ONE:
            _UNIQUE_CLASSES.add(cls)
        cls._unique = bool(_AT_MOST_ONE & nesting.ALLOWED.get(cls.xml_tag, set()))
        declared = cls.__dict__.get("__init__")
        init = compile_constructor(
            cls,
            declared,
            required=_required,
            checked=cls._check is not Element._check,
            unique=len(_AT_MOST_ONE & nesting.ALLOWED.get(cls.xml_tag, set()) - cls._slow_children),
            distinct=None if cls._distinct is None else cls._distinct[1],
        )
        cls.__init__ = init  # type: ignore[method-assign]
        cls._positional_fields = tuple(
            name
            for name, p in inspect.signature(init).parameters.items()
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and name != "self"
        )
        for index, spec in enumerate(cls.fields):
            setattr(cls, spec.name, _field_property(index, spec.name))

    if TYPE_CHECKING:

        @property
        def children(self) -> tuple[Element, ...]:
            """The child elements, in order."""
            return self._children

    else:
        children = _frozen(attrgetter("_children"), "children", "The child elements, in order.")

    def _check_children(self, children: tuple[Any, ...]) -> tuple[Any, ...]:
        """The slow path of the generated check of the children (which sends a child here
        when it is not of a class the parent may hold, or it is the first child the class
        checks): check them all and return them (a subclass may rewrite them)."""
        allowed = self._allowed
        if allowed is None:
            allowed = self._resolve_allowed()
        seen: set[type] | None = None
        for child in children:
            kind = child.__class__
            if kind not in allowed:
                self._check_child(child, children)  # a subclass, or an error to raise
            elif kind in _UNIQUE_CLASSES and self._unique:
                if seen is None:
                    seen = {kind}
                elif kind in seen:
                    self._repeated(kind.xml_tag)
                else:
                    seen.add(kind)
        if self._distinct is not None:
            name, index = self._distinct
            values: set[object] = set()
            for child in children:
                if child.xml_tag == name:
                    value = child._values[index]
                    if value in values:
                        self._duplicated(value)
                    values.add(value)
        return children

    def _duplicated(self, value: object) -> None:
        """Raise the error for two children that ``_distinct`` says must differ."""
        raise NotImplementedError  # every class setting _distinct has its own

    @classmethod
    def _resolve_allowed(cls) -> frozenset[type]:
        """The classes of the children ``cls`` may hold: for each allowed name, the first
        class defined for it (every class defined later for a name, a subclass, takes the slow
        path). Also set in the generated ``__init__``, for its fast path: the classes with no
        rule but the nesting (``ALLOWED``), those a parent may hold once (``UNIQUE``) and the
        one whose children must differ in a field (``KEYED``, see ``_distinct``)."""
        names = nesting.ALLOWED.get(cls.xml_tag, frozenset())
        first: dict[str, type] = {}
        for kind in _element_classes(Element):
            if "xml_tag" in kind.__dict__ and kind.xml_tag in names:
                first.setdefault(kind.xml_tag, kind)
        cls._allowed = frozenset(first.values())
        keyed = first.get(cls._distinct[0]) if cls._distinct is not None else None
        fast = frozenset(
            k for name, k in first.items() if name not in cls._slow_children and k is not keyed
        )
        unique = fast & _UNIQUE_CLASSES if cls._unique else frozenset()
        owner = next(k for k in cls.__mro__ if "xml_tag" in k.__dict__)
        generated = owner.__dict__["__init__"].__globals__
        generated["ALLOWED"] = fast - unique
        generated["UNIQUE"] = unique
        generated["KEYED"] = keyed
        return cls._allowed

    def _check_child(self, child: object, children: tuple[object, ...]) -> None:
        """The slow path: an Element subclass of an allowed one, or a child to refuse."""
        parent = self.xml_tag
        if not isinstance(child, Element):
            raise NestingError(
                parent,
                type(child).__name__,
                nesting.allowed_children(parent),
                reason=f"<{parent}> children must be elements, not {type(child).__name__}"
                f" {child!r}",
            )
        if child.xml_tag not in nesting.ALLOWED[parent]:
            raise NestingError(parent, child.xml_tag, nesting.allowed_children(parent))
        if child.xml_tag in _AT_MOST_ONE and self._unique:
            name = child.xml_tag
            if sum(1 for c in children if getattr(c, "xml_tag", None) == name) > 1:
                self._repeated(name)

    def _repeated(self, name: str) -> None:
        parent = self.xml_tag
        raise NestingError(
            parent,
            name,
            nesting.allowed_children(parent),
            reason=f"<{parent}> can hold at most one <{name}>",
        )

    def _check(self) -> None:
        """Check rules that span several values; subclasses override."""

    # -- value semantics -------------------------------------------------------------------

    def _key(self) -> tuple[object, ...]:
        return (self._values, self._children)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def __copy__(self) -> Element:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Element:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.children, self._values))

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
        return {
            spec.name: value
            for spec, value in zip(self.fields, self._values, strict=True)
            if value is not None
        }

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


def _element_classes(root: type[Element]) -> Iterator[type[Element]]:
    """Yield the subclasses of ``root``, depth first, each in the order it was defined."""
    for kind in root.__subclasses__():
        yield kind
        yield from _element_classes(kind)


def _restore(
    cls: type[Element], children: tuple[Element, ...], values: tuple[object, ...]
) -> Element:
    """Unpickle: build the element again, through its constructor (every check runs)."""
    given = dict(zip((spec.name for spec in cls.fields), values, strict=True))
    positional = [given.pop(name) for name in cls._positional_fields]
    return cls(*positional, *children, **given)
