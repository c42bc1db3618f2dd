"""Logging set-up for ``callflow serve``: one line per record, cheap enough per request.

Every value a caller controls (a path, a query value, a call uuid, a header) may hold control
characters; written raw, ``%0a`` would forge a whole log line and ``%1b[2J`` would reach the
terminal. :func:`printable` escapes them, the server applies it to what it logs, and the
formatters here apply it again to every message, so no record spans two lines.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import threading
import time
import traceback
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# C0 controls, DEL and C1 controls: never written raw to a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

ACCESS_FIELDS = ("method", "path", "status", "call", "flow", "client", "duration_ms")
"""Fields of an access-log record (also its ``extra`` attributes, and JSON keys)."""


_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    r"""Return ``text`` with control characters (C0, DEL, C1) escaped as ``\xNN``.

    >>> printable("/menu\n200 forged\x1b[2J")
    '/menu\\x0a200 forged\\x1b[2J'
    """
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape, text)


def _exception_text(exc_info: Any) -> str:
    """The traceback of ``exc_info``. Exception messages (which may quote input: of the
    exception, its causes, contexts and notes) are escaped; stack lines are kept."""
    kind, value, tb = exc_info
    chunks = traceback.TracebackException(kind, value, tb).format()
    return "".join(chunk if chunk.startswith(_STRUCTURE) else _message(chunk) for chunk in chunks)


# What a traceback prints around exception messages: frames, headers, chain separators.
_STRUCTURE = (
    "Traceback (most recent call last):",
    "  File ",
    "  [Previous line repeated",
    "\nThe above exception was the direct cause",
    "\nDuring handling of the above exception",
)


def _message(chunk: str) -> str:
    ending = "\n" if chunk.endswith("\n") else ""
    return printable(chunk.removesuffix("\n")) + ending


class Formatter(logging.Formatter):
    """``logging.Formatter`` whose ``asctime`` is computed once per second, not per record.

    The access log writes a line per request; ``time.strftime`` was a third of its cost.
    """

    def __init__(self, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self._cached = (-1, "")  # (second, its text): replaced whole, so threads agree

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        cached_second, text = self._cached
        if second != cached_second:
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._cached = (second, text)
        return f"{text},{int(record.msecs):03d}"

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return _exception_text(ei).rstrip("\n")


class JSONFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the access
    fields when the record has them, and ``exception`` for a traceback.

    JSON escapes control characters itself, so a record stays one line whatever it quotes.
    """

    def format(self, record: logging.LogRecord) -> str:
        created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{created}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ACCESS_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = _exception_text(record.exc_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        # json leaves DEL and C1 controls raw (only C0 must be escaped): escape them too.
        return _RAW_IN_JSON.sub(_json_escape, text)


class BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` that writes lines at once but flushes at most every
    ``interval`` seconds (and at warnings): one system call per batch, not per request.

    A daemon thread flushes what is left, so no line waits longer than ``interval``.
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__()
        self.interval = interval
        self._pending = False
        self._timer = threading.Thread(target=self._flush_forever, daemon=True)
        self._timer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING:
                self.flush()
            else:
                self._pending = True
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        self._pending = False
        super().flush()

    def _flush_forever(self) -> None:
        while True:
            time.sleep(self.interval)
            if self._pending:
                self.flush()


def handler(log_format: str = "text") -> logging.Handler:
    """The handler ``callflow serve`` logs through: stderr, batched flushes, one line per
    record as text or JSON. A ``logging.config`` factory (``"()"``), so uvicorn's worker
    processes build the same one."""
    # Records skip the thread and process fields no line uses.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    made = BatchingHandler()
    made.setFormatter(JSONFormatter() if log_format == "json" else Formatter())
    return made


def logging_config(level: int, log_format: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: every record at ``level`` or above to stderr.

    ``callflow serve`` hands it to uvicorn as ``log_config``: uvicorn applies it in the
    parent and again in each worker process (``--workers``, ``--reload``), so every worker
    logs exactly as one worker does.
    """
    name = logging.getLevelName(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"callflow": {"()": f"{__name__}.handler", "log_format": log_format}},
        "root": {"handlers": ["callflow"], "level": name},
        # uvicorn's loggers propagate to the root handler; its access log stays off.
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": name},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": name},
        },
    }


def configure(level: int, log_format: str = "text") -> None:
    """Send every record at ``level`` or above to stderr, one line each, as text or JSON."""
    logging.config.dictConfig(logging_config(level, log_format))
