"""Validate Opentact XML offline: the shipped XSD plus the spec rules XSD cannot express.

Every problem is reported with line, column and element path; an invalid document never
raises. Use :func:`assert_valid` in tests to raise :class:`SchemaValidationError` instead.
Rulings (D1-D21) and questions (§7 #N) are in docs/dialect.md.

Validation takes time linear in the document, however hostile. The one superlinear step is
in libxml2: for each schema error it writes the element's path by counting the element's
siblings and its ancestors' siblings, so a document of thousands of erroneous siblings costs
the square of that. A large document is therefore checked against the XSD in windows: small
documents of a few hundred consecutive nodes each, under bare copies of their ancestors (see
:func:`_windowed_errors`).
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from lxml import etree

from callflow.dialect.elements.document import Response
from callflow.dialect.loader import Builder, explain, scan
from callflow.dialect.problems import MAX_PROBLEMS, Problem
from callflow.dialect.reader import (
    MAX_BYTES,
    Layout,
    Places,
    Source,
    element_paths,
    load,
    namespace_declarations,
    parse_window,
    qualified_name,
    read_source,
    valid_as_read,
)
from callflow.dialect.rendering import render
from callflow.dialect.xsd import SchemaMode, schema_text, xml_schema
from callflow.exceptions import SchemaValidationError

WHOLE_LIMIT: Final = 2_000
"""Documents of at most this many nodes are checked against the XSD in one piece."""

WINDOW: Final = 256
"""Nodes per window when a larger document is checked against the XSD in windows."""

SHALLOW: Final = 16
"""Documents deeper than this are checked in windows; windows deeper than this end before
their parent's end tag (see :func:`_windowed_errors`)."""

CROWDED: Final = 64
"""An element of more attributes than this begins its own window."""


@dataclass(frozen=True, slots=True)
class Checked:
    """Everything one validation found: problems, the document (None when invalid), the
    source's name, its bytes and parsed tree (for tools such as lint that read both)."""

    problems: list[Problem]
    document: Response | None
    name: str
    data: bytes
    tree: etree._ElementTree | None
    places: Places | None = None
    """Element paths and start-tag positions of ``tree``, computed once when first needed."""


def examine(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> Checked:
    """Read, parse, validate and build ``source`` once."""
    data, name = _read(source)
    loaded = load(data, max_bytes=max_bytes)
    if loaded.tree is None:
        return Checked(list(loaded.problems), None, name, data, None)
    places = Places(loaded.tree, data)
    problems, nested = _schema_check(loaded.tree, strict, places)
    flagged = {p.path for p in problems}
    builder = Builder(loaded.tree, strict=strict, flagged=flagged, places=places, nested=nested)
    doc = builder.build_document()
    problems.extend(builder.problems)
    if problems:
        problems = _placed(problems, places)
    return Checked(problems, doc if not problems else None, name, data, loaded.tree, places)


def _read(source: Source | Response) -> tuple[bytes, str]:
    """The bytes of ``source`` and the name problems give it."""
    if isinstance(source, Response):
        return render(source), "<Response>"
    return read_source(source)


def _problems(
    source: Source | Response, *, strict: bool, max_bytes: int
) -> tuple[list[Problem], str]:
    """What :func:`examine` finds, without building the document: the builder applies every
    constructor's rules to the parsed values, in the constructors' words."""
    data, name = _read(source)
    loaded = load(data, max_bytes=max_bytes)
    if loaded.tree is None:
        return list(loaded.problems), name
    places = Places(loaded.tree, data)
    problems, nested = _schema_check(loaded.tree, strict, places)
    root = loaded.tree.getroot()
    dirty = scan(root, strict=strict, nested=nested) if root.tag == "Response" else None
    if not problems and dirty is not None and not dirty:
        return problems, name  # the usual valid document: one pass of the rules, no builder
    flagged = {p.path for p in problems}
    builder = Builder(
        loaded.tree, strict=strict, flagged=flagged, places=places, construct=False, nested=nested
    )
    problems.extend(builder.check_document(dirty))
    return (_placed(problems, places) if problems else problems), name


def check(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> tuple[list[Problem], Response | None, str]:
    """Validate ``source`` and build it; return (problems, document or None, source name)."""
    checked = examine(source, strict=strict, max_bytes=max_bytes)
    return checked.problems, checked.document, checked.name


def _schema_errors(tree: etree._ElementTree, strict: bool, places: Places) -> list[Problem]:
    return _schema_check(tree, strict, places)[0]


def _schema_check(
    tree: etree._ElementTree, strict: bool, places: Places
) -> tuple[list[Problem], bool]:
    """The XSD's problems of ``tree``, and whether they leave its structure checked and
    sound: which element holds which, and text only where it may stand (so the builder need
    not check them again). Problems with values only (an attribute's, a text's) do: libxml2
    goes on checking the content of their element."""
    mode: SchemaMode = "strict" if strict else "compat"
    schema = xml_schema(mode)
    shape = _shape(mode)
    if not shape.windowable or (
        not _more_nodes_than(tree, WHOLE_LIMIT, places.data)
        and not _deeper_than(tree, SHALLOW, places.data)
    ):
        if schema.validate(tree):
            return [], True
        log = schema.error_log
        problems = [_problem(entry, entry.line, entry.path or "/") for entry in log]
        return problems, all(entry.type_name in _VALUES_ONLY for entry in log)
    if valid_as_read(places.data, schema):
        return [], True
    problems = _windowed_errors(tree, schema, places, shape=shape)
    return problems, not problems


_VALUES_ONLY: Final = frozenset(
    (
        "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1",  # an attribute the element does not declare
        "SCHEMAV_CVC_COMPLEX_TYPE_4",  # a required attribute missing
        "SCHEMAV_CVC_DATATYPE_VALID_1_2_1",  # a value not of its type
        "SCHEMAV_CVC_ENUMERATION_VALID",
        "SCHEMAV_CVC_PATTERN_VALID",
        "SCHEMAV_CVC_MININCLUSIVE_VALID",
        "SCHEMAV_CVC_MAXINCLUSIVE_VALID",
    )
)
"""libxml2's errors about a value (of an attribute, or a simple element's text), after which
it checks the element's content all the same."""


@dataclass(frozen=True, slots=True)
class _Shape:
    """What windows may rely on in an XSD (see :func:`_windowed_errors`)."""

    windowable: bool
    """Every content model is an unordered choice without a minimum, no constraint spans
    elements: an element's problems depend on its ancestors' names, not on its siblings."""
    names_fix_types: bool
    """Every element name has one type, wherever it stands."""
    simple: frozenset[str] | None
    """The names of elements of simple content (None: any element may be)."""


@functools.cache
def _shape(mode: SchemaMode) -> _Shape:
    return shape_of(schema_text(mode))


def shape_of(xsd: bytes) -> _Shape:
    """Read what windowed validation relies on from the XSD source ``xsd``."""
    root = etree.fromstring(xsd)

    def q(name: str) -> str:
        return f"{{{_XS}}}{name}"

    def unbounded_choice(el: etree._Element | None) -> bool:
        return (
            el is not None
            and el.tag == q("choice")
            and el.get("minOccurs") == "0"
            and el.get("maxOccurs") == "unbounded"
        )

    windowable = next(root.iter(*map(q, _NOT_WINDOWABLE)), None) is None
    for choice in root.iter(q("choice")):
        parent = choice.getparent()
        if parent is not None and parent.tag in (q("complexType"), q("extension")):
            windowable = windowable and unbounded_choice(choice)
    for ref in root.iter(q("group")):
        if ref.get("ref") is not None:
            windowable = windowable and unbounded_choice(ref.getparent())
    for derived in root.iter(q("complexContent")):
        windowable = windowable and all(
            child.tag == q("extension") and next(child.iter(*map(q, _PARTICLES)), None) is None
            for child in derived
            if isinstance(child.tag, str) and child.tag != q("annotation")
        )
    for el in root.iter():
        for value in el.attrib.values():
            prefix, _, local = str(value).rpartition(":")
            if local in _CROSS_ELEMENT_TYPES and el.nsmap.get(prefix or None) == _XS:
                windowable = False  # IDs and references are checked across the document
        if el.tag == q("element") and (
            el.get("substitutionGroup") or el.get("abstract") == "true" or el.get("ref")
        ):
            windowable = False
    types: dict[str | None, set[str | None]] = {}
    for declaration in root.iter(q("element")):
        types.setdefault(declaration.get("name"), set()).add(declaration.get("type"))
    fixed = None not in types and all(
        len(found) == 1 and None not in found for found in types.values()
    )
    simple_types = {kind.get("name") for kind in root.iter(q("simpleType"))} | {
        kind.get("name")
        for kind in root.iter(q("complexType"))
        if kind.find(q("simpleContent")) is not None
    }
    simple = frozenset(str(name) for name, found in types.items() if found & simple_types)
    return _Shape(windowable, fixed, simple if fixed else None)


_NOT_WINDOWABLE: Final = (
    "sequence",
    "all",
    "any",
    "unique",
    "key",
    "keyref",
    "include",
    "import",
    "redefine",
    "override",
)
_PARTICLES: Final = ("choice", "sequence", "all", "group", "any")
_CROSS_ELEMENT_TYPES: Final = frozenset(("ID", "IDREF", "IDREFS", "ENTITY", "ENTITIES", "NOTATION"))


def _whole_errors(tree: etree._ElementTree, schema: etree.XMLSchema) -> list[Problem]:
    if schema.validate(tree):
        return []
    return [_problem(entry, entry.line, entry.path or "/") for entry in schema.error_log]


def _problem(entry: etree._LogEntry, line: int, path: str) -> Problem:
    return Problem(line, entry.column, path, _in_dialect_words(entry.message.strip().rstrip(".")))


# libxml2's report of a bad attribute value: the type's name says nothing to a user.
_BAD_VALUE = re.compile(
    r"Element '(\w+)', attribute '(\w+)': (?:\[facet '\w+'\] )?The value '(.*)' |"
    r"Element '(\w+)', attribute '(\w+)': '(.*)' is not a valid value of "
)


def _in_dialect_words(message: str) -> str:
    """``<Gather> 'dtmf_length' must be >= 1 (got 0)`` for libxml2's "'0' is not a valid
    value of the atomic type 'count'": the rule the DSL applies, in its words."""
    match = _BAD_VALUE.match(message)
    if match is None:
        return message
    groups = match.groups()
    tag, attribute, raw = groups[0:3] if groups[0] is not None else groups[3:6]
    return explain(tag, attribute, raw) or message


def _more_nodes_than(tree: etree._ElementTree, limit: int, data: bytes) -> bool:
    if len(data) < _SMALLEST_NODE * (limit + 1):
        return False  # too few bytes for that many nodes: no need to count them
    return next(itertools.islice(tree.iter(), limit, None), None) is not None


_SMALLEST_NODE: Final = 4
"""The fewest bytes a node of ``tree.iter()`` is written in: ``<a/>`` (a comment takes 7, a
processing instruction 5)."""

_local = threading.local()


def _deeper_than(tree: etree._ElementTree, depth: int, data: bytes | None = None) -> bool:
    if data is not None and data.count(b"<") <= 2 * depth:
        return False  # too few tags: depth + 1 levels take 2 * depth + 1 of them at least
    # Compiled once per depth and thread (an XPath object locks while it runs).
    compiled: dict[int, etree.XPath] | None = getattr(_local, "deeper", None)
    if compiled is None:
        compiled = _local.deeper = {}
    deeper = compiled.get(depth)
    if deeper is None:
        deeper = compiled[depth] = etree.XPath("boolean(/*" + "/*" * depth + ")")
    return bool(deeper(tree))


_XS: Final = "http://www.w3.org/2001/XMLSchema"

_TEXT_IN_ELEMENT_ONLY: Final = "SCHEMAV_CVC_COMPLEX_TYPE_2_3"
"""A text node in element-only content; reported on the parent, once per text node."""

_NOT_EXPECTED: Final = "SCHEMAV_ELEMENT_CONTENT"
"""A child the content model does not allow: libxml2 skips it and the rest of its parent."""

_ELEMENT_IN_SIMPLE: Final = frozenset(("SCHEMAV_CVC_COMPLEX_TYPE_2_2", "SCHEMAV_CVC_TYPE_3_1_2"))
"""An element child of a simple-content or simple-type element: libxml2 skips them all."""


def _windowed_errors(
    tree: etree._ElementTree,
    schema: etree.XMLSchema,
    places: Places,
    *,
    shape: _Shape = _Shape(windowable=True, names_fix_types=False, simple=None),
    size: int = WINDOW,
    shallow: int = SHALLOW,
) -> list[Problem]:
    """The XSD's problems of ``tree``, exactly as validating it whole gives them, in linear
    time: the document is cut into windows of about ``size`` nodes, each its own document.

    A window is a run of the document's markup as written (every byte is in one window),
    opened by bare start tags (name and namespaces only) of the elements open where it
    begins and closed by end tags of those still open where it ends. Every content model of
    both XSDs is an unordered choice with no minimum, so what the XSD says about an element
    depends only on its ancestors' names, its attributes and text, and on its earlier siblings
    only in two ways, which bare tags keep:

    * an unexpected child makes libxml2 skip the rest of its parent: a bare copy of it opens
      the parent's content in each later window (or, wholly inside, the window is skipped);
    * only a first child's "not expected" message lists what is expected: a bare copy of
      the sibling before the window's first node opens its parent's content.

    A problem on a node of the window is the whole document's problem; on a bare copy, only
    a text node of the window is (the rest was checked in the element's own window). A window
    ends after the leading text and first child of a simple-content element it holds, whose
    value is that text.

    libxml2 writes each error's path by copying the path so far at each level, so deep
    elements cost the square of their depth. Where names fix types (both XSDs), the bare
    ancestors between two of the same name are left out if the window lies inside the second
    one, and a deep window ends before its parent's end tag, where the next one begins; an
    element of many attributes (each a problem in strict mode) begins its own window.
    """
    layout = places.layout
    if layout is None:  # the markup does not match the tree: never for a parsed document
        return _whole_errors(tree, schema)
    windows = _Windows(tree, places, layout, shape, size, shallow)
    problems = windows.run(schema)
    return _whole_errors(tree, schema) if problems is None else problems


class _Windows:
    """The state of one windowed validation (see :func:`_windowed_errors`)."""

    def __init__(
        self,
        tree: etree._ElementTree,
        places: Places,
        layout: Layout,
        shape: _Shape,
        size: int,
        shallow: int,
    ) -> None:
        self.nodes = nodes = list(tree.getroot().iter())
        self.places = places
        self.layout = layout
        self.shape = shape
        self.size = size
        self.shallow = shallow
        count = len(nodes)
        index = {node: i for i, node in enumerate(nodes)}
        self.parent = parent = [-1] * count
        self.before = before = [-1] * count
        """Each node's nearest element sibling before it."""
        self.depth = depth = [0] * count
        last_child = [-1] * count
        for i in range(1, count):
            up = parent[i] = index[nodes[i].getparent()]  # type: ignore[index]  # not the root
            depth[i] = depth[up] + 1
            before[i] = last_child[up]
            if isinstance(nodes[i].tag, str):
                last_child[up] = i
        self.end = end = list(range(1, count + 1))
        """The index after each node's subtree."""
        for i in range(count - 1, 0, -1):
            end[parent[i]] = max(end[parent[i]], end[i])
        self.tags = _BareTags(nodes, layout.starts, places.data)
        self.closed: dict[int, int] = {}
        """Element whose content libxml2 skips -> its unexpected child (-1: a simple one)."""

    def run(self, schema: etree.XMLSchema) -> list[Problem] | None:
        """Every problem, window by window; None if a window could not be made."""
        count = len(self.nodes)
        problems: list[Problem] = []
        at_end_tag, position = False, 0  # where the next window begins: a node, or an end tag
        while at_end_tag or position < count:
            chain = self._ancestors(position)
            skipped = self._skipped(chain)
            if skipped >= 0:  # libxml2 skips the rest of it: go on at its end tag
                at_end_tag, position = True, skipped
                continue
            if at_end_tag:
                chain.append(position)
                first = self.end[position]
            else:
                first = position
            stop, cut = self._stop(first, chain, at_end_tag)
            window = self._document(chain, position, at_end_tag, first, stop, cut)
            if window is None:
                return None
            document, opened = window
            if not schema.validate(document):
                found = self._problems(schema.error_log, document, opened, first, stop)
                if found is None:
                    return None
                problems.extend(found)
            at_end_tag, position = (True, cut) if cut >= 0 else (False, stop)
        return problems

    def _ancestors(self, i: int) -> list[int]:
        chain = []
        up = self.parent[i]
        while up >= 0:
            chain.append(up)
            up = self.parent[up]
        chain.reverse()
        return chain

    def _skipped(self, chain: list[int]) -> int:
        """The outermost element of ``chain`` whose content libxml2 skips, or -1."""
        closed = self.closed
        if not closed:
            return -1
        if len(closed) < len(chain):
            end = self.end
            inside = [a for a in closed if a <= chain[-1] < end[a]]
            return min(inside, default=-1)
        return next((ancestor for ancestor in chain if ancestor in closed), -1)

    def _leading(self, i: int, first: int) -> bool:
        """Whether node ``i`` is leading content (text, first child) of a window's own
        element that may have simple content."""
        up = self.parent[i]
        simple = self.shape.simple
        return (
            up >= first and self.before[i] < 0 and (simple is None or self.nodes[up].tag in simple)
        )

    def _stop(self, first: int, chain: list[int], at_end_tag: bool) -> tuple[int, int]:
        """Where the window that begins at node ``first`` (or at the end tag of ``chain[-1]``,
        before it) ends: the node after it, and the element before whose end tag it ends
        (-1: none)."""
        nodes, count = self.nodes, len(self.nodes)
        if self.shape.names_fix_types and at_end_tag and len(chain) > self.shallow:
            # A deep run of end tags: close a few levels per window, under shorter ancestors.
            closing = [a for a in chain[-self.shallow - 1 :] if self.end[a] == first]
            if len(closing) > self.shallow:
                return first, closing[0]
        stop = min(first + self.size, count)
        while stop < count and self._leading(stop, first):
            stop += 1
        deep = self.shape.names_fix_types and first < count
        deepest = self.depth[first] + self.shallow if deep else count
        for i in range(first + 1, stop):
            el = nodes[i]
            if self._leading(i, first):
                continue
            if self.depth[i] > deepest or (isinstance(el.tag, str) and len(el.attrib) > CROWDED):
                stop = i  # it begins the next window, under shorter bare ancestors
                break
        if (
            self.shape.names_fix_types
            and not at_end_tag
            and len(chain) > self.shallow
            and self.end[chain[-1]] <= stop
        ):
            return self.end[chain[-1]], chain[-1]
        return stop, -1

    def _document(
        self, chain: list[int], position: int, at_end_tag: bool, first: int, stop: int, cut: int
    ) -> tuple[etree._Element, list[int]] | None:
        """The window's document, and the elements its bare tags open, in document order."""
        layout, tags, closed, count = self.layout, self.tags, self.closed, len(self.nodes)
        if cut >= 0:
            finish, still_open, inner = layout.ends[cut], self.depth[cut] + 1, []
        elif stop < count:
            finish = layout.starts[stop]
            around = self._ancestors(stop)  # open where the window ends
            still_open = sum(1 for ancestor in around if ancestor < first)
            inner = around[still_open:]
        else:
            finish, still_open, inner = len(self.places.data), 0, []
        if self.shape.names_fix_types:
            kept, kept_open = _shortened(chain, still_open, closed, tags.name)
        else:
            kept, kept_open = chain, still_open
        opened: list[int] = []
        head = []
        for ancestor in kept:
            head.append(tags.start(ancestor))
            opened.append(ancestor)
            if closed.get(ancestor, -1) >= 0:
                head.append(tags.empty(closed[ancestor]))
                opened.append(closed[ancestor])
        before = self.before[first] if not at_end_tag and first < count else -1
        if before >= 0 and closed.get(self.parent[first], -1) < 0:
            head.append(tags.empty(before))
            opened.append(before)
        tail = [tags.end(ancestor) for ancestor in reversed([*kept[:kept_open], *inner])]
        begin = layout.ends[position] if at_end_tag else layout.starts[position]
        document = parse_window(b"".join([*head, self.places.data[begin:finish], *tail]))
        return None if document is None else (document, opened)

    def _problems(
        self,
        log: etree._ListErrorLog,
        document: etree._Element,
        opened: list[int],
        first: int,
        stop: int,
    ) -> list[Problem] | None:
        """The whole document's problems among the window's errors."""
        nodes = self.nodes
        owned = [i for i in range(first, stop) if isinstance(nodes[i].tag, str)]
        copies = [el for el in document.iter() if isinstance(el.tag, str)]
        if len(copies) != len(opened) + len(owned):
            return None
        paths = element_paths(document.getroottree())
        at = {paths[copy]: i for copy, i in zip(copies, [*opened, *owned], strict=True)}
        problems = []
        for entry in log:
            i = at.get(entry.path or "", -1)
            if i < 0:  # not about an element: keep libxml2's own place
                problems.append(_problem(entry, entry.line, entry.path or "/"))
                continue
            if i < first and entry.type_name != _TEXT_IN_ELEMENT_ONLY:
                continue  # a bare copy: checked in its own window
            el = nodes[i]
            problems.append(_problem(entry, el.sourceline or 0, self.places.path(el)))
            if i >= first and entry.type_name == _NOT_EXPECTED:
                self.closed.setdefault(self.parent[i], i)
            elif i >= first and entry.type_name in _ELEMENT_IN_SIMPLE:
                self.closed.setdefault(i, -1)  # no bare copy: its own children make it skip
        return problems


def _shortened(
    chain: list[int], still_open: int, closed: dict[int, int], name: Callable[[int], bytes]
) -> tuple[list[int], int]:
    """``chain`` without the runs that end in an element of the same name as the run's
    first, among its first ``still_open`` (open where the window ends), and how many of those
    are left. A run holding an element whose content libxml2 skips stays."""
    kept: list[int] = []
    where: dict[bytes, int] = {}  # a name -> its place in kept
    last_closed = -1  # the place in kept of the last element whose content is skipped
    for element in chain[:still_open]:
        key = name(element)
        place = where.get(key)
        if place is not None and place > last_closed:
            for dropped in kept[place:]:
                where.pop(name(dropped), None)
            del kept[place:]
        where[key] = len(kept)
        kept.append(element)
        if element in closed:
            last_closed = len(kept) - 1
    return [*kept, *chain[still_open:]], len(kept)


class _BareTags:
    """Start, empty and end tags of elements by their index: their name as written and the
    namespaces they declare, nothing else."""

    __slots__ = ("_names", "_namespaces", "data", "nodes", "starts")

    def __init__(self, nodes: list[etree._Element], starts: list[int], data: bytes) -> None:
        self.nodes = nodes
        self.starts = starts
        self.data = data
        self._names: dict[int, bytes] = {}
        self._namespaces: dict[int, bytes] | None = {} if b"xmlns" in data else None

    def name(self, i: int) -> bytes:
        """The element's name as the markup writes it."""
        name = self._names.get(i)
        if name is None:
            name = self._names[i] = qualified_name(self.nodes[i]).encode()
        return name

    def _declared(self, i: int) -> bytes:
        if self._namespaces is None:
            return b""
        declared = self._namespaces.get(i)
        if declared is None:
            declared = self._namespaces[i] = namespace_declarations(self.data, self.starts[i])
        return declared

    def start(self, i: int) -> bytes:
        return b"<" + self.name(i) + self._declared(i) + b">"

    def empty(self, i: int) -> bytes:
        return b"<" + self.name(i) + self._declared(i) + b"/>"

    def end(self, i: int) -> bytes:
        return b"</" + self.name(i) + b">"


def schema_problems(data: bytes, *, strict: bool = False) -> list[Problem]:
    """Check ``data`` against the XSD only, without the DSL rules.

    For documents rendered from DSL trees, whose constructors already enforced every rule
    beyond the schema: this is the cheap check the server runs on outgoing documents.
    """
    loaded = load(data)
    if loaded.tree is None:
        return list(loaded.problems)
    places = Places(loaded.tree, data)
    problems = _schema_errors(loaded.tree, strict, places)
    return _placed(problems, places) if problems else []


def validate(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> list[Problem]:
    """Return every problem of ``source`` (bytes, XML text, a path, or a ``Response``).

    ``strict=True`` accepts the canonical form only. An empty list means valid.

    Examples:
        >>> validate(b"<Response><Hangup/></Response>")
        []
        >>> [p.message for p in validate(b"<Response><Gather><Hangup/></Gather></Response>")]
        ["Element 'Hangup': This element is not expected. Expected is one of ( Say, ... )"]
    """
    return _problems(source, strict=strict, max_bytes=max_bytes)[0]


def assert_valid(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> None:
    """Raise :class:`SchemaValidationError` carrying every problem when ``source`` is invalid."""
    problems, name = _problems(source, strict=strict, max_bytes=max_bytes)
    if problems:
        raise SchemaValidationError(problems, source=name)


def _placed(problems: list[Problem], places: Places, limit: int = MAX_PROBLEMS) -> list[Problem]:
    """The first ``limit`` problems by place, each about an element placed where its start
    tag begins, then one saying how many more there are, if any."""
    positions = places.positions_of(problem.path for problem in problems)
    keyed = []
    for problem in problems:
        line, column = positions.get(problem.path) or (problem.line, problem.column)
        keyed.append((line, column, problem.path, problem.message))
    keyed.sort()
    placed = [Problem(*key) for key in keyed[:limit]]
    if len(keyed) > limit:
        line, column, _, _ = keyed[limit]
        more = len(keyed) - limit
        placed.append(
            Problem(
                line,
                column,
                "/",
                f"{more} more problems are not reported (at most {limit} are, per document)",
            )
        )
    return placed
