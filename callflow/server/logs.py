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
from collections import deque
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# C0 controls, DEL and C1 controls: never written raw to a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
CONTROL = _CONTROL
"""What :func:`printable` escapes (C0, DEL, C1): its ``search`` tells whether it would."""

ACCESS_FIELDS = ("method", "path", "status", "call", "flow", "client", "duration_ms")
"""Fields of an access-log record (also its ``extra`` attributes, and JSON keys)."""
ACCESS_MESSAGE = "method=%s path=%s status=%d call=%s flow=%s client=%s duration_ms=%.1f"
"""The message of an access-log record, with the fields of :data:`ACCESS_FIELDS`."""
ACCESS_LOGGER = "callflow.access"


_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")
# What a JSON string must escape (json.dumps: quote, backslash, C0) or callflow escapes too.
_JSON_SPECIAL = re.compile('[\x00-\x1f"\\\\\x7f-\x9f\u2028\u2029]')


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

    def access_line(self, created: float, fields: AccessFields) -> str:
        """The line :meth:`format` writes for an access record made at ``created`` with
        ``fields`` (values escaped already but ``flow``), without making the record."""
        method, path, status, call, flow, client, elapsed = fields
        second = int(created)
        cached_second, text = self._cached
        if second != cached_second:
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._cached = (second, text)
        if flow.isprintable() is False:  # a flow name is registered text: mostly plain
            flow = printable(flow)
        return (
            f"{text},{_MSECS[int((created - second) * 1000)]} INFO {ACCESS_LOGGER} "
            f"method={method} path={path} status={status} call={call} flow={flow} "
            f"client={client} duration_ms={elapsed:.1f}"
        )


class JSONFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the access
    fields when the record has them, and ``exception`` for a traceback.

    JSON escapes control characters itself, so a record stays one line whatever it quotes.
    """

    _cached = (-1, "")  # (second, its text), as Formatter keeps it

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

    def access_line(self, created: float, fields: AccessFields) -> str:
        """The line :meth:`format` writes for an access record made at ``created`` with
        ``fields``, without making the record or the dict it dumps."""
        method, path, status, call, flow, client, elapsed = fields
        second = int(created)
        cached_second, stamp = self._cached
        if second != cached_second:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached = (second, stamp)
        msecs = _MSECS[int((created - second) * 1000)]
        message = (
            f"method={method} path={path} status={status} call={call} flow={flow} "
            f"client={client} duration_ms={elapsed:.1f}"
        )
        if _JSON_SPECIAL.search(message) is None:
            # The common line: nothing to escape, so every value is written quoted as it is
            # (the very text json.dumps writes for it).
            return (
                f'{{"time": "{stamp}.{msecs}Z", {_JSON_HEAD}"message": "{message}", '
                f'"method": "{method}", "path": "{path}", "status": {status}, '
                f'"call": "{call}", "flow": "{flow}", "client": "{client}", '
                f'"duration_ms": {round(elapsed, 3)!r}}}'
            )
        text = (
            f'{{"time": "{stamp}.{msecs}Z", {_JSON_HEAD}'
            f'"message": {_string(message)}, "method": {_string(method)}, '
            f'"path": {_string(path)}, "status": {status}, "call": {_string(call)}, '
            f'"flow": {_string(flow)}, "client": {_string(client)}, '
            f'"duration_ms": {round(elapsed, 3)!r}}}'
        )
        return _RAW_IN_JSON.sub(_json_escape, text)


_MSECS = tuple(f"{n:03d}" for n in range(1000))
_JSON_HEAD = f'"level": "INFO", "logger": "{ACCESS_LOGGER}", '
AccessFields = tuple[str, str, int, str, str, str, float]
"""method, path, status, call, flow, client and duration in ms of an access line."""
_string: Any = json.encoder.encode_basestring
"""A str as a JSON string, as ``json.dumps(ensure_ascii=False)`` writes it (C speed)."""


class BatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A ``StreamHandler`` that writes lines at once but flushes at most every
    ``interval`` seconds (and at warnings). Over a stream that keeps what is written until
    it is flushed (:class:`LineChunks`, which :func:`handler` gives it), the access lines
    (:meth:`access`, :meth:`write_line`) cost one system call per batch, not one per
    request, and :meth:`access` formats them a batch at a time; any other record goes out
    at once, with the lines before it.

    A daemon thread flushes what is left, so no line waits longer than ``interval``.
    """

    def __init__(self, interval: float = 0.2) -> None:
        super().__init__()
        self.interval = interval
        self._pending = False
        self._lines: deque[tuple[Formatter | JSONFormatter, float, AccessFields]] = deque()
        """Access lines taken by :meth:`access`, not formatted yet."""
        self._stopped = threading.Event()
        self._timer = threading.Thread(target=self._flush_forever, daemon=True)
        self._timer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.stream
            if self._lines:
                self._write_lines()
            stream.write(self.format(record) + self.terminator)
            if record.levelno >= logging.WARNING:
                self.flush()
            else:
                if isinstance(stream, LineChunks):
                    # Records are few (the access lines come through write_line): each goes
                    # out at once, with the lines before it. A server that ends by its
                    # signal (uvicorn raises it again after shutting down) runs no exit
                    # handler, so its last lines must not wait for a flush.
                    stream.send()
                self._pending = True
        except Exception:
            self.handleError(record)

    def write_line(self, line: str, level: int = logging.INFO) -> None:
        """Write one pre-formatted line as :meth:`emit` writes a record's (under the
        handler's lock, as ``Handler.handle`` takes it), without making the record."""
        with self.lock:  # type: ignore[union-attr]
            try:
                if self._lines:
                    self._write_lines()
                self.stream.write(line + self.terminator)
                if level >= logging.WARNING:
                    self.flush()
                else:
                    self._pending = True
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": line, "levelno": level}))

    def access(
        self, formatter: Formatter | JSONFormatter, created: float, fields: AccessFields
    ) -> None:
        """Take the access line of ``fields`` (made at ``created``, as
        :meth:`Formatter.access_line` takes them) at INFO, as :meth:`write_line` would write
        ``formatter.access_line(created, fields)``.

        Over :class:`LineChunks` (``callflow serve``) the line is formatted with its batch:
        when :data:`ACCESS_BATCH` lines are waiting, before any other record or line, and at
        each flush (so within ``interval``). Formatting a batch of lines in one go costs less
        per line than a line at a time between the requests' other work. Over any other
        stream the line is written at once.
        """
        if type(self.stream) is not LineChunks:
            self.write_line(formatter.access_line(created, fields))
            return
        lines = self._lines
        lines.append((formatter, created, fields))  # deque: safe with a flush taking lines
        if len(lines) >= ACCESS_BATCH:
            with self.lock:  # type: ignore[union-attr]
                try:
                    self._write_lines()
                except Exception:
                    self.handleError(logging.makeLogRecord({"msg": "access lines"}))
        self._pending = True

    def _write_lines(self) -> None:
        """Format and write the access lines waiting (under the handler's lock)."""
        take, write, terminator = self._lines.popleft, self.stream.write, self.terminator
        for _ in range(len(self._lines)):  # lines taken meanwhile wait for the next batch
            formatter, created, fields = take()
            write(formatter.access_line(created, fields) + terminator)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._lines:
                self._write_lines()
            self._pending = False
            super().flush()

    def _flush_forever(self) -> None:
        while not self._stopped.wait(self.interval):
            if self._pending:
                self.flush()

    def close(self) -> None:
        """Flush, and stop the flushing thread (``dictConfig`` closes the handlers it
        replaces: ``callflow serve`` configures logging before uvicorn configures it again)."""
        self.flush()
        self._stopped.set()
        super().close()


ACCESS_BATCH = 32
"""Access lines :meth:`BatchingHandler.access` keeps before formatting them in one go."""

Sink = tuple["BatchingHandler", "Formatter | JSONFormatter"]
"""A handler that takes pre-formatted access lines, and the formatter that writes them."""


def access_sinks(logger: logging.Logger) -> list[Sink] | None:
    """The handlers an INFO record of ``logger`` would reach, when every one of them is a
    :class:`BatchingHandler` writing with callflow's own :class:`Formatter` or
    :class:`JSONFormatter` and nothing filters on the way: those can take a pre-formatted
    line (:meth:`BatchingHandler.write_line`, :meth:`Formatter.access_line`). None when
    anything else would see the record (a test's capture, an application's own handler):
    then it must be made and handled as usual.
    """
    sinks: list[Sink] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        for handler in current.handlers:
            if handler.level > logging.INFO:
                continue
            formatter = handler.formatter
            if type(handler) is not BatchingHandler or handler.filters:
                return None
            kind = type(formatter)
            if kind is JSONFormatter or (kind is Formatter and formatter._fmt == FORMAT):  # type: ignore[union-attr]
                sinks.append((handler, formatter))  # type: ignore[arg-type]
            else:
                return None
        current = current.parent if current.propagate else None
    return sinks or None


PIPE_BUF = 4096
"""Bytes a write to a pipe is atomic up to (POSIX's least): the most :class:`LineChunks`
writes at once, so lines of several worker processes sharing stderr never interleave."""


class LineChunks:
    """A text stream over ``target`` (stderr) that keeps what is written until it is
    flushed or sent or a chunk is full, then writes it in whole lines, at most
    :data:`PIPE_BUF` bytes per write.

    ``sys.stderr`` writes through: each line written to it is a system call of its own.
    Through this stream a batch of lines is one call (a line longer than a chunk is written
    alone). Callers serialise writes and flushes (a handler's lock).
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.encoding: str = getattr(target, "encoding", None) or "utf-8"
        self.name = getattr(target, "name", "")
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        """Keep ``text`` (whole lines) for the next chunk."""
        ascii_only = text.isascii()
        size = len(text) if ascii_only else len(text.encode(self.encoding, "backslashreplace"))
        if self._parts and self._size + size > PIPE_BUF:
            self._write_out()
        self._parts.append(text)
        self._size += size
        if self._size >= PIPE_BUF:
            self._write_out()
        return len(text)

    def flush(self) -> None:
        """Write what is kept, and flush ``target``."""
        self.send()
        self.target.flush()

    def send(self) -> None:
        """Write what is kept to ``target`` now."""
        if self._parts:
            self._write_out()

    def _write_out(self) -> None:
        chunk = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        self.target.write(chunk)


def handler(log_format: str = "text") -> logging.Handler:
    """The handler ``callflow serve`` logs through: stderr, batched writes and flushes, one
    line per record as text or JSON. A ``logging.config`` factory (``"()"``), so uvicorn's
    worker processes build the same one."""
    # Records skip the thread and process fields no line uses.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    made = BatchingHandler()
    made.setStream(LineChunks(made.stream))
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
