"""A real ``redis-server`` on a loopback port for the tests, with stop and restart.

No persistence (``--save ''``, ``--appendonly no``): a restart starts empty, as after a crash.
The pytest fixtures that use this are in ``conftest.py`` (``redis_url``, ``redis_server``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STARTUP_DEADLINE_S = 10.0
STOP_DEADLINE_S = 10.0


class RedisServerError(RuntimeError):
    """``redis-server`` is not installed, or did not start answering PING in time."""


@dataclass
class RedisServer:
    """A ``redis-server`` process listening on ``host:port``, its output going to ``log``."""

    host: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None

    @property
    def url(self) -> str:
        """The URL of database 0, as ``RedisSessionStore`` takes it."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        """Everything the server wrote so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Terminate the server (SIGTERM) and wait for it; kill it if it lingers."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_DEADLINE_S)

    def restart(self) -> None:
        """Stop the server if it runs, then start it again on the same port (empty)."""
        self.stop()
        self.process = process = _spawn(self.host, self.port, self.log)
        try:
            _wait_until_ready(self, process)
        except RedisServerError:
            self.stop()
            raise


def redis_server_binary() -> str:
    """The path of ``redis-server``; RedisServerError when it is not on PATH."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisServerError(
            "redis-server is not on PATH: the Redis session store tests need a real server "
            "(Debian/Ubuntu: apt-get install redis-server)"
        )
    return binary


def start_redis_server(log: Path, *, host: str = "127.0.0.1", attempts: int = 3) -> RedisServer:
    """Start ``redis-server`` on a free port of ``host`` and wait until it answers PING.

    The free port is found by binding port 0, so another process may take it before Redis
    does: then Redis exits at once and another port is tried, up to ``attempts`` times.
    """
    redis_server_binary()
    failures: list[str] = []
    for _ in range(attempts):
        port = free_port(host)
        process = _spawn(host, port, log)
        server = RedisServer(host, port, log, process)
        try:
            _wait_until_ready(server, process)
        except RedisServerError as exc:
            server.stop()
            failures.append(str(exc))
            continue
        return server
    raise RedisServerError("\n".join(failures))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def answers_ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """Whether a Redis server at ``host:port`` answers an inline ``PING`` with ``+PONG``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _spawn(host: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        host,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    with log.open("ab") as sink:
        return subprocess.Popen(
            argv,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def _wait_until_ready(server: RedisServer, process: subprocess.Popen[bytes]) -> None:
    """Poll PING until it answers; fail at once if the process exits, or at the deadline."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if answers_ping(server.host, server.port):
            return
        try:
            # Waiting on the process paces the polling and notices a crash at once.
            code = process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise RedisServerError(
            f"redis-server on port {server.port} exited with {code}:\n{server.output()}"
        )
    raise RedisServerError(
        f"redis-server on port {server.port} did not answer PING within "
        f"{STARTUP_DEADLINE_S} s:\n{server.output()}"
    )
