"""Reading untrusted XML: bounded size, no DTD, no entity expansion, no network.

Documents come from users' files, templates and remote servers. A DTD has no place in Opentact
XML, so any ``<!DOCTYPE`` is refused before libxml2 sees it: an entity bomb or an external
entity is reported as a problem in microseconds, never expanded or fetched.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lxml import etree

from .problems import Problem

MAX_BYTES: Final = 1_048_576
"""Default largest document accepted (1 MiB); real call flows are a few kilobytes."""

Source = bytes | str | os.PathLike[str]
"""A document: bytes, XML text, or a path (a ``str`` not starting with ``<`` is a path)."""

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)


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


def _parser() -> etree.XMLParser:
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


def _line_of(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def load(data: bytes, *, max_bytes: int = MAX_BYTES) -> Loaded:
    """Parse ``data`` safely; problems explain why no tree could be built."""
    if len(data) > max_bytes:
        message = f"document is {len(data)} bytes, larger than the limit of {max_bytes} bytes"
        return Loaded(data, None, (Problem(1, 1, "/", message),))
    found = _DOCTYPE.search(data)
    if found is not None:
        line, column = _line_of(data, found.start())
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


_NOT_MARKUP = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)


def _blank(match: re.Match[bytes]) -> bytes:
    # Keep line breaks and lengths so offsets stay true; hide any "<Tag" inside.
    return re.sub(rb"[^\n]", b" ", match.group())


def start_positions(tree: etree._ElementTree, data: bytes) -> dict[str, tuple[int, int]]:
    """Map each element path to the (line, column) of its start tag, both 1-based.

    libxml2 records the line where a start tag *ends*; users look for where it begins. The
    n-th element named T in document order is the n-th ``<T`` in the markup.
    """
    markup = _NOT_MARKUP.sub(_blank, data)
    found: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    result: dict[str, tuple[int, int]] = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        if tag not in found:
            pattern = re.compile(rb"<" + re.escape(tag.encode()) + rb"(?=[\s/>])")
            found[tag] = [m.start() for m in pattern.finditer(markup)]
        index = seen.get(tag, 0)
        seen[tag] = index + 1
        offsets = found[tag]
        if index < len(offsets):
            offset = offsets[index]
            line_start = data.rfind(b"\n", 0, offset) + 1
            column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
            result[tree.getpath(el)] = (data.count(b"\n", 0, offset) + 1, column)
        else:
            result[tree.getpath(el)] = (el.sourceline or 1, 1)
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
