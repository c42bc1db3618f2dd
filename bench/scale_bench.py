"""Benchmark (g): scale-out. ``--workers 2`` against one worker, and the Redis session store
against the memory store, each pair side by side in the same run with interleaved rounds.

Both pairs load ``bench.session_app`` at ``/step`` with a session token, so every request
loads and saves a session. The workers pair uses Redis for both sides (``--workers 2`` needs a
shared store). A ``redis-server`` (Debian package) is started on a free loopback port.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2

from .http_bench import Load, free_port, pair_summary, python_load, server, wrk

OPENTACT = "&from=%2B15550100999&tn=15550100200&state=live&call=bench-call&dtmf=1"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: apt-get install -y redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock,
                ):
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "callflow",
        "serve",
        "bench.session_app:app",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


def _step_url(base: str) -> str:
    """Start a call and return the link of its next step, with what Opentact appends."""
    body = httpx2.get(base + "/?from=%2B15550100999&to=15550100200", timeout=5).text
    found = re.search(r'url="([^"]+)"', body)
    if found is None:
        raise RuntimeError(f"no link in the start document: {body[:200]}")
    return found.group(1).replace("&amp;", "&") + OPENTACT


@dataclass(frozen=True)
class PairResult:
    """(candidate, baseline) loads per round, with the names of both."""

    candidate: str
    baseline: str
    rounds: list[tuple[Load, Load]]

    def summary(self) -> dict[str, float]:
        return pair_summary(self.rounds)


def _pair(
    candidate: tuple[list[str], int, dict[str, str]],
    baseline: tuple[list[str], int, dict[str, str]],
    *,
    rounds: int,
    seconds: int,
    connections: int,
    requests: int,
    use_wrk: bool,
) -> list[tuple[Load, Load]]:
    results = []
    with (
        server(candidate[0], candidate[1], candidate[2]) as first,
        server(baseline[0], baseline[1], baseline[2]) as second,
    ):
        urls = (_step_url(first), _step_url(second))
        for url in urls:
            python_load(url, min(200, requests), 4)
        for _ in range(rounds):
            loads = [
                wrk(url, seconds, connections)
                if use_wrk
                else python_load(url, requests, connections)
                for url in urls
            ]
            results.append((loads[0], loads[1]))
    return results


def run(
    *, rounds: int, seconds: int, connections: int, requests: int, force_python: bool = False
) -> dict[str, PairResult]:
    """Measure both pairs; the tool is wrk when installed (else a Python load)."""
    use_wrk = shutil.which("wrk") is not None and not force_python

    def pair(
        candidate: tuple[int, int, dict[str, str]], baseline: tuple[int, int, dict[str, str]]
    ) -> list[tuple[Load, Load]]:
        (port_c, workers_c, env_c), (port_b, workers_b, env_b) = candidate, baseline
        return _pair(
            (_command(port_c, workers_c), port_c, env_c),
            (_command(port_b, workers_b), port_b, env_b),
            rounds=rounds,
            seconds=seconds,
            connections=connections,
            requests=requests,
            use_wrk=use_wrk,
        )

    with redis_server() as redis_url:
        redis = {"CALLFLOW_SESSION_URL": redis_url}
        memory = {"CALLFLOW_SESSION_URL": "memory://"}
        workers = pair((free_port(), 2, redis), (free_port(), 1, redis))
        stores = pair((free_port(), 1, redis), (free_port(), 1, memory))
    return {
        "workers": PairResult("--workers 2", "--workers 1", workers),
        "store": PairResult("redis store", "memory store", stores),
    }
