"""Benchmark (d): a simulated call through the demo flow against one direct ASGI request.

The baseline is the cheapest way to get the same document out of the same App: one
``app(scope, receive, send)`` on an event loop of this thread, with no client at all. A
simulated call (the menu, a bad key, hang-up) fetches one document, so its ratio is also
the cost per fetch; the simulator's own transport is measured alone too. A Simulator checks
each distinct document once: the call is measured both with the document known (the demo's
menu is the same bytes on every call) and with the verdicts forgotten before each call (a
document never seen, as a flow whose links carry fresh signed state sends; the elements
built before are remembered, as they are in such a flow, whose other parts repeat: see
``callflow.dialect.loader.build_sound``), and with the elements forgotten too (a document
none of whose parts was seen). The check of the menu with links that change per call (the
rest of it repeats) is measured alone too: a call fetching such a document costs the call
with the document known plus that check.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

from callflow.dialect.loader import forget_built
from callflow.simulator.facade import Simulator
from callflow.simulator.fetching import CheckedDocuments

from .timing import Figure, compare

BASELINE = "direct ASGI request (same App)"
QUERY = b"from=%2B15550100999&to=15550100200"


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": QUERY,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 123),
        "server": ("testserver", 80),
    }


def run(*, rounds: int, number: int) -> list[Figure]:
    """A whole simulated call, and one request through the simulator's transport, each
    against one direct ASGI request to the same App, interleaved in the same run."""
    os.environ.setdefault("CALLFLOW_SECRET", "bench-secret")
    import flows

    app = flows.app
    at = datetime(2026, 11, 30, 10, 0)  # a Monday morning: the menu, not the closed message
    loop = asyncio.new_event_loop()
    try:
        with Simulator(app) as simulator:
            transport = simulator.transport
            path = app.settings.webhook_path
            url = f"{transport.start_url or ''}?{QUERY.decode()}"
            scope = _scope(path)

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def direct() -> bytes:
                parts: list[bytes] = []

                async def send(message: MutableMapping[str, Any]) -> None:
                    if message["type"] == "http.response.start":
                        if message["status"] != 200:
                            raise RuntimeError(f"status {message['status']}")
                    else:
                        parts.append(message.get("body", b""))

                await app(dict(scope), receive, send)
                return b"".join(parts)

            def asgi() -> object:
                return loop.run_until_complete(direct())

            def request() -> object:
                return transport.request("GET", url)

            def call() -> object:
                trace = simulator.call(keys=["9"], at=at)
                if len(trace.requests) != 1 or trace.failed:  # the call measured is the one meant
                    raise RuntimeError(trace.transcript())
                return trace

            def call_unseen() -> object:
                simulator.documents.clear()  # as if the App sent a document never seen
                return call()

            def call_all_new() -> object:
                forget_built()  # none of its elements seen either
                return call_unseen()

            menu = call().documents[0].body  # type: ignore[attr-defined]
            links = re.findall(rb'url="([^"]+)"', menu)
            if not links:
                raise RuntimeError("the menu has no links")

            def fresh_links(number: int) -> Callable[[], object]:
                # Each call's menu, its links carrying new state (as signed state does).
                variants = iter(
                    [
                        re.sub(rb'url="([^"]+)"', rb'url="\1?state=%d"' % i, menu)
                        for i in range(number)
                    ]
                )
                documents = CheckedDocuments()

                def check() -> object:
                    verdict = documents.check(next(variants))
                    if isinstance(verdict, str):
                        raise RuntimeError(verdict)
                    return verdict

                return check

            return compare(
                {
                    BASELINE: lambda n: asgi,
                    "one webhook request (simulator transport)": lambda n: request,
                    "one simulated call, document checked anew": lambda n: call_unseen,
                    "one simulated call, document and its every element new": lambda n: (
                        call_all_new
                    ),
                    "one simulated call (menu, bad key, hang-up: 1 fetch)": lambda n: call,
                    "the check of a new menu (its links with fresh state, the rest repeats)": (
                        fresh_links
                    ),
                },
                BASELINE,
                rounds=rounds,
                number=number,
            )
    finally:
        loop.close()
