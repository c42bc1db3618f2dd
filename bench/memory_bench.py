"""Benchmark (e): resident memory after 1k and after 100k in-process webhook requests."""

from __future__ import annotations

import asyncio
import gc
import os
from dataclasses import dataclass
from typing import Any


def rss_mib() -> float:
    """Current resident set size of this process, in MiB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


@dataclass(frozen=True)
class MemoryResult:
    requests: list[int]
    rss_mib: list[float]

    @property
    def growth_mib(self) -> float:
        return self.rss_mib[-1] - self.rss_mib[0]


CALLERS = int(os.environ.get("BENCH_CALLERS", "10000"))
"""Distinct caller numbers cycled through (real traffic: mostly new numbers)."""


def _scope(index: int) -> dict[str, Any]:
    query = f"from=%2B1555010{index % CALLERS:04d}&to=15550100200".encode()
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


async def _drive(app: Any, start: int, count: int) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    for index in range(start, start + count):
        await app(_scope(index), receive, send)
        # Let the loop run between requests, as a server's does: cancelled timers (flow
        # timeouts) are cleaned up there.
        await asyncio.sleep(0)


def run(*, checkpoints: tuple[int, ...] = (1_000, 100_000)) -> MemoryResult:
    """Send requests straight to the demo App's ASGI callable; read RSS at each checkpoint."""
    os.environ.setdefault("CALLFLOW_SECRET", "bench-secret")
    import flows

    done = 0
    sizes = []
    for checkpoint in checkpoints:
        asyncio.run(_drive(flows.app, done, checkpoint - done))
        done = checkpoint
        gc.collect()
        sizes.append(rss_mib())
    return MemoryResult(list(checkpoints), sizes)
