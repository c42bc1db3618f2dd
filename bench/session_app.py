"""The App of the scale benchmark: every step reads and writes the session.

``/`` starts a call and links to ``/step``; ``/step`` counts visits in the session, so each
request costs one session load and one save in the configured store (memory or Redis).
"""

from __future__ import annotations

from callflow import App, Callback, CallContext, Hangup, Response, Say

app = App()


@app.flow("/", name="start")
async def start(call: CallContext) -> Response:
    call.session["visits"] = 1
    return Response(Say("Welcome."), Callback(url=call.url_for("step")))


@app.flow("/step", name="step")
async def step(call: CallContext) -> Response:
    visits = int(call.session.get("visits", 0)) + 1
    call.session["visits"] = visits
    return Response(Say("Still here."), Hangup())
