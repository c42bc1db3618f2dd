"""The logging set-up of ``callflow serve``."""

from __future__ import annotations

import io
import logging
import time

from callflow.server.logs import (
    ACCESS_BATCH,
    PIPE_BUF,
    BatchingHandler,
    Formatter,
    JSONFormatter,
    LineChunks,
    handler,
)


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


class Writes(io.StringIO):
    """A target that records each write it gets (each a system call on stderr)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_serve_handler_batches_lines_into_whole_line_chunks() -> None:
    target = Writes()
    chunks = LineChunks(target)
    line = "x" * 99 + "\n"  # 100 bytes
    for _ in range(100):
        chunks.write(line)
    assert all(len(w.encode()) <= PIPE_BUF and w.endswith("\n") for w in target.writes)
    assert len(target.writes) == 10_000 // PIPE_BUF  # full chunks only, so far
    chunks.flush()
    assert target.getvalue() == line * 100
    assert all(len(w) % len(line) == 0 for w in target.writes)  # never a line cut


def test_serve_handler_counts_bytes_of_non_ascii_lines() -> None:
    target = Writes()
    chunks = LineChunks(target)
    wide = "\u65e5" * 1000 + "\n"  # 3001 bytes in UTF-8
    chunks.write(wide)
    chunks.write(wide)
    chunks.flush()
    assert target.writes == [wide, wide]


def test_serve_handler_writes_a_line_longer_than_a_chunk_alone() -> None:
    target = Writes()
    chunks = LineChunks(target)
    chunks.write("short\n")
    chunks.write("y" * (PIPE_BUF * 2) + "\n")
    chunks.flush()
    assert target.writes == ["short\n", "y" * (PIPE_BUF * 2) + "\n"]


def test_the_serve_handler_keeps_access_lines_until_a_warning_flushes_them() -> None:
    made = handler("text")
    assert isinstance(made, BatchingHandler) and isinstance(made.stream, LineChunks)
    target = Writes()
    made.setStream(LineChunks(target))
    made.write_line("access one")
    assert target.writes == []  # kept for the batch
    made.handle(record("careful", logging.WARNING))
    (written,) = target.writes  # the warning flushed both lines, in one write
    first, second = written.splitlines()
    assert first == "access one"
    assert second.endswith(" WARNING callflow.access careful")


def test_a_record_goes_out_at_once_with_the_access_lines_before_it() -> None:
    made = handler("text")
    assert isinstance(made, BatchingHandler)
    target = Writes()
    made.setStream(LineChunks(target))
    made.write_line("access one")
    made.write_line("access two")
    assert target.writes == []  # access lines wait for the batch
    made.handle(record("Application shutdown complete."))
    (written,) = target.writes  # no flush needed: a process ended by its signal keeps it
    assert written.startswith("access one\naccess two\n")
    assert written.endswith(" INFO callflow.access Application shutdown complete.\n")


def fields(n: int) -> tuple[str, str, int, str, str, str, float]:
    return ("GET", "/", 200, f"c-{n}", "main", "127.0.0.1", 1.25)


CREATED = 1_764_460_800.5


def test_access_lines_are_formatted_a_batch_at_once_in_order() -> None:
    made = handler("text")
    assert isinstance(made, BatchingHandler)
    target = Writes()
    made.setStream(LineChunks(target))
    formatter = Formatter()
    for n in range(ACCESS_BATCH - 1):
        made.access(formatter, CREATED, fields(n))
    assert target.writes == [] and made.stream._parts == []
    made.access(formatter, CREATED, fields(ACCESS_BATCH - 1))  # the batch is full
    made.flush()
    lines = target.getvalue().splitlines()
    expected = [formatter.access_line(CREATED, fields(n)) for n in range(ACCESS_BATCH)]
    assert lines == expected


def test_waiting_access_lines_go_out_before_a_record_and_at_a_flush() -> None:
    made = handler("json")
    assert isinstance(made, BatchingHandler)
    target = Writes()
    made.setStream(LineChunks(target))
    formatter = JSONFormatter()
    made.access(formatter, CREATED, fields(1))
    made.handle(record("Application shutdown complete."))
    (written,) = target.writes
    first, second = written.splitlines()
    assert first == formatter.access_line(CREATED, fields(1))
    assert '"message": "Application shutdown complete."' in second
    made.access(formatter, CREATED, fields(2))
    made.flush()
    assert target.writes[1:] == [formatter.access_line(CREATED, fields(2)) + "\n"]


def test_access_lines_over_another_stream_are_written_at_once() -> None:
    made = handler("text")
    assert isinstance(made, BatchingHandler)
    stream = io.StringIO()
    made.setStream(stream)
    made.access(Formatter(), CREATED, fields(3))
    assert stream.getvalue() == Formatter().access_line(CREATED, fields(3)) + "\n"


def test_waiting_access_lines_are_flushed_within_the_interval() -> None:
    made = BatchingHandler(interval=0.02)
    target = Writes()
    made.setStream(LineChunks(target))
    made.access(Formatter(), CREATED, fields(4))
    deadline = time.monotonic() + 10
    while not target.writes and time.monotonic() < deadline:
        time.sleep(0.01)
    assert target.writes == [Formatter().access_line(CREATED, fields(4)) + "\n"]


def test_closing_a_handler_flushes_and_stops_its_flushing_thread() -> None:
    made = BatchingHandler(interval=0.01)
    stream = io.StringIO()
    made.setStream(stream)
    made.setFormatter(logging.Formatter("%(message)s"))
    made.emit(logging.makeLogRecord({"msg": "kept", "levelno": logging.INFO}))
    made.close()
    made._timer.join(timeout=5)
    assert not made._timer.is_alive()
    assert stream.getvalue() == "kept\n"
