"""Benchmark: what the bound on request heads costs (``callflow.server.protocol``).

The same bare Starlette endpoint is served by uvicorn with plain httptools and with
:class:`~callflow.server.protocol.BoundedHttpToolsProtocol`, side by side in one run, rounds
interleaved; the figure is the bounded server's throughput and p99 as ratios to the plain
one's (medians, with min and max).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from .http_bench import WEBHOOK_QUERY, Load, free_port, pair_summary, python_load, server, wrk


@dataclass(frozen=True)
class ProtocolResult:
    tool: str
    rounds: list[tuple[Load, Load]]
    """(bounded, plain httptools) per round."""

    def summary(self) -> dict[str, float]:
        return pair_summary(self.rounds, "bounded", "httptools")


def _command(port: int, protocol: str) -> list[str]:
    return [sys.executable, "-m", "bench.head_bound_server", str(port), protocol]


def run(
    *, rounds: int, seconds: int, connections: int, requests: int, force_python: bool = False
) -> ProtocolResult:
    """Alternate load on the bounded and the plain server ``rounds`` times."""
    use_wrk = shutil.which("wrk") is not None and not force_python
    bounded_port, plain_port = free_port(), free_port()
    results = []
    with (
        server(_command(bounded_port, "bounded"), bounded_port) as bounded_base,
        server(_command(plain_port, "httptools"), plain_port) as plain_base,
    ):
        targets = (bounded_base + WEBHOOK_QUERY, plain_base + WEBHOOK_QUERY)
        for url in targets:
            python_load(url, min(200, requests), 4)
        for _ in range(rounds):
            loads = [
                wrk(url, seconds, connections)
                if use_wrk
                else python_load(url, requests, connections)
                for url in targets
            ]
            results.append((loads[0], loads[1]))
    return ProtocolResult("wrk" if use_wrk else "python", results)
