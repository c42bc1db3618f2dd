"""The HTTP contenders of benchmark (c) besides callflow, each an ASGI app for uvicorn.

All answer the demo webhook (``GET /?from=...&to=...``) with the demo's main menu, the very
bytes ``callflow serve flows:app`` sends (its path-only URLs made absolute from
``BENCH_BASE``), so every contender writes the same reply:

* ``bare``: a Starlette endpoint returning those bytes as a constant;
* ``raw``: a raw ASGI callable sending them as a constant;
* ``handwritten``: a Starlette handler doing the work of the webhook by hand: reads the
  query, checks the Host against the allowed host, and writes the document with f-strings
  from the Host it was sent to.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from callflow.dialect.rendering import render
from callflow.server.urls import absolutize
from flows.support import MAIN_MENU

BASE = os.environ.get("BENCH_BASE", "http://127.0.0.1:8000")
ALLOWED_HOST = os.environ.get("CALLFLOW_ALLOWED_HOSTS", "127.0.0.1")
TEMPLATE = render(MAIN_MENU).decode()
BODY = absolutize(TEMPLATE.encode(), BASE)
"""The reply every contender sends."""

# The document cut where the base URL goes: the hand-written handler joins it per request.
_HEAD, _MIDDLE, _TAIL = TEMPLATE.split(' url="/', 2)


async def constant(request: Request) -> Response:
    """The bare Starlette endpoint: constant bytes."""
    return Response(BODY, media_type="application/xml")


bare = Starlette(routes=[Route("/", constant, methods=["GET", "POST"])])


async def handwritten_endpoint(request: Request) -> Response:
    """The webhook written by hand: query read, Host checked, document from f-strings."""
    query = request.query_params
    caller, called = query.get("from"), query.get("to")
    if not caller or not called:
        return PlainTextResponse("missing from/to", 400)
    host = request.headers.get("host", "")
    if host.partition(":")[0] != ALLOWED_HOST:
        return PlainTextResponse("host not allowed", 400)
    base = f"http://{host}"
    body = f'{_HEAD} url="{base}/{_MIDDLE} url="{base}/{_TAIL}'
    return Response(body.encode(), media_type="application/xml")


handwritten = Starlette(routes=[Route("/", handwritten_endpoint, methods=["GET", "POST"])])

_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/xml"),
        (b"content-length", str(len(BODY)).encode()),
    ],
}
_BODY = {"type": "http.response.body", "body": BODY}


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The raw ASGI endpoint: two constant messages."""
    if scope["type"] != "http":
        return  # lifespan: nothing to set up
    await send(_START)
    await send(_BODY)
