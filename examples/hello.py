"""The smallest callflow app: greet the caller, then hang up.

From the repository root, serve it with ``callflow serve examples.hello:app``, or place a
simulated call with ``callflow simulate examples.hello:app``.
"""

from __future__ import annotations

from callflow import App, CallContext, Hangup, Response, Say

app = App()  # settings from CALLFLOW_* variables; see docs/configuration.md


@app.flow("/", name="hello")
async def hello(call: CallContext) -> Response:
    """Greet the caller by number; no I/O, so the flow is async and runs on the event loop."""
    caller = call.from_ or "an unknown number"
    return Response(Say(f"Hello, caller from {caller}."), Hangup(tag="hello"))
