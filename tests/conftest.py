"""Shared fixtures of the test suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
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

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        return int(self.base_url.rsplit(":", 1)[1])

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
"""``start_server(*options, app="flows:app", env={...}, headers={...})``: a healthy
``callflow serve``, stopped after the test (``env`` adds variables to the server's
environment; ``headers`` are sent by ``Server.http`` on every request, the health check
included)."""


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


def _server_environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a ``callflow`` process: the developer's ``CALLFLOW_*`` variables
    are left out, the secret is fixed, then ``extra`` is added (it may replace the secret)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLFLOW_")}
    env["CALLFLOW_SECRET"] = "serve-test-secret"
    env.update(extra or {})
    return env


def _start_server(
    log: Path,
    app: str,
    options: tuple[str, ...],
    env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Server:
    """Start ``callflow serve app`` on a free loopback port and wait until it is healthy; the
    developer's ``CALLFLOW_*`` variables are left out and the secret is fixed (``env`` adds
    to or replaces them)."""
    port = _free_port()
    argv = [*_callflow_command(), "serve", app, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*argv, *options],
            cwd=ROOT,
            env=_server_environment(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    # trust_env=False: a proxy configured in the environment must not see loopback requests.
    http = httpx2.Client(
        base_url=base_url, timeout=10.0, trust_env=False, headers=dict(headers or {})
    )
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

    def start(
        *options: str,
        app: str = "flows:app",
        env: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Server:
        log = tmp_path / f"server-{len(started)}.log"
        server = _start_server(log, app, options, env, headers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerFactory]:
    """Like ``start_server``, but the servers are shared by the tests of one module (one
    configuration, started once) and stopped after its last test."""
    started: list[Server] = []
    directory = tmp_path_factory.mktemp("module-servers")

    def start(
        *options: str,
        app: str = "flows:app",
        env: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Server:
        log = directory / f"server-{len(started)}.log"
        server = _start_server(log, app, options, env, headers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# -- a `callflow` command that is expected to fail -----------------------------------------


@dataclass(frozen=True)
class ServeExit:
    """How a ``callflow serve`` that should not start ended."""

    code: int | None
    """Its exit code; None when it started serving instead (it was then stopped)."""
    stdout: str
    stderr: str


ServeRunner = Callable[..., ServeExit]
"""``run_serve(*options, app="flows:app", env={...})``: run ``callflow serve`` on a free
loopback port until it exits (or starts listening, or a deadline passes)."""

CommandRunner = Callable[..., "subprocess.CompletedProcess[str]"]
"""``run_callflow(*argv, env={...})``: run the ``callflow`` command to its end."""


@pytest.fixture
def run_serve(tmp_path: Path) -> ServeRunner:
    """Run a ``callflow serve`` expected to refuse to start; see :data:`ServeRunner`."""
    runs = 0

    def run(
        *options: str,
        app: str = "flows:app",
        env: Mapping[str, str] | None = None,
        deadline_s: float = 30.0,
    ) -> ServeExit:
        nonlocal runs
        runs += 1
        out, err = tmp_path / f"serve-{runs}.out", tmp_path / f"serve-{runs}.err"
        port = _free_port()
        argv = [*_callflow_command(), "serve", app, "--host", "127.0.0.1", "--port", str(port)]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [*argv, *options],
                cwd=ROOT,
                env=_server_environment(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
            )
        code: int | None = None
        deadline = time.monotonic() + deadline_s
        try:
            while time.monotonic() < deadline:
                try:
                    code = process.wait(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if _listening(port):
                    break  # it started: the caller's assertion on `code` reports it
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)
        return ServeExit(code, out.read_text(errors="replace"), err.read_text(errors="replace"))

    return run


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def run_callflow() -> CommandRunner:
    """Run ``callflow *argv`` in the repository root with the test environment of
    ``start_server`` (plus ``env``); see :data:`CommandRunner`."""

    def run(
        *argv: str, env: Mapping[str, str] | None = None, timeout_s: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_callflow_command(), *argv],
            cwd=ROOT,
            env=_server_environment(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    return run


# -- a real `redis-server` (tests/redis_server.py) -------------------------------------------

# Imported here, not at the top, to keep this section self-contained.
from redis_server import RedisServer, RedisServerError, start_redis_server  # noqa: E402


def _start_redis_or_fail(log: Path) -> RedisServer:
    """Start a ``redis-server``; fail (never skip) when there is none or it does not start."""
    try:
        return start_redis_server(log)
    except RedisServerError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside `except`: no chained traceback


@pytest.fixture(scope="session")
def _shared_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = _start_redis_or_fail(tmp_path_factory.mktemp("redis") / "redis.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(_shared_redis_server: RedisServer) -> str:
    """The URL of a ``redis-server`` shared by the whole session: do not stop or flush it,
    keep to keys of one's own (a unique prefix)."""
    return _shared_redis_server.url


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A ``redis-server`` of the test's own, which it may ``stop()`` and ``restart()``
    (an outage and a recovery); stopped at teardown."""
    server = _start_redis_or_fail(tmp_path / "redis.log")
    yield server
    server.stop()


# -- a `callflow` command run in another folder ----------------------------------------------


@pytest.fixture
def run_callflow_in() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_callflow_in(folder, *argv, env={...})``: like ``run_callflow``, but with
    ``folder`` as the current directory (where the repository's ``flows`` package is not).
    A command still running at ``timeout_s`` is killed and fails the test."""

    def run(
        folder: Path, *argv: str, env: Mapping[str, str] | None = None, timeout_s: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        command = [*_callflow_command(), *argv]
        try:
            return subprocess.run(
                command,
                cwd=folder,
                env=_server_environment(env),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            message = f"{' '.join(command)} still ran after {timeout_s} s: {exc.stderr!r}"
        pytest.fail(message, pytrace=False)  # outside `except`: no chained traceback

    return run
