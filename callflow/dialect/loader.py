"""Turn a parsed lxml tree into DSL objects, normalising legacy forms (spec §5 General).

The builder is also the part of validation that XML Schema cannot express: it runs every DSL
constructor (so the same rules apply to parsed and to built documents) plus the rules on text
placement, sibling ``<Error>`` handlers and legacy aliases. It keeps going after a problem so
that every problem in a document is reported, not only the first.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Final

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


class _Seen:
    """What a parent's children so far hold: the at-most-once names and the DTMF values."""

    def __init__(self) -> None:
        self.unique: set[str] = set()
        self.values: set[str] = set()


class Builder:
    """Build DSL objects from a tree, collecting problems instead of stopping at the first."""

    def __init__(
        self,
        tree: etree._ElementTree,
        *,
        strict: bool,
        flagged: Iterable[str] = (),
        places: Places | None = None,
    ):
        self.tree = tree
        self.strict = strict
        self.flagged = frozenset(flagged)
        """Element paths the schema already reported; their problems are not repeated."""
        self.places = places if places is not None else Places(tree, b"")
        """Element paths, computed for the whole tree at the first problem (not per problem:
        ``getpath`` counts an element's siblings, quadratic in a document of many)."""
        self.problems: list[Problem] = []

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
        built = self.build(root)
        return built if isinstance(built, Response) else None

    def build(self, el: etree._Element, extra: tuple[etree._Element, ...] = ()) -> Element | None:
        """Build ``el`` (plus sibling handlers ``extra``); ``None`` when it has a problem."""
        name = str(el.tag)
        if name == "callback":
            return self._legacy_callback(el)
        cls = CLASSES.get(name)
        if cls is None:
            self.report(el, f"unknown element <{name}>")
            return None
        kwargs = self._attributes(el, cls)
        children, complete = self._children(el, name)
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
        built = self._construct(el, cls, kwargs, children, complete)
        return built if complete else None

    def _attributes(self, el: etree._Element, cls: type[Element]) -> dict[str, object] | None:
        name = cls.xml_tag
        fields = _FIELDS[name]
        legacy = LEGACY_ATTRIBUTES.get(name, {})
        # Absent attributes are passed as None so constructors name a missing required one.
        kwargs: dict[str, object] = dict.fromkeys(n for n in fields if n != cls.content)
        if not el.attrib and name != "Case":
            return kwargs
        given: set[str] = set()
        source: dict[str, str] = {}
        ok = True
        if name == "Case":  # Case dtmf= becomes DTMF value= (D5)
            fields = {"value": DTMF.fields[0]}
            legacy = {"dtmf": "value"}
            kwargs = {"value": None}
        for raw_name, raw in attribute_items(el):
            attr = legacy.get(str(raw_name), str(raw_name))
            spec = fields.get(attr)
            if spec is None or attr == cls.content:
                continue  # unknown attributes: the schema decides (compat accepts them)
            if attr in given:
                self.report(el, f"<{name}> has both '{source[attr]}' and '{raw_name}' (aliases)")
                ok = False
                continue
            value: object = str(raw)
            convert = _converter(spec.check)
            if convert is not None:
                value = convert(str(raw))
            elif attr == "method" and name in UPPER_CASE_METHOD:
                value = str(raw).upper()
            elif name == "Tone" and attr == "hz":
                expanded = _expand_repeats(str(raw))
                if expanded is None:
                    limit = checks.MAX_FREQUENCIES
                    self.report(
                        el,
                        f"<Tone> 'hz' expands to more than {limit} frequencies "
                        f"(got {str(raw)[:40]!r})",
                    )
                    ok = False
                    continue
                value = expanded
            kwargs[attr] = value
            given.add(attr)
            source[attr] = str(raw_name)
        return kwargs if ok else None

    def _children(self, el: etree._Element, name: str) -> tuple[list[Element], bool]:
        if not len(el):
            return [], True
        nodes = [child for child in el if _is_element(child)]
        built: list[Element] = []
        ok = True
        plain = name in nesting.PLAIN_BLOCKS
        pairs = self._pair_sibling_errors(nodes) if plain else [(node, ()) for node in nodes]
        allowed = nesting.ALLOWED.get(name, frozenset())
        if name == "Gather" and self.strict:
            allowed = allowed - {"Switch"}  # a variant form (D5)
        seen = _Seen()
        for node, extra in pairs:
            tag = str(node.tag)
            if not (plain and tag == "Error") and self._repeated(node, name, seen):
                ok = False
                continue
            if tag not in allowed and not (plain and tag == "Error"):
                if tag == "callback" and "Callback" in allowed and not self.strict:
                    pass  # legacy lower-case <callback>URL</callback> (D2)
                else:
                    choices = _choices(name)
                    self.report(node, f"<{tag}> cannot be nested in <{name}> (allowed: {choices})")
                    ok = False
                    continue
            if name == "Gather" and node.tag == "Switch":
                switched = self._switch(node, seen)
                if switched is None:
                    ok = False
                else:
                    built.extend(switched)
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
        for node in nodes:
            if node.tag != "Error":
                pairs.append((node, ()))
                continue
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
        return [(node, extra) for node, extra in pairs if node.tag != "Error" or extra]

    def _repeated(self, node: etree._Element, parent: str, seen: _Seen) -> bool:
        """Report ``node`` when its parent already has one like it (D5, §4): at the node,
        so every repetition is reported with its own line."""
        tag = str(node.tag)
        if tag in nesting.AT_MOST_ONE:
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

    def _switch(self, switch: etree._Element, seen: _Seen) -> list[Element] | None:
        """Turn ``<Switch>`` into the equivalent DTMF, Default and Error children (D5).

        ``seen`` is the Gather's: a Switch's Default or Error counts with the Gather's own.
        """
        if switch.attrib and self.strict:
            self.report(switch, "<Switch> takes no attributes")
        result: list[Element] = []
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

    def _legacy_callback(self, el: etree._Element) -> Element | None:
        url = (el.text or "").strip()
        try:
            return Callback(url=url)
        except CallflowError as exc:
            self.report(el, str(exc))
            return None

    def _construct(
        self,
        el: etree._Element,
        cls: type[Element],
        kwargs: dict[str, object],
        children: list[Element],
        complete: bool = True,
    ) -> Element | None:
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

    def _content(self, el: etree._Element, cls: type[Element], has_children: bool) -> object:
        """Return the value of the content field, taken from text or its attribute.

        ``False`` means a problem was reported.
        """
        name = cls.xml_tag
        parts = _text_parts(el)
        text = "".join(parts)
        has_text = bool(text.strip())
        field = cls.content
        if field is None:
            if has_text:
                self.report(el, f"<{name}> cannot hold text")
                return False
            return None
        attribute = el.get(field) if field != "target" else None
        if name in ("To", "Sip"):
            target = text.strip()
            if name == "To" and target.startswith("sip:") and not self.strict:
                target = target[4:]
            return target or None
        if name == "Meta":
            if attribute is not None and text:
                self.report(el, "<Meta> has both a value attribute and text (§7 #16)")
                return False
            if attribute is None and not text:
                self.report(el, "<Meta> needs a value attribute or text content")
                return False
            return attribute if attribute is not None else text
        if name == "Curl":
            return text if has_text else None
        # Say (text) and Play (url): content or attribute, exactly one (D11, D12).
        content = (text if name == "Say" else text.strip()) if has_text else None
        if content is not None and attribute is not None:
            self.report(el, f"<{name}> has both text content and a '{field}' attribute")
            return False
        if self.strict and content is not None and has_children:
            self.report(
                el,
                f"<{name}> text next to an <Error> child must be the '{field}'"
                " attribute in the canonical form (§7 #11)",
            )
            return False
        if self.strict and name == "Play" and attribute is not None and not has_children:
            self.report(el, "<Play> takes its URL as text content in the canonical form (D12)")
            return False
        return content if content is not None else attribute
