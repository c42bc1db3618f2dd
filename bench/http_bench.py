"""Benchmark (c): ``callflow serve`` on the demo flow against a bare Starlette endpoint.

Both run under uvicorn with one worker and httptools, on loopback, in the same run. The load
comes from ``wrk`` (Debian package) when it is installed, otherwise from a bounded Python
load generator (slower, so its ratios understate the difference).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_QUERY = "/?from=%2B15550100999&to=15550100200"


@dataclass(frozen=True)
class Load:
    """One load run: throughput, latency percentiles (ms) and errors."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BENCH_SECRET = "bench-secret-of-at-least-32-bytes!"


@contextlib.contextmanager
def server(command: list[str], port: int, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a server process and yield its base URL once /healthz or / answers.

    callflow runs in production mode, with every edge limit on (header bound, allowed
    hosts): what is measured is what is deployed.
    """
    env = {
        **os.environ,
        "CALLFLOW_SECRET": BENCH_SECRET,
        "CALLFLOW_MODE": "production",
        "CALLFLOW_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(base + "/", timeout=1)
                break
            except httpx2.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {' '.join(command)}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def callflow_command(port: int) -> list[str]:
    level = os.environ.get("BENCH_LOG_LEVEL", "info")
    return [
        sys.executable,
        "-m",
        "callflow",
        "serve",
        "flows:app",
        "--port",
        str(port),
        "--log-level",
        level,
    ]


def bare_command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, connections: int) -> Load:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    distribution = out.split("Latency Distribution", 1)[1]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)\s*$", distribution, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)\s*$", distribution, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return Load(rps, p50, p99, errors)


async def _python_load(url: str, requests: int, connections: int) -> Load:
    latencies: list[float] = []
    errors = 0
    queue = iter(range(requests))

    async def worker(client: httpx2.AsyncClient) -> None:
        nonlocal errors
        for _ in queue:
            start = time.perf_counter()
            try:
                response = await client.get(url)
                if response.status_code != 200:
                    errors += 1
            except httpx2.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - start) * 1000)

    limits = httpx2.Limits(max_connections=connections)
    async with httpx2.AsyncClient(limits=limits, timeout=10) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Load(len(latencies) / elapsed, statistics.median(latencies), p99, errors)


def python_load(url: str, requests: int, connections: int) -> Load:
    return asyncio.run(_python_load(url, requests, connections))


def pair_summary(
    rounds: list[tuple[Load, Load]], candidate: str = "candidate", baseline: str = "baseline"
) -> dict[str, float]:
    """Ratios of ``candidate`` to ``baseline`` over interleaved rounds (median, min, max),
    the medians of each side, and the errors of both."""
    throughput = [c.requests_per_s / b.requests_per_s for c, b in rounds]
    p99 = [c.p99_ms / b.p99_ms for c, b in rounds]
    return {
        "throughput_ratio_median": statistics.median(throughput),
        "throughput_ratio_min": min(throughput),
        "throughput_ratio_max": max(throughput),
        "p99_ratio_median": statistics.median(p99),
        "p99_ratio_min": min(p99),
        "p99_ratio_max": max(p99),
        f"{candidate}_rps_median": statistics.median(c.requests_per_s for c, _ in rounds),
        f"{baseline}_rps_median": statistics.median(b.requests_per_s for _, b in rounds),
        f"{candidate}_p50_ms_median": statistics.median(c.p50_ms for c, _ in rounds),
        f"{baseline}_p50_ms_median": statistics.median(b.p50_ms for _, b in rounds),
        f"{candidate}_p99_ms_median": statistics.median(c.p99_ms for c, _ in rounds),
        f"{baseline}_p99_ms_median": statistics.median(b.p99_ms for _, b in rounds),
        "errors": float(sum(c.errors + b.errors for c, b in rounds)),
    }


@dataclass(frozen=True)
class HttpResult:
    tool: str
    rounds: list[tuple[Load, Load]]
    """(callflow, bare) per round."""

    def summary(self) -> dict[str, float]:
        return pair_summary(self.rounds, "callflow", "bare")


def run(
    *, rounds: int, seconds: int, connections: int, requests: int, force_python: bool = False
) -> HttpResult:
    """Alternate load on the two servers ``rounds`` times."""
    use_wrk = shutil.which("wrk") is not None and not force_python
    callflow_port, bare_port = free_port(), free_port()
    results = []
    with (
        server(callflow_command(callflow_port), callflow_port) as callflow_base,
        server(bare_command(bare_port), bare_port) as bare_base,
    ):
        targets = (callflow_base + WEBHOOK_QUERY, bare_base + WEBHOOK_QUERY)
        for url in targets:  # warm up both
            python_load(url, min(200, requests), 4)
        for _ in range(rounds):
            loads = []
            for url in targets:
                if use_wrk:
                    loads.append(wrk(url, seconds, connections))
                else:
                    loads.append(python_load(url, requests, connections))
            results.append((loads[0], loads[1]))
    return HttpResult("wrk" if use_wrk else "python", results)
