"""The documents a console call fetches, as its page shows them: the XML as it came (the
simulator hands each one over as it arrives, ``on_document``), secrets redacted, with its
validation problems and lint findings.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final
from urllib.parse import urlsplit

from callflow.dialect.linting import lint
from callflow.dialect.validation import validate
from callflow.server.app import App
from callflow.simulator.trace import FetchedDocument
from callflow.simulator.transport import REDACTED

MAX_SHOWN_CHARS: Final = 200_000
"""Longest XML text sent to the page; past it the text is cut (and says so)."""


def redacter(names: Collection[str], values: Collection[str]) -> re.Pattern[str] | None:
    """A pattern that finds the secrets in a document's text: the value of each query
    parameter of ``names`` (after ``?``, ``&`` or ``&amp;``), and each of ``values`` anywhere.
    None when there is nothing to hide."""
    alternatives = []
    if names:
        listed = "|".join(re.escape(name) for name in sorted(names))
        alternatives.append(rf"(?P<name>(?<=[?&;])(?:{listed})=)[^&\"'<>\s#]*")
    alternatives.extend(re.escape(v) for v in sorted(values, key=len, reverse=True) if v)
    return re.compile("|".join(alternatives)) if alternatives else None


def redact_text(text: str, pattern: re.Pattern[str] | None) -> str:
    """``text`` with the secrets ``pattern`` finds (see :func:`redacter`) replaced."""
    if pattern is None:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group("name") if "name" in match.re.groupindex else None
        return f"{name}{REDACTED}" if name else REDACTED

    return pattern.sub(replace, text)


def document_event(
    fetched: FetchedDocument, app: App, pattern: re.Pattern[str] | None
) -> dict[str, Any]:
    """What the page shows of a document the call fetched: its URL and path, the flow that
    serves the path, the XML text with secrets redacted, and its validation problems and lint
    findings."""
    path = urlsplit(fetched.url).path or "/"
    text = fetched.body.decode("utf-8", errors="replace")
    truncated = len(text) > MAX_SHOWN_CHARS or fetched.too_large
    problems = [] if fetched.too_large else validate(fetched.body)
    findings = [] if fetched.too_large or problems else lint(fetched.body)
    return {
        "kind": "document",
        "url": fetched.url,
        "path": path,
        "flow": flow_name(app, path),
        "purpose": fetched.purpose,
        "status": fetched.status,
        "xml": redact_text(text[:MAX_SHOWN_CHARS], pattern),
        "truncated": truncated,
        "problems": [problem.to_dict() for problem in problems],
        "findings": [finding.to_dict() for finding in findings],
    }


def flow_name(app: App, path: str) -> str | None:
    """The name of the App's flow at ``path``, or None (a hosted document, or no flow)."""
    return next((flow.name for flow in app.flows if flow.path == path), None)
