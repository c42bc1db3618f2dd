"""The immutable base of every DSL element.

A subclass declares its XML name, its attributes (name and checker) in wire order, and where
its text goes. An attribute's Python name is its name on the wire: every attribute of the
dialect is a snake_case word. A generated ``_init`` per class, compiled when the class is
defined, checks every value and child when the object is built, so a wrong tree fails in the
developer's code, never during a live call, and writes the element's XML at once (children
first), so rendering is a join.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, NamedTuple, TypeVar

from callflow.dialect import nesting
from callflow.dialect import values as checks
from callflow.dialect.codegen import compile_function
from callflow.dialect.serialising import ContentMode, serialiser_lines
from callflow.dialect.slots import Slot
from callflow.dialect.values import Checker, invalid
from callflow.exceptions import InvalidAttributeError, NestingError

_AT_MOST_ONE = frozenset(nesting.AT_MOST_ONE)
_UNIQUE_CLASSES: set[type] = set()
"""Classes of the children a parent may hold at most once."""
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TAKEN = frozenset(("self", "children"))
"""The generated ``_init``'s own parameters, which no field may be named."""
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


def _compile_init(cls: type[Element]) -> Callable[..., None]:
    """Generate ``cls._init(self, children, <one parameter per field>)``, unrolled for speed
    (as dataclasses generate ``__init__``): check each given value (``None`` is absent and
    never checked; a Slot waits for its value), store them, check the children, run the
    class's own ``_check``, then write the element's XML (code from
    :mod:`callflow.dialect.serialising`). ``inspect.getsource(cls._init)`` shows it."""
    names = [spec.name for spec in cls.fields]
    namespace: dict[str, Any] = {
        "TAG": cls.xml_tag,
        "SLOT": Slot,
        "SET_VALUES": _set_values,
        "SET_CHILDREN": _set_children,
        "SET_XML": _set_xml,
        "REQUIRED": _required,
    }
    lines = [f"def _init(self, children{''.join(', ' + n for n in names)}):"]
    for spec in cls.fields:
        name = spec.name
        check = f"CHECK_{name.upper()}"
        namespace[check] = spec.check
        slot = spec.check in checks.SLOTTABLE
        skip = f" and {name}.__class__ is not SLOT" if slot else ""
        lines.append(f"    if {name} is not None{skip}: {name} = {check}(TAG, {name!r}, {name})")
        if spec.required:
            otherwise = f"elif {name} is None" if slot else "else"
            lines.append(f"    {otherwise}: raise REQUIRED(TAG, {name!r})")
    values = ", ".join(names) + ("," if len(names) == 1 else "")
    lines.append(f"    SET_VALUES(self, ({values}))")
    lines.append("    if children:")
    lines.append("        self._check_children(children)")
    lines.append("        _inner = ''.join([c._xml for c in children])")
    lines.append("    else:")
    lines.append("        _inner = ''")
    lines.append("    SET_CHILDREN(self, children)")
    if cls._check is not Element._check:
        lines.append("    self._check()")
    serialise, used = serialiser_lines(cls.xml_tag, cls.fields, cls.content, cls.content_mode)
    lines.extend("    " + line for line in serialise)
    lines.append("    SET_XML(self, _xml)")
    namespace.update(used)
    filename = f"<callflow generated _init of {cls.__qualname__}>"
    function = compile_function("\n".join(lines), "_init", filename, namespace, cls.__module__)
    function.__qualname__ = f"{cls.__qualname__}._init"
    return function


def _required(element: str, attribute: str) -> InvalidAttributeError:
    return invalid(element, attribute, "is required", None)


def _field_property(index: int, doc: str) -> property:
    def get(self: Element) -> object:
        return self._values[index]

    return property(get, doc=doc)


class Element:
    """Base class of the Opentact XML elements; values are immutable and compare by value."""

    __slots__ = ("_values", "_xml", "children")

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

    children: tuple[Element, ...]
    _values: tuple[object, ...]
    """The attribute values, in ``fields`` order (``None`` = absent)."""
    _xml: str | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "xml_tag" not in cls.__dict__:
            return
        _check_declaration(cls)
        cls._init = _compile_init(cls)  # type: ignore[method-assign]
        if cls.xml_tag in nesting.AT_MOST_ONE:
            _UNIQUE_CLASSES.add(cls)
        cls._unique = bool(_AT_MOST_ONE & nesting.ALLOWED.get(cls.xml_tag, set()))
        for index, spec in enumerate(cls.fields):
            setattr(cls, spec.name, _field_property(index, f"The ``{spec.name}`` value."))

    def _init(self, children: tuple[object, ...], *values: object) -> None:
        """Check and store ``values`` (in ``fields`` order) and ``children``, then write the
        XML; generated for every class when it is defined (see ``_compile_init``)."""
        raise NotImplementedError  # replaced in every concrete class

    def _check_children(self, children: tuple[object, ...]) -> None:
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
                    self._repeated(kind.xml_tag)  # type: ignore[attr-defined]
                else:
                    seen.add(kind)

    @classmethod
    def _resolve_allowed(cls) -> frozenset[type]:
        """The classes of the children ``cls`` may hold, for the fast path of
        ``_check_children``: for each allowed name, the first class defined for it (every
        class defined later for a name, a subclass, takes the slow path)."""
        names = nesting.ALLOWED.get(cls.xml_tag, frozenset())
        first: dict[str, type] = {}
        for kind in _element_classes(Element):
            if "xml_tag" in kind.__dict__ and kind.xml_tag in names:
                first.setdefault(kind.xml_tag, kind)
        cls._allowed = frozenset(first.values())
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
        return (self._values, self.children)

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


# The slots' own descriptors: twice as fast as object.__setattr__, which the frozen
# __setattr__ forces otherwise.
_set_values: Callable[[Element, object], None] = Element.__dict__["_values"].__set__
_set_children: Callable[[Element, object], None] = Element.__dict__["children"].__set__
_set_xml: Callable[[Element, object], None] = Element.__dict__["_xml"].__set__


def _element_classes(root: type[Element]) -> Iterator[type[Element]]:
    """Yield the subclasses of ``root``, depth first, each in the order it was defined."""
    for kind in root.__subclasses__():
        yield kind
        yield from _element_classes(kind)


def _restore(
    cls: type[Element], children: tuple[Element, ...], values: tuple[object, ...]
) -> Element:
    obj = cls.__new__(cls)
    obj._init(children, *values)
    return obj
