"""What ``callflow simulate`` prints: one line per event, coloured on a terminal, long URLs
shortened in interactive mode (the full ones are in ``--json``)."""

from __future__ import annotations

import os
import re
from typing import TextIO
from urllib.parse import urlsplit

from callflow.simulator.trace import HangupEvent, TraceEvent

URL_WIDTH = 60
"""Interactive output shortens longer URLs (the full ones are in ``--json``)."""

_URL = re.compile(r"https?://[^\s]+")
_STYLES = {
    "answer": "32",  # green
    "filter": "34",  # blue
    "say": "1",  # what the caller hears: bold
    "play": "1",
    "gather": "36",  # cyan
    "dial": "35",  # magenta
    "request": "2",  # dim
    "callback": "2",
    "error": "31",  # red
    "fetch-failed": "31",
    "fallback": "1;31",
    "warning": "33",  # yellow
}


def colour_wanted(stream: TextIO) -> bool:
    """Whether to colour ``stream``: a terminal, and neither ``NO_COLOR`` nor ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def shorten_url(url: str, width: int = URL_WIDTH) -> str:
    """``url`` in at most ``width`` characters: the query is cut first, then the middle of
    the path, keeping the origin and the path's end (a file name, say).

    >>> shorten_url("https://media.example.com/prompts/en/welcome.wav?sig=0123456789", 45)
    'https://media.example.com...n/welcome.wav?...'
    """
    if len(url) <= width:
        return url
    base, mark, _ = url.partition("?")
    if len(base) + 4 <= width:  # the whole path and what fits of the query
        return url[: width - 3] + "..."
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    room = width - len(origin) - 3 - (4 if mark else 0)
    if room < 8:  # a long host: no room for a useful end of the path
        return url[: width - 3] + "..."
    return origin + "..." + base[-room:] + ("?..." if mark else "")


class Output:
    """Lines of the transcript on ``out``: coloured on a terminal, URLs shortened on demand."""

    def __init__(self, out: TextIO, *, colour: bool, short_urls: bool) -> None:
        self.out = out
        self.colour = colour
        self.short_urls = short_urls

    def paint(self, text: str, style: str | None) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if self.colour and style else text

    def event(self, event: TraceEvent, *, failed: bool = False) -> str:
        """One event's line; a Hangup is green, or red when the call ``failed``."""
        text = event.describe()
        if self.short_urls:
            text = _URL.sub(lambda match: shorten_url(match.group()), text)
        style = _STYLES.get(event.type)
        if isinstance(event, HangupEvent):
            normal = event.ended_by in ("hangup", "end-of-document", "caller") and not failed
            style = "1;32" if normal else "1;31"
        return self.paint(text, style)

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
