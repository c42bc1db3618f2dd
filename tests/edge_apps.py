"""Apps served by real ``callflow serve`` processes in ``tests/test_http_edge.py``
(``callflow serve tests.edge_apps:app``); their settings come from ``CALLFLOW_*`` variables.

The tests never import this module: building an App reads the environment.
"""

from __future__ import annotations

import logging
import time

from callflow import App, Callback, CallContext, Event, Gather, Hangup, Response, Say

logger = logging.getLogger("callflow.edge_apps")

HANG_S = 30.0
"""How long ``/hang`` blocks its worker thread: far beyond any flow timeout of the tests."""

app = App()


@app.flow("/", name="main")
async def main(call: CallContext) -> Response:
    """A menu: a Gather whose digits go to ``next`` with signed state, and a plain link."""
    return Response(
        Gather(Say("Press 1."), dtmf_length=1, url=call.url_for("next", state={"step": 1})),
        Callback(url="/next"),
    )


@app.flow("/next", name="next")
async def next_step(call: CallContext) -> Response:
    """Say the state the round trip carried."""
    return Response(Say(f"state {call.state!r}"), Hangup())


@app.flow("/hang", name="hang")
def hang(call: CallContext) -> Response:
    """A sync flow that blocks its thread far beyond the flow timeout."""
    time.sleep(HANG_S)
    return Response(Hangup())


@app.flow("/count", name="count")
async def count(call: CallContext) -> Response:
    """Count the runs of one call in its session, and log each: a flow whose every run
    shows (the log line is what the tests count)."""
    runs = int(call.session.get("count", 0)) + 1
    call.session["count"] = runs
    logger.info("count flow ran (call %s, probe %s)", call.uuid, call.meta.get("probe", "-"))
    return Response(Say(f"count {runs}"), Hangup())


@app.on_event("*")
async def seen(event: Event) -> None:
    """Log every event, so a test can tell whether a request reached the handlers."""
    logger.info("event received type=%s", event.type)


numbers_app = App()
"""No default flow: a call to another number is not in service (a warning quoting ``to``)."""


@numbers_app.flow("/sales", name="sales", numbers=["+15550100200"])
async def sales(call: CallContext) -> Response:
    return Response(Say("Sales."), Hangup())
