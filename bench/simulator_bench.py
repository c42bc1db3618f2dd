"""Benchmark (d): simulated calls per second through the demo flow, in process."""

from __future__ import annotations

import os
from datetime import datetime

from callflow.simulator.facade import Simulator

from .timing import Figure, compare


def run(*, rounds: int, number: int) -> list[Figure]:
    """A whole simulated call (bad key, then hang-up) against one in-process webhook request
    of the same App: how many requests' worth of work a simulated call costs."""
    os.environ.setdefault("CALLFLOW_SECRET", "bench-secret")
    import flows

    at = datetime(2026, 11, 30, 10, 0)
    with Simulator(flows.app) as simulator:
        transport = simulator.transport
        url = (transport.start_url or "") + "?from=%2B15550100999&to=15550100200"

        def request() -> object:
            return transport.request("GET", url)

        def call() -> object:
            return simulator.call(keys=["9"], at=at)

        return compare(
            {
                "one webhook request (in process)": lambda n: request,
                "one simulated call (menu, bad key, hang-up)": lambda n: call,
            },
            "one webhook request (in process)",
            rounds=rounds,
            number=number,
        )
