"""Logging set-up for ``callflow serve``: one line per record, cheap enough per request."""

from __future__ import annotations

import logging
import threading
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


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


def configure(level: int) -> None:
    """Send every record at ``level`` or above to stderr, one line each.

    The process is ``callflow serve``'s, so its logging is ours to set: records skip the
    thread and process fields no line uses.
    """
    handler = BatchingHandler()
    handler.setFormatter(Formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
