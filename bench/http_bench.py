"""Benchmark (c): ``callflow serve`` on the demo webhook against HTTP contenders.

Every contender runs under uvicorn with one worker, httptools and uvloop, on loopback, in the
same run with rounds interleaved (the order rotates each round):

* ``callflow``: ``callflow serve flows:app`` in production mode with every edge limit on
  (head bound, allowed hosts), at the default log level (one access line per request);
* ``callflow (warning)``: the same at ``--log-level warning`` (no access line);
* ``bare Starlette``: a Starlette endpoint returning the same reply as constant bytes (the
  baseline of every ratio);
* ``raw ASGI``: a raw ASGI callable sending the same constant reply;
* ``hand-written Starlette``: a Starlette handler doing the webhook's work by hand (query
  read, Host checked, the document written with f-strings);
* ``callflow (before)``: only when ``BENCH_BEFORE_ROOT`` names another checkout (for example
  ``git archive HEAD`` unpacked somewhere): its ``callflow serve``, for before/after figures.

The load comes from ``wrk`` (Debian package) when it is installed, otherwise from a bounded
Python load generator (slower, so its ratios understate the differences). CPU time per request
is the server process's user + system time (``/proc/<pid>/stat``) over the requests it
served during the run.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK_QUERY = "/?from=%2B15550100999&to=15550100200"
BASELINE = "bare Starlette"
BENCH_SECRET = "bench-secret-of-at-least-32-bytes!"
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """One load run: throughput, latency percentiles (ms), errors, and (when known) the
    requests served and the server's CPU seconds during the run."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_s: float = 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.requests * 1e6 if self.requests else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


@contextlib.contextmanager
def serving(
    command: list[str],
    port: int,
    extra_env: dict[str, str] | None = None,
    root: Path = ROOT,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a server process from ``root``; yield its base URL and process once / answers.

    callflow runs in production mode, with every edge limit on (header bound, allowed
    hosts): what is measured is what is deployed.
    """
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CALLFLOW_SECRET": BENCH_SECRET,
        "CALLFLOW_MODE": "production",
        "CALLFLOW_ALLOWED_HOSTS": "127.0.0.1",
        "BENCH_BASE": base,
        "PYTHONPATH": str(root),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
        if process.poll() is not None:  # another server answered on its port
            raise RuntimeError(f"server exited at start: {' '.join(command)}")
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def server(command: list[str], port: int, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a server process and yield its base URL once it answers (see :func:`serving`)."""
    with serving(command, port, extra_env) as (base, _):
        yield base


def callflow_command(port: int, level: str | None = None) -> list[str]:
    level = level or os.environ.get("BENCH_LOG_LEVEL", "info")
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


def uvicorn_command(port: int, app: str) -> list[str]:
    """A contender of :mod:`bench.contenders` under plain uvicorn (httptools, uvloop)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def bare_command(port: int) -> list[str]:
    return uvicorn_command(port, "bench.bare_app:app")


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
    served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
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
    return Load(rps, p50, p99, errors, served)


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
    return Load(len(latencies) / elapsed, statistics.median(latencies), p99, errors, requests)


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
class Contender:
    """One server of the run: how to start it, from which checkout."""

    name: str
    command: list[str]
    port: int
    root: Path = ROOT


@dataclass
class HttpResult:
    tool: str
    loads: dict[str, list[Load]] = field(default_factory=dict)
    """Each contender's load per round (rounds in the same order for every contender)."""

    @property
    def rounds(self) -> list[tuple[Load, Load]]:
        """(callflow, bare Starlette) per round."""
        return list(zip(self.loads["callflow"], self.loads[BASELINE], strict=True))

    def summary(self) -> dict[str, float]:
        """callflow against the bare endpoint (see :func:`pair_summary`), and the errors of
        every contender."""
        figures = pair_summary(self.rounds, "callflow", "bare")
        figures["errors"] = float(sum(load.errors for runs in self.loads.values() for load in runs))
        return figures

    def table(self) -> list[dict[str, float | str]]:
        """Every contender against the bare endpoint: req/s and p99 ratios (median, min,
        max) and CPU µs per request (median, min, max)."""
        rows: list[dict[str, float | str]] = []
        for name, runs in self.loads.items():
            pairs = list(zip(runs, self.loads[BASELINE], strict=True))
            throughput = [c.requests_per_s / b.requests_per_s for c, b in pairs]
            p99 = [c.p99_ms / b.p99_ms for c, b in pairs]
            cpu = [load.cpu_us_per_request for load in runs]
            rows.append(
                {
                    "contender": name,
                    "rps_median": statistics.median(load.requests_per_s for load in runs),
                    "rps_ratio_median": statistics.median(throughput),
                    "rps_ratio_min": min(throughput),
                    "rps_ratio_max": max(throughput),
                    "p99_ms_median": statistics.median(load.p99_ms for load in runs),
                    "p99_ratio_median": statistics.median(p99),
                    "p99_ratio_min": min(p99),
                    "p99_ratio_max": max(p99),
                    "cpu_us_median": statistics.median(cpu),
                    "cpu_us_min": min(cpu),
                    "cpu_us_max": max(cpu),
                }
            )
        return rows

    def markdown(self) -> str:
        lines = [
            f"### (c) HTTP: demo webhook, every contender vs {BASELINE} ({self.tool})",
            "",
            "| contender | req/s | req/s ratio (min-max) | p99 ms | p99 ratio (min-max) "
            "| CPU µs/req (min-max) |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.table():
            lines.append(
                f"| {row['contender']} | {row['rps_median']:.0f} "
                f"| {row['rps_ratio_median']:.2f}x ({row['rps_ratio_min']:.2f}-"
                f"{row['rps_ratio_max']:.2f}) | {row['p99_ms_median']:.2f} "
                f"| {row['p99_ratio_median']:.2f}x ({row['p99_ratio_min']:.2f}-"
                f"{row['p99_ratio_max']:.2f}) | {row['cpu_us_median']:.1f} "
                f"({row['cpu_us_min']:.1f}-{row['cpu_us_max']:.1f}) |"
            )
        return "\n".join(lines) + "\n"


def free_ports(count: int) -> Iterator[int]:
    """``count`` distinct free ports (held open together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        ports = [int(sock.getsockname()[1]) for sock in sockets]
    yield from ports


def contenders() -> list[Contender]:
    """The servers of the run; ``callflow (before)`` only with ``BENCH_BEFORE_ROOT``."""
    ports = free_ports(7)
    free_port = ports.__next__
    chosen = [
        Contender("callflow", callflow_command(port := free_port()), port),
        Contender("callflow (warning)", callflow_command(port := free_port(), "warning"), port),
        Contender(BASELINE, bare_command(port := free_port()), port),
        Contender("raw ASGI", uvicorn_command(port := free_port(), "bench.contenders:raw"), port),
        Contender(
            "hand-written Starlette",
            uvicorn_command(port := free_port(), "bench.contenders:handwritten"),
            port,
        ),
    ]
    before = os.environ.get("BENCH_BEFORE_ROOT")
    if before:
        root = Path(before).resolve()
        chosen.append(
            Contender("callflow (before)", callflow_command(port := free_port()), port, root)
        )
        chosen.append(
            Contender(
                "callflow (before, warning)",
                callflow_command(port := free_port(), "warning"),
                port,
                root,
            )
        )
    return chosen


def run(
    *, rounds: int, seconds: int, connections: int, requests: int, force_python: bool = False
) -> HttpResult:
    """Load every contender ``rounds`` times, interleaved, in a rotating order."""
    use_wrk = shutil.which("wrk") is not None and not force_python
    chosen = contenders()
    result = HttpResult("wrk" if use_wrk else "python", {c.name: [] for c in chosen})
    with contextlib.ExitStack() as stack:
        started = {
            c.name: stack.enter_context(serving(c.command, c.port, root=c.root)) for c in chosen
        }
        for base, _ in started.values():  # warm up every one
            python_load(base + WEBHOOK_QUERY, min(200, requests), 4)
        names = list(started)
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                base, process = started[name]
                url = base + WEBHOOK_QUERY
                cpu_before = cpu_seconds(process.pid)
                if use_wrk:
                    load = wrk(url, seconds, connections)
                else:
                    load = python_load(url, requests, connections)
                cpu = cpu_seconds(process.pid) - cpu_before
                result.loads[name].append(
                    Load(
                        load.requests_per_s,
                        load.p50_ms,
                        load.p99_ms,
                        load.errors,
                        load.requests,
                        cpu,
                    )
                )
    return result
