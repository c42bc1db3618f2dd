"""The documents a console call fetches, as its page shows them: the XML as it came, secrets
redacted, with its validation problems and lint findings.

The simulator checks each document it fetches but keeps only the parsed tree; the console
wants the bytes too, so its calls go through a :class:`RecordingTransport`, which remembers
the last reply before the simulator traces the request.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final
from urllib.parse import urlsplit

from callflow.dialect.linting import lint
from callflow.dialect.validation import validate
from callflow.server.app import App
from callflow.simulator.trace import RequestEvent
from callflow.simulator.transport import REDACTED, Reply, Transport

MAX_SHOWN_CHARS: Final = 200_000
"""Longest XML text sent to the page; past it the text is cut (and says so)."""
DOCUMENT_PURPOSES: Final = frozenset(("webhook", "gather", "gather-callback", "callback"))
"""Requests whose reply is a document (a ``curl`` reply is not)."""


class RecordingTransport(Transport):
    """A :class:`Transport` that keeps the last reply of a traced request (a document or a
    Curl), for the console to show what the simulator fetched. Events posted to the App's
    event webhook are not traced, so they are not kept."""

    def __init__(self, target: object, *, auth: tuple[str, str] | None = None) -> None:
        super().__init__(target, auth=auth)
        self.last: Reply | None = None
        app = self.app
        self._events_path = app.settings.events_path if app is not None else None

    def request(self, method: str, url: str, *args: Any, **options: Any) -> Reply:
        reply = super().request(method, url, *args, **options)
        if urlsplit(url).path != self._events_path:
            self.last = reply
        return reply

    def take(self) -> Reply | None:
        """Return the last reply kept, and forget it."""
        reply, self.last = self.last, None
        return reply


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
    event: RequestEvent, reply: Reply | None, app: App, pattern: re.Pattern[str] | None
) -> dict[str, Any] | None:
    """What the page shows of the document ``event`` fetched (None for a Curl request or a
    request that got no reply): its URL and path, the flow that serves the path, the XML
    text with secrets redacted, and its validation problems and lint findings."""
    if event.purpose not in DOCUMENT_PURPOSES or reply is None or reply.status is None:
        return None
    path = urlsplit(event.url).path or "/"
    text = reply.body.decode("utf-8", errors="replace")
    truncated = len(text) > MAX_SHOWN_CHARS or reply.too_large
    problems = [] if reply.too_large else validate(reply.body)
    findings = [] if reply.too_large or problems else lint(reply.body)
    return {
        "kind": "document",
        "url": event.url,
        "path": path,
        "flow": flow_name(app, path),
        "purpose": event.purpose,
        "status": reply.status,
        "xml": redact_text(text[:MAX_SHOWN_CHARS], pattern),
        "truncated": truncated,
        "problems": [problem.to_dict() for problem in problems],
        "findings": [finding.to_dict() for finding in findings],
    }


def flow_name(app: App, path: str) -> str | None:
    """The name of the App's flow at ``path``, or None (a hosted document, or no flow)."""
    return next((flow.name for flow in app.flows if flow.path == path), None)
