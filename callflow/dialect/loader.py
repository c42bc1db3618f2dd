"""Turn a parsed lxml tree into DSL objects, normalising legacy forms (spec §5 General).

The builder is also the part of validation that XML Schema cannot express: it runs every DSL
constructor (so the same rules apply to parsed and to built documents) plus the rules on text
placement, sibling ``<Error>`` handlers and legacy aliases. It keeps going after a problem so
that every problem in a document is reported, not only the first.

When only the problems are wanted (``validate``), the builder checks without building
(``construct=False``): each element's values go through the same checkers, in the same order,
as its constructor would put them, and the few rules a constructor adds on top (a Dial needs a
target, a Play one source, ...) are applied to the names of its checked children; the messages
are the constructor's. A first pass (:meth:`Builder._scan`) passes each element that checks
without a problem, so that only the part of a document holding one is looked at in detail;
where the XSD found the structure sound, its nesting is not checked again.

Building a document the XSD found sound takes one pass without that bookkeeping
(:func:`build_sound`): the same constructors get the same values, and at the first thing the
builder would report the document is left to the builder, which reports every problem. Its
elements are remembered (documents repeat them: a leaf by its text and attributes, a parent
by its attributes and which remembered children it holds), so that a document built anew
builds the elements holding what changed (the links of fresh signed state) and their
ancestors.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Final

from lxml import etree

from callflow.dialect import nesting
from callflow.dialect import values as checks
from callflow.dialect.elements.audio import Pause, Play, Say, Tone
from callflow.dialect.elements.base import Element, Field
from callflow.dialect.elements.call_control import Answer, Hangup, Hold, Unhold
from callflow.dialect.elements.dial import Dial, Sip, To
from callflow.dialect.elements.document import Error, Meta, Response
from callflow.dialect.elements.filters import Call, Geo, Schedule
from callflow.dialect.elements.gather import DTMF, Case, Default, Gather, Switch
from callflow.dialect.elements.recording import Record, RecordStart, RecordStop, RecordWait
from callflow.dialect.elements.remote import Callback, Curl
from callflow.dialect.problems import Problem
from callflow.dialect.reader import Places, attribute_items
from callflow.exceptions import CallflowError, InvalidAttributeError

CLASSES: Final[dict[str, type[Element]]] = {
    cls.xml_tag: cls
    for cls in (
        Response,
        Answer,
        Hangup,
        Say,
        Play,
        Pause,
        Record,
        RecordStart,
        RecordStop,
        RecordWait,
        Dial,
        To,
        Sip,
        Gather,
        DTMF,
        Switch,
        Case,
        Default,
        Error,
        Callback,
        Hold,
        Unhold,
        Tone,
        Meta,
        Curl,
        Call,
        Geo,
        Schedule,
    )
}
"""Element name -> DSL class."""

LEGACY_ATTRIBUTES: Final[dict[str, dict[str, str]]] = {
    "Gather": {
        "numDigits": "dtmf_length",
        "length": "dtmf_length",
        "finishOnKey": "dtmf_stop",
        "callback": "url",
    },
    "Error": {"play": "say"},
    "Tone": {"v": "volume"},
}
"""Legacy attribute -> canonical attribute, per element (D4, D7, D16)."""


def canonical_attribute(el: etree._Element, attribute: str) -> str | None:
    """Return ``el``'s ``attribute``, or else the value of a legacy alias of it (``numDigits``
    for Gather ``dtmf_length``); None when neither is set (or both are empty)."""
    value = el.get(attribute)
    if value:
        return value
    for legacy, canonical in LEGACY_ATTRIBUTES.get(str(el.tag), {}).items():
        value = el.get(legacy) if canonical == attribute else None
        if value:
            return value
    return None


UPPER_CASE_METHOD: Final = frozenset(("Gather", "Callback", "Curl"))
"""Elements whose ``method`` is upper case in the canonical form (lower case in compat)."""

_INTEGER: Final = frozenset((checks.ms, checks.count, checks.hold_ms, checks.volume))

Convert = Callable[[str], object]


def _to_bool(raw: str) -> object:
    value = raw.strip()
    return {"true": True, "false": False}.get(value, raw)


def _to_int(raw: str) -> object:
    try:
        return int(raw.strip())
    except ValueError:
        return raw


def _converter(check: object) -> Convert | None:
    if check in _INTEGER:
        return _to_int
    if check is checks.boolean:
        return _to_bool
    return None


_FIELDS: Final[dict[str, dict[str, Field]]] = {
    tag: {spec.name: spec for spec in cls.fields} for tag, cls in CLASSES.items()
}
"""Each element's fields by attribute name."""

# How an attribute's text becomes the value its constructor takes.
_AS_IS: Final = 0
_INT: Final = 1
_BOOL: Final = 2
_UPPER: Final = 3
_REPEATS: Final = 4


class _Kind:
    """What the builder needs to know of one element name, computed once per name (not per
    element): the class, each attribute it reads (legacy aliases included) with the field it
    sets and how its text is converted, and where its children may go."""

    __slots__ = (
        "absent",
        "accepted",
        "accepted_content",
        "aliases",
        "allowed",
        "attributes",
        "cls",
        "content",
        "content_check",
        "content_required",
        "fields",
        "given",
        "name",
        "plain",
        "required",
        "rule",
        "second",
    )

    def __init__(self, name: str, cls: type[Element]) -> None:
        self.name = name
        self.cls = cls
        self.content = cls.content
        fields = _FIELDS[name]
        legacy = LEGACY_ATTRIBUTES.get(name, {})
        self.fields = cls.fields
        if cls is Case:  # Case dtmf= becomes DTMF value= (D5)
            fields = {"value": DTMF.fields[0]}
            legacy = {"dtmf": "value"}
            self.fields = DTMF.fields
        self.absent: dict[str, object] = dict.fromkeys(n for n in fields if n != cls.content)
        """The constructor's keyword arguments, all absent: None, so that a constructor names
        a missing required one."""
        self.attributes: dict[str, tuple[str, Field, int]] = {}
        """Attribute name -> (the field it sets, that field, how its text is converted)."""
        for raw_name in (*fields, *legacy):
            attr = legacy.get(raw_name, raw_name)
            spec = fields.get(attr)
            if spec is None or attr == cls.content:
                continue  # unknown attributes: the schema decides (compat accepts them)
            convert = _converter(spec.check)
            if convert is _to_int:
                how = _INT
            elif convert is _to_bool:
                how = _BOOL
            elif attr == "method" and name in UPPER_CASE_METHOD:
                how = _UPPER
            elif name == "Tone" and attr == "hz":
                how = _REPEATS
            else:
                how = _AS_IS
            self.attributes[raw_name] = (attr, spec, how)
        self.given: dict[str, tuple[str, Convert | None]] = {
            raw_name: (attr, _CONVERTERS[how])
            for raw_name, (attr, _, how) in self.attributes.items()
        }
        """Attribute name -> (the field it sets, the function converting its text, None: the
        text as it is), for :func:`build_sound`."""
        self.plain = name in nesting.PLAIN_BLOCKS
        self.allowed = nesting.ALLOWED.get(name, frozenset())
        self.rule = _RULES.get(DTMF if cls is Case else cls)
        setting: dict[str, tuple[str, ...]] = {}
        for raw_name, (attr, _, _) in self.attributes.items():
            setting[attr] = (*setting.get(attr, ()), raw_name)
        self.aliases = tuple(group for group in setting.values() if len(group) > 1)
        """Attribute names that set the same field: at most one may be given."""
        self.second = frozenset(raw_name for group in self.aliases for raw_name in group[1:])
        """The names that can only be a second one of :attr:`aliases` if given."""
        self.required = tuple(
            setting.get(spec.name, ("",))
            for spec in self.fields
            if spec.required and spec.name != cls.content
        )
        """For each required field, the attribute names that set it: one must be given."""
        spec = next((spec for spec in self.fields if spec.name == cls.content), None)
        self.content_check = spec.check if spec is not None else None
        self.content_required = spec is not None and spec.required
        self.accepted: dict[str, set[str]] = {raw_name: set() for raw_name in self.attributes}
        """Attribute name -> texts of it that gave a value its checker accepted (a bounded
        memo: documents repeat a handful of values)."""
        self.accepted_content: set[object] = set()
        """The same for the content field's values."""


_Values = dict[str, object]
_Rule = Callable[[_Values, "list[Built]"], "Exception | None"]


def _dial_rule(values: _Values, children: list[Built]) -> Exception | None:
    if not any(child.xml_tag in ("To", "Sip") for child in children):
        return checks.invalid("Dial", "children", "needs at least one <To> or <Sip> target", ())
    return None


def _play_rule(values: _Values, children: list[Built]) -> Exception | None:
    url, record = values["url"], values["record"]
    if (url is None) == (record is None):
        rule = "needs exactly one source: a url or record= (D12, §7 #11)"
        return checks.invalid("Play", "url", rule, (url, record))
    return None


def _gather_rule(values: _Values, children: list[Built]) -> Exception | None:
    seen: set[object] = set()
    for child in children:
        if isinstance(child, _Branch):
            value = child.value
            if value in seen:
                rule = "duplicates another branch of this Gather (D5)"
                return checks.invalid("DTMF", "value", rule, value)
            seen.add(value)
    return None


def _call_rule(values: _Values, children: list[Built]) -> Exception | None:
    if (values["field"] is None) != (values["value"] is None):
        missing = "value" if values["value"] is None else "field"
        return checks.invalid("Call", missing, "is required with the other of field/value", None)
    return None


_RULES: Final[dict[type[Element], _Rule]] = {
    Dial: _dial_rule,
    Play: _play_rule,
    Gather: _gather_rule,
    Call: _call_rule,
}
"""The rules a class's constructor applies beyond its fields' checkers (its ``_check``, or its
``__init__`` after ``_init``), for checking without building; messages as it raises them."""


class _Branch:
    """A checked DTMF branch (or a Case, which becomes one): its value, for the Gather's rule
    on duplicate branches."""

    __slots__ = ("value",)
    xml_tag: Final = "DTMF"

    def __init__(self, value: object) -> None:
        self.value = value


Built = Element | type[Element] | _Branch
"""What the builder makes of an element: the DSL object, or when checking without building,
the class that would be built (a :class:`_Branch` for a DTMF branch)."""

_ACCEPTED: dict[tuple[object, str], object] = {}
"""(checker, text) -> the value stored: texts a checker accepted before. A checker's verdict
does not depend on the element or the attribute (they only name it in messages), and documents
repeat a handful of values."""
_ACCEPTED_MAX: Final = 4_096
_ACCEPTED_LENGTH: Final = 256


def _stored(check: checks.Checker, tag: str, name: str, value: object) -> object:
    """``check``'s value for ``value``, as the constructor stores it (raises as it does)."""
    if isinstance(value, str) and value.__class__ is str:
        key = (check, value)
        stored = _ACCEPTED.get(key, _ACCEPTED)
        if stored is not _ACCEPTED:
            return stored
        stored = check(tag, name, value)
        if len(_ACCEPTED) < _ACCEPTED_MAX and len(value) <= _ACCEPTED_LENGTH:
            _ACCEPTED[key] = stored
        return stored
    return check(tag, name, value)


def _first_failure(
    cls: type[Element], kwargs: _Values, content: object, children: list[Built], rule: _Rule | None
) -> Exception | None:
    """What the constructor of ``cls`` would raise for these values and children (checked
    children are sound: the builder checked their nesting), or None."""
    tag = cls.xml_tag
    text = cls.content
    values: _Values = {}
    for spec in cls.fields:
        name = spec.name
        value = content if name == text else kwargs.get(name)
        if value is not None:
            try:
                value = _stored(spec.check, tag, name, value)
            except (CallflowError, TypeError) as exc:
                return exc
        elif spec.required:
            return checks.invalid(tag, name, "is required", None)
        values[name] = value
    return None if rule is None else rule(values, children)


def explain(tag: str, attribute: str, raw: str) -> str | None:
    """What is wrong with ``raw`` as ``tag``'s ``attribute``, in the DSL's words (the message
    the constructor would raise), or None when the DSL has no objection."""
    spec = _FIELDS.get(tag, {}).get(attribute)
    if spec is None:
        return None
    convert = _converter(spec.check)
    value = convert(raw) if convert is not None else raw
    try:
        spec.check(tag, spec.name, value)
    except InvalidAttributeError as exc:
        return str(exc)
    except (TypeError, ValueError):
        return None
    return None


def _expand_repeats(hz: str) -> str | None:
    """Expand the legacy repeat notation of Tone ``hz``: ``350x2,440`` -> ``350,350,440``.

    None when it would give more than ``MAX_FREQUENCIES``: the count is checked before
    anything is expanded, so a tiny attribute cannot become a huge list.
    """
    items: list[str] = []
    for item in hz.split(","):
        frequency, _, times = item.strip().partition("x")
        count = int(times) if times.isdigit() and len(times) <= 6 else 1
        if len(times) > 6 or len(items) + count > checks.MAX_FREQUENCIES:
            return None
        items.extend([frequency] * count)
    return ",".join(items)


_CONVERTERS: Final[dict[int, Convert | None]] = {
    _AS_IS: None,
    _INT: _to_int,
    _BOOL: _to_bool,
    _UPPER: str.upper,
    _REPEATS: _expand_repeats,
}
"""How an attribute's text becomes its value (see :func:`_converted`), as a function."""

_KINDS: Final[dict[str, _Kind]] = {name: _Kind(name, cls) for name, cls in CLASSES.items()}
"""Each element name's :class:`_Kind`."""


@functools.lru_cache(maxsize=64)  # parent names: the DSL's own, a bounded set
def _choices(parent: str) -> str:
    return ", ".join(nesting.allowed_children(parent)) or "no children"


def _text_parts(el: etree._Element) -> list[str]:
    """The text of ``el`` and the tails of its children (mixed content), in order."""
    parts = [el.text] if el.text else []
    parts.extend(child.tail for child in el if child.tail)
    return parts


def _is_element(node: etree._Element) -> bool:
    return isinstance(node.tag, str)


_AT_MOST_ONE: Final = frozenset(nesting.AT_MOST_ONE)
_COUNTED: Final = _AT_MOST_ONE | {"DTMF", "Case"}
"""Children that :meth:`Builder._repeated` looks at; any other cannot repeat wrongly."""
_NO_SWITCH: Final = nesting.ALLOWED["Gather"] - {"Switch"}
_NONE: Final[frozenset[str]] = frozenset()


class _Seen:
    """What a parent's children so far hold: the at-most-once names and the DTMF values."""

    __slots__ = ("unique", "values")

    def __init__(self) -> None:
        self.unique: set[str] = set()
        self.values: set[str] = set()


class Builder:
    """Build DSL objects from a tree, collecting problems instead of stopping at the first.

    ``construct=False`` checks without building: :meth:`check_document` reports the same
    problems as :meth:`build_document`, and returns none of the objects. ``nested=True`` says
    the XSD checked the tree's structure and found it sound (which element holds which, text
    only where it may stand; see ``validation._schema_check``), so it is not checked again.
    """

    def __init__(
        self,
        tree: etree._ElementTree,
        *,
        strict: bool,
        flagged: Iterable[str] = (),
        places: Places | None = None,
        construct: bool = True,
        nested: bool = False,
    ):
        self.tree = tree
        self.strict = strict
        self.flagged = frozenset(flagged) if flagged else _NONE
        """Element paths the schema already reported; their problems are not repeated."""
        self.places = places if places is not None else Places(tree, b"")
        """Element paths, computed for the whole tree at the first problem (not per problem:
        ``getpath`` counts an element's siblings, quadratic in a document of many)."""
        self.construct = construct
        self.nested = nested
        self.problems: list[Problem] = []
        self._finish = self._construct if construct else self._verify
        self._dirty: set[etree._Element] | None = None
        """When checking: the elements whose subtree may hold a problem (see :meth:`_scan`)."""

    # -- reporting -------------------------------------------------------------------------

    def path(self, el: etree._Element) -> str:
        return self.places.path(el)

    def report(self, el: etree._Element, message: str) -> None:
        path = self.path(el)
        if path in self.flagged:
            return
        self.problems.append(Problem(el.sourceline or 0, 0, path, message))

    # -- building --------------------------------------------------------------------------

    def build_document(self) -> Response | None:
        root = self.tree.getroot()
        if root.tag != "Response":
            self.report(root, f"the root element must be <Response>, not <{root.tag!s}>")
            return None
        if self.construct and self.nested and self._dirty is None:
            sound = build_sound(root, strict=self.strict)
            if sound is not None:
                return sound  # nothing to report: the builder would build the same
        built = self.build(root)
        return built if isinstance(built, Response) else None

    def check_document(self, dirty: set[etree._Element] | None = None) -> list[Problem]:
        """Report the problems :meth:`build_document` would, without building (for a builder
        made with ``construct=False``). ``dirty``: what :func:`scan` gave, if it ran."""
        root = self.tree.getroot()
        if root.tag == "Response" and not self.construct:
            self._dirty = dirty if dirty is not None else self._scan(root)
            if not self._dirty:
                return self.problems
        self.build_document()
        return self.problems

    def build(self, el: etree._Element, extra: tuple[etree._Element, ...] = ()) -> Built | None:
        """Build ``el`` (plus sibling handlers ``extra``); ``None`` when it has a problem."""
        name = el.tag
        if name == "callback":
            return self._legacy_callback(el)
        kind = _KINDS.get(name)  # type: ignore[arg-type]  # an element: its tag is a str
        if kind is None:
            self.report(el, f"unknown element <{name!s}>")
            return None
        dirty = self._dirty
        if (
            dirty is not None
            and el not in dirty
            and (not extra or not any(error in dirty for error in extra))
        ):
            return _marker(el, kind)  # checked by the scan: nothing to report in it
        kwargs = self._attributes(el, kind)
        if len(el):
            children, complete = self._children(el, kind)
        else:
            children, complete = [], True
        for error in extra:
            handler = self.build(error)
            if handler is None:
                complete = False
            else:
                children.append(handler)
        if kwargs is None:
            return None
        # Built even when a child failed, so that the parent's own rules (duplicate DTMF
        # values, say) are reported too; the result is dropped all the same.
        built = self._finish(el, kind, kwargs, children, complete)
        return built if complete else None

    def _attributes(self, el: etree._Element, kind: _Kind) -> _Values | None:
        # Absent attributes are passed as None so constructors name a missing required one;
        # without attributes, the (never changed) template of all absent.
        items = attribute_items(el) if len(el.attrib) else ()
        if not items:
            return kind.absent
        table = kind.attributes
        kwargs: _Values | None = None
        ok = True
        for raw_name, raw in items:
            entry = table.get(raw_name)
            if entry is None:
                continue  # unknown attributes: the schema decides (compat accepts them)
            attr, _, how = entry
            if kwargs is None:
                kwargs = kind.absent.copy()
            if kwargs[attr] is not None:  # set already: by an alias (a set value is never None)
                first = next(n for n, _ in items if table.get(n, ("",))[0] == attr)
                self.report(el, f"<{kind.name}> has both '{first}' and '{raw_name}' (aliases)")
                ok = False
                continue
            value = _converted(how, raw)
            if value is None:  # a Tone hz that expands to too many
                limit = checks.MAX_FREQUENCIES
                self.report(
                    el, f"<Tone> 'hz' expands to more than {limit} frequencies (got {raw[:40]!r})"
                )
                ok = False
                continue
            kwargs[attr] = value
        if kwargs is None:
            return kind.absent
        return kwargs if ok else None

    def _children(self, el: etree._Element, kind: _Kind) -> tuple[list[Built], bool]:
        name = kind.name
        nodes = [child for child in el if isinstance(child.tag, str)]
        built: list[Built] = []
        ok = True
        plain = kind.plain
        pairs = self._pair_sibling_errors(nodes) if plain else [(node, ()) for node in nodes]
        nested = self.nested  # the XSD checked what may nest where
        dirty = self._dirty
        allowed = kind.allowed
        if name == "Gather" and self.strict:
            allowed = _NO_SWITCH  # a variant form (D5)
        seen = _Seen()
        for node, extra in pairs:
            tag: str = node.tag  # type: ignore[assignment]  # an element: its tag is a str
            handler = plain and tag == "Error"
            if tag in _COUNTED and not handler and self._repeated(node, name, seen):
                ok = False
                continue
            if not nested and tag not in allowed and not handler:
                if tag == "callback" and "Callback" in allowed and not self.strict:
                    pass  # legacy lower-case <callback>URL</callback> (D2)
                else:
                    choices = _choices(name)
                    self.report(node, f"<{tag}> cannot be nested in <{name}> (allowed: {choices})")
                    ok = False
                    continue
            if tag == "Switch" and name == "Gather":
                switched = self._switch(node, seen)
                if switched is None:
                    ok = False
                else:
                    built.extend(switched)
                continue
            if dirty is not None and not extra and node not in dirty:
                clean = _KINDS.get(tag)
                if clean is not None:  # checked by the scan: nothing to report in it
                    built.append(_marker(node, clean))
                    continue
            child = self.build(node, extra)
            if child is None:
                ok = False
            else:
                built.append(child)
        return built, ok

    def _pair_sibling_errors(
        self, nodes: list[etree._Element]
    ) -> list[tuple[etree._Element, tuple[etree._Element, ...]]]:
        """Attach each ``<Error>`` in a plain block to the command right before it (D7)."""
        pairs: list[tuple[etree._Element, tuple[etree._Element, ...]]] = []
        errors = False
        for node in nodes:
            if node.tag != "Error":
                pairs.append((node, ()))
                continue
            errors = True
            if not self.strict and pairs:
                previous, extra = pairs[-1]
                has_own = any(c.tag == "Error" for c in previous if _is_element(c))
                if previous.tag in nesting.COMMANDS and not extra and not has_own:
                    pairs[-1] = (previous, (node,))
                    continue
                if previous.tag in nesting.COMMANDS:
                    self.report(node, f"<{previous.tag}> already has an <Error> handler")
                    pairs.append((node, ()))
                    continue
            self.report(
                node, "<Error> must be inside the command it handles, or directly after it (D7)"
            )
            pairs.append((node, ()))
        if not errors:
            return pairs
        return [(node, extra) for node, extra in pairs if node.tag != "Error" or extra]

    def _repeated(self, node: etree._Element, parent: str, seen: _Seen) -> bool:
        """Report ``node`` when its parent already has one like it (D5, §4): at the node,
        so every repetition is reported with its own line."""
        tag = str(node.tag)
        if tag in _AT_MOST_ONE:
            if tag in seen.unique:
                self.report(node, f"<{parent}> can hold at most one <{tag}>")
                return True
            seen.unique.add(tag)
        if tag in ("DTMF", "Case"):
            value = node.get("value" if tag == "DTMF" else "dtmf")
            if value is not None and value in seen.values:
                attribute = "value" if tag == "DTMF" else "dtmf"
                self.report(
                    node,
                    f"<{tag}> '{attribute}' duplicates another branch of this "
                    f"Gather (D5) (got {value!r})",
                )
                return True
            if value is not None:
                seen.values.add(value)
        return False

    def _switch(self, switch: etree._Element, seen: _Seen) -> list[Built] | None:
        """Turn ``<Switch>`` into the equivalent DTMF, Default and Error children (D5).

        ``seen`` is the Gather's: a Switch's Default or Error counts with the Gather's own.
        """
        if switch.attrib and self.strict:
            self.report(switch, "<Switch> takes no attributes")
        result: list[Built] = []
        ok = True
        for node in switch:
            if not _is_element(node):
                continue
            if node.tag not in ("Case", "Default", "Error"):
                self.report(node, f"<{node.tag!s}> cannot be nested in <Switch>")
                ok = False
                continue
            if self._repeated(node, "Gather", seen):
                ok = False
                continue
            child = self.build(node)
            if child is None:
                ok = False
            else:
                result.append(child)
        return result if ok else None

    def _legacy_callback(self, el: etree._Element) -> Built | None:
        url = (el.text or "").strip()
        if not self.construct:
            failure = _first_failure(Callback, {"url": url}, None, [], None)
            if failure is not None:
                self.report(el, str(failure))
                return None
            return Callback
        try:
            return Callback(url=url)
        except CallflowError as exc:
            self.report(el, str(exc))
            return None

    def _construct(
        self,
        el: etree._Element,
        kind: _Kind,
        kwargs: _Values,
        children: list[Any],
        complete: bool = True,
    ) -> Built | None:
        cls = kind.cls
        try:
            if cls is Case:
                return DTMF(*children, value=kwargs.get("value"))  # type: ignore[arg-type]
            content = self._content(el, cls, bool(children))
            if content is False:
                return None
            if cls is Meta:
                return Meta(kwargs.get("name"), content)  # type: ignore[arg-type]
            if cls.content is not None:
                return cls(content, *children, **kwargs)  # type: ignore[call-arg]
            return cls(*children, **kwargs)
        except (CallflowError, TypeError) as exc:
            # A rule about the children as a whole may only fail because a child was dropped.
            if complete or getattr(exc, "attribute", None) != "children":
                self.report(el, str(exc))
            return None

    def _verify(
        self,
        el: etree._Element,
        kind: _Kind,
        kwargs: _Values,
        children: list[Built],
        complete: bool = True,
    ) -> Built | None:
        """:meth:`_construct` without constructing: what the constructor would raise is
        reported, in its words; the class that would be built is returned."""
        cls = kind.cls
        built: Built = cls
        if cls is Case:
            failure = _first_failure(DTMF, kwargs, None, children, None)
            built = _Branch(kwargs.get("value"))
        else:
            content = self._content(el, cls, bool(children))
            if content is False:
                return None
            failure = _first_failure(cls, kwargs, content, children, kind.rule)
            if cls is DTMF:
                built = _Branch(kwargs.get("value"))
        if failure is not None:
            # A rule about the children as a whole may only fail because a child was dropped.
            if complete or getattr(failure, "attribute", None) != "children":
                self.report(el, str(failure))
            return None
        return built

    def _content(self, el: etree._Element, cls: type[Element], has_children: bool) -> object:
        """Return the value of the content field, taken from text or its attribute.

        ``False`` means a problem was reported.
        """
        if cls.content is None and self.nested:
            return None  # the XSD allows no text but white space in these elements
        content, problem = _content_of(el, cls, self.strict, has_children)
        if problem is not None:
            self.report(el, problem)
            return False
        return content

    # -- checking without building ---------------------------------------------------------

    def _scan(self, root: etree._Element) -> set[etree._Element]:
        return scan(root, strict=self.strict, nested=self.nested)


# -- the sound build: a document the XSD found sound, built in one pass ------------------------


class _Unsure(Exception):
    """The sound build met something the builder would report: it leaves the document to
    the builder, which says what."""


_UNSURE: Final = _Unsure()
_NO_VALUES: Final[_Values] = {}
"""The keyword arguments of an element without attributes (never changed)."""
_FEW_ATTRIBUTES: Final = 16
"""More attributes than this are left to the builder (``el.items()`` is quadratic)."""
_BRANCH_NAMES: Final = frozenset(("Case", "Default", "Error"))
_COMMANDS: Final = frozenset(nesting.COMMANDS)
_LEAVES: dict[tuple[object, ...], Element] = {}
"""(kind, strict, text, *attributes) -> the childless element they build: documents repeat
their leaves (a DSL element is an immutable value, safe to share)."""
_PARENTS: dict[tuple[object, ...], Element] = {}
"""(kind, strict, *attributes, *the ids of its children) -> the element without text they
build, for children that are all remembered (each key's children are alive: its element
holds them, so an id in a key is the child it was)."""
_HELD: set[int] = set()
"""The ids of the elements remembered, :data:`_REMEMBERED` at most (then all are forgotten):
each holds values of a bounded size and remembered children only."""
_FEW_CHILDREN: Final = 16


def forget_built() -> None:
    """Forget the elements :func:`build_sound` remembers (for benchmarks of a document
    whose every part is new)."""
    _LEAVES.clear()
    _PARENTS.clear()
    _HELD.clear()


def build_sound(root: etree._Element, *, strict: bool) -> Response | None:
    """The document ``root`` holds, built as :meth:`Builder.build_document` builds it, for a
    tree whose structure the XSD checked and found sound (which element holds which, text
    only where it may stand): the same constructors with the same values, without the
    builder's bookkeeping of problems. None when the document holds anything the builder
    would report (the builder then says what): an unknown element, aliases given together,
    a misplaced ``<Error>``, a repeated child, a constructor's refusal."""
    if root.tag != "Response":
        return None
    try:
        built = _sound(root, strict, None)
    except (_Unsure, CallflowError, TypeError):
        return None
    return built if isinstance(built, Response) else None


def _sound(el: etree._Element, strict: bool, handler: etree._Element | None) -> Element:
    """``el`` built (with the sibling ``<Error>`` ``handler`` last among its children), or
    :class:`_Unsure` (or the constructor's error) raised."""
    kind = _KINDS.get(el.tag)  # type: ignore[arg-type]  # an element: its tag is a str
    if kind is None:
        if el.tag == "callback":  # legacy lower-case <callback>URL</callback> (D2)
            return Callback(url=(el.text or "").strip())
        raise _UNSURE
    names = el.keys()
    if names:
        if len(names) > _FEW_ATTRIBUTES:
            raise _UNSURE
        items = el.items()
    else:
        items = []
    if handler is None and not len(el):  # a leaf depends on nothing else
        text = el.text
        key: tuple[object, ...] = (kind, strict, text, *items)
        built = _LEAVES.get(key)
        if built is None:
            built = _made(el, kind, _values(kind, items), [], strict)
            size = len(text) if text else 0
            for _, raw in items:
                size += len(raw)
            if size <= _ACCEPTED_LENGTH:
                _keep(_LEAVES, key, built)
        return built
    children = _built_children(el, kind, strict) if len(el) else []
    if handler is not None:
        children.append(_sound(handler, strict, None))
    if kind.content is None and 0 < len(children) <= _FEW_CHILDREN:
        # Remembered when its children are: what it builds depends on its attributes and
        # which children it holds, no text (the XSD found only white space in it).
        held = _HELD
        for child in children:
            if id(child) not in held:
                break
        else:
            key = (kind, strict, *items, *[id(child) for child in children])
            built = _PARENTS.get(key)
            if built is None:
                built = _made(el, kind, _values(kind, items), children, strict)
                size = 0
                for _, raw in items:
                    size += len(raw)
                if size <= _ACCEPTED_LENGTH:
                    _keep(_PARENTS, key, built)
            return built
    return _made(el, kind, _values(kind, items), children, strict)


def _values(kind: _Kind, items: list[tuple[str, str]]) -> _Values:
    """The constructor's keyword arguments from ``items``, the attributes as written."""
    if not items:
        return _NO_VALUES
    kwargs: _Values = {}
    given = kind.given
    for raw_name, raw in items:
        entry = given.get(raw_name)
        if entry is None:
            continue  # unknown attributes: the schema decides (compat accepts them)
        attr, convert = entry
        if attr in kwargs:
            raise _UNSURE  # an alias of an attribute given already
        if convert is None:
            kwargs[attr] = raw
        else:
            value = convert(raw)
            if value is None:
                raise _UNSURE  # a Tone hz expanding to too many frequencies
            kwargs[attr] = value
    return kwargs


def _built_children(el: etree._Element, kind: _Kind, strict: bool) -> list[Element]:
    """The children of ``el`` built, a Switch's branches as the Gather's own and each
    sibling ``<Error>`` of a plain block with the command before it (D5, D7)."""
    children: list[Element] = []
    append = children.append
    plain = kind.plain
    gather = kind.cls is Gather
    unique: set[str] | None = None
    branches: set[str] | None = None
    pending: etree._Element | None = None
    """In a plain block: the command before, built once it is known whether an ``<Error>``
    right after it is its handler."""
    for node in el:
        tag = node.tag
        if tag.__class__ is not str:
            continue  # a comment or a processing instruction
        if plain:
            if tag == "Error":
                if strict or pending is None or any(own.tag == "Error" for own in pending):
                    raise _UNSURE
                append(_sound(pending, strict, node))
                pending = None
                continue
            if pending is not None:
                append(_sound(pending, strict, None))
                pending = None
        if tag in _COUNTED:
            if unique is None:
                unique, branches = set(), set()
            _count(node, tag, unique, branches)  # type: ignore[arg-type]
            if tag == "Switch" and gather:  # its branches become the Gather's
                if strict and len(node.attrib):
                    raise _UNSURE
                for branch in node:
                    name = branch.tag
                    if name.__class__ is not str:
                        continue
                    if name not in _BRANCH_NAMES:
                        raise _UNSURE
                    _count(branch, name, unique, branches)  # type: ignore[arg-type]
                    append(_sound(branch, strict, None))
                continue
        if plain and tag in _COMMANDS:
            pending = node
        else:
            append(_sound(node, strict, None))
    if pending is not None:
        append(_sound(pending, strict, None))
    return children


def _keep(memo: dict[tuple[object, ...], Element], key: tuple[object, ...], built: Element) -> None:
    if len(_HELD) >= _REMEMBERED:
        forget_built()
    memo[key] = built
    _HELD.add(id(built))


def _made(
    el: etree._Element, kind: _Kind, kwargs: _Values, children: list[Element], strict: bool
) -> Element:
    """``el`` built from its values and built children, as :meth:`Builder._construct`
    builds it (:class:`_Unsure` raised where it reports a problem)."""
    cls = kind.cls
    if cls is Case:
        return DTMF(*children, value=kwargs.get("value"))  # type: ignore[arg-type]
    if kind.content is None:
        return cls(*children, **kwargs)
    content, problem = _content_of(el, cls, strict, bool(children))
    if problem is not None:
        raise _UNSURE
    if cls is Meta:
        return Meta(kwargs.get("name"), content)  # type: ignore[arg-type]
    return cls(content, *children, **kwargs)  # type: ignore[call-arg]


def _count(node: etree._Element, tag: str, unique: set[str], branches: set[str]) -> None:
    """Raise :class:`_Unsure` where :meth:`Builder._repeated` reports ``node``; record it."""
    if tag in _AT_MOST_ONE:
        if tag in unique:
            raise _UNSURE
        unique.add(tag)
    if tag == "DTMF" or tag == "Case":
        value = node.get("value" if tag == "DTMF" else "dtmf")
        if value is not None:
            if value in branches:
                raise _UNSURE
            branches.add(value)


def _texts(key: tuple[object, ...]) -> list[str]:
    """The texts in a key of :data:`_CLEAN_LEAVES`: the element's text, attribute names and
    values."""
    texts = [key[1]] if isinstance(key[1], str) else []
    for item in key[2:]:
        if isinstance(item, tuple):  # a (name, value) pair
            texts.extend(item)
    return texts


def _converted(how: int, raw: str) -> object:
    """The value an attribute's text ``raw`` gives its field (None: a Tone ``hz`` that would
    expand to too many frequencies)."""
    if how == _AS_IS:
        return raw
    if how == _INT:
        return _to_int(raw)
    if how == _BOOL:
        return _to_bool(raw)
    if how == _UPPER:
        return raw.upper()
    return _expand_repeats(raw)


def _content_of(
    el: etree._Element, cls: type[Element], strict: bool, has_children: bool
) -> tuple[object, str | None]:
    """The value of ``cls``'s content field in ``el``, from its text or its attribute, and
    what is wrong with where it is written (None: nothing)."""
    field = cls.content
    name = cls.xml_tag
    text = (el.text or "") if not len(el) else "".join(_text_parts(el))
    has_text = bool(text) and not text.isspace()  # what str.strip() leaves is not empty
    if field is None:
        return None, f"<{name}> cannot hold text" if has_text else None
    if name == "To" or name == "Sip":
        target = text.strip()
        if name == "To" and target.startswith("sip:") and not strict:
            target = target[4:]
        return target or None, None
    attribute = el.get(field)
    if name == "Meta":
        if attribute is not None and text:
            return None, "<Meta> has both a value attribute and text (§7 #16)"
        if attribute is None and not text:
            return None, "<Meta> needs a value attribute or text content"
        return (attribute if attribute is not None else text), None
    if name == "Curl":
        return (text if has_text else None), None
    # Say (text) and Play (url): content or attribute, exactly one (D11, D12).
    content = (text if name == "Say" else text.strip()) if has_text else None
    if content is not None and attribute is not None:
        return None, f"<{name}> has both text content and a '{field}' attribute"
    if strict and content is not None and has_children:
        return None, (
            f"<{name}> text next to an <Error> child must be the '{field}'"
            " attribute in the canonical form (§7 #11)"
        )
    if strict and name == "Play" and attribute is not None and not has_children:
        return None, "<Play> takes its URL as text content in the canonical form (D12)"
    return (content if content is not None else attribute), None


# -- the scan: which subtrees check without a problem ------------------------------------------
#
# Sound, not exact: an element it passes builds without a problem (the builder then skips
# it); one it fails may still build fine. tests/dialect/test_validate.py compares it with the
# builder on random documents.

_REMEMBERED: Final = 1_024
"""Texts remembered per attribute (and per element's content) as accepted."""
_CLEAN_LEAVES: Final[dict[tuple[bool, bool], dict[tuple[object, ...], None]]] = {
    (strict, nested): {} for strict in (False, True) for nested in (False, True)
}
"""(strict, nested) -> childless elements that passed, as (kind, text, *attributes): a leaf
depends on nothing else."""
_LEAF_ATTRIBUTES: Final = 8


def scan(root: etree._Element, *, strict: bool, nested: bool) -> set[etree._Element]:
    """The elements whose subtree may hold a problem: each that breaks a rule, or whose
    children do, and its ancestors. One pass; an element it leaves out builds (checks)
    without a problem, so that :meth:`Builder.build` need not look into it (``nested``: as
    for :class:`Builder`)."""
    dirty: set[etree._Element] = set()
    leaves = _CLEAN_LEAVES[strict, nested]
    for el in root.iter(etree.Element):
        kind = _KINDS.get(el.tag)  # type: ignore[arg-type]  # an element: its tag is a str
        if kind is None:
            if el.tag == "callback" and _callback_is_clean(el):
                continue
        elif len(el):
            if _element_is_clean(el, kind, strict, nested):
                continue
        else:  # a leaf: its text and attributes say it all, and documents repeat them
            text = el.text
            names = el.keys()
            if not names:
                key: tuple[object, ...] = (kind, text)
            elif len(names) <= _LEAF_ATTRIBUTES:
                key = (kind, text, *el.items())
            else:
                key = ()
            if key in leaves:
                continue
            if _element_is_clean(el, kind, strict, nested):
                if key and sum(len(part) for part in _texts(key)) <= _ACCEPTED_LENGTH:
                    if len(leaves) >= _REMEMBERED:
                        leaves.clear()
                    leaves[key] = None
                continue
        node: etree._Element | None = el
        while node is not None and node not in dirty:
            dirty.add(node)
            node = node.getparent()
    return dirty


def _attribute_is_clean(kind: _Kind, raw_name: str, raw: str) -> bool:
    """Whether the text ``raw`` of ``kind``'s attribute ``raw_name`` gives its field a value
    the field's checker accepts; remembered when it does."""
    attr, spec, how = kind.attributes[raw_name]
    value = _converted(how, raw)
    if value is None:
        return False
    try:
        _stored(spec.check, kind.cls.xml_tag, attr, value)
    except (CallflowError, TypeError):
        return False
    _remember(kind.accepted[raw_name], raw)
    return True


def _remember(accepted: set[str], text: str) -> None:
    if len(text) <= _ACCEPTED_LENGTH:
        if len(accepted) >= _REMEMBERED:
            accepted.clear()
        accepted.add(text)


def _callback_is_clean(el: etree._Element) -> bool:
    url = (el.text or "").strip()
    return _first_failure(Callback, {"url": url}, None, [], None) is None


def _element_is_clean(el: etree._Element, kind: _Kind, strict: bool, nested: bool) -> bool:
    """Whether ``el`` (not its descendants) builds without a problem: its values, its text,
    what its children are (not what they hold) and its class's own rules."""
    names = el.keys()
    if names:
        accepted = kind.accepted
        for raw_name in names:
            known = accepted.get(raw_name)
            if known is None:
                continue  # not an attribute the builder reads: the schema decides
            # One look-up per attribute the builder reads, a few at most: linear however many
            # unknown ones the element has (el.items() looks each value up by name again).
            raw: str = el.get(raw_name)  # type: ignore[assignment]  # one of its names
            if raw not in known and not _attribute_is_clean(kind, raw_name, raw):
                return False
        if not kind.second.isdisjoint(names):
            for group in kind.aliases:
                if sum(1 for raw_name in group if raw_name in names) > 1:
                    return False
        for group in kind.required:
            if group[0] not in names and not any(raw_name in names for raw_name in group):
                return False
    elif kind.required:
        return False
    count = len(el)
    if count and not _children_are_clean(el, kind, strict, nested):
        return False
    cls = kind.cls
    field = kind.content
    if field is not None:
        has_children = bool(count) and any(isinstance(child.tag, str) for child in el)
        value, problem = _content_of(el, cls, strict, has_children)
        if problem is not None:
            return False
        if value is None:
            if kind.content_required:
                return False
        elif value not in kind.accepted_content:
            try:
                _stored(kind.content_check, cls.xml_tag, field, value)  # type: ignore[arg-type]
            except (CallflowError, TypeError):
                return False
            if isinstance(value, str):
                _remember(kind.accepted_content, value)  # type: ignore[arg-type]  # of texts
        if cls is Play and (value is None) == ("record" not in names):
            return False  # Play's rule: exactly one source
    elif not nested and not count:
        text = el.text
        if text and text.strip():
            return False
    if cls is Call and ("field" in names) != ("value" in names):
        return False  # Call's rule: field and value together
    return bool(count) or cls is not Dial  # Dial's rule: a target (see _children_are_clean)


def _children_are_clean(el: etree._Element, kind: _Kind, strict: bool, nested: bool) -> bool:
    """The builder's rules on ``el``'s children: which may nest (unless the XSD checked it),
    how many of a kind, DTMF values, sibling Error handlers (D7); and text, where only
    elements may stand."""
    name = kind.name
    plain = kind.plain
    check_text = not nested and kind.content is None
    if check_text:
        text = el.text
        if text and text.strip():
            return False
    allowed = _NO_SWITCH if strict and name == "Gather" else kind.allowed
    unique: set[str] | None = None  # the at-most-once names so far
    branches: set[str] | None = None  # the DTMF values so far
    previous: etree._Element | None = None
    attached = False
    target = False
    for child in el:
        if check_text:
            tail = child.tail
            if tail and tail.strip():
                return False
        tag = child.tag
        if tag.__class__ is not str:
            continue  # a comment or a processing instruction
        if plain and tag == "Error":  # a sibling handler of the command before it (D7)
            if strict or previous is None or attached or previous.tag not in nesting.COMMANDS:
                return False
            if any(own.tag == "Error" for own in previous):
                return False
            attached = True
            continue
        previous, attached = child, False
        if tag in _COUNTED:
            if unique is None:
                unique, branches = set(), set()
            if not _counted(child, tag, unique, branches):  # type: ignore[arg-type]
                return False
            if tag == "Switch" and name == "Gather":
                if strict and child.attrib:
                    return False
                for node in child:
                    branch = node.tag
                    if branch.__class__ is not str:
                        continue
                    if branch not in ("Case", "Default", "Error"):
                        return False
                    if not _counted(node, branch, unique, branches):  # type: ignore[arg-type]
                        return False
        elif tag == "To" or tag == "Sip":
            target = True
        if (
            not nested
            and tag not in allowed
            and (tag != "callback" or strict or "Callback" not in allowed)
        ):
            return False  # not a legacy lower-case <callback> either (D2)
    return target or name != "Dial"


def _counted(node: etree._Element, tag: str, unique: set[str], branches: set[str]) -> bool:
    """Whether ``node`` is not a second of its parent's at-most-once children, nor a DTMF
    branch of a value already taken (D5); records it."""
    if tag == "DTMF":
        value = node.get("value")
    elif tag == "Case":
        value = node.get("dtmf")
        if value is None:
            value = node.get("value")
    else:
        if tag in unique:
            return False
        unique.add(tag)
        return True
    if value is None:
        return True
    if value in branches:
        return False
    branches.add(value)
    return True


def _marker(el: etree._Element, kind: _Kind) -> Built:
    """What checking a clean ``el`` without building gives (see :data:`Built`)."""
    cls = kind.cls
    if cls is DTMF:
        return _Branch(el.get("value"))
    if cls is Case:
        value = el.get("dtmf")
        return _Branch(el.get("value") if value is None else value)
    return cls
