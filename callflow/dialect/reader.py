"""Reading untrusted XML: bounded size, no DTD, no entity expansion, no network.

Documents come from users' files, templates and remote servers. A DTD has no place in Opentact
XML, so a ``<!DOCTYPE`` in the prolog is refused before libxml2 sees it: an entity bomb or an
external entity is reported as a problem in microseconds, never expanded or fetched.

Everything here runs in time linear in the document: element paths and start-tag positions
are computed in one pass (``getpath`` per element counts its siblings, which is quadratic
in a document of many siblings).
"""

from __future__ import annotations

import os
import re
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


def _parser(schema: etree.XMLSchema | None = None) -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share between threads, and each
    # keeps its own error log (the global one accumulates across documents).
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


_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


def _not_utf8(data: bytes) -> tuple[int, str] | None:
    """Why ``data`` is not a UTF-8 document (spec §2.5), or None.

    Checked before parsing: in UTF-16 or UTF-32 a ``<!DOCTYPE`` would hide from the byte scan.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        return nul, "document is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, f"document is not valid UTF-8 (byte 0x{data[exc.start]:02x})"
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
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return Loaded(data, None, _syntax_problems(parser, exc))
    tree = root.getroottree()
    if tree.docinfo.doctype:
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


class Places:
    """Paths and start-tag positions of the elements of one parsed document.

    Each is computed once for the whole document, on first use: a valid document with
    nothing to report needs neither.
    """

    __slots__ = ("_layout", "_layout_read", "_paths", "_positions", "data", "tree")

    def __init__(self, tree: etree._ElementTree, data: bytes) -> None:
        self.tree = tree
        self.data = data
        self._paths: dict[etree._Element, str] | None = None
        self._positions: dict[str, tuple[int, int]] | None = None
        self._layout: Layout | None = None
        self._layout_read = False

    @property
    def paths(self) -> dict[etree._Element, str]:
        """Every element of the tree -> its path (see :func:`element_paths`)."""
        if self._paths is None:
            self._paths = element_paths(self.tree)
        return self._paths

    def path(self, el: etree._Element) -> str:
        """The path of ``el``, as ``tree.getpath`` writes it."""
        paths = self._paths if self._paths is not None else self.paths
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
        return etree.fromstring(data, _parser())
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
