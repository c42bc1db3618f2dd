"""The access line of ``callflow serve`` (callflow.server.access_log, callflow.server.logs):
written pre-formatted, without a LogRecord, when only callflow's own handler takes it; the
very line its formatter writes for the record, text or JSON; a record as usual otherwise."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from asgi import get

from callflow import App, CallContext, Hangup, Response, Say
from callflow.server import access_log
from callflow.server.logs import (
    ACCESS_FIELDS,
    BatchingHandler,
    Formatter,
    JSONFormatter,
    access_sinks,
    handler,
    printable,
)


def hello(call: CallContext) -> Response:
    return Response(Say("Hello"), Hangup())


def fields(
    method: str = "GET",
    path: str = "/",
    status: int = 200,
    call: str = "c-1",
    flow: str = "main",
    client: str = "1.2.3.4",
    elapsed: float = 1.23456,
) -> tuple[str, str, int, str, str, str, float]:
    """Access fields escaped as the dispatcher escapes them (all but the flow name)."""
    return (
        printable(method),
        printable(path),
        status,
        printable(call),
        flow,
        printable(client),
        elapsed,
    )


HOSTILE = [
    pytest.param(fields(), id="plain"),
    pytest.param(fields(path="/menu\n200 forged\x1b[2J"), id="c0-in-path"),
    pytest.param(fields(call="c-1\x85\x9b\x7f"), id="c1-and-del-in-call"),
    pytest.param(fields(flow='fl"ow\\\n\x85'), id="quote-backslash-controls-in-flow"),
    pytest.param(fields(client="1.2.3.4\u2028\u2029"), id="unicode-separators"),
    pytest.param(fields(path="/caf\xe9 \u2192 \u65e5", elapsed=0.0), id="non-ascii"),
    pytest.param(fields(status=499, elapsed=12345.6789), id="client-closed"),
]


@pytest.mark.parametrize("values", HOSTILE)
@pytest.mark.parametrize("created", [1_764_460_800.0, 1_764_460_800.123, 1_764_460_801.9995])
def test_the_text_line_is_the_formatters_line_for_the_record(
    values: tuple[str, str, int, str, str, str, float], created: float
) -> None:
    formatter = Formatter()
    expected = formatter.format(access_log.access_record(values, created))
    assert formatter.access_line(created, values) == expected
    assert "\n" not in expected and "\r" not in expected


@pytest.mark.parametrize("values", HOSTILE)
@pytest.mark.parametrize("created", [1_764_460_800.0, 1_764_460_800.123, 1_764_460_801.9995])
def test_the_json_line_is_the_formatters_line_for_the_record(
    values: tuple[str, str, int, str, str, str, float], created: float
) -> None:
    formatter = JSONFormatter()
    expected = formatter.format(access_log.access_record(values, created))
    line = formatter.access_line(created, values)
    assert line == expected
    assert line.splitlines() == [line]
    entry = json.loads(line)
    assert [entry[name] for name in ACCESS_FIELDS[:-1]] == list(values[:-1])
    assert entry["duration_ms"] == round(values[-1], 3)


@pytest.fixture
def served_log(monkeypatch: pytest.MonkeyPatch) -> tuple[BatchingHandler, io.StringIO]:
    """callflow's own handler as the only one the access logger reaches (a logger of its
    own, outside the hierarchy pytest's log capture attaches to)."""
    made = handler("text")
    assert isinstance(made, BatchingHandler)
    stream = io.StringIO()
    made.setStream(stream)
    logger = logging.Logger("callflow.access", logging.INFO)
    logger.addHandler(made)
    monkeypatch.setattr(access_log, "access_logger", logger)
    return made, stream


def no_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any LogRecord made from now on fail the test."""

    def refuse(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        raise AssertionError(f"a LogRecord was made on {self.name}")

    monkeypatch.setattr(logging.Logger, "makeRecord", refuse)


def test_under_serve_each_request_writes_one_line_and_makes_no_record(
    served_log: tuple[BatchingHandler, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    no_records(monkeypatch)
    assert get(app, "/", b"call=c-1").status == 200
    assert get(app, "/menu\n", b"call=c-2%0aforged").status == 404
    assert get(app, "/", method="PUT").status == 405
    lines = served_log[1].getvalue().splitlines()
    assert len(lines) == 3, lines
    assert " INFO callflow.access method=GET path=/ status=200 call=c-1 flow=main " in lines[0]
    assert lines[0].split(" client=")[1].startswith("1.2.3.4 duration_ms=")
    assert "method=GET path=/menu\\x0a status=404 call=- flow=- client=1.2.3.4" in lines[1]
    assert "method=PUT path=/ status=405" in lines[2]


def test_under_serve_the_json_line_has_every_field(
    served_log: tuple[BatchingHandler, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    made, stream = served_log
    made.setFormatter(JSONFormatter())
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    no_records(monkeypatch)
    assert get(app, "/", b"call=c-%22q%5C").status == 200
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["logger"] == "callflow.access"
    assert entry["level"] == "INFO"
    assert {k: entry[k] for k in ("method", "path", "status", "call", "flow", "client")} == {
        "method": "GET",
        "path": "/",
        "status": 200,
        "call": 'c-"q\\',
        "flow": "main",
        "client": "1.2.3.4",
    }
    assert isinstance(entry["duration_ms"], float)
    assert entry["message"].startswith('method=GET path=/ status=200 call=c-"q\\ flow=main')


def test_at_warning_level_no_access_line_is_written(
    served_log: tuple[BatchingHandler, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    access_log.access_logger.setLevel(logging.WARNING)
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    assert get(app, "/").status == 200
    assert served_log[1].getvalue() == ""


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_with_another_handler_the_record_is_made_for_both(
    served_log: tuple[BatchingHandler, io.StringIO],
) -> None:
    made, stream = served_log
    other = Collect()
    access_log.access_logger.addHandler(other)
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    assert get(app, "/", b"call=c-9").status == 200
    (record,) = other.records
    assert record.__dict__["call"] == "c-9" and record.__dict__["status"] == 200
    (line,) = stream.getvalue().splitlines()
    assert line == made.format(record)


def test_the_sinks_are_callflows_handlers_alone() -> None:
    logger = logging.Logger("callflow.access.probe")  # no parent: nothing above it
    assert access_sinks(logger) is None  # nothing would write the line
    made = handler("json")
    logger.addHandler(made)
    assert access_sinks(logger) == [(made, made.formatter)]
    quiet = handler("text")
    quiet.setLevel(logging.WARNING)
    logger.addHandler(quiet)
    assert access_sinks(logger) == [(made, made.formatter)]  # it would drop the line
    logger.addFilter(lambda record: True)
    assert access_sinks(logger) is None
    logger.filters.clear()
    own_format = handler("text")
    own_format.setFormatter(Formatter("%(message)s"))
    logger.addHandler(own_format)
    assert access_sinks(logger) is None
    logger.removeHandler(own_format)
    logger.addHandler(logging.StreamHandler(io.StringIO()))
    assert access_sinks(logger) is None


def test_write_line_flushes_a_warning_at_once() -> None:
    made = handler("text")
    assert isinstance(made, BatchingHandler)
    flushed: list[str] = []
    stream = io.StringIO()
    made.setStream(stream)
    made.flush = lambda: flushed.append(stream.getvalue())  # type: ignore[method-assign]
    made.write_line("one")
    assert stream.getvalue() == "one\n" and flushed == []
    made.write_line("careful", logging.WARNING)
    assert flushed == ["one\ncareful\n"]
