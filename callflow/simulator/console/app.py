"""The console's HTTP face: :class:`Console` serves the page at ``/_console`` and its JSON
API next to the App, and passes every other request to the App unchanged.

The API (JSON in and out; a POST must be ``application/json``, and a request from another
origin is refused, so no other site can place calls from the developer's browser):

* ``GET /_console``: the page; ``GET /_console/static/NAME``: its script and style;
* ``GET /_console/api/app``: the App's numbers, time zone, flows and documents;
* ``GET /_console/api/map``: the explore map (SVG and nodes), or why it is unavailable;
* ``POST /_console/api/calls`` ``{"from", "to", "at", "tz", "location"}``: place a call
  (201 with its ``id``; 429 when too many run);
* ``GET /_console/api/calls/ID/events?after=N``: the events after the first N, waiting a
  while for one (long poll), with the call's ``state``;
* ``POST /_console/api/calls/ID/keys`` ``{"keys": "1"}``, ``.../no-input``,
  ``.../dial`` ``{"outcome": "busy"}``, ``.../hangup``: the caller's part.
"""

from __future__ import annotations

import json
import os
import zoneinfo
from collections.abc import Awaitable, Callable
from functools import cache
from importlib import resources
from typing import Any, Final

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from callflow.exceptions import BadRequest, ConfigurationError
from callflow.server.app import App
from callflow.simulator.console.callmap import CallMap
from callflow.simulator.console.calls import IDLE_TIMEOUT_S, ConsoleCall
from callflow.simulator.console.options import DEFAULT_FROM, CallOptions, default_number
from callflow.simulator.console.switchboard import MAX_CALLS, ConsoleCalls
from callflow.simulator.transport import load_app

CONSOLE_PATH: Final = "/_console"
MAX_REQUEST_BYTES: Final = 4096
"""The longest JSON body the API reads."""
MAX_JSON_DEPTH: Final = 8
"""The deepest a JSON body may nest (the API's bodies are flat objects)."""
STATIC: Final = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
"""The files under ``static/`` the page loads, and their types."""
SECURITY_HEADERS: Final = {
    # The page runs its own script and style only; audio of Play URLs may come from anywhere.
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src * data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]


class Console:
    """The App served with its console: ``/_console`` and everything under it is the
    console, any other request goes to ``app`` as if the console were not there.

    For development only: a production App is refused with :class:`ConfigurationError`, as
    is an App that serves a path under ``/_console`` itself. Shutting the server down (ASGI
    lifespan) hangs up the console's calls and waits for their threads.

    >>> from callflow import App
    >>> console = Console(App(secret="dev"))  # then: uvicorn.run(console)
    """

    def __init__(
        self, app: App, *, max_calls: int = MAX_CALLS, idle_timeout_s: float = IDLE_TIMEOUT_S
    ) -> None:
        if app.settings.mode == "production":
            raise ConfigurationError(
                "the console is for development only, and this App is in production mode "
                "(CALLFLOW_MODE=production)"
            )
        taken = [
            path
            for path in [*(flow.path for flow in app.flows), *app.hosted]
            if path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")
        ]
        if taken:
            raise ConfigurationError(
                f"the console serves {CONSOLE_PATH}, which the App serves itself ({taken[0]})"
            )
        self.app = app
        self.calls = ConsoleCalls(app, max_calls=max_calls, idle_timeout_s=idle_timeout_s)
        self.map = CallMap(app)
        base = CONSOLE_PATH
        self.routes = Starlette(
            routes=[
                Route(base, self._page, methods=["GET"]),
                Route(base + "/", self._page, methods=["GET"]),
                Route(base + "/static/{name}", self._static, methods=["GET"]),
                Route(base + "/api/app", _api(self._app_info), methods=["GET"]),
                Route(base + "/api/map", _api(self._map), methods=["GET"]),
                Route(base + "/api/calls", _api(self._place), methods=["POST"]),
                Route(base + "/api/calls/{id}/events", _api(self._events), methods=["GET"]),
                Route(base + "/api/calls/{id}/{action}", _api(self._act), methods=["POST"]),
            ],
            exception_handlers={404: _not_found, 405: _not_allowed},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and (
            path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")
        ):
            await self.routes(scope, receive, send)
            return
        if scope["type"] == "lifespan":
            receive = self._watching_shutdown(receive)
        await self.app(scope, receive, send)

    def _watching_shutdown(self, receive: Receive) -> Receive:
        """``receive`` for the App's lifespan: the console's calls end before the App's
        shutdown begins."""

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await anyio.to_thread.run_sync(self.calls.close)
            return message

        return watched

    # -- the page ----------------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        return Response(_asset("index.html"), media_type="text/html", headers=SECURITY_HEADERS)

    async def _static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _json({"error": f"no such file: {name}"}, 404)
        return Response(_asset(name), media_type=STATIC[name], headers=SECURITY_HEADERS)

    # -- the API -----------------------------------------------------------------------------

    async def _app_info(self, request: Request) -> Response:
        app = self.app
        return _json(
            {
                "from": DEFAULT_FROM,
                "to": default_number(app),
                "time_zone": app.settings.time_zone,
                "time_zones": _time_zones(),
                "webhook": app.settings.webhook_path,
                "flows": [
                    {"path": f.path, "name": f.name, "numbers": list(f.numbers)} for f in app.flows
                ],
                "documents": sorted(app.hosted),
            }
        )

    async def _map(self, request: Request) -> Response:
        return _json(await anyio.to_thread.run_sync(self.map.get))

    async def _place(self, request: Request) -> Response:
        options = CallOptions.parse(await _body(request), self.app)
        call = self.calls.start(options)
        return _json({"id": call.id, "state": call.state}, 201)

    async def _events(self, request: Request) -> Response:
        call = self._call(request)
        after = request.query_params.get("after", "0")
        if not after.isdigit() or len(after) > 9:
            raise BadRequest(400, f"after: expected a number of events (got {after!r})")
        events, state = await call.wait(int(after))
        return _json(
            {
                "events": events,
                "next": int(after) + len(events),
                "state": state,
                "ended": state == "ended",
            }
        )

    async def _act(self, request: Request) -> Response:
        call = self._call(request)
        action = request.path_params["action"]
        body = await _body(request)
        if action == "keys":
            keys = body.get("keys")
            if not isinstance(keys, str):
                raise BadRequest(400, "keys: expected a string of 0-9, * and #")
            return _json(call.press(keys))
        if action == "no-input":
            call.no_input()
        elif action == "dial":
            outcome = body.get("outcome")
            call.dial(outcome if isinstance(outcome, str) else "")
        elif action == "hangup":
            call.hang_up()
        else:
            raise BadRequest(404, f"no such action: {action}")
        return _json({"state": call.state})

    def _call(self, request: Request) -> ConsoleCall:
        return self.calls.get(request.path_params["id"])


def _api(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` answering a :class:`BadRequest` as JSON ``{"error": ...}`` with its
    status, and refusing what another site's page could send."""

    async def guarded(request: Request) -> Response:
        try:
            _same_origin(request)
            return await endpoint(request)
        except BadRequest as exc:
            return _json({"error": exc.message}, exc.status)

    return guarded


async def _not_found(request: Request, exc: Exception) -> Response:
    return _json({"error": f"the console has nothing at {request.url.path}"}, 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _json({"error": f"{request.method} is not allowed at {request.url.path}"}, 405)


def _same_origin(request: Request) -> None:
    """Refuse a request that names another origin, and a POST that is not JSON (which a
    plain form on another site could send without the browser asking first)."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        raise BadRequest(403, f"requests from {origin} are not allowed")
    if request.method == "POST":
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest(415, "expected a JSON body (content-type: application/json)")


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object of the body: at most :data:`MAX_REQUEST_BYTES` (a longer declared or
    sent body is a 413 as soon as it is known, before it is all read), nested at most
    :data:`MAX_JSON_DEPTH` deep; empty is ``{}``."""
    too_large = BadRequest(413, f"the body is larger than {MAX_REQUEST_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REQUEST_BYTES:
        raise too_large
    data = bytearray()
    try:
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_REQUEST_BYTES:
                raise too_large
    except ClientDisconnect:  # nobody reads the answer, but nothing failed here either
        raise BadRequest(400, "the client went away before it sent the body") from None
    if not data.strip():
        return {}
    if _depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(400, f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(400, "the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest(400, "expected a JSON object")
    return parsed


def _depth(data: bytes | bytearray) -> int:
    """How deep the brackets of ``data`` nest (strings not told apart: an over-estimate is
    refused, which no console request comes near); one pass, so linear in the body."""
    depth = deepest = 0
    for byte in data:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


def _json(data: object, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(
        body, status, media_type="application/json", headers={"cache-control": "no-store"}
    )


@cache
def _asset(name: str) -> bytes:
    return (resources.files("callflow.simulator.console") / "static" / name).read_bytes()


@cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


APP_VARIABLE: Final = "CALLFLOW_CONSOLE_APP"
"""``module:attribute`` of the App that :func:`from_environment` serves with its console."""


def from_environment() -> Console:
    """The App named by ``CALLFLOW_CONSOLE_APP``, with its console: the factory uvicorn
    imports in each process under ``callflow serve --console --reload``."""
    spec = os.environ.get(APP_VARIABLE, "")
    app = load_app(spec)
    if not isinstance(app, App):
        raise ConfigurationError(f"{spec} is not a callflow App: the console needs one")
    return Console(app)
