"""Reading untrusted XML: bounded size, no DTD, no entity expansion, no network.

Documents come from users' files, templates and remote servers. A DTD has no place in Opentact
XML, so a ``<!DOCTYPE`` in the prolog is refused before libxml2 sees it: an entity bomb or an
external entity is reported as a problem in microseconds, never expanded or fetched.

Everything here runs in time linear in the document: element paths and start-tag positions
are computed in one pass (``getpath`` per element counts its siblings, which is quadratic
in a document of many siblings).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lxml import etree

from callflow.dialect.problems import Problem

MAX_BYTES: Final = 1_048_576
"""Default largest document accepted (1 MiB); real call flows are a few kilobytes."""

Source = bytes | str | os.PathLike[str]
"""A document: bytes, XML text, or a path (a ``str`` not starting with ``<`` is a path)."""

_PROLOG_ITEM = re.compile(rb"[ \t\r\n]+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
"""What may stand before a DTD: white space, the XML declaration and other processing
instructions, comments (XML 1.0 §2.8). Each is found by its first terminator, as libxml2 does."""

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Loaded:
    """The outcome of reading a document: its tree, or the problems that stopped it."""

    data: bytes
    tree: etree._ElementTree | None
    problems: tuple[Problem, ...]


def read_source(source: Source) -> tuple[bytes, str]:
    """Return the bytes of ``source`` and a name for messages; paths are read from disk."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "<bytes>"
    if isinstance(source, str) and (
        not source.strip() or source.lstrip("\ufeff \t\r\n").startswith("<")
    ):
        return source.encode("utf-8"), "<string>"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return path.read_bytes(), str(path)
    raise TypeError(f"expected bytes, str or a path, not {type(source).__name__}")


class _RefuseLoads(etree.Resolver):
    """Resolve every external reference to nothing: no file or URL is ever read."""

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        return self.resolve_string("", context)


_thread = threading.local()


def _reader() -> etree.XMLParser:
    """This thread's parser of documents (each parse starts its error log anew): lxml
    parsers are not safe to share between threads."""
    parser: etree.XMLParser | None = getattr(_thread, "parser", None)
    if parser is None:
        parser = _thread.parser = _parser()
    return parser


def _parser(schema: etree.XMLSchema | None = None) -> etree.XMLParser:
    # A new parser: lxml parsers are not safe to share between threads, and each keeps its
    # own error log (the global one accumulates across documents).
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        collect_ids=False,
        schema=schema,
    )
    parser.resolvers.add(_RefuseLoads())
    return parser


_CANONICAL_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>'
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


def _not_utf8(data: bytes) -> tuple[int, str] | None:
    """Why ``data`` is not a UTF-8 document (spec §2.5), or None.

    Checked before parsing: in UTF-16 or UTF-32 a ``<!DOCTYPE`` would hide from the byte scan.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        return nul, "document is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)"
    try:
        if not data.isascii():  # ASCII is UTF-8
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, f"document is not valid UTF-8 (byte 0x{data[exc.start]:02x})"
    if data.startswith(_CANONICAL_DECLARATION):
        return None  # what callflow writes
    declared = _DECLARED_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).decode("ascii", "replace").lower() not in ("utf-8", "utf8"):
        name = declared.group(1).decode("ascii", "replace")
        return declared.start(1), f"document declares encoding {name!r}: Opentact XML is UTF-8"
    return None


def _dtd_offset(data: bytes) -> int | None:
    """Where ``data`` declares a DTD (or an entity, in any case), or None.

    A DTD can only stand in the prolog, before the root element, so the scan stops at the
    first thing that is not white space, a comment or a processing instruction: the text
    ``<!DOCTYPE`` in a comment or a CDATA section is not a DTD, and a ``<!DOCTYPE`` after the
    root start tag is not well-formed XML, which the parser refuses. Each step consumes what it
    matched, so the scan is linear even on a prolog of a million comments.
    """
    if b"<!" not in data:
        return None  # no declaration of any kind: the usual document, found in one scan
    offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while (item := _PROLOG_ITEM.match(data, offset)) is not None:
        offset = item.end()
    return offset if _DTD.match(data, offset) else None


def _line_of(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def load(data: bytes, *, max_bytes: int = MAX_BYTES) -> Loaded:
    """Parse ``data`` safely; problems explain why no tree could be built."""
    if len(data) > max_bytes:
        message = f"document is {len(data)} bytes, larger than the limit of {max_bytes} bytes"
        return Loaded(data, None, (Problem(1, 1, "/", message),))
    found = _dtd_offset(data)
    if found is not None:
        line, column = _line_of(data, found)
        message = (
            "DTD declarations are not allowed in Opentact XML "
            "(entities are never expanded or fetched)"
        )
        return Loaded(data, None, (Problem(line, column, "/", message),))
    if not data.strip():
        return Loaded(data, None, (Problem(1, 1, "/", "document is empty"),))
    encoding = _not_utf8(data)
    if encoding is not None:
        line, column = _line_of(data, encoding[0])
        return Loaded(data, None, (Problem(line, column, "/", encoding[1]),))
    parser = _reader()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return Loaded(data, None, _syntax_problems(parser, exc))
    tree = root.getroottree()
    if b"<!" in data and tree.docinfo.doctype:  # without "<!" no DOCTYPE can be written
        message = "DTD declarations are not allowed in Opentact XML"
        return Loaded(data, None, (Problem(1, 1, "/", message),))
    return Loaded(data, tree, ())


_PREFIXED_STEP: Final = 98
"""libxml2 writes ``prefix:name`` path steps into a 100-byte buffer: longer ones are cut."""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def qualified_name(el: etree._Element) -> str:
    """The element's name as the markup writes it (``p:Name``, or ``Name``)."""
    tag = str(el.tag)
    if not tag.startswith("{"):
        return tag
    prefix = el.prefix
    return f"{prefix}:{_local(tag)}" if prefix else _local(tag)


def element_paths(tree: etree._ElementTree) -> dict[etree._Element, str]:
    """Map every element of ``tree`` to its path, exactly as ``tree.getpath`` writes it.

    One pass over the tree: each element's children are numbered together, instead of
    ``getpath`` counting an element's siblings again for each element. The steps follow
    libxml2's ``xmlGetNodePath``: ``Name``, ``Name[i]`` among siblings of that name, ``p:Name``
    for a prefixed name, ``*[i]`` among all siblings for a name in a default namespace.
    """
    root = tree.getroot()
    paths = {root: "/" + _step_name(root)}
    for parent in root.iter(etree.Element):
        if not len(parent):
            continue
        children = list(parent.iterchildren(etree.Element))
        names = [str(child.tag) for child in children]
        base = paths[parent] + "/"
        keys: list[object] = list(names)  # the common case: no namespaces
        if any(name.startswith("{") for name in names):
            keys = [_sibling_key(child) for child in children]
            names = [_step_name(child) for child in children]
        totals: dict[object, int] = {}
        for key in keys:
            totals[key] = totals.get(key, 0) + 1
        if len(totals) == len(keys) and None not in totals:
            paths.update(zip(children, [base + name for name in names], strict=True))
            continue
        seen: dict[object, int] = {}
        for position, (child, key, name) in enumerate(zip(children, keys, names, strict=True), 1):
            if key is None:  # a default namespace: "*", numbered among all element siblings
                index = position if len(children) > 1 else 0
            elif totals[key] > 1:
                index = seen[key] = seen.get(key, 0) + 1
            else:
                index = 0
            paths[child] = f"{base}{name}[{index}]" if index else base + name
    return paths


def _sibling_key(el: etree._Element) -> tuple[str | None, str] | None:
    """Which siblings share a path name with ``el``: same local name and prefix (None for a
    default namespace, whose elements all count)."""
    tag = str(el.tag)
    if not tag.startswith("{"):
        return (None, tag)
    prefix = el.prefix
    return (prefix, _local(tag)) if prefix else None


def _step_name(el: etree._Element) -> str:
    tag = str(el.tag)
    if not tag.startswith("{"):
        return tag
    prefix = el.prefix
    if not prefix:
        return "*"
    step = f"{prefix}:{_local(tag)}".encode()
    return step[:_PREFIXED_STEP].decode("utf-8", "replace")


FEW: Final = 16
"""Up to this many elements asked for, :class:`Places` finds the path and place of each on
its own (``getpath``, a scan up to its start tag); past it, of every element at once."""

_STEP = re.compile(r"/[A-Za-z_][A-Za-z0-9_.-]*(?:\[[0-9]+\])?")
"""A path step XPath reads as ``getpath`` wrote it: a name without a prefix, maybe an index."""


class Places:
    """Paths and start-tag positions of the elements of one parsed document.

    Each is computed once for the whole document, on first use: a valid document with
    nothing to report needs neither. The few elements of a document with a few problems are
    placed one by one, without computing every other element's path and position.
    """

    __slots__ = (
        "_elements",
        "_layout",
        "_layout_read",
        "_paths",
        "_positions",
        "_some",
        "data",
        "tree",
    )

    def __init__(self, tree: etree._ElementTree, data: bytes) -> None:
        self.tree = tree
        self.data = data
        self._paths: dict[etree._Element, str] | None = None
        self._positions: dict[str, tuple[int, int]] | None = None
        self._layout: Layout | None = None
        self._layout_read = False
        self._some: dict[etree._Element, str] = {}
        """The paths of the few elements asked for before :attr:`paths` was computed."""
        self._elements: dict[str, etree._Element] = {}
        """The same, by path."""

    @property
    def paths(self) -> dict[etree._Element, str]:
        """Every element of the tree -> its path (see :func:`element_paths`)."""
        if self._paths is None:
            self._paths = element_paths(self.tree)
        return self._paths

    def path(self, el: etree._Element) -> str:
        """The path of ``el``, as ``tree.getpath`` writes it."""
        paths = self._paths
        if paths is None:
            found = self._some.get(el)
            if found is not None:
                return found
            if len(self._some) < FEW:  # getpath counts siblings: a few times only
                found = self._some[el] = str(self.tree.getpath(el))
                self._elements[found] = el
                return found
            paths = self.paths
        return paths.get(el) or str(self.tree.getpath(el))

    @property
    def layout(self) -> Layout | None:
        """Where each node of the root's subtree is in ``data`` (see :func:`node_layout`)."""
        if not self._layout_read:
            self._layout, self._layout_read = node_layout(self.tree, self.data), True
        return self._layout

    @property
    def positions(self) -> dict[str, tuple[int, int]]:
        """Element path -> where its start tag begins (see :func:`start_positions`)."""
        if self._positions is None:
            self._positions = start_positions(self.tree, self.data, self.paths, self.layout)
        return self._positions

    def position(self, path: str) -> tuple[int, int] | None:
        """Where the start tag of the element at ``path`` begins: (line, column), 1-based."""
        return self.positions.get(path)

    def positions_of(self, paths: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Element path -> where its start tag begins, for ``paths`` at least (those of
        elements: not ``/``). A few are found one by one; more, with every other."""
        if self._positions is not None:
            return self._positions
        wanted = {path for path in paths if path != "/"}
        if len(wanted) > FEW:
            return self.positions
        elements: dict[etree._Element, str] = {}
        for path in wanted:
            el = self._elements.get(path)
            if el is None:
                el = self._find(path)
                if el is None:
                    return self.positions
            elements[el] = path
        offsets = _start_offsets(self.tree, self.data, elements)
        if offsets is None:
            return self.positions
        ordered = sorted(offsets, key=offsets.__getitem__)
        places = _lines_and_columns(self.data, [offsets[el] for el in ordered])
        return {elements[el]: place for el, place in zip(ordered, places, strict=True)}

    def _find(self, path: str) -> etree._Element | None:
        """The element at ``path`` (as getpath writes paths without prefixes), or None."""
        steps = path.split("/")
        if steps[0] or "".join(_STEP.findall(path)) != path:
            return None  # a prefixed name, or "*": the namespaces would be needed
        node: etree._Element | None = self.tree.getroot()
        if node is None or steps[1] != node.tag:
            return None
        for step in steps[2:]:
            name, _, index = step.partition("[")
            children = node.iterchildren(name)
            if index:  # the n-th of that name
                node = next(itertools.islice(children, int(index[:-1]) - 1, None), None)
            else:  # the only one of that name
                node = next(children, None)
                if next(children, None) is not None:
                    return None
            if node is None:
                return None
        return node


_TOKEN = re.compile(
    rb"""<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|</[^>]*>"""
    rb"""|<[^\s/>!?][^\s/>]*(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*/?>""",
    re.DOTALL,
)
"""One piece of markup: a comment, a CDATA section (text, not a node), a processing
instruction, an end tag or a start tag. Text holds no ``<``, attribute values neither, so in a
well-formed document these are found in order, each by its own first terminator."""

_START_TAG_ATTRIBUTES = re.compile(
    rb"""<[^\s/>]+((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*/?>"""
)
_NAMESPACE_DECLARATION = re.compile(rb"""\sxmlns(?::[^\s=]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the nodes of a parsed document are in its bytes, by their index in
    ``tree.getroot().iter()`` (elements, comments and processing instructions)."""

    starts: list[int]
    """The offset where each node begins."""
    ends: list[int]
    """The offset of each element's end tag; -1 for an empty-element tag or another node."""


def node_layout(tree: etree._ElementTree, data: bytes) -> Layout | None:
    """Find every node of ``tree`` in ``data`` in one pass; None if the two disagree."""
    nodes = list(tree.getroot().iter())
    kinds = []
    for node in nodes:
        if isinstance(node.tag, str):
            kinds.append(b"<")
        elif isinstance(node, etree._Comment):
            kinds.append(b"<!-")
        elif isinstance(node, etree._ProcessingInstruction):
            kinds.append(b"<?")
        else:
            return None
    starts: list[int] = []
    ends = [-1] * len(nodes)
    open_elements: list[int] = []
    total = len(nodes)
    for token in _TOKEN.finditer(data):
        begin, finish = token.span()
        head = data[begin : begin + 2]
        if head == b"</":
            if not open_elements:
                return None
            ends[open_elements.pop()] = begin
            if not open_elements:
                break  # the root's end tag
            continue
        if head == b"<!":
            if data[begin + 2 : begin + 3] == b"[":
                continue  # a CDATA section is text
            kind = b"<!-"
        else:
            kind = b"<?" if head == b"<?" else b"<"
        if not starts and kind != b"<":
            continue  # comments and PIs before the root are not in the tree
        if len(starts) == total or kind != kinds[len(starts)]:
            return None
        if kind == b"<" and data[finish - 2 : finish] != b"/>":
            open_elements.append(len(starts))
        starts.append(begin)
    if len(starts) != total or open_elements:
        return None
    return Layout(starts, ends)


_NODE_START = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(?=[^\s/>!?])", re.DOTALL)
"""Where a node of the tree begins in the markup: a comment, a processing instruction or a
start tag; or a CDATA section (text, no node). Attribute values and text hold no ``<``."""


def _start_offsets(
    tree: etree._ElementTree, data: bytes, elements: Iterable[etree._Element]
) -> dict[etree._Element, int] | None:
    """Where the start tag of each of ``elements`` begins in ``data``, reading the tree and
    the markup only as far as the last of them; None if the markup and the tree disagree.

    The n-th node of ``tree.getroot().iter()`` is the n-th comment, processing instruction or
    start tag of the markup after the root's start tag (see :func:`node_layout`).
    """
    wanted = set(elements)
    index: dict[etree._Element, int] = {}
    for position, node in enumerate(tree.getroot().iter()):
        if node in wanted:
            index[node] = position
            if len(index) == len(wanted):
                break
    else:
        return None
    if b"<![CDATA[" in data:  # a CDATA section matches but is no node: read them one by one
        layout = node_layout(tree, data)
        return None if layout is None else {el: layout.starts[i] for el, i in index.items()}
    tokens = _NODE_START.finditer(data)
    for token in tokens:  # the prolog's comments and processing instructions, then the root
        if data[token.start() + 1 : token.start() + 2] not in (b"!", b"?"):
            break
    else:
        return None
    offsets: dict[etree._Element, int] = {}
    at = 0  # the root's index
    for el, i in sorted(index.items(), key=lambda item: item[1]):
        if i > at:
            found = next(itertools.islice(tokens, i - at - 1, None), None)
            if found is None:
                return None
            token, at = found, i
        begin = token.start()
        name = qualified_name(el).encode()
        end = begin + 1 + len(name)
        if data[begin + 1 : end] != name or data[end : end + 1] not in _AFTER_NAME:
            return None  # not this element's start tag
        offsets[el] = begin
    return offsets


_AFTER_NAME: Final = frozenset((b" ", b"\t", b"\n", b"\r", b"/", b">"))


def namespace_declarations(data: bytes, offset: int) -> bytes:
    """The ``xmlns`` attributes written in the start tag at ``offset`` of ``data``."""
    tag = _START_TAG_ATTRIBUTES.match(data, offset)
    return b"".join(_NAMESPACE_DECLARATION.findall(tag.group(1))) if tag else b""


def valid_as_read(data: bytes, schema: etree.XMLSchema) -> bool:
    """Whether ``data``, already read by :func:`load`, is valid against ``schema``.

    libxml2 checks while it parses, without a tree and without writing a path per error:
    linear, a quick answer for a large document before looking for where its problems are.
    """
    try:
        etree.fromstring(data, _parser(schema))
    except etree.XMLSyntaxError:
        return False
    return True


def parse_window(data: bytes) -> etree._Element | None:
    """Parse a document made from parts of one already read by :func:`load`; None if it is
    not well-formed."""
    try:
        return etree.fromstring(data, _reader())
    except etree.XMLSyntaxError:
        return None


def attribute_items(el: etree._Element) -> list[tuple[str, str]]:
    """The attributes of ``el`` as (name, value) pairs in document order, in linear time.

    ``el.attrib.items()`` looks each value up by its name again (libxml2's ``xmlGetNsProp``
    scans the attributes), quadratic in an element of many attributes; XPath reads each once.
    """
    if len(el.attrib) <= 16:
        return [(str(name), str(value)) for name, value in el.attrib.items()]
    values: list[Any] = el.xpath("@*")
    return [(str(value.attrname), str(value)) for value in values]


def start_positions(
    tree: etree._ElementTree,
    data: bytes,
    paths: dict[etree._Element, str] | None = None,
    layout: Layout | None = None,
) -> dict[str, tuple[int, int]]:
    """Map each element path to the (line, column) of its start tag, both 1-based.

    libxml2 records the line where a start tag *ends*; users look for where it begins. The
    n-th start tag of the markup is the n-th element in document order (``layout``: from
    :func:`node_layout`); lines and columns come from one sweep over the offsets.
    """
    if paths is None:
        paths = element_paths(tree)
    if layout is None:
        layout = node_layout(tree, data)
    elements = [node for node in tree.getroot().iter() if isinstance(node.tag, str)]
    if layout is None:  # the markup does not match the tree: never for a parsed document
        return {paths[el]: (el.sourceline or 1, 1) for el in elements}
    starts = [
        offset
        for node, offset in zip(tree.getroot().iter(), layout.starts, strict=True)
        if isinstance(node.tag, str)
    ]
    return dict(zip((paths[el] for el in elements), _lines_and_columns(data, starts), strict=True))


def _lines_and_columns(data: bytes, offsets: list[int]) -> list[tuple[int, int]]:
    """The 1-based (line, column in characters) of each of the ascending byte ``offsets``."""
    ascii_only = data.isascii()
    result = []
    line, line_start, last, column = 1, 0, 0, 0
    for offset in offsets:
        breaks = data.count(b"\n", last, offset)
        if breaks:
            line += breaks
            line_start = data.rfind(b"\n", last, offset) + 1
            last, column = line_start, 0
        if ascii_only:
            column = offset - line_start
        else:
            column += len(data[last:offset].decode("utf-8", "replace"))
        last = offset
        result.append((line, column + 1))
    return result


def _syntax_problems(parser: etree.XMLParser, exc: etree.XMLSyntaxError) -> tuple[Problem, ...]:
    problems = []
    for entry in parser.error_log:
        problems.append(Problem(entry.line, entry.column, "/", _clean(entry.message)))
    if not problems:
        line, column = exc.position
        problems.append(Problem(line, column, "/", _clean(str(exc.msg))))
    return tuple(problems)


def _clean(message: str) -> str:
    return message.strip().rstrip(".")
