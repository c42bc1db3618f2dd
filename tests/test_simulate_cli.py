"""``callflow simulate``: transcript and JSON output, exit codes (0 normal end, 1 error, failed
fetch or limit, 2 usage), scripted keys and dial outcomes, time, place, interactive mode."""

from __future__ import annotations

import io
import json
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callflow.cli import main

ROOT = Path(__file__).resolve().parent.parent
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


def simulate(*argv: str, stdin: io.StringIO | None = None) -> tuple[int, str]:
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
    assert printed.splitlines()[-1] == "Hangup: the XML file is not a valid document"


def test_exit_1_when_the_webhook_fails(closed_url: str) -> None:
    code, result = simulate_json(closed_url)
    assert code == 1
    assert result["ended_by"] == "error"
    assert result["events"][0]["type"] == "request"
    assert result["events"][0]["status"] is None


def test_exit_1_on_a_limit(module_target: str) -> None:
    code, printed = simulate(module_target)
    assert code == 1
    assert printed.splitlines()[-1] == "Hangup: limit: more than 50 documents fetched"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--dial", "maybe"], "invalid choice: 'maybe'", id="bad-dial"),
        pytest.param(["--at", "yesterday"], "yesterday", id="bad-at"),
        pytest.param(["--tz", "Mars/Olympus_Mons"], "unknown time zone", id="unknown-tz"),
        pytest.param(["--tz", "../etc"], "unknown time zone", id="tz-path"),
        pytest.param(["--location", "Jersey"], "two-letter state", id="bad-location"),
        pytest.param(["--method", "PUT"], "invalid choice", id="bad-method"),
    ],
)
def test_exit_2_for_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = simulate(SPEC_EXAMPLE, *argv)
    assert code == 2
    assert printed == ""
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("missing.xml", "cannot read missing.xml", id="missing-file"),
        pytest.param("tests", "cannot read tests", id="directory"),
        pytest.param("no_such_module_xyz:app", "cannot import 'no_such_module_xyz'", id="module"),
        pytest.param("flows:no_such_app", "has no attribute 'no_such_app'", id="attribute"),
        pytest.param("flows.support:SUPPORT_NUMBER", "not an ASGI application", id="not-an-app"),
        pytest.param("flows:", "expected module:attribute", id="no-attribute"),
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


# -- interactive mode --------------------------------------------------------------------------


def test_interactive_asks_for_keys_at_each_gather() -> None:
    terminal = FakeTerminal("1")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count("keys? ") == 1
    assert f"Say: {PROMPT}\nkeys? (up to 1; empty = no input) > " in printed
    assert DIAL_LINE in printed
    assert printed.count("Hangup: hangup") == 1  # events are shown live, not printed again


def test_interactive_empty_line_is_no_input() -> None:
    terminal = FakeTerminal("", "")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count("keys? ") == 2
    assert terminal.unread == ""
    assert "Gather attempt 2: no input -> no-input" in printed
    assert "Say: no input" in printed


def test_interactive_end_of_input_is_no_input() -> None:
    terminal = FakeTerminal()
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert printed.count("keys? ") == 2
    assert "! Gather failed: no input (Error handler runs)" in printed


def test_interactive_prompt_names_the_stop_key(in_repository: None) -> None:
    terminal = FakeTerminal("2", "123456#")
    code, printed = simulate("flows:app", "--at", MONDAY, stdin=terminal)
    assert code == 0
    assert "keys? (up to 6, then #; empty = no input) > " in printed
    assert "Hangup: hangup (balance)" in printed


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


def test_not_interactive_without_a_terminal() -> None:
    stdin = io.StringIO("1\n")
    code, printed = simulate(SPEC_EXAMPLE, "--at", MONDAY, stdin=stdin)
    assert code == 0
    assert "keys?" not in printed
    assert "Gather attempt 2: no input -> no-input" in printed
    assert stdin.tell() == 0
