"""``callflow simulate``: transcript and JSON output, exit codes (0 normal end, 1 error, failed
fetch or limit, 2 usage), scripted keys and dial outcomes, time, place, interactive mode."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import pytest

from callflow.cli.command import main
from callflow.cli.output import URL_WIDTH, colour_wanted, shorten_url
from callflow.simulator.trace import REASON_INVALID_DOCUMENT, Trace, TraceEvent
from callflow.testing import Simulator

ROOT = Path(__file__).resolve().parents[2]
SPEC_EXAMPLE = str(ROOT / "tests" / "data" / "xsd" / "strict-valid" / "spec-example.xml")
MONDAY = "2024-06-03T12:00:00"
PROMPT = "Press 1 for support, 2 for messages."
DIAL_LINE = "Dial 15550100200, ann@acme.sip.opentact.org: answer, answered by 15550100200"


class FakeTerminal(io.StringIO):
    """A stdin that claims to be a terminal and holds the lines the user will type."""

    def __init__(self, *lines: str) -> None:
        super().__init__("".join(f"{line}\n" for line in lines))

    def isatty(self) -> bool:
        return True

    @property
    def unread(self) -> str:
        return self.getvalue()[self.tell() :]


def simulate(*argv: str, stdin: TextIO | None = None) -> tuple[int, str]:
    """Run ``callflow simulate ARGV``; return the exit code and what was printed."""
    out = io.StringIO()
    code = main(
        ["simulate", *argv], stdout=out, stdin=stdin if stdin is not None else io.StringIO()
    )
    return code, out.getvalue()


def simulate_json(*argv: str) -> tuple[int, dict[str, Any]]:
    code, printed = simulate(*argv, "--json")
    result: dict[str, Any] = json.loads(printed)
    return code, result


def write(tmp_path: Path, inner: str) -> str:
    path = tmp_path / "flow.xml"
    path.write_text(f"<Response>{inner}</Response>")
    return str(path)


@pytest.fixture
def in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root, so ``flows:app`` imports (without leaking sys.path)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.fixture
def module_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``module:app`` for an App whose flow redirects to itself forever."""
    name = f"loop_flow_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "from callflow import App, Callback, Response, Say\n"
        "app = App(secret='t')\n"
        "@app.flow('/')\n"
        "def main(call):\n"
        "    return Response(Say('Again.'), Callback(url='/'))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}:app"
    sys.modules.pop(name, None)


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# -- output ------------------------------------------------------------------------------------


def test_transcript_lines() -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)
    assert code == 0
    assert printed.splitlines() == [
        "(call answered)",
        "Schedule did not match (Mon 12:00:00 UTC)",
        f"Say: {PROMPT}",
        "Gather attempt 1: pressed '9' -> default",
        "Say: Not an option.",
        "Hangup: hangup",
    ]


def test_transcript_of_requests_and_failures(in_repository: None) -> None:
    code, printed = simulate("flows:app", "--press", "1", "--dial", "busy", "--at", MONDAY)
    assert code == 0
    lines = printed.splitlines()
    assert (
        lines[0]
        == "[webhook] GET http://testserver/?from=%2B15550100999&to=%2B15550100200 -> HTTP 200"
    )
    assert "! Dial failed: [originate] ERR USER_BUSY (Error handler runs)" in lines
    assert "Say: Nobody is available." in lines
    assert lines[-1] == "Hangup: hangup (voicemail)"


def test_json_shape(in_repository: None) -> None:
    code, result = simulate_json("flows:app", "--press", "1", "--at", MONDAY)
    assert code == 0
    assert set(result) >= {"events", "hangup_reason"}
    assert result["hangup_reason"] == "hangup"
    events = result["events"]
    assert all(isinstance(event["type"], str) for event in events)
    says = [event for event in events if event["type"] == "say"]
    assert says[0]["text"] == "Thank you for calling Acme support."
    (dial,) = [event for event in events if event["type"] == "dial"]
    assert dial["targets"] == ["15550100200", "desk@acme.sip.opentact.org"]
    assert dial["outcome"] == "answer"
    (request,) = [event for event in events if event["type"] == "request"]
    assert request["url"].startswith("http://testserver/?")
    assert request["params"] == {"from": "+15550100999", "to": "+15550100200"}
    assert events[-1]["type"] == "hangup"


def test_json_request_params_of_a_round_trip(in_repository: None) -> None:
    code, result = simulate_json("flows:app", "--press", "3", "--at", MONDAY)
    assert code == 0
    requests = [event for event in result["events"] if event["type"] == "request"]
    assert [request["purpose"] for request in requests] == ["webhook", "callback"]
    callback = requests[1]
    assert callback["url"].startswith("http://testserver/documents/hours.xml?")
    assert set(callback["params"]) >= {"from", "tn", "state", "sca", "call"}
    assert result["hangup_reason"] == "hangup"


def test_json_is_all_that_is_printed() -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--json", "--at", MONDAY)
    assert code == 0
    assert json.loads(printed)["hangup_reason"] == "hangup"


# -- exit codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--press", "1"], id="hangup"),
        pytest.param(["--no-input"], id="error-handler-then-hangup"),
    ],
)
def test_exit_0_when_the_call_ends_normally(argv: list[str]) -> None:
    assert simulate(SPEC_EXAMPLE, *argv, "--at", MONDAY)[0] == 0


def test_exit_0_at_the_end_of_the_document(tmp_path: Path) -> None:
    code, printed = simulate(write(tmp_path, "<Say>Hi.</Say>"))
    assert code == 0
    assert printed.splitlines()[-1] == "Hangup: end of document (Opentact hangs up)"


def test_exit_1_for_an_invalid_document(tmp_path: Path) -> None:
    code, printed = simulate(write(tmp_path, "<Bogus/>"))
    assert code == 1
    assert "Bogus" in printed
    assert printed.splitlines()[-1] == (
        "Hangup: invalid document (the XML file is not a valid document)"
    )


def test_exit_1_when_the_webhook_fails(closed_url: str) -> None:
    code, result = simulate_json(closed_url)
    assert code == 1
    assert result["ended_by"] == "error"
    assert result["events"][0]["type"] == "request"
    assert result["events"][0]["status"] is None


def test_exit_1_on_a_limit(module_target: str) -> None:
    code, printed = simulate(module_target)
    assert code == 1
    assert printed.splitlines()[-1] == (
        "Hangup: max fetches (more than 50 requests, documents and Curl)"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--dial", "maybe"], "argument --dial: invalid choice: 'maybe'", id="bad-dial"
        ),
        pytest.param(
            ["--at", "yesterday"],
            "argument --at: expected an ISO time like 2026-12-07T10:00:00 (got 'yesterday')",
            id="bad-at",
        ),
        pytest.param(["--at", ""], "argument --at: expected an ISO time", id="empty-at"),
        pytest.param(
            ["--tz", "Mars/Olympus_Mons"],
            "argument --tz: unknown time zone 'Mars/Olympus_Mons'",
            id="unknown-tz",
        ),
        pytest.param(["--tz", "../etc"], "argument --tz: unknown time zone", id="tz-path"),
        pytest.param(["--tz", "America"], "argument --tz: unknown time zone", id="tz-directory"),
        pytest.param(
            ["--location", "Jersey"],
            "argument --location: expected STATE[,COUNTY] with a two-letter state",
            id="bad-location",
        ),
        pytest.param(["--method", "PUT"], "argument --method: invalid choice", id="bad-method"),
        pytest.param(
            ["--press", "12ab"],
            "argument --press: expected keys 0-9, * or #, like 1 or 1234# (got '12ab')",
            id="press-letters",
        ),
        pytest.param(["--press", ""], "argument --press: expected keys", id="press-empty"),
        pytest.param(["--press", "1 2"], "argument --press: expected keys", id="press-space"),
        pytest.param(["--press", "1", "--press", "+"], "argument --press:", id="press-second"),
        pytest.param(["--from", ""], "argument --from: expected a number", id="empty-from"),
        pytest.param(["--to", " "], "argument --to: expected a number", id="blank-to"),
        pytest.param(["--press"], "argument --press: expected one argument", id="no-value"),
    ],
)
def test_exit_2_for_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = simulate(SPEC_EXAMPLE, *argv)
    assert code == 2
    assert printed == ""
    err = capsys.readouterr().err
    assert err.startswith("usage: callflow simulate ")
    assert f"callflow simulate: error: {message}" in err


def test_bad_keys_never_reach_the_server(
    in_repository: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before the check, '12ab' went out as dtmf=12ab and the App answered HTTP 400.
    assert simulate("flows:app", "--press", "12ab") == (2, "")
    assert "argument --press" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        pytest.param(["--dial", "BUSY"], "Dial 15550100201: busy", id="dial-upper-case"),
        pytest.param(["--method", "post"], "[webhook] POST", id="method-lower-case"),
    ],
)
def test_option_values_in_either_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], line: str
) -> None:
    name = f"dial_flow_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "from callflow import App, Dial, Response, To\n"
        "app = App(secret='t')\n"
        "@app.flow('/')\n"
        "def main(call):\n"
        "    return Response(Dial(To('15550100201')))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        code, printed = simulate(f"{name}:app", *argv)
    finally:
        sys.modules.pop(name, None)
    assert code == 0, printed
    assert any(printed_line.startswith(line) for printed_line in printed.splitlines()), printed


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param(
            "missing.xml", "cannot simulate 'missing.xml': cannot read the file", id="missing-file"
        ),
        pytest.param("tests", "cannot simulate 'tests': cannot read the file", id="directory"),
        pytest.param("no_such_module_xyz:app", "cannot import 'no_such_module_xyz'", id="module"),
        pytest.param("flows:no_such_app", "has no attribute 'no_such_app'", id="attribute"),
        pytest.param("flows.support:SUPPORT_NUMBER", "not an ASGI application", id="not-an-app"),
        pytest.param("flows:", "cannot simulate 'flows:': expected module:attribute", id="no-attr"),
    ],
)
def test_exit_2_for_unusable_targets(
    in_repository: None, target: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = simulate(target)
    assert code == 2
    assert printed == ""
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("target", ["json:loads", "collections:OrderedDict"])
def test_exit_2_for_a_callable_that_is_not_an_app(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert simulate(target)[0] == 2
    assert "not an ASGI application" in capsys.readouterr().err


def test_exit_2_without_a_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate()[0] == 2
    assert "TARGET" in capsys.readouterr().err


# -- scripted input and dial outcomes ----------------------------------------------------------

TWO_GATHERS = (
    '<Gather><Say>First.</Say><DTMF value="5"><Say>Five.</Say></DTMF></Gather>'
    '<Gather attempts="2"><Say>Second.</Say><DTMF value="6"><Say>Six.</Say></DTMF>'
    "<Error><Say>Nothing.</Say></Error></Gather>"
)


@pytest.mark.parametrize(
    ("argv", "heard"),
    [
        pytest.param(
            ["--press", "5", "--no-input", "--press", "6"],
            ["First.", "Five.", "Second.", "Second.", "Six."],
            id="press-no-input-press",
        ),
        pytest.param(
            ["--no-input", "--press", "6"],
            ["First.", "Second.", "Six."],
            id="no-input-first",
        ),
        pytest.param(
            ["--press", "5"],
            ["First.", "Five.", "Second.", "Second.", "Nothing."],
            id="used-up-means-no-input",
        ),
        pytest.param(
            ["--press", "5", "--press", "6", "--press", "7"],
            ["First.", "Five.", "Second.", "Six."],
            id="extra-keys-unused",
        ),
    ],
)
def test_press_and_no_input_answer_attempts_in_order(
    tmp_path: Path, argv: list[str], heard: list[str]
) -> None:
    code, result = simulate_json(write(tmp_path, TWO_GATHERS), *argv)
    assert code == 0
    assert [event["text"] for event in result["events"] if event["type"] == "say"] == heard


def test_press_with_stop_key(in_repository: None) -> None:
    code, printed = simulate("flows:app", "--press", "2", "--press", "123456#", "--at", MONDAY)
    assert code == 0
    assert "Say: The balance of the account ending in 3 4 5 6" in printed


def test_no_input_then_press_on_the_spec_example() -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--no-input", "--press", "1", "--at", MONDAY)
    assert code == 0
    assert "Gather attempt 1: no input -> no-input" in printed
    assert DIAL_LINE in printed


@pytest.mark.parametrize(
    ("argv", "outcomes"),
    [
        pytest.param([], ["answer", "answer"], id="default-answer"),
        pytest.param(["--dial", "busy"], ["busy", "answer"], id="first-only"),
        pytest.param(["--dial", "fail", "--dial", "no-answer"], ["fail", "no-answer"], id="both"),
    ],
)
def test_dial_outcomes_in_order(tmp_path: Path, argv: list[str], outcomes: list[str]) -> None:
    inner = "<Dial><To>15550100201</To></Dial><Dial><To>15550100202</To></Dial>"
    code, result = simulate_json(write(tmp_path, inner), *argv)
    assert code == 0
    assert [event["outcome"] for event in result["events"] if event["type"] == "dial"] == outcomes


def test_dial_failure_on_the_spec_example() -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--press", "1", "--dial", "no-answer", "--at", MONDAY)
    assert code == 0
    assert "! Dial failed: [originate] ERR NO_USER_RESPONSE" in printed


# -- time, place, numbers ----------------------------------------------------------------------

OFFICE = '<Schedule time="09:00:00-17:59:59"><Say>Open.</Say></Schedule>'


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        pytest.param(["--at", "2024-06-03T10:00"], "Schedule matched (Mon 10:00:00 UTC)", id="utc"),
        pytest.param(
            ["--at", "2024-06-03T08:30", "--tz", "America/New_York"],
            "Schedule did not match (Mon 08:30:00 EDT)",
            id="naive-in-tz",
        ),
        pytest.param(
            ["--at", "2024-06-03T14:00:00+00:00", "--tz", "America/New_York"],
            "Schedule matched (Mon 10:00:00 EDT)",
            id="aware-converted",
        ),
        pytest.param(
            ["--at", "2024-06-03T07:30:00Z", "--tz", "Europe/Paris"],
            "Schedule matched (Mon 09:30:00 CEST)",
            id="zulu",
        ),
        pytest.param(
            ["--at", "2024-06-02T23:30", "--tz", "Asia/Tokyo"],
            "Schedule did not match (Sun 23:30:00 JST)",
            id="tz-sunday",
        ),
    ],
)
def test_at_and_tz(tmp_path: Path, argv: list[str], line: str) -> None:
    code, printed = simulate(write(tmp_path, OFFICE), *argv)
    assert code == 0
    assert line in printed.splitlines()


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        pytest.param([], "Schedule matched (Mon 16:00:00 EDT)", id="app-time-zone"),
        pytest.param(["--tz", "UTC"], "Schedule did not match (Mon 20:00:00 UTC)", id="tz-wins"),
    ],
)
def test_tz_defaults_to_the_app_time_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], line: str
) -> None:
    name = f"office_flow_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "from callflow import App, Response, Say, Schedule\n"
        "app = App(secret='t', time_zone='America/New_York')\n"
        "@app.flow('/')\n"
        "def main(call):\n"
        "    return Response(Schedule(Say('Open.'), time='09:00:00-17:59:59'))\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        code, printed = simulate(f"{name}:app", "--at", "2024-06-03T20:00:00+00:00", *argv)
    finally:
        sys.modules.pop(name, None)
    assert code == 0
    assert line in printed.splitlines()


def test_weekend_on_the_spec_example() -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--at", "2024-06-01T12:00")
    assert code == 0
    assert printed.splitlines()[-2:] == ["Say: We are closed.", "Hangup: hangup"]


GEO = '<Geo states="NJ" county="ESSEX"><Say>Essex.</Say></Geo><Geo states="NJ"><Say>NJ.</Say></Geo>'


@pytest.mark.parametrize(
    ("argv", "heard"),
    [
        pytest.param(["--location", "NJ,ESSEX"], ["Essex.", "NJ."], id="state-and-county"),
        pytest.param(["--location", "nj,essex"], ["Essex.", "NJ."], id="lower-case"),
        pytest.param(["--location", "NJ"], ["NJ."], id="state-only"),
        pytest.param(["--location", "NY,ESSEX"], [], id="other-state"),
        pytest.param(["--from", "+12015550123"], ["NJ."], id="geocoded-from"),
        pytest.param(["--from", "+12015550123", "--location", "CA"], [], id="location-wins"),
    ],
)
def test_location(tmp_path: Path, argv: list[str], heard: list[str]) -> None:
    code, result = simulate_json(write(tmp_path, GEO), *argv)
    assert code == 0
    assert [event["text"] for event in result["events"] if event["type"] == "say"] == heard


def test_from_and_to(tmp_path: Path) -> None:
    inner = (
        '<Call field="from" value="+12015550123"><Say>From.</Say></Call>'
        '<Call field="to" value="+15550109999"><Say>To.</Say></Call>'
    )
    code, result = simulate_json(
        write(tmp_path, inner), "--from", "12015550123", "--to", "15550109999"
    )
    assert code == 0
    assert [event["text"] for event in result["events"] if event["type"] == "say"] == [
        "From.",
        "To.",
    ]


# -- the document on stdin ---------------------------------------------------------------------


def piped(data: bytes) -> io.TextIOWrapper:
    """A stdin that is a pipe holding ``data``."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_document_on_stdin() -> None:
    document = Path(SPEC_EXAMPLE).read_bytes()
    code, printed = simulate("-", "--press", "9", "--at", MONDAY, stdin=piped(document))
    assert code == 0
    assert printed == simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)[1]
    assert f"Say: {PROMPT}" in printed


def test_document_on_stdin_in_json() -> None:
    document = b"<Response><Say>From stdin.</Say></Response>"
    code, printed = simulate("-", "--json", stdin=piped(document))
    assert code == 0
    says = [e["text"] for e in json.loads(printed)["events"] if e["type"] == "say"]
    assert says == ["From stdin."]


def test_invalid_document_on_stdin_exits_1() -> None:
    code, printed = simulate("-", stdin=piped(b"<Response><Bogus/></Response>"))
    assert code == 1
    assert printed.splitlines()[-1].startswith(f"Hangup: {REASON_INVALID_DOCUMENT} ")


def test_document_on_a_terminal_stdin_is_not_interactive() -> None:
    terminal = FakeTerminal("<Response><Gather><Say>Menu.</Say></Gather></Response>")
    code, printed = simulate("-", stdin=terminal)
    assert code == 0
    assert "keys?" not in printed
    assert "Gather attempt 1: no input -> no-input" in printed


def test_console_script_reads_the_document_from_stdin(tmp_path: Path) -> None:
    result = subprocess.run(
        [*callflow_command(), "simulate", "-", "--press", "1", "--at", MONDAY],
        input=Path(SPEC_EXAMPLE).read_bytes(),
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert DIAL_LINE in result.stdout.decode()


# -- fallbacks and failed fetches (exit 1) -----------------------------------------------------


@pytest.fixture
def failing_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``module:app`` for an App whose flow raises: the App answers with its fallback."""
    name = f"failing_flow_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "from callflow import App\n"
        "app = App(secret='t')\n"
        "@app.flow('/')\n"
        "def main(call):\n"
        "    raise RuntimeError('the flow is broken')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}:app"
    sys.modules.pop(name, None)


@pytest.mark.callflow_expect_fallback
def test_exit_1_after_a_fallback_document(failing_app: str) -> None:
    code, printed = simulate(failing_app)
    assert code == 1
    lines = printed.splitlines()
    assert any(line.startswith("! fallback document (error) from ") for line in lines), lines
    assert lines[-1].startswith("Hangup: hangup")  # it hung up as a call should, yet it failed
    code, result = simulate_json(failing_app)
    assert code == 1
    assert result["failed"] is True
    assert result["ended_by"] == "hangup"


def test_exit_1_for_a_failed_fetch_no_error_handled(tmp_path: Path, closed_url: str) -> None:
    code, printed = simulate(write(tmp_path, f'<Callback url="{closed_url}"/><Say>After.</Say>'))
    assert code == 1
    assert "Say: After." in printed  # the call went on, and ended at the end of the document
    assert printed.splitlines()[-1].startswith("Hangup: end of document")


def test_exit_0_for_a_failed_fetch_that_an_error_handled(tmp_path: Path, closed_url: str) -> None:
    inner = f'<Callback url="{closed_url}"><Error><Say>Sorry.</Say></Error></Callback>'
    code, printed = simulate(write(tmp_path, inner))
    assert code == 0
    assert "Say: Sorry." in printed


# -- interactive mode --------------------------------------------------------------------------

DIAL_PROMPT = "Dial 15550100200: answer, busy, no-answer or fail? (empty = answer) > "


def test_interactive_asks_for_keys_and_the_dial_outcome() -> None:
    terminal = FakeTerminal("1", "")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert terminal.unread == ""
    assert printed.count("keys? ") == 1
    assert f"Say: {PROMPT}\nkeys? (up to 1; empty = no input) > " in printed
    # The first target answered: the second is not asked about.
    assert printed.count("(empty = answer) > ") == 1
    assert f"{DIAL_PROMPT}{DIAL_LINE}\n" in printed
    assert printed.count("Hangup: hangup") == 1  # events are shown live, not printed again
    assert printed.startswith("Interactive call: ")


@pytest.mark.parametrize(
    ("typed", "asked", "line"),
    [
        pytest.param(["answer"], 1, DIAL_LINE, id="answer"),
        pytest.param([""], 1, DIAL_LINE, id="empty-is-answer"),
        pytest.param(["a"], 1, DIAL_LINE, id="prefix"),
        pytest.param(
            ["busy", "BUSY"],
            2,
            "Dial 15550100200, ann@acme.sip.opentact.org: busy",
            id="both-busy",
        ),
        pytest.param(
            ["b", "answer"],
            2,
            "Dial 15550100200, ann@acme.sip.opentact.org: answer, answered by "
            "ann@acme.sip.opentact.org",
            id="second-answers",
        ),
        pytest.param(
            ["fail", "no"],
            2,
            "Dial 15550100200, ann@acme.sip.opentact.org: no-answer",
            id="mixed-is-no-answer",
        ),
    ],
)
def test_interactive_dial_outcomes(typed: list[str], asked: int, line: str) -> None:
    terminal = FakeTerminal("1", *typed)
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert terminal.unread == ""
    assert printed.count("(empty = answer) > ") == asked
    if asked == 2:
        assert "Dial ann@acme.sip.opentact.org: answer, busy" in printed
    assert f"(empty = answer) > {line}\n" in printed  # the Dial's line follows the last prompt


def test_interactive_dial_options_come_first() -> None:
    terminal = FakeTerminal("1")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, "--dial", "busy", stdin=terminal)
    assert code == 0
    assert terminal.unread == ""
    assert "(empty = answer)" not in printed
    assert "Dial 15550100200, ann@acme.sip.opentact.org: busy" in printed


def test_interactive_rejects_keys_a_phone_cannot_send() -> None:
    terminal = FakeTerminal("12ab", "1 2", "9")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert terminal.unread == ""
    assert printed.count("keys? ") == 3
    assert "keys must be 0-9, * or # (got '12ab'); try again\n" in printed
    assert "keys must be 0-9, * or # (got '1 2'); try again\n" in printed
    assert "Gather attempt 1: pressed '9' -> default" in printed


def test_interactive_bad_keys_never_reach_the_server(in_repository: None) -> None:
    terminal = FakeTerminal("2", "12ab#", "123456#")
    code, printed = simulate("flows:app", "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert "(got '12ab#')" in printed
    gathers = [line for line in printed.splitlines() if line.startswith("[gather]")]
    assert len(gathers) == 1
    assert gathers[0].endswith(" -> HTTP 200")
    assert [line for line in printed.splitlines() if "12ab" in line] == [
        "keys? (up to 6, then #; empty = no input) > keys must be 0-9, * or # (got '12ab#'); "
        "try again"
    ]
    assert "Gather attempt 1: pressed '123456#' -> url" in printed


def test_interactive_rejects_an_unknown_dial_outcome() -> None:
    terminal = FakeTerminal("1", "maybe", "x", "answer")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count(DIAL_PROMPT) == 3
    assert (
        "the outcome must be one of answer, busy, no-answer or fail (got 'maybe'); try again\n"
        in printed
    )
    assert DIAL_LINE in printed


def test_interactive_empty_line_is_no_input() -> None:
    terminal = FakeTerminal("", "")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count("keys? ") == 2
    assert terminal.unread == ""
    assert "Gather attempt 2: no input -> no-input" in printed
    assert "Say: no input" in printed


HUNG_UP = "Hangup: the caller hung up (end of input)"


def test_interactive_end_of_input_hangs_up() -> None:
    terminal = FakeTerminal()
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count("keys? ") == 1
    assert printed.endswith(f"keys? (up to 1; empty = no input) > \n{HUNG_UP}\n")
    assert "Gather attempt" not in printed


def test_interactive_end_of_input_at_a_dial_hangs_up() -> None:
    terminal = FakeTerminal("1")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.endswith(f"{DIAL_PROMPT}\n{HUNG_UP}\n")
    assert "Dial 15550100200, ann" not in printed


def test_interactive_hang_up_after_a_failed_fetch_exits_1(tmp_path: Path, closed_url: str) -> None:
    path = write(tmp_path, f'<Callback url="{closed_url}"/><Gather><Say>Menu.</Say></Gather>')
    code, printed = simulate(path, stdin=FakeTerminal())
    assert code == 1
    assert "(no <Error> handled it)" in printed
    assert printed.endswith(f"{HUNG_UP}\n")


def test_interactive_prompt_names_the_stop_key(in_repository: None) -> None:
    terminal = FakeTerminal("2", "123456#")
    code, printed = simulate("flows:app", "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert "keys? (up to 6, then #; empty = no input) > " in printed
    assert "Hangup: hangup (balance)" in printed


def test_interactive_pause_with_a_stop_key(tmp_path: Path) -> None:
    path = write(tmp_path, '<Pause length="5000" dtmf_stop="#"/><Say>Done.</Say>')
    code, printed = simulate(path, stdin=FakeTerminal("#"))
    assert code == 0
    assert "keys during the pause? (# ends it; empty = none) > " in printed
    assert "(pause 5000 ms, ended early: pressed '#')" in printed


LONG_URL = "https://media.example.com/" + "prompts/" * 6 + "welcome.wav?sig=" + "x" * 80


def test_interactive_shortens_long_urls(tmp_path: Path) -> None:
    path = write(tmp_path, f'<Play url="{LONG_URL}"/><Gather><Say>Menu.</Say></Gather>')
    code, printed = simulate(path, stdin=FakeTerminal(""))
    assert code == 0
    [play] = [line for line in printed.splitlines() if line.startswith("Play: ")]
    assert play == "Play: https://media.example.com.../prompts/prompts/welcome.wav?..."
    assert len(play.removeprefix("Play: ")) == URL_WIDTH
    code, printed = simulate(path)  # a transcript for scripts keeps the whole URL
    assert f"Play: {LONG_URL}" in printed.splitlines()


@pytest.mark.parametrize(
    ("url", "short"),
    [
        pytest.param("http://h/abc?q=1", "http://h/abc?q=1", id="short-enough"),
        pytest.param(
            "http://h/p?q=123456789012345678", "http://h/p?q=12345678901234...", id="query"
        ),
        pytest.param(
            "http://h/abcdefghijklmnopqrstuvwxyz", "http://h...hijklmnopqrstuvwxyz", id="long-path"
        ),
        pytest.param(
            "http://h/abcdefghijklmnopqrstuvwxyz?q=1", "http://h...lmnopqrstuvwxyz?...", id="both"
        ),
        pytest.param(
            "https://a-very-long-host-name.example.com/x?q=1",
            "https://a-very-long-host-na...",
            id="long-host",
        ),
    ],
)
def test_shorten_url(url: str, short: str) -> None:
    assert shorten_url(url, 30) == short
    assert len(short) <= 30


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--press", "9"], id="press"),
        pytest.param(["--no-input"], id="no-input"),
        pytest.param(["--json"], id="json"),
    ],
)
def test_not_interactive_with_scripted_keys_or_json(argv: list[str]) -> None:
    terminal = FakeTerminal("1")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, *argv, stdin=terminal)
    assert code == 0
    assert terminal.unread == "1\n"
    assert "keys?" not in printed
    assert "Interactive call" not in printed


def test_not_interactive_without_a_terminal() -> None:
    stdin = io.StringIO("1\n")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=stdin)
    assert code == 0
    assert "keys?" not in printed
    assert "Gather attempt 2: no input -> no-input" in printed
    assert stdin.tell() == 0


# -- colour ------------------------------------------------------------------------------------


class FakeTty(io.StringIO):
    """A stdout that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def coloured_run(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str]:
    out = FakeTty()
    code = main(["simulate", *argv], stdout=out, stdin=stdin or io.StringIO())
    return code, out.getvalue()


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    code, printed = coloured_run(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)
    assert code == 0
    assert f"\x1b[1mSay: {PROMPT}\x1b[0m\n" in printed
    assert "\x1b[1;32mHangup: hangup\x1b[0m\n" in printed  # green: the call ran as written
    assert ANSI.sub("", printed) == simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)[1]


@pytest.mark.callflow_expect_fallback
def test_a_failed_call_ends_in_red(monkeypatch: pytest.MonkeyPatch, failing_app: str) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    code, printed = coloured_run(failing_app)
    assert code == 1
    assert "\x1b[1;31mHangup: hangup" in printed
    assert "\x1b[1;31m! fallback document (error)" in printed


def test_colour_of_an_interactive_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    code, printed = coloured_run(SPEC_EXAMPLE, "--at", MONDAY, stdin=FakeTerminal("9"))
    assert code == 0
    # The prompt is bold; without readline, no \001 \002 markers around the escapes.
    assert "\x1b[1mkeys? (up to 1; empty = no input) > \x1b[0m" in printed
    assert "\x1b[36mGather attempt 1: pressed '9' -> default\x1b[0m" in printed
    assert "\001" not in printed


@pytest.mark.parametrize(
    "env",
    [pytest.param({"NO_COLOR": "1"}, id="no-color"), pytest.param({"TERM": "dumb"}, id="dumb")],
)
def test_no_colour(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, printed = coloured_run(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)
    assert code == 0
    assert "\x1b" not in printed
    code, printed = coloured_run(SPEC_EXAMPLE, "--at", MONDAY, stdin=FakeTerminal("9"))
    assert "\x1b" not in printed


def test_no_colour_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert colour_wanted(FakeTty()) is True
    assert colour_wanted(io.StringIO()) is False
    assert "\x1b" not in simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)[1]


# -- Ctrl-C ------------------------------------------------------------------------------------


class InterruptedTerminal(FakeTerminal):
    """A terminal where the user presses Ctrl-C at the first prompt."""

    # typeshed's StringIO inherits two readline()s (bytes and str): mypy sees a conflict.
    def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
        raise KeyboardInterrupt


def test_ctrl_c_at_a_prompt_ends_the_call(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=InterruptedTerminal())
    assert code == 130
    assert printed.endswith(
        "keys? (up to 1; empty = no input) > \n(interrupted: the simulated call ends here)\n"
    )
    assert capsys.readouterr().err == ""  # the terminal says so already


def test_ctrl_c_in_a_scripted_call_prints_what_happened(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    original = Simulator.call

    def interrupted_at_the_first_say(self: Simulator, **options: Any) -> Trace:
        show = options["on_event"]

        def on_event(event: TraceEvent) -> None:
            show(event)
            if event.type == "say":
                raise KeyboardInterrupt

        return original(self, **{**options, "on_event": on_event})

    monkeypatch.setattr(Simulator, "call", interrupted_at_the_first_say)
    code, printed = simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY)
    assert code == 130
    assert printed.splitlines() == [
        "(call answered)",
        "Schedule did not match (Mon 12:00:00 UTC)",
        f"Say: {PROMPT}",
    ]
    assert capsys.readouterr().err == "callflow: interrupted\n"
    code, printed = simulate(SPEC_EXAMPLE, "--press", "9", "--at", MONDAY, "--json")
    assert (code, printed) == (130, "")  # no half a JSON document


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_ctrl_c_during_a_request_prints_no_traceback(tmp_path: Path, kind: str) -> None:
    started = tmp_path / "started"
    sleep = "await asyncio.sleep(30)" if kind == "async" else "time.sleep(3)"
    (tmp_path / "slow_flow.py").write_text(
        "import asyncio, pathlib, time\n"
        "from callflow import App, Response, Say\n"
        "app = App(secret='t')\n"
        "@app.flow('/')\n"
        f"{'async ' if kind == 'async' else ''}def main(call):\n"
        f"    pathlib.Path({str(started)!r}).touch()\n"
        f"    {sleep}\n"
        "    return Response(Say('Too late.'))\n"
    )
    process = subprocess.Popen(
        [*callflow_command(), "simulate", "slow_flow:app", "--press", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started.exists()
        process.send_signal(signal.SIGINT)  # Ctrl-C while the request is in flight
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert (out, err) == (b"", b"callflow: interrupted\n")


# -- a real terminal ---------------------------------------------------------------------------


def callflow_command() -> list[str]:
    """The ``callflow`` script of this interpreter's environment, else ``python -m callflow``."""
    script = Path(sys.executable).with_name("callflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "callflow"]


def _controlling_terminal() -> None:
    """In the child, after ``setsid``: make the pty (its stdin) the controlling terminal, so
    Ctrl-C typed there sends SIGINT, as in a shell."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyCall:
    """``callflow simulate`` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, *argv: str, env: dict[str, str] | None = None) -> None:
        primary, secondary = os.openpty()
        environment = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR") and not k.startswith("CALLFLOW_")
        }
        environment.update(TERM="xterm-256color", **(env or {}))
        self.process = subprocess.Popen(
            [*callflow_command(), "simulate", *argv],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env=environment,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_controlling_terminal,
        )
        os.close(secondary)
        self.fd = primary
        self.output = b""
        self.closed = False

    def _read(self, timeout_s: float) -> bool:
        """Read what is there; False at the end (the child closed the terminal)."""
        if not select.select([self.fd], [], [], timeout_s)[0]:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every process closed its end
            data = b""
        self.output += data
        return bool(data)

    def expect(self, needle: bytes, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while needle not in self.output:
            if time.monotonic() > deadline or not self._read(0.1):
                pytest.fail(f"{needle!r} never came; the terminal shows {self.output!r}")

    def wait_for(self, needle: bytes, timeout_s: float) -> bool:
        """Whether ``needle`` shows within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while needle not in self.output and time.monotonic() < deadline:
            if not self._read(0.1):
                break
        return needle in self.output

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def finish(self, timeout_s: float = 30.0) -> int:
        """Read to the end; return the exit code."""
        deadline = time.monotonic() + timeout_s
        while self._read(0.1) and time.monotonic() < deadline:
            pass
        self.close()
        return self.process.wait(timeout=timeout_s)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.fd)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


PtyFactory = Callable[..., PtyCall]


@pytest.fixture
def pty_call() -> Iterator[PtyFactory]:
    """``pty_call(*argv, env=...)``: a :class:`PtyCall`, ended after the test."""
    calls: list[PtyCall] = []

    def start(*argv: str, env: dict[str, str] | None = None) -> PtyCall:
        call = PtyCall(*argv, env=env)
        calls.append(call)
        return call

    yield start
    for call in calls:
        call.close()


def has_colour(output: bytes) -> bool:
    """Whether ``output`` holds an SGR sequence that sets a colour."""
    for match in re.finditer(rb"\x1b\[([0-9;]*)m", output):
        for param in match.group(1).split(b";"):
            if param and (30 <= int(param) <= 49 or 90 <= int(param) <= 107):
                return True
    return False


def test_terminal_colour_and_ctrl_c(pty_call: PtyFactory) -> None:
    call = pty_call(SPEC_EXAMPLE, "--at", MONDAY)
    call.expect(b"keys? (up to 1; empty = no input) > ")
    assert has_colour(call.output)
    # Ctrl-C: the terminal sends SIGINT. Python's readline misses a signal that lands between
    # its prompt and its wait for input (it then waits on): a user presses again, so do we.
    for _ in range(10):
        time.sleep(0.2)
        call.send(b"\x03")
        if call.wait_for(b"interrupted", timeout_s=2.0):
            break
    code = call.finish()
    assert code == 130
    assert b"interrupted: the simulated call ends here" in call.output
    assert b"Traceback" not in call.output
    assert b"KeyboardInterrupt" not in call.output


def test_terminal_ctrl_d_hangs_up(pty_call: PtyFactory) -> None:
    call = pty_call(SPEC_EXAMPLE, "--at", MONDAY)
    call.expect(b"keys? ")
    call.send(b"\x04")  # Ctrl-D: end of input
    assert call.finish() == 0
    assert HUNG_UP.encode() in call.output
    assert b"Traceback" not in call.output


TWO_SEVENS = (
    '<Gather><Say>First.</Say><DTMF value="7"><Say>Seven.</Say></DTMF></Gather>'
    '<Gather><Say>Second.</Say><DTMF value="7"><Say>Seven again.</Say></DTMF></Gather>'
    "<Dial><To>15550100201</To></Dial>"
)


def test_terminal_line_editing_history_and_no_color(tmp_path: Path, pty_call: PtyFactory) -> None:
    call = pty_call(write(tmp_path, TWO_SEVENS), env={"NO_COLOR": "1"})
    call.expect(b"keys? ")
    call.send(b"9\x7f7\r")  # 9, backspace, 7
    call.expect(b"Say: Seven.")
    call.expect(b"Say: Second.")
    call.output = call.output[call.output.index(b"Say: Second.") :]
    call.expect(b"keys? ")
    call.send(b"\x1b[A\r")  # arrow up: the line typed before, from the session's history
    call.expect(b"Say: Seven again.")
    call.expect(b"Dial 15550100201: answer, busy")
    call.send(b"b\r")
    assert call.finish() == 0
    assert b"Dial 15550100201: busy" in call.output
    assert not has_colour(call.output)
    assert b"Traceback" not in call.output
