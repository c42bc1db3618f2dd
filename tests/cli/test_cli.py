"""``callflow validate`` and ``callflow lint``: files, directories and stdin, text and JSON
output, exit codes (0 clean, 1 problems or findings, 2 usage errors or unreadable input), run
in process and as the installed console script."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import select
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import callflow
from callflow import lint, validate
from callflow.cli import command as cli
from callflow.cli.command import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
COMPAT_ONLY = ROOT / "tests" / "data" / "xsd" / "compat-only" / "gather-numDigits.xml"


def xml(text: str) -> bytes:
    """A document from an indented literal; its first line is line 1."""
    return textwrap.dedent(text).strip().encode() + b"\n"


VALID = xml(
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <Response>
      <Answer/>
      <Say>Grüß Gott.</Say>
      <Hangup/>
    </Response>
    """
)

INVALID = xml(
    """
    <Response>
      <Gather dtmf_length="1">
        <DTMF value="1"><Say>One.</Say></DTMF>
        <DTMF value="1"><Say>Uno.</Say></DTMF>
      </Gather>
      <Say></Say>
      <Hangup>bye</Hangup>
    </Response>
    """
)
INVALID_PLACES = ["4:5", "6:3", "7:3"]
"""Where the three problems of INVALID are: the start tags of DTMF[2], Say and Hangup."""

LINTED = xml(
    """
    <Response>
      <Hangup/>
      <Say>Bye.</Say>
    </Response>
    """
)
LINTED_LINE = (
    "linted.xml:3:3: CF201 warning <Say> can never run: the call hangs up before it (D20) "
    f"(hint: {lint(LINTED)[0].hint})"
)

INFO_ONLY = xml(
    """
    <Response>
      <Play record="greeting"/>
      <Callback url="/next"/>
    </Response>
    """
)
"""A valid document whose only findings are of severity info (CF601, CF603)."""


def run(*argv: str, stdin: bytes = b"") -> tuple[int, str]:
    """Run ``callflow ARGV`` in process; return the exit code and what it printed."""
    out = io.StringIO()
    code = main(list(argv), stdout=out, stdin=io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    return code, out.getvalue()


def problem_lines(name: str, data: bytes, *, strict: bool = False) -> list[str]:
    return [f"{name}:{p.line}:{p.column}: {p.message}" for p in validate(data, strict=strict)]


def finding_lines(name: str, data: bytes) -> list[str]:
    return [
        f"{name}:{f.line}:{f.column}: {f.code} {f.severity} {f.message} (hint: {f.hint})"
        for f in lint(data)
    ]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current directory holding valid.xml, invalid.xml, legacy.xml and linted.xml."""
    (tmp_path / "valid.xml").write_bytes(VALID)
    (tmp_path / "invalid.xml").write_bytes(INVALID)
    (tmp_path / "legacy.xml").write_bytes(COMPAT_ONLY.read_bytes())
    (tmp_path / "linted.xml").write_bytes(LINTED)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tree(workdir: Path) -> Path:
    """flows/ with *.xml files at several depths, other files, and a directory named *.xml."""
    flows = workdir / "flows"
    (flows / "sub" / "deeper").mkdir(parents=True)
    (flows / "menu.xml.d").mkdir()
    (flows / "dir.xml").mkdir()
    (flows / "a.xml").write_bytes(VALID)
    (flows / "sub" / "deeper" / "b.xml").write_bytes(INVALID)
    (flows / "dir.xml" / "inner.xml").write_bytes(VALID)
    (flows / "menu.xml.d" / "c.xml").write_bytes(LINTED)
    for other in ("notes.txt", "a.xml.bak", "sub/README.md", "sub/deeper/b.XML.orig"):
        (flows / other).write_text("not XML <<<", encoding="utf-8")
    return flows


# -- validate: files ---------------------------------------------------------------------------


def test_valid_file_exits_0_and_prints_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("validate", "valid.xml") == (0, "")
    assert capsys.readouterr() == ("", "")


def test_invalid_file_prints_one_line_per_problem(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = run("validate", "invalid.xml")
    assert code == 1
    lines = printed.splitlines()
    assert printed.endswith("\n")
    assert lines == problem_lines("invalid.xml", INVALID)
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"invalid.xml:{place}" for place in INVALID_PLACES
    ]
    assert lines[0] == (
        "invalid.xml:4:5: <DTMF> 'value' duplicates another branch of this Gather (D5) (got '1')"
    )
    assert capsys.readouterr().err == ""


def test_several_files_report_the_invalid_ones_in_order(workdir: Path) -> None:
    code, printed = run("validate", "valid.xml", "invalid.xml", "legacy.xml", "invalid.xml")
    assert code == 1
    assert printed.splitlines() == problem_lines("invalid.xml", INVALID) * 2


def test_all_valid_files_exit_0(workdir: Path) -> None:
    assert run("validate", "valid.xml", "legacy.xml", "linted.xml") == (0, "")


def test_strict_rejects_a_legacy_form(workdir: Path) -> None:
    assert run("validate", "legacy.xml") == (0, "")
    code, printed = run("validate", "--strict", "legacy.xml")
    assert code == 1
    assert printed.splitlines() == problem_lines(
        "legacy.xml", COMPAT_ONLY.read_bytes(), strict=True
    )
    assert printed.startswith("legacy.xml:4:3: ")
    assert "'numDigits'" in printed


def test_strict_accepts_a_canonical_file(workdir: Path) -> None:
    assert run("validate", "--strict", "valid.xml") == (0, "")


def test_file_named_explicitly_is_read_whatever_its_name(workdir: Path) -> None:
    (workdir / "flow.txt").write_bytes(INVALID)
    code, printed = run("validate", "flow.txt")
    assert code == 1
    assert printed.splitlines() == problem_lines("flow.txt", INVALID)


def test_absolute_path_is_printed_as_given(workdir: Path) -> None:
    path = str(workdir / "invalid.xml")
    code, printed = run("validate", path)
    assert code == 1
    assert printed.splitlines() == problem_lines(path, INVALID)


# -- validate: directories ---------------------------------------------------------------------


def test_directory_is_searched_recursively_for_xml_files(tree: Path) -> None:
    code, printed = run("validate", "flows")
    assert code == 1
    assert printed.splitlines() == problem_lines("flows/sub/deeper/b.xml", INVALID)


def test_directory_files_in_json(tree: Path) -> None:
    code, printed = run("validate", "--format", "json", "flows")
    assert code == 1
    report = json.loads(printed)
    assert [(f["path"], f["ok"]) for f in report["files"]] == [
        ("flows/a.xml", True),
        ("flows/dir.xml/inner.xml", True),
        ("flows/menu.xml.d/c.xml", True),
        ("flows/sub/deeper/b.xml", False),
    ]


def test_directory_of_valid_files_exits_0(workdir: Path) -> None:
    (workdir / "ok" / "nested").mkdir(parents=True)
    (workdir / "ok" / "nested" / "one.xml").write_bytes(VALID)
    (workdir / "ok" / "two.xml").write_bytes(LINTED)
    (workdir / "ok" / "ignored.txt").write_bytes(INVALID)
    assert run("validate", "ok") == (0, "")


def test_directory_without_xml_files_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "empty" / "sub").mkdir(parents=True)
    (workdir / "empty" / "notes.txt").write_bytes(VALID)
    assert run("validate", "empty") == (2, "")
    assert capsys.readouterr().err == "callflow: no *.xml files under empty\n"


def test_file_and_directory_together(tree: Path) -> None:
    code, printed = run("validate", "invalid.xml", "flows/sub")
    assert code == 1
    assert printed.splitlines() == [
        *problem_lines("invalid.xml", INVALID),
        *problem_lines("flows/sub/deeper/b.xml", INVALID),
    ]


# -- validate: stdin ---------------------------------------------------------------------------


def test_stdin_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("validate", "-", stdin=VALID) == (0, "")
    assert capsys.readouterr().err == ""


def test_stdin_invalid_is_named_dash() -> None:
    code, printed = run("validate", "-", stdin=INVALID)
    assert code == 1
    assert printed.splitlines() == problem_lines("-", INVALID)
    assert printed.startswith("-:4:5: ")


def test_stdin_is_read_as_bytes() -> None:
    # Latin-1 bytes: a text stdin would fail to decode them; read as bytes, they are a problem
    # of the document, at its place.
    code, printed = run("validate", "-", stdin=b"<Response><Say>caf\xe9</Say></Response>")
    assert code == 1
    assert printed == "-:1:19: document is not valid UTF-8 (byte 0xe9)\n"


def test_stdin_without_a_byte_buffer() -> None:
    out = io.StringIO()
    assert main(["validate", "-"], stdout=out, stdin=io.StringIO(VALID.decode())) == 0
    assert out.getvalue() == ""
    code = main(["validate", "-"], stdout=out, stdin=io.StringIO(INVALID.decode()))
    assert code == 1
    assert out.getvalue().splitlines() == problem_lines("-", INVALID)


def test_stdin_together_with_files(workdir: Path) -> None:
    code, printed = run("validate", "valid.xml", "-", "invalid.xml", stdin=INVALID)
    assert code == 1
    assert printed.splitlines() == [
        *problem_lines("-", INVALID),
        *problem_lines("invalid.xml", INVALID),
    ]


def test_empty_stdin_is_an_invalid_document() -> None:
    assert run("validate", "-", stdin=b"") == (1, "-:1:1: document is empty\n")


# -- usage errors and unreadable input ---------------------------------------------------------


def test_missing_file_exits_2_with_a_message(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("validate", "missing.xml") == (2, "")
    assert capsys.readouterr().err == (
        "callflow: cannot read missing.xml: No such file or directory\n"
    )


def test_missing_file_after_valid_ones_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("validate", "valid.xml", "missing.xml")
    assert code == 2
    assert capsys.readouterr().err.startswith("callflow: cannot read missing.xml")


def test_lint_missing_file_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("lint", "nowhere/flow.xml") == (2, "")
    assert "callflow: cannot read nowhere/flow.xml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["validate", "--bogus", "valid.xml"],
            "unrecognized arguments: --bogus",
            id="unknown-option",
        ),
        pytest.param(
            ["validate"], "the following arguments are required: PATH", id="validate-without-path"
        ),
        pytest.param(
            ["lint"], "the following arguments are required: PATH", id="lint-without-path"
        ),
        pytest.param(
            ["validate", "--format", "xml", "valid.xml"],
            "invalid choice: 'xml'",
            id="unknown-format",
        ),
        pytest.param(
            ["lint", "--strict", "valid.xml"],
            "unrecognized arguments: --strict",
            id="lint-has-no-strict",
        ),
        pytest.param([], "the following arguments are required: COMMAND", id="no-command"),
        pytest.param(["check", "valid.xml"], "invalid choice: 'check'", id="unknown-command"),
    ],
)
def test_usage_error_exits_2(
    workdir: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*argv) == (2, "")
    captured = capsys.readouterr()
    assert message in captured.err
    assert "usage: callflow" in captured.err
    assert captured.out == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = run("--version")
    assert code == 0
    assert f"callflow {callflow.__version__}\n" in printed + capsys.readouterr().out


def test_help_of_a_command_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, printed = run("validate", "--help")
    assert code == 0
    text = printed + capsys.readouterr().out
    assert "--strict" in text
    assert "--format" in text


# -- --help ------------------------------------------------------------------------------------


def parsers() -> dict[str, argparse.ArgumentParser]:
    """The parser of ``callflow`` ("") and of each of its commands."""
    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **commands.choices}


COMMANDS = ["", "validate", "lint", "serve", "simulate", "explore"]
EXIT_CODES = {
    "": ["0", "1", "2", "3", "130"],
    "validate": ["0", "1", "2"],
    "lint": ["0", "1", "2"],
    "serve": ["0", "1", "2", "3"],
    "simulate": ["0", "1", "2", "130"],
    "explore": ["0", "1", "2"],
}


def test_every_command_is_checked() -> None:
    assert list(parsers()) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_a_meaning_and_a_default(command: str) -> None:
    parser = parsers()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            assert all(choice.help for choice in action._choices_actions)
            continue
        assert action.help, action
        if action.option_strings:  # a positional says what it is; an option, its default
            assert "default" in action.help, action.option_strings


def normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_has_a_description_the_options_and_the_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = parsers()[command]
    argv = [command, "--help"] if command else ["--help"]
    assert run(*argv) == (0, "")
    text = capsys.readouterr().out
    assert text.startswith(f"usage: callflow {command}".rstrip() + " ")
    assert parser.description
    assert normalized(parser.description) in normalized(text)
    for action in parser._actions:
        for option in action.option_strings:
            assert option in text
        if action.help and not isinstance(action, argparse._SubParsersAction):
            expanded = action.help % {"default": action.default}
            assert normalized(expanded) in normalized(text)
    epilog = text[text.index("\nexit codes:\n") :].splitlines()[2:]
    listed = [line.split()[0] for line in epilog if line.startswith("  ") and line[2] != " "]
    assert listed == EXIT_CODES[command]


def run_in_pty(*argv: str, env: dict[str, str]) -> tuple[int, bytes]:
    """Run ``callflow ARGV`` with a pseudo-terminal as stdin, stdout and stderr; return its
    exit code and everything it wrote."""
    primary, secondary = os.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(TERM="xterm-256color", COLUMNS="100", **env)
    process = subprocess.Popen(
        [*callflow_command(), *argv],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=environment,
    )
    os.close(secondary)
    output = b""
    try:
        while select.select([primary], [], [], 30)[0]:
            try:
                data = os.read(primary, 65536)
            except OSError:  # EIO: every end of the terminal is closed
                break
            if not data:
                break
            output += data
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
    return process.wait(timeout=30), output


def has_colour(output: bytes) -> bool:
    """Whether ``output`` holds an SGR sequence that sets a foreground or background colour."""
    for match in re.finditer(rb"\x1b\[([0-9;]*)m", output):
        for param in match.group(1).split(b";"):
            if param and (30 <= int(param) <= 49 or 90 <= int(param) <= 107):
                return True
    return False


def test_help_in_colour_on_a_terminal() -> None:
    code, output = run_in_pty("lint", "--help", env={})
    assert code == 0
    assert has_colour(output)
    assert b"--select" in output


def test_help_honours_no_color() -> None:
    code, output = run_in_pty("lint", "--help", env={"NO_COLOR": "1"})
    assert code == 0
    assert not has_colour(output)
    assert b"usage: callflow lint [-h]" in output


def test_help_is_plain_when_piped(tmp_path: Path) -> None:
    result = execute("simulate", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert b"\x1b[" not in result.stdout
    assert b"exit codes:" in result.stdout


def test_ctrl_c_exits_130_without_a_traceback(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(data: bytes, *, strict: bool = False) -> list[Any]:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "validate", interrupted)
    assert run("validate", "valid.xml") == (130, "")
    assert capsys.readouterr().err == "callflow: interrupted\n"


# -- validate --format json --------------------------------------------------------------------


def test_validate_json(workdir: Path) -> None:
    code, printed = run("validate", "--format", "json", "valid.xml", "invalid.xml")
    assert code == 1
    report = json.loads(printed)
    assert report == {
        "ok": False,
        "files": [
            {"path": "valid.xml", "ok": True, "problems": []},
            {
                "path": "invalid.xml",
                "ok": False,
                "problems": [p.to_dict() for p in validate(INVALID)],
            },
        ],
    }
    problems = report["files"][1]["problems"]
    assert [set(p) for p in problems] == [{"line", "column", "path", "message"}] * 3
    assert [f"{p['line']}:{p['column']}" for p in problems] == INVALID_PLACES
    assert problems[0]["path"] == "/Response/Gather/DTMF[2]"


def test_validate_json_all_valid(workdir: Path) -> None:
    code, printed = run("validate", "--format", "json", "valid.xml", "-", stdin=VALID)
    assert code == 0
    assert json.loads(printed) == {
        "ok": True,
        "files": [
            {"path": "valid.xml", "ok": True, "problems": []},
            {"path": "-", "ok": True, "problems": []},
        ],
    }


def test_validate_json_strict(workdir: Path) -> None:
    code, printed = run("validate", "--strict", "--format", "json", "legacy.xml")
    assert code == 1
    [entry] = json.loads(printed)["files"]
    assert entry["ok"] is False
    assert [p["line"] for p in entry["problems"]] == [4]


def test_non_ascii_text_is_printed_as_utf8(workdir: Path) -> None:
    document = '<Response><Say loop="grüße">x</Say></Response>'.encode()
    code, printed = run("validate", "-", stdin=document)
    assert code == 1
    assert printed.startswith("-:1:11: ")
    assert "'grüße'" in printed
    code, printed = run("validate", "--format", "json", "-", stdin=document)
    assert code == 1
    assert "'grüße'" in printed  # written as UTF-8, not as JSON escapes
    report: dict[str, Any] = json.loads(printed)
    [problem] = report["files"][0]["problems"]
    assert problem["path"] == "/Response/Say"
    assert "'grüße'" in problem["message"]


# -- lint --------------------------------------------------------------------------------------


def test_lint_clean_file_exits_0(workdir: Path) -> None:
    assert lint(VALID) == []
    assert run("lint", "valid.xml") == (0, "")


def test_lint_prints_code_and_message(workdir: Path) -> None:
    assert run("lint", "linted.xml") == (1, LINTED_LINE + "\n")


def test_lint_lines_are_the_findings(workdir: Path) -> None:
    code, printed = run("lint", "valid.xml", "legacy.xml", "linted.xml")
    assert code == 1
    legacy = COMPAT_ONLY.read_bytes()
    assert printed.splitlines() == [*finding_lines("legacy.xml", legacy), LINTED_LINE]
    assert printed.startswith(
        "legacy.xml:4:3: CF101 warning <Gather> 'numDigits' is a legacy attribute"
    )


def test_lint_invalid_file_prints_cf001_lines(workdir: Path) -> None:
    code, printed = run("lint", "invalid.xml")
    assert code == 1
    assert printed.splitlines() == [
        f"invalid.xml:{p.line}:{p.column}: CF001 error {p.message} (hint: fix the document)"
        for p in validate(INVALID)
    ]


def test_lint_directory_and_stdin(tree: Path) -> None:
    code, printed = run("lint", "flows/menu.xml.d", "-", stdin=LINTED)
    assert code == 1
    assert printed.splitlines() == [
        LINTED_LINE.replace("linted.xml", "flows/menu.xml.d/c.xml"),
        LINTED_LINE.replace("linted.xml", "-"),
    ]


def test_lint_json(workdir: Path) -> None:
    code, printed = run("lint", "--format", "json", "valid.xml", "linted.xml")
    assert code == 1
    report = json.loads(printed)
    assert report == {
        "ok": False,
        "files": [
            {"path": "valid.xml", "ok": True, "findings": []},
            {
                "path": "linted.xml",
                "ok": False,
                "findings": [f.to_dict() for f in lint(LINTED)],
            },
        ],
    }
    [finding] = report["files"][1]["findings"]
    assert finding["code"] == "CF201"
    assert finding["severity"] == "warning"
    assert finding["hint"]
    assert (finding["line"], finding["column"], finding["path"]) == (3, 3, "/Response/Say")
    assert set(finding) == {"line", "column", "code", "path", "message", "hint", "severity"}


def test_lint_json_clean(workdir: Path) -> None:
    code, printed = run("lint", "--format", "json", "valid.xml")
    assert code == 0
    assert json.loads(printed) == {
        "ok": True,
        "files": [{"path": "valid.xml", "ok": True, "findings": []}],
    }


def test_lint_json_invalid_file_has_error_findings(workdir: Path) -> None:
    code, printed = run("lint", "--format", "json", "invalid.xml")
    assert code == 1
    findings = json.loads(printed)["files"][0]["findings"]
    assert [(f["code"], f["severity"]) for f in findings] == [("CF001", "error")] * 3


MIXED = xml(
    """
    <Response>
      <Gather numDigits="1"><Say>Press.</Say></Gather>
      <Play record="greeting"/>
      <Hangup/>
      <Say>Bye.</Say>
    </Response>
    """
)
"""Findings CF101 (warning), CF601 (info) and CF201 (warning), in that order."""


def test_lint_line_format(workdir: Path) -> None:
    code, printed = run("lint", "-", stdin=MIXED)
    assert code == 1
    assert printed.splitlines() == finding_lines("-", MIXED)
    lines = printed.splitlines()
    assert [line.split(" ")[:3] for line in lines] == [
        ["-:2:3:", "CF101", "warning"],
        ["-:3:3:", "CF601", "info"],
        ["-:5:3:", "CF201", "warning"],
    ]
    assert all(re.fullmatch(r"\S+ CF\d{3} (error|warning|info) .+ \(hint: .+\)", x) for x in lines)


def test_lint_info_findings_alone_exit_0(workdir: Path) -> None:
    (workdir / "info.xml").write_bytes(INFO_ONLY)
    code, printed = run("lint", "info.xml")
    assert code == 0
    assert [line.split(" ")[1:3] for line in printed.splitlines()] == [
        ["CF601", "info"],
        ["CF603", "info"],
    ]
    assert run("lint", "info.xml", "linted.xml")[0] == 1  # the warning of linted.xml


def test_lint_json_info_only_is_ok(workdir: Path) -> None:
    code, printed = run("lint", "--format", "json", "valid.xml", "-", "linted.xml", stdin=INFO_ONLY)
    assert code == 1
    report = json.loads(printed)
    assert report["ok"] is False
    assert [(f["path"], f["ok"]) for f in report["files"]] == [
        ("valid.xml", True),
        ("-", True),  # info findings only
        ("linted.xml", False),
    ]
    assert [f["severity"] for f in report["files"][1]["findings"]] == ["info", "info"]
    assert report["files"][1]["findings"] == [f.to_dict() for f in lint(INFO_ONLY)]
    code, printed = run("lint", "--format", "json", "-", stdin=INFO_ONLY)
    assert code == 0
    assert json.loads(printed)["ok"] is True


@pytest.mark.parametrize(
    ("options", "codes", "exit_code"),
    [
        pytest.param([], ["CF101", "CF601", "CF201"], 1, id="all"),
        pytest.param(["--select", "CF6"], ["CF601"], 0, id="select-prefix-info-only"),
        pytest.param(["--select", "CF1,CF2"], ["CF101", "CF201"], 1, id="select-list"),
        pytest.param(["--select", "cf201"], ["CF201"], 1, id="select-lower-case"),
        pytest.param(["--select", "CF101", "--select", "CF6"], ["CF101", "CF601"], 1, id="twice"),
        pytest.param(["--select", " CF101 , CF201 "], ["CF101", "CF201"], 1, id="spaces"),
        pytest.param(["--ignore", "CF1"], ["CF601", "CF201"], 1, id="ignore-prefix"),
        pytest.param(["--ignore", "CF1,CF201"], ["CF601"], 0, id="ignore-list"),
        pytest.param(["--select", "CF1", "--ignore", "CF101"], [], 0, id="ignore-wins"),
        pytest.param(["--select", "CF"], ["CF101", "CF601", "CF201"], 1, id="select-everything"),
    ],
)
def test_lint_select_and_ignore(
    workdir: Path, options: list[str], codes: list[str], exit_code: int
) -> None:
    code, printed = run("lint", *options, "-", stdin=MIXED)
    assert code == exit_code
    assert [line.split(" ")[1] for line in printed.splitlines()] == codes
    code, printed = run("lint", "--format", "json", *options, "-", stdin=MIXED)
    assert code == exit_code
    report = json.loads(printed)
    assert report["ok"] is (exit_code == 0)
    assert [f["code"] for f in report["files"][0]["findings"]] == codes


def test_lint_ignore_cf001_passes_an_invalid_document(workdir: Path) -> None:
    assert run("lint", "--ignore", "CF001", "invalid.xml") == (0, "")
    assert run("lint", "--select", "CF2", "invalid.xml") == (0, "")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--select", "XY1"], "argument --select: 'XY1' is no lint code", id="unknown"),
        pytest.param(["--select", "CF9"], "argument --select: 'CF9' is no lint code", id="cf9"),
        pytest.param(
            ["--ignore", "CF101,CF7"], "argument --ignore: 'CF7' is no lint code", id="in-list"
        ),
        pytest.param(["--ignore", ","], "argument --ignore: expected codes", id="empty"),
        pytest.param(["--select="], "argument --select: expected codes", id="no-value"),
    ],
)
def test_lint_bad_codes_are_usage_errors(
    workdir: Path, options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("lint", *options, "linted.xml") == (2, "")
    err = capsys.readouterr().err
    assert err.startswith("usage: callflow lint ")
    assert f"callflow lint: error: {message}" in err


# -- a closed output pipe ----------------------------------------------------------------------


class ClosedPipe(io.StringIO):
    """A stdout whose reader went away (``| head -1`` after its line)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_output_pipe_is_not_an_error(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    code = main(["validate", "invalid.xml"], stdout=ClosedPipe(), stdin=io.StringIO())
    assert code == 1  # lines were being written: there were problems
    # stderr is closed so that nothing (not even Python's flush at exit) can complain on it.
    assert stderr.closed


# -- the installed command ---------------------------------------------------------------------


def callflow_command() -> list[str]:
    """The ``callflow`` script of this interpreter's environment, else ``python -m callflow``."""
    script = Path(sys.executable).with_name("callflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "callflow"]


def execute(
    *argv: str, cwd: Path, stdin: bytes = b"", command: list[str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*(command or callflow_command()), *argv],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )


def test_console_script_validates_files(workdir: Path) -> None:
    valid = execute("validate", "valid.xml", cwd=workdir)
    assert (valid.returncode, valid.stdout, valid.stderr) == (0, b"", b"")
    invalid = execute("validate", "valid.xml", "invalid.xml", cwd=workdir)
    assert invalid.returncode == 1
    assert invalid.stderr == b""
    assert invalid.stdout.decode().splitlines() == problem_lines("invalid.xml", INVALID)


def test_console_script_reads_stdin_and_lints(workdir: Path) -> None:
    result = execute("lint", "-", cwd=workdir, stdin=LINTED)
    assert (result.returncode, result.stderr) == (1, b"")
    assert result.stdout.decode() == LINTED_LINE.replace("linted.xml", "-") + "\n"
    clean = execute("lint", "--format", "json", "-", cwd=workdir, stdin=VALID)
    assert clean.returncode == 0
    assert json.loads(clean.stdout) == {
        "ok": True,
        "files": [{"path": "-", "ok": True, "findings": []}],
    }


def test_console_script_usage_errors(workdir: Path) -> None:
    missing = execute("validate", "missing.xml", cwd=workdir)
    assert missing.returncode == 2
    assert missing.stdout == b""
    assert missing.stderr.decode() == (
        "callflow: cannot read missing.xml: No such file or directory\n"
    )
    bogus = execute("validate", "--bogus", "valid.xml", cwd=workdir)
    assert bogus.returncode == 2
    assert b"unrecognized arguments: --bogus" in bogus.stderr
    assert b"Traceback" not in missing.stderr + bogus.stderr


def test_console_script_help_and_version(tmp_path: Path) -> None:
    helped = execute("--help", cwd=tmp_path)
    assert (helped.returncode, helped.stderr) == (0, b"")
    assert b"usage: callflow" in helped.stdout
    assert b"validate" in helped.stdout
    assert b"lint" in helped.stdout
    version = execute("--version", cwd=tmp_path)
    assert (version.returncode, version.stderr) == (0, b"")
    assert version.stdout.decode() == f"callflow {callflow.__version__}\n"


def test_python_dash_m_callflow(tmp_path: Path) -> None:
    result = execute("--version", cwd=tmp_path, command=[sys.executable, "-m", "callflow"])
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode() == f"callflow {callflow.__version__}\n"


@pytest.fixture
def big_dir(tmp_path: Path) -> Path:
    """Documents with thousands of problems: far more output than a pipe buffers."""
    folder = tmp_path / "big"
    folder.mkdir()
    body = "\n".join("  <Hangup>bye</Hangup>" for _ in range(2000))
    for index in range(2):
        (folder / f"f{index}.xml").write_text(f"<Response>\n{body}\n</Response>\n")
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["validate"], id="validate"),
        pytest.param(["lint"], id="lint"),
        pytest.param(["validate", "--format", "json"], id="validate-json"),
    ],
)
def test_output_into_a_closed_pipe_prints_no_traceback(big_dir: Path, argv: list[str]) -> None:
    command = shlex.join([*callflow_command(), *argv, big_dir.name])
    result = subprocess.run(
        ["sh", "-c", f"{command} | head -1"],
        cwd=big_dir.parent,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0
    assert result.stderr == b""
    [line] = result.stdout.decode().splitlines()
    if "json" in argv:
        assert line == "{"
    else:
        assert line.startswith("big/f0.xml:2:3: ")
