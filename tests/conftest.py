"""Shared fixtures of the test suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from lxml import etree
from starlette.testclient import TestClient

from callflow import validate

ROOT = Path(__file__).resolve().parent.parent

# -- the HTTP server ---------------------------------------------------------------------------

ClientFactory = Callable[..., TestClient]
"""``client_for(app, client=("1.2.3.4", 123), ...)``: a TestClient closed after the test."""

XmlReply = Callable[..., etree._Element]
"""``xml_reply(response, strict=True)``: check a 200 XML reply, return its parsed root."""


@pytest.fixture(autouse=True)
def _no_callflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep ``CALLFLOW_*`` variables of the developer's shell out of ``App()`` settings."""
    for name in list(os.environ):
        if name.startswith("CALLFLOW_"):
            monkeypatch.delenv(name)


@pytest.fixture
def client_for() -> Iterator[ClientFactory]:
    """Build TestClients for small Apps; each is closed at teardown."""
    clients: list[TestClient] = []

    def make(app: Any, **options: Any) -> TestClient:
        client = TestClient(app, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _xml_reply(response: httpx2.Response, *, strict: bool = True) -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    body = response.content
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert validate(body) == []
    if strict:
        assert validate(body, strict=True) == []
    return etree.fromstring(body)


@pytest.fixture(scope="session")
def xml_reply() -> XmlReply:
    """Assert that a reply is a 200 valid document (strictly by default); return its root."""
    return _xml_reply


# -- a real `callflow serve` -------------------------------------------------------------------

SERVER_STARTUP_DEADLINE_S = 60.0


@dataclass
class Server:
    """A ``callflow serve`` process on a loopback port, with a client for its base URL."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    http: httpx2.Client

    def output(self) -> str:
        """Everything the server wrote so far (its log lines go to stderr, line-buffered)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Terminate the server (SIGTERM, a graceful shutdown) and return its exit code."""
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=15)


ServerFactory = Callable[..., Server]
"""``start_server(*options, app="flows:app")``: a healthy ``callflow serve``, stopped after
the test."""


def _callflow_command() -> list[str]:
    """The installed ``callflow`` script of this interpreter's environment, else ``-m``."""
    script = Path(sys.executable).with_name("callflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "callflow"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_healthy(server: Server) -> None:
    """Poll /healthz until it answers 200; fail at once if the process exits, or at the
    deadline."""
    deadline = time.monotonic() + SERVER_STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            if server.http.get("/healthz").status_code == 200:
                return
        except httpx2.TransportError:
            pass
        try:
            # Waiting on the process paces the polling and notices a crash at once.
            code = server.process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"callflow serve exited with {code}:\n{server.output()}")
    pytest.fail(f"callflow serve did not answer /healthz in time:\n{server.output()}")


def _start_server(log: Path, app: str, options: tuple[str, ...]) -> Server:
    """Start ``callflow serve app`` on a free loopback port and wait until it is healthy; the
    developer's ``CALLFLOW_*`` variables are left out and the secret is fixed."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLFLOW_")}
    env["CALLFLOW_SECRET"] = "serve-test-secret"
    argv = [*_callflow_command(), "serve", app, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*argv, *options],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    # trust_env=False: a proxy configured in the environment must not see loopback requests.
    http = httpx2.Client(base_url=base_url, timeout=10.0, trust_env=False)
    server = Server(process, base_url, log, http)
    try:
        _wait_until_healthy(server)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``callflow serve flows:app`` (the demo flows), started once for the whole session and
    shared: do not stop it. It must shut down at the end without logging a traceback."""
    server = _start_server(tmp_path_factory.mktemp("demo-server") / "server.log", "flows:app", ())
    try:
        yield server
    finally:
        code = server.stop()
        output = server.output()
        if "Traceback" in output:
            pytest.fail(f"callflow serve logged a traceback (exit {code}):\n{output}")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers of one's own (other options, or to stop them); stopped at teardown."""
    started: list[Server] = []

    def start(*options: str, app: str = "flows:app") -> Server:
        server = _start_server(tmp_path / f"server-{len(started)}.log", app, options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
