"""The logging set-up of ``callflow serve``."""

from __future__ import annotations

import io
import logging
import time

from callflow.server.logs import BatchingHandler, Formatter


def record(
    message: str, level: int = logging.INFO, created: float | None = None
) -> logging.LogRecord:
    made = logging.LogRecord("callflow.access", level, __file__, 1, message, (), None)
    if created is not None:
        made.created = created
        made.msecs = (created - int(created)) * 1000
    return made


def test_the_time_is_formatted_like_logging_does() -> None:
    ours, standard = (
        Formatter(),
        logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"),
    )
    for created in (1_764_460_800.0, 1_764_460_800.123, 1_764_460_801.999):
        assert ours.format(record("x", created=created)) == standard.format(
            record("x", created=created)
        )


def watched(interval: float) -> tuple[BatchingHandler, io.StringIO, list[str]]:
    """A handler writing to a string, recording what each flush saw."""
    stream = io.StringIO()
    flushed: list[str] = []

    class Watched(BatchingHandler):
        def flush(self) -> None:
            flushed.append(stream.getvalue())
            super().flush()

    handler = Watched(interval=interval)
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    flushed.clear()  # setStream flushed the old stream
    return handler, stream, flushed


def test_lines_are_written_at_once_and_warnings_flushed_at_once() -> None:
    handler, stream, flushed = watched(interval=3600)
    handler.handle(record("one"))
    assert stream.getvalue() == "one\n"
    assert flushed == []  # written, not flushed yet
    handler.handle(record("careful", logging.WARNING))
    assert flushed == ["one\ncareful\n"]


def test_pending_lines_are_flushed_within_the_interval() -> None:
    handler, _, flushed = watched(interval=0.02)
    handler.handle(record("two"))
    deadline = time.monotonic() + 10
    while not flushed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flushed == ["two\n"]
