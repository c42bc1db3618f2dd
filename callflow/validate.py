"""Validate Opentact XML offline: the shipped XSD plus the spec rules XSD cannot express.

Every problem is reported with line, column and element path; an invalid document never
raises. Use :func:`assert_valid` in tests to raise :class:`SchemaValidationError` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .builder import Builder
from .document import Response
from .exceptions import SchemaValidationError
from .problems import Problem
from .render import render
from .safexml import MAX_BYTES, Source, load, read_source, start_positions
from .schema import xml_schema


@dataclass(frozen=True, slots=True)
class Checked:
    """Everything one validation found: problems, the document (None when invalid), the
    source's name, its bytes and parsed tree (for tools such as lint that read both)."""

    problems: list[Problem]
    document: Response | None
    name: str
    data: bytes
    tree: etree._ElementTree | None


def examine(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> Checked:
    """Read, parse, validate and build ``source`` once."""
    if isinstance(source, Response):
        data, name = render(source), "<Response>"
    else:
        data, name = read_source(source)
    loaded = load(data, max_bytes=max_bytes)
    if loaded.tree is None:
        return Checked(list(loaded.problems), None, name, data, None)
    problems = _schema_errors(loaded.tree, strict)
    builder = Builder(loaded.tree, strict=strict, flagged={p.path for p in problems})
    doc = builder.build_document()
    problems.extend(builder.problems)
    if problems:
        problems = _placed(problems, loaded.tree, data)
    return Checked(problems, doc if not problems else None, name, data, loaded.tree)


def check(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> tuple[list[Problem], Response | None, str]:
    """Validate ``source`` and build it; return (problems, document or None, source name)."""
    checked = examine(source, strict=strict, max_bytes=max_bytes)
    return checked.problems, checked.document, checked.name


def _schema_errors(tree: etree._ElementTree, strict: bool) -> list[Problem]:
    schema = xml_schema("strict" if strict else "compat")
    if schema.validate(tree):
        return []
    return [
        Problem(entry.line, entry.column, entry.path or "/", entry.message.strip().rstrip("."))
        for entry in schema.error_log
    ]


def schema_problems(data: bytes, *, strict: bool = False) -> list[Problem]:
    """Check ``data`` against the XSD only, without the DSL rules.

    For documents rendered from DSL trees, whose constructors already enforced every rule
    beyond the schema: this is the cheap check the server runs on outgoing documents.
    """
    loaded = load(data)
    if loaded.tree is None:
        return list(loaded.problems)
    problems = _schema_errors(loaded.tree, strict)
    return _placed(problems, loaded.tree, data) if problems else []


def validate(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> list[Problem]:
    """Return every problem of ``source`` (bytes, XML text, a path, or a ``Response``).

    ``strict=True`` accepts the canonical form only. An empty list means valid.

    >>> validate(b"<Response><Hangup/></Response>")
    []
    >>> [p.message for p in validate(b"<Response><Gather><Hangup/></Gather></Response>")]
    ["Element 'Hangup': This element is not expected. Expected is one of ( Say, ... )"]
    """
    return check(source, strict=strict, max_bytes=max_bytes)[0]


def assert_valid(
    source: Source | Response, *, strict: bool = False, max_bytes: int = MAX_BYTES
) -> None:
    """Raise :class:`SchemaValidationError` carrying every problem when ``source`` is invalid."""
    problems, _, name = check(source, strict=strict, max_bytes=max_bytes)
    if problems:
        raise SchemaValidationError(problems, source=name)


def _placed(problems: list[Problem], tree: etree._ElementTree, data: bytes) -> list[Problem]:
    """Give each problem about an element the line and column where its start tag begins."""
    positions = start_positions(tree, data)
    placed = []
    for problem in problems:
        position = positions.get(problem.path)
        if position is not None:
            problem = Problem(position[0], position[1], problem.path, problem.message)
        placed.append(problem)
    return sorted(placed)
