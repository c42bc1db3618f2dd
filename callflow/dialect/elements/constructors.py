"""The generated ``__init__`` of every element class.

A class declares its constructor's signature (the body is ``...``): that is the typed face
mypy, readers and ``help()`` see. When the class is defined, :func:`compile_constructor`
generates the body for that same signature, unrolled per field as dataclasses generate
``__init__``: it checks each given value (``None`` is absent and never checked; a Slot waits
for its value), writing its attribute as it goes; checks the children; writes the element's
XML (children first, so it is a join); stores everything in three slots and runs the class's
own ``_check`` (unless its ``_check_unless`` test shows it would pass). One call per element,
plain stores, and each check's common case inline: an int compared, a ``str`` found in its
checker's memo of accepted values (:data:`callflow.dialect.values.ACCEPTED`), a text tested
for printable characters; the checker itself is called only when that test fails, and then
accepts or raises as it always does, so every check still happens when the element is built.

The code is registered with linecache as ``<callflow generated __init__ of Gather>`` (style
guide §14b): ``inspect.getsource(Gather.__init__)`` and tracebacks show it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Protocol

from callflow.dialect import serialising
from callflow.dialect import values as checks
from callflow.dialect.codegen import compile_function
from callflow.dialect.slots import Slot
from callflow.dialect.values import Checker


class Spec(Protocol):
    """What the generator reads of a field: its name, its rule, whether it must be given."""

    @property
    def name(self) -> str: ...

    @property
    def check(self) -> Checker: ...

    @property
    def required(self) -> bool: ...


_INTEGERS = {checks.ms: 0, checks.count: 1, checks.hold_ms: 1}
_TEXTS = frozenset((checks.xml_text, checks.tag, checks.scalar))
_CHILDREN = "children"
UNRESOLVED: frozenset[type] = frozenset()
"""The allowed children before the first child is checked: every child takes the slow path,
which resolves the classes (they may be defined after the parent) for the next call."""


def parameters(cls: type[Any], declared: Callable[..., None] | None) -> list[inspect.Parameter]:
    """The constructor's parameters (without ``self``): the declared ones, checked against
    the fields, or ``*children`` and every field keyword-only."""
    names = [spec.name for spec in cls.fields]
    if declared is None:
        keyword = inspect.Parameter.KEYWORD_ONLY
        return [
            inspect.Parameter(_CHILDREN, inspect.Parameter.VAR_POSITIONAL),
            *(
                inspect.Parameter(s.name, keyword, default=inspect.Parameter.empty)
                if s.required
                else inspect.Parameter(s.name, keyword, default=None)
                for s in cls.fields
            ),
        ]
    found = list(inspect.signature(declared).parameters.values())[1:]
    given = [p.name for p in found if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    problem = None
    if sorted(given) != sorted(names):
        problem = f"parameters {given} are not the fields {names}"
    for p in found:
        if p.kind is inspect.Parameter.VAR_POSITIONAL and p.name != _CHILDREN:
            problem = f"*{p.name} must be *children"
        elif p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_KEYWORD):
            problem = f"{p.name}: only plain, *children and keyword-only parameters"
        elif p.default is not inspect.Parameter.empty and p.default is not None:
            problem = f"{p.name}: a default must be None"
    if problem is not None:
        raise TypeError(f"{cls.__qualname__}.__init__: {problem}")
    return found


def _signature(params: Sequence[inspect.Parameter]) -> str:
    parts = ["self"]
    keyword_only = False
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            keyword_only = True
            continue
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not keyword_only:
            parts.append("*")
            keyword_only = True
        parts.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}=None")
    return ", ".join(parts)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _annotation_names(declared: Callable[..., None], names: dict[str, Any]) -> None:
    """Copy into ``names`` (the generated code's globals) the names the declared annotations
    use that its module defines, so ``typing.get_type_hints`` resolves them as it would in
    the module (names imported only for type checkers come from the caller's ``localns``)."""
    module = declared.__globals__
    for annotation in declared.__annotations__.values():
        for name in _IDENTIFIER.findall(str(annotation)):
            if name in module and name not in names:
                names[name] = module[name]
            elif name in names and name in module and names[name] is not module[name]:
                raise TypeError(f"{declared.__qualname__}: annotation name {name} is taken")


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _fast_test(check: Checker, v: str, names: dict[str, Any]) -> str | None:
    """An expression true only when ``check`` would accept ``v`` and return it (or, for a
    normalising checker, an equal str): the common case, tested without a call. None when
    there is no such test."""
    if check in _INTEGERS:
        return f"{v}.__class__ is int and {v} >= {_INTEGERS[check]}"
    if check is checks.boolean:
        return f"{v} is True or {v} is False"
    if check in _TEXTS:
        return f"{v}.__class__ is str and {v}.isprintable()"
    if check is checks.non_empty_text:
        return f"{v}.__class__ is str and {v} and {v}.isprintable() and not {v}.isspace()"
    if check is checks.key:
        names["KEY_CHARS"] = checks.KEY_CHARS
        return f"{v}.__class__ is str and {v} in KEY_CHARS"
    if check in checks.CHOICES:
        names[f"CHOICES_{v.upper()}"] = checks.CHOICES[check]
        return f"{v}.__class__ is str and {v} in CHOICES_{v.upper()}"
    if check in checks.NORMALISED:
        names[f"STORED_{v.upper()}"] = checks.NORMALISED[check]
        return f"{v}.__class__ is str and STORED_{v.upper()}.get({v}) == {v}"
    if check in checks.ACCEPTED:
        names[f"ACCEPTED_{v.upper()}"] = checks.ACCEPTED[check]
        return f"{v}.__class__ is str and {v} in ACCEPTED_{v.upper()}"
    return None


def _field_lines(cls: type[Any], spec: Spec, names: dict[str, Any]) -> list[str]:
    """Check the value of ``spec`` and write its attribute, if it is one."""
    v = spec.name
    check = f"CHECK_{v.upper()}"
    names[check] = spec.check
    call = f"{v} = {check}(TAG, {v!r}, {v})"
    slot = spec.check in checks.SLOTTABLE
    fast = _fast_test(spec.check, v, names)
    written = serialising.attribute(v, spec.check)
    if v == cls.content:
        condition = {
            "attribute-with-children": "children",  # else it is the text (§7 #11)
            "text-if-multiline": f"'\\n' not in {v}",  # else it is the text (D17)
        }.get(cls.content_mode)
        written = [] if condition is None else [f"if {condition}:", *_indent(written)]
    if spec.check in checks.LISTED and not spec.required and not slot:
        # A list seen before is one lookup (an unhashable item: the checker says what is wrong).
        names[f"LISTED_{v.upper()}"] = checks.LISTED[spec.check]
        return [
            f"if {v} is not None:",
            f"    try: _s = LISTED_{v.upper()}.get({v})",
            "    except TypeError: _s = None",
            f"    if _s is None: {call}",
            f"    else: {v} = _s",
            *_indent(written),
        ]
    if spec.required:
        body = [f"if {v} is None: raise REQUIRED(TAG, {v!r})"]
        body.append(f"if {v}.__class__ is not SLOT: {call}" if slot else call)
        if fast is None:
            return [*body, *written]
        return [f"if not ({fast}):", *_indent(body), *written]
    if fast is not None and slot:
        checked = f"if not ({fast}) and {v}.__class__ is not SLOT: {call}"
    elif fast is not None:
        checked = f"if not ({fast}): {call}"
    elif slot:
        checked = f"if {v}.__class__ is not SLOT: {call}"
    else:
        checked = call
    return [f"if {v} is not None:", *_indent([checked, *written])]


_MANY = 8
"""From how many children on the check and the join run in C (``issuperset`` over their
classes, ``join`` over ``map``): below it, a loop costs less than setting them up."""


def _children_lines(unique: int, distinct: int | None) -> list[str]:
    """Check the children and join their XML: one set lookup per child (``ALLOWED``); a
    parent that may hold ``unique`` kinds of child at most once each (Error, Default) also
    tests those (``UNIQUE``) against the ones seen; one whose children of a kind
    (``KEYED``) must differ in their field number ``distinct`` keeps a set of those values.
    Any other child takes the slow path, ``_check_children``, which may also rewrite the
    children."""
    slow = [
        "children = self._check_children(children)",
        "_inner = ''.join([_c._xml for _c in children])",
        "break",
    ]
    lines = []
    if not unique:
        lines += [
            f"if len(children) > {_MANY}:",
            "    if not ALLOWED.issuperset(map(TYPE, children)):",
            "        children = self._check_children(children)",
            "    _inner = ''.join(map(XML, children))",
            "else:",
        ]
    seen = [f"_u{i}" for i in range(unique)]
    loop = ["_inner = ''"]
    if seen or distinct is not None:
        loop.append(" = ".join([*seen, *(["_keys"] if distinct is not None else []), "None"]))
    loop.append("for _c in children:")
    loop.append("    if _c.__class__ not in ALLOWED:")
    if seen:
        # A variable per kind seen: cheaper than a set for the one or two kinds there are.
        repeated = " or ".join(f"_c.__class__ is {u}" for u in seen)
        store = [f"elif {u} is None: {u} = _c.__class__" for u in seen]
        store[0] = store[0][2:]
        loop += [
            "        if _c.__class__ in UNIQUE:",
            f"            if {repeated}: self._repeated(_c.xml_tag)",
            *("            " + line for line in store),
        ]
        if distinct is not None:
            loop += [
                "        elif _c.__class__ is KEYED:",
                f"            _k = _c._values[{distinct}]",
                "            if _keys is None: _keys = {_k}",
                "            elif _k in _keys: self._duplicated(_k)",
                "            else: _keys.add(_k)",
            ]
        loop += ["        else:", *("            " + line for line in slow)]
    else:
        loop += ["        " + line for line in slow]
    loop.append("    _inner += _c._xml")
    return lines + (_indent(loop) if not unique else loop)


def _has_attributes(cls: type[Any]) -> bool:
    """Whether some field can be written as an attribute (To's one field is always text)."""
    content = cls.content
    return any(s.name != content for s in cls.fields) or (
        content is not None and cls.content_mode != "text"
    )


def _text_condition(cls: type[Any]) -> str | None:
    """When the content field is written as text (None: always)."""
    content = cls.content
    spec = next(s for s in cls.fields if s.name == content)
    given = [] if spec.required else [f"{content} is not None"]
    if cls.content_mode == "attribute-with-children":
        return " and ".join(["not children", *given])  # else in its attribute (§7 #11)
    if cls.content_mode == "text-if-multiline":
        return " and ".join([*given, f"'\\n' in {content}"])  # else in its attribute (D17)
    return " and ".join(given) or None


def _xml_lines(cls: type[Any], has_children: bool, unique: int, distinct: int | None) -> list[str]:
    """Assign the element's XML to ``_xml``: the tag, ``_a`` (the attributes), ``_t`` (its
    text, escaped) and ``_inner`` (its children's XML, written already)."""
    tag = cls.xml_tag
    attrs = "{_a}" if _has_attributes(cls) else ""
    # An empty element without attributes (the usual Hangup) is a constant.
    empty = f"(f'<{tag}{{_a}}/>' if _a else '<{tag}/>')" if attrs else f"'<{tag}/>'"
    lines: list[str] = []
    if cls.content is not None and cls.content_mode == "attribute-with-children":
        # With children the text is an attribute (written with the others), else the text.
        spec = next(s for s in cls.fields if s.name == cls.content)
        leaf = [
            *serialising.text(cls.content, "_t", spec.check),
            f"_xml = f'<{tag}{attrs}>{{_t}}</{tag}>'",
        ]
        if not spec.required:
            leaf = [f"if {cls.content} is None: _xml = {empty}", "else:", *_indent(leaf)]
        return [
            "if children:",
            *_indent(_children_lines(unique, distinct)),
            f"    _xml = f'<{tag}{attrs}>{{_inner}}</{tag}>'",
            "else:",
            *_indent(leaf),
        ]
    if cls.content is not None:
        condition = _text_condition(cls)
        spec = next(s for s in cls.fields if s.name == cls.content)
        escaped = serialising.text(cls.content, "_t", spec.check)
        if condition is None and not has_children:
            return [*escaped, f"_xml = f'<{tag}{attrs}>{{_t}}</{tag}>'"]
        if condition is None:
            lines += escaped
        else:
            lines += ["_t = ''", f"if {condition}:", *("    " + x for x in escaped)]
    text = "{_t}" if cls.content is not None else ""
    otherwise = [f"elif _t: _xml = f'<{tag}{attrs}>{{_t}}</{tag}>'"] if text else []
    if has_children:
        lines += [
            "if children:",
            *("    " + x for x in _children_lines(unique, distinct)),
            f"    _xml = f'<{tag}{attrs}>{text}{{_inner}}</{tag}>'",
            *otherwise,
            f"else: _xml = {empty}",
        ]
    else:
        lines += [f"if _t: _xml = f'<{tag}{attrs}>{{_t}}</{tag}>'", f"else: _xml = {empty}"]
    return lines


def compile_constructor(
    cls: type[Any],
    declared: Callable[..., None] | None,
    *,
    required: Callable[[str, str], Exception],
    checked: bool,
    unique: int,
    distinct: int | None = None,
) -> Callable[..., None]:
    """Generate ``cls.__init__`` for the signature of ``declared`` (see the module
    docstring); ``checked`` when the class has its own ``_check`` to run last; ``unique``:
    how many kinds of child it may hold at most once each; ``distinct``: the field its
    children named by its ``_distinct`` must differ in."""
    params = parameters(cls, declared)
    has_children = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    names: dict[str, Any] = {
        "TAG": cls.xml_tag,
        "SLOT": Slot,
        "TYPE": type,
        "XML": attrgetter("_xml"),
        "REQUIRED": required,
        "ALLOWED": UNRESOLVED,
        "UNIQUE": UNRESOLVED,
        "KEYED": None,
        **serialising.NAMES,
    }
    body: list[str] = []
    if _has_attributes(cls):
        body.append("_a = ''")
    for spec in cls.fields:
        body += _field_lines(cls, spec, names)
    body += _xml_lines(cls, has_children, unique, distinct)
    values = ", ".join(spec.name for spec in cls.fields) + ("," if len(cls.fields) == 1 else "")
    body.append("self._xml = _xml")
    body.append(f"self._children = {'children' if has_children else '()'}")
    body.append(f"self._values = ({values})")
    body += [f"self.{name} = None" for name in getattr(cls, "_cache_slots", ())]
    if checked:
        guard = getattr(cls, "_check_unless", None)
        body.append(f"if not ({guard}): self._check()" if guard else "self._check()")
    source = "\n".join([f"def __init__({_signature(params)}):", *_indent(body)])
    if declared is not None:
        _annotation_names(declared, names)
    filename = f"<callflow generated __init__ of {cls.__qualname__}>"
    function = compile_function(source, "__init__", filename, names, cls.__module__)
    qualname = f"{cls.__qualname__}.__init__"
    # Messages about the arguments (a missing or unknown one) name the class.
    function.__code__ = function.__code__.replace(co_qualname=qualname)
    function.__qualname__ = qualname
    function.__module__ = cls.__module__
    if declared is not None:
        function.__doc__ = declared.__doc__
        function.__annotations__ = dict(declared.__annotations__)
    return function
