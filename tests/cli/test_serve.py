"""``callflow serve`` (callflow.cli.serve): a real uvicorn process on a loopback port, and the
command line's usage errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lxml import etree

from callflow import validate
from callflow.cli.command import EXIT_USAGE, main

if TYPE_CHECKING:
    from conftest import Server, ServerFactory, ServeRunner

ROOT = Path(__file__).resolve().parents[2]


def wait_for_output(server: Server, *lines: str, deadline_s: float = 10.0) -> str:
    """The server's output once it holds every one of ``lines`` (log lines arrive a moment
    after the reply)."""
    deadline = time.monotonic() + deadline_s
    while True:
        output = server.output()
        if all(line in output for line in lines) or time.monotonic() > deadline:
            return output
        time.sleep(0.02)


def test_callflow_serve_answers_a_real_http_request(demo_server: Server) -> None:
    server = demo_server
    reply = server.http.get(
        "/", params={"from": "+15550100999", "to": "15550100200", "call": "c-serve"}
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/xml")
    assert reply.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert validate(reply.content) == []
    assert validate(reply.content, strict=True) == []
    root = etree.fromstring(reply.content)
    hours = root.find("Gather/DTMF[@value='3']/Callback")
    assert hours is not None
    assert hours.get("url") == server.base_url + "/documents/hours.xml"

    document = server.http.get(str(hours.get("url")))
    assert document.status_code == 200
    assert validate(document.content, strict=True) == []

    posted = server.http.post(
        "/", json={"uuid": "c-serve-post", "from": "+15550100999", "to": "15550100200"}
    )
    assert posted.status_code == 200
    assert validate(posted.content, strict=True) == []

    assert server.http.put("/?call=c-serve-put").status_code == 405

    expected = (
        "callflow.access method=GET path=/ status=200 call=c-serve flow=main",
        "callflow.access method=POST path=/ status=200 call=c-serve-post flow=main",
        "callflow.access method=GET path=/documents/hours.xml status=200",
        "callflow.access method=PUT path=/ status=405",
    )
    output = wait_for_output(server, *expected)
    for line in expected:
        assert line in output
    assert "Traceback" not in output


def test_serve_log_level_warning_has_no_access_lines(start_server: ServerFactory) -> None:
    server = start_server("--log-level", "warning")
    assert server.http.get("/", params={"call": "c-quiet"}).status_code == 200
    assert server.http.get("/nowhere").status_code == 404
    server.stop()  # the log is complete once the process has exited
    output = server.output()
    assert "callflow.access" not in output
    assert "Traceback" not in output


# -- usage errors (no server started) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["serve", "flows"], "APP must be module:attribute, not 'flows'", id="no-colon"
        ),
        pytest.param(["serve", "--workers", "0"], "--workers must be >= 1", id="workers"),
        pytest.param(
            ["serve", "--reload", "--workers", "2"],
            "--reload and --workers cannot be combined",
            id="reload-and-workers",
        ),
    ],
)
def test_serve_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == EXIT_USAGE
    assert capsys.readouterr().err == f"callflow: {message}\n"


def test_serve_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for option in ("--host", "--port", "--reload", "--workers", "--log-level", "--log-format"):
        assert option in out
    for default in (
        "(default: flows:app,",
        "(default: 127.0.0.1)",
        "(default: 8000)",
        "(default: off)",
        "(default: one process)",
        "(default: info)",
        "(default: the App's log_format setting, CALLFLOW_LOG_FORMAT, else text)",
    ):
        assert default in out
    codes = out[out.index("exit codes:") :]
    for line in (
        "0 stopped with Ctrl-C (SIGINT); after SIGTERM",
        "1 the App raised an error while it was imported",
        "2 usage or configuration error",
        "3 uvicorn could not start: the port is taken",
    ):
        assert line in codes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--port", "http"],
            "argument --port: expected a port number 0-65535 (got 'http')",
            id="port-word",
        ),
        pytest.param(["--port", "65536"], "argument --port: expected a port number", id="big"),
        pytest.param(["--port", "-1"], "argument --port: expected a port number", id="negative"),
        pytest.param(
            ["--workers", "four"],
            "argument --workers: expected a number of processes, like 4 (got 'four')",
            id="workers-word",
        ),
        pytest.param(["--log-level", "loud"], "argument --log-level: invalid choice", id="level"),
        pytest.param(["--log-format", "xml"], "argument --log-format: invalid choice", id="fmt"),
        pytest.param(["--host"], "argument --host: expected one argument", id="no-host"),
    ],
)
def test_serve_option_errors_name_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["serve", *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("usage: callflow serve ")
    assert f"callflow serve: error: {message}" in err


# -- exit codes of a real process --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "code"),
    [
        pytest.param(signal.SIGINT, 0, id="ctrl-c"),
        # uvicorn shuts down, then raises the signal again: a supervisor sees it ended by it.
        pytest.param(signal.SIGTERM, -signal.SIGTERM, id="sigterm"),
    ],
)
def test_serve_stops_gracefully(
    start_server: ServerFactory, stop: signal.Signals, code: int
) -> None:
    server = start_server()
    server.http.close()
    server.process.send_signal(stop)
    assert server.process.wait(timeout=15) == code
    output = server.output()
    assert "Application shutdown complete." in output
    assert "Traceback" not in output


def test_serve_exits_3_when_the_port_is_taken(run_serve: ServeRunner) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve("--port", str(port))  # the last --port wins
    assert result.code == 3, result
    assert "address already in use" in (result.stdout + result.stderr).lower()


def test_serve_exits_1_when_the_app_raises_on_import(
    run_serve: ServeRunner, tmp_path: Path
) -> None:
    (tmp_path / "broken_on_import.py").write_text("raise RuntimeError('no database')\n")
    result = run_serve(app="broken_on_import:app", env={"PYTHONPATH": str(tmp_path)})
    assert result.code == 1, result
    assert "RuntimeError: no database" in result.stderr  # the App's own error, with its place


@pytest.mark.parametrize("module", ["callflow", "callflow.cli"])
def test_serve_usage_error_through_python_m(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "serve", "flows"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (
        EXIT_USAGE,
        "callflow: APP must be module:attribute, not 'flows'\n",
    )
