"""Control characters never reach a log line raw (callflow.server.logs: printable and
formatters)."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

import pytest

from callflow.server.logs import ACCESS_FIELDS, Formatter, JSONFormatter, printable

CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
"""C0 controls, DEL and C1 controls."""

RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""What must never appear raw in a JSON log line (a line break to some reader)."""


def make_record(
    message: str,
    *args: object,
    exc_info: Any = None,
    extra: dict[str, Any] | None = None,
) -> logging.LogRecord:
    logger = logging.getLogger("callflow.access")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, message, args, exc_info, extra=extra
    )


def raised(error: BaseException) -> Any:
    """The ``sys.exc_info()`` of ``error`` raised and caught here."""
    try:
        raise error
    except BaseException:
        return sys.exc_info()


def chained() -> Any:
    """An exception whose cause's message holds a line break."""
    try:
        try:
            raise ValueError("evil\nforged line")
        except ValueError as cause:
            raise RuntimeError("outer") from cause
    except RuntimeError:
        return sys.exc_info()


# -- printable ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [pytest.param(code, id=f"{code:#04x}") for code in CONTROLS])
def test_every_control_character_is_escaped(code: int) -> None:
    assert printable(chr(code)) == f"\\x{code:02x}"
    assert printable(f"a{chr(code)}b") == f"a\\x{code:02x}b"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("GET /menu?digits=1 200", id="ascii"),
        pytest.param(' !"#~', id="printable-edges"),
        pytest.param("caf\xe9", id="latin-1"),
        pytest.param("\xa0nbsp", id="first-after-c1"),
        pytest.param("1 \u2192 2", id="arrow"),
        pytest.param("\u65e5\u672c\u8a9e", id="cjk"),
        pytest.param("\U0001f4de call", id="emoji"),
        pytest.param("back\\x0aslash", id="backslash-kept"),
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert printable(text) == text


def test_mixed_text_keeps_ordinary_characters() -> None:
    assert printable("caf\xe9\n\u2192\x1b[2J\x85") == "caf\xe9\\x0a\u2192\\x1b[2J\\x85"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("a" * 1_000_000, "a" * 1_000_000, id="no-controls"),
        pytest.param("\n" * 1_000_000, "\\x0a" * 1_000_000, id="all-controls"),
        pytest.param("a\x00" * 500_000, "a\\x00" * 500_000, id="alternating"),
    ],
)
def test_a_megabyte_is_escaped_in_one_pass(text: str, escaped: str) -> None:
    assert printable(text) == escaped


# -- the text formatter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "args", "shown"),
    [
        pytest.param("GET /menu\n200 forged", (), "GET /menu\\x0a200 forged", id="newline"),
        pytest.param("path %s", ("/a\r\nb",), "path /a\\x0d\\x0ab", id="in-args"),
        pytest.param("\x1b[2Jclear", (), "\\x1b[2Jclear", id="terminal-escape"),
        pytest.param("a\x7fb\x9bc", (), "a\\x7fb\\x9bc", id="del-and-c1"),
        pytest.param("caf\xe9 \u2192", (), "caf\xe9 \u2192", id="non-ascii-kept"),
    ],
)
def test_the_text_formatter_escapes_the_message(
    message: str, args: tuple[object, ...], shown: str
) -> None:
    line = Formatter().format(make_record(message, *args))
    assert line.endswith(f" INFO callflow.access {shown}")
    assert "\n" not in line


def test_the_text_formatter_escapes_the_exception_message_only() -> None:
    text = Formatter().format(make_record("failed", exc_info=raised(ValueError("evil\nforged"))))
    lines = text.split("\n")
    assert lines[0].endswith(" failed")
    assert lines[1] == "Traceback (most recent call last):"
    assert any(line.startswith("  File ") for line in lines)
    assert any(line.strip() == "raise error" for line in lines)  # source lines are kept
    assert lines[-1] == "ValueError: evil\\x0aforged"
    assert "forged" not in lines[:-1]


def test_the_text_formatter_escapes_a_chained_exceptions_message() -> None:
    # The cause's message is as much caller input as the final exception's.
    text = Formatter().format(make_record("failed", exc_info=chained()))
    lines = text.split("\n")
    assert "ValueError: evil\\x0aforged line" in lines
    assert "forged line" not in lines
    assert lines[-1] == "RuntimeError: outer"


# -- the JSON formatter -------------------------------------------------------------------------


def one_json_line(record: logging.LogRecord) -> dict[str, Any]:
    line = JSONFormatter().format(record)
    assert line.splitlines() == [line]
    assert RAW_CONTROL.search(line) is None, line
    entry = json.loads(line)
    assert isinstance(entry, dict)
    return entry


def test_a_json_line_has_time_level_logger_and_message() -> None:
    record = make_record("call %s answered", "abc")
    entry = one_json_line(record)
    assert set(entry) == {"time", "level", "logger", "message"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    assert entry["level"] == "INFO"
    assert entry["logger"] == "callflow.access"
    assert entry["message"] == "call abc answered"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("line\nbreak\r\n", id="c0"),
        pytest.param("del\x7f", id="del"),
        pytest.param("c1\x85\x9b", id="c1"),
        pytest.param("separators\u2028\u2029", id="unicode-line-separators"),
        pytest.param("\x1c\x1d\x1e\x0b\x0c", id="splitlines-breaks"),
        pytest.param("caf\xe9 \u2192 \u65e5", id="non-ascii"),
        pytest.param("".join(chr(code) for code in CONTROLS), id="every-control"),
    ],
)
def test_a_json_line_escapes_every_control_and_round_trips(message: str) -> None:
    entry = one_json_line(make_record("%s", message))
    assert entry["message"] == message


def test_a_json_line_keeps_non_ascii_readable() -> None:
    line = JSONFormatter().format(make_record("caf\xe9 \u2192"))
    assert "caf\xe9 \u2192" in line


def test_a_json_line_has_the_access_fields_given_as_extra() -> None:
    fields: dict[str, Any] = {
        "method": "POST",
        "path": "/menu\n",
        "status": 200,
        "call": "c-1\x85",
        "flow": "menu",
        "client": "1.2.3.4",
        "duration_ms": 1.5,
    }
    assert set(fields) == set(ACCESS_FIELDS)
    entry = one_json_line(make_record("access", extra=fields))
    assert {name: entry[name] for name in ACCESS_FIELDS} == fields


def test_a_json_line_leaves_out_absent_access_fields() -> None:
    entry = one_json_line(make_record("access", extra={"status": 404, "flow": None}))
    assert entry["status"] == 404
    assert "flow" not in entry
    assert "method" not in entry


def test_a_json_line_has_the_exception() -> None:
    entry = one_json_line(make_record("failed", exc_info=raised(ValueError("evil\nforged"))))
    exception = entry["exception"]
    assert exception.startswith("Traceback (most recent call last):\n")
    assert exception.rstrip("\n").endswith("ValueError: evil\\x0aforged")


def test_a_json_exception_escapes_a_chained_exceptions_message() -> None:
    exception = one_json_line(make_record("failed", exc_info=chained()))["exception"]
    assert "ValueError: evil\\x0aforged line" in exception
    assert "forged line" not in exception.split("\n")
