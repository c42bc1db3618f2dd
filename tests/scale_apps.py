"""The App served by real ``callflow serve`` processes in ``tests/test_scale_out.py``
(``callflow serve tests.scale_apps:app``, several workers or several servers); its settings
come from ``CALLFLOW_*`` variables (the session store from ``CALLFLOW_SESSION_URL``).

The tests never import this module: building an App reads the environment.
"""

from __future__ import annotations

import os

from callflow import App, Callback, CallContext, Gather, Hangup, Meta, Response, Say

app = App()


@app.flow("/", name="main")
async def main(call: CallContext) -> Response:
    """Open the call's session (one visit) and ask for a digit that goes to ``step``."""
    call.session["visits"] = 1
    return Response(
        Gather(Say("Press 1."), dtmf_length=1, url=call.url_for("step", state={"n": 1})),
    )


@app.flow("/step", name="step")
async def step(call: CallContext) -> Response:
    """Count one more visit in the session, say the state and the count, and link on.

    The ``pid`` Meta names the worker process that answered.
    """
    visits = int(call.session.get("visits", 0)) + 1
    call.session["visits"] = visits
    n = int(call.state["n"])
    return Response(
        Meta("pid", os.getpid()),
        Say(f"state {n} visits {visits}"),
        Callback(url=call.url_for("step", state={"n": n + 1})),
    )


@app.flow("/plain", name="plain")
async def plain(call: CallContext) -> Response:
    """A flow that never touches the session: it works while the store is down."""
    return Response(Say("plain"), Hangup())
