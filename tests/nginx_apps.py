"""The App that ``tests/test_nginx.py`` serves behind nginx (``callflow serve
tests.nginx_apps:app``); its settings come from ``CALLFLOW_*`` variables.

The tests never import this module: building an App reads the environment.
"""

from __future__ import annotations

from callflow import App, Callback, CallContext, Gather, Hangup, Response, Say

app = App()


@app.flow("/", name="main")
async def main(call: CallContext) -> Response:
    """A menu: a Gather whose digits go to ``next`` with signed state, and a callback."""
    return Response(
        Gather(Say("Press 1."), dtmf_length=1, url=call.url_for("next", state={"menu": "main"})),
        Callback(url=call.url_for("next")),
    )


@app.flow("/next", name="next")
async def next_step(call: CallContext) -> Response:
    """Say what the round trip carried: the signed state, the digits, the call state."""
    return Response(
        Say(f"state {call.state!r} digits {call.digits} call {call.call_state}"), Hangup()
    )
