"""The ASGI entry of an App: every request passes the edge checks, goes to its endpoint and
leaves one access-log line and its metrics.

A flow path is found in a dict, without Starlette's routing and middleware (the hot path of
every call); the webhook path routes by the called number. Starlette answers the rest: the
health check, and 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from callflow.dialect.phone_numbers import to_e164
from callflow.exceptions import BadRequest, InvalidState, SessionStoreError
from callflow.server.access import check_access
from callflow.server.events import parse_event
from callflow.server.forwarded import ORIGIN, Origin, base_url, header_bytes, resolve
from callflow.server.logs import printable
from callflow.server.metrics import NO_FLOW
from callflow.server.request import CallParams, ClientGone, parse_json, read_body, read_params
from callflow.server.routing import Flow
from callflow.server.running import FALLBACK_HEADER, Runner
from callflow.server.state import STATE_PARAM, call_numbers
from callflow.server.urls import FLOW_PARAM, absolutize, carried_query

if TYPE_CHECKING:
    from callflow.server.app import App

logger = logging.getLogger("callflow")
access_logger = logging.getLogger("callflow.access")

HEALTH_TIMEOUT_S = 1.0
"""How long ``/healthz`` waits for the session store."""
CLIENT_CLOSED = 499
"""Status logged for a request whose client went away before the reply (nginx's 499)."""

XML = "application/xml"
_FAST = frozenset(("GET", "POST"))
_LIMITS = {408: "limit", 413: "limit", 431: "limit"}
"""Statuses counted as requests refused by a size or time limit."""

Endpoint = Callable[[Request], Awaitable[HTTPResponse | None]]
"""Answers one path; None when the client went away before it could."""


class Dispatcher:
    """Serves the flows and documents ``app`` registered, as they are when it is made."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = settings = app.settings
        self.runner = Runner(app)
        flows = app.router.flows
        self.by_name = {flow.name: flow for flow in flows}
        self.by_number = {number: flow for flow in flows for number in flow.numbers}
        self.default = next((f for f in flows if f.path == settings.webhook_path), None)
        paths: dict[str, Endpoint] = {settings.webhook_path: self._webhook}
        for flow in flows:
            if flow.path != settings.webhook_path:
                paths[flow.path] = self._flow_endpoint(flow)
        for path, body in app.hosted.items():
            paths[path] = self._document(body)
        paths[settings.events_path] = self._events
        if app.metrics is not None:
            paths[settings.metrics_path] = self._metrics
        self.paths = paths
        # Starlette answers the rest: the health check, and 404 for unknown paths (its own
        # slash redirects would build Location from the raw Host: off).
        self.starlette = Starlette(
            routes=[Route("/healthz", self._healthz, methods=["GET"])], lifespan=self._lifespan
        )
        self.starlette.router.redirect_slashes = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.starlette(scope, receive, send)
            return
        # One structured access-log line per request, whatever answered it.
        started = time.perf_counter()
        status = 500
        info: dict[str, str] = {}
        scope.setdefault("state", {})["callflow"] = info

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            refused = self._edge(scope, info)
            if refused is not None:
                await refused(scope, receive, send_status)
                return
            endpoint = self.paths.get(scope["path"])
            if endpoint is None:
                redirect = self._slash_redirect(scope)
                if redirect is not None:
                    await redirect(scope, receive, send_status)
                else:
                    await self.starlette(scope, receive, send_status)
            elif scope["method"] not in _FAST:
                info["rejected"] = "method"
                reply = PlainTextResponse("method not allowed", 405, {"allow": "GET, POST"})
                await reply(scope, receive, send_status)
            else:
                response = await endpoint(Request(scope, receive))
                if response is None:
                    status = CLIENT_CLOSED  # the client went away mid-request
                else:
                    await response(scope, receive, send_status)
        finally:
            metrics = self.app.metrics
            if metrics is not None:
                metrics.request(info.get("flow") or NO_FLOW, status)
                cause = info.get("rejected") or _LIMITS.get(status)
                if cause is not None:
                    metrics.rejected(cause)
            if access_logger.isEnabledFor(logging.INFO):
                _access_log(scope, status, info, started)

    def _edge(self, scope: Scope, info: dict[str, str]) -> HTTPResponse | None:
        """Check what every request must pass before anything else reads it; return the
        4xx reply when it fails. Records the request's :class:`Origin` in ``scope``."""
        peer = scope.get("client")
        info["client"] = str(peer[0]) if peer else "-"
        if header_bytes(scope) > self.settings.max_header_bytes:
            return PlainTextResponse(
                f"request header fields larger than {self.settings.max_header_bytes} bytes",
                431,
                {"connection": "close"},
            )
        try:
            bytes(scope.get("query_string", b"")).decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("malformed query string: not UTF-8", 400)
        try:
            origin = resolve(scope, self.settings)
        except BadRequest as exc:
            info["rejected"] = "host"
            return PlainTextResponse(exc.message, exc.status)
        info["client"] = origin.client
        scope["state"][ORIGIN] = origin
        return None

    def _slash_redirect(self, scope: Scope) -> HTTPResponse | None:
        """A redirect from ``/path/`` to ``/path`` (or back) when only the other is served.

        The Location is a path (with ``root_path``), or built from ``base_url`` when that is
        set: never from the request's Host, which a client writes.
        """
        path = scope["path"]
        other = path[:-1] if path.endswith("/") else path + "/"
        if path == "/" or other not in self.paths:
            return None
        if self.settings.base_url:
            prefix = self.settings.base_url.rstrip("/")
        else:
            prefix = str(scope.get("root_path", "")).rstrip("/")
        query = bytes(scope.get("query_string", b"")).decode("utf-8")
        return RedirectResponse(prefix + other + ("?" + query if query else ""), 307)

    def _refused(self, request: Request) -> HTTPResponse | None:
        """The 401/403 reply when ``request`` fails the configured access control."""
        origin: Origin = request.scope["state"][ORIGIN]
        rejection = check_access(request, self.settings, origin.client)
        if rejection is None:
            return None
        request.scope["state"]["callflow"]["rejected"] = "access"
        return PlainTextResponse(rejection.message, rejection.status, dict(rejection.headers))

    def _base(self, scope: Scope) -> str:
        return base_url(scope["state"][ORIGIN], scope, self.settings.base_url)

    # -- flows -----------------------------------------------------------------------------

    def _flow_endpoint(self, flow: Flow) -> Endpoint:
        async def endpoint(request: Request) -> HTTPResponse | None:
            return await self._serve(request, flow)

        return endpoint

    async def _webhook(self, request: Request) -> HTTPResponse | None:
        return await self._serve(request, None)

    async def _serve(self, request: Request, flow: Flow | None) -> HTTPResponse | None:
        """Answer a request for ``flow`` (None: the webhook, which routes by number)."""
        settings = self.settings
        info: dict[str, str] = request.scope["state"]["callflow"]
        if flow is not None:
            info["flow"] = flow.name
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            params = await read_params(request, settings.max_body_bytes, settings.body_timeout)
            if settings.access_key is not None:
                params.values.pop(settings.access_key_param, None)
            info["call"] = params.values.get("call", "")
            chosen = params.values.pop(FLOW_PARAM, None)
            if flow is None and self.default is not None and chosen == self.default.name:
                flow = self.default  # a round trip back to the default flow
            if flow is None:
                flow = self._route(params)
                if flow is None:
                    info["flow"] = "(not in service)"
                    logger.warning(
                        "no flow for the called number (to=%s tn=%s): not in service",
                        printable(params.values.get("to", "-")),
                        printable(params.values.get("tn", "-")),
                    )
                    return _xml(self.app.not_in_service_body)
                info["flow"] = flow.name
            state = self._state(params, request)
            base = self._base(request.scope)
            body = await self.runner.answer(request, flow, params, state, base)
            cause = info.get("fallback")
            if cause is not None:
                # Opentact ignores it; the simulator and callflow.testing read it, so a call
                # that got the fallback document never passes for one that ran as written.
                return HTTPResponse(body, media_type=XML, headers={FALLBACK_HEADER: cause})
            return _xml(body)
        except ClientGone:
            return None
        except BadRequest as exc:
            headers = {"connection": "close"} if exc.status == 408 else None
            return PlainTextResponse(exc.message, exc.status, headers)
        except InvalidState as exc:
            logger.warning(
                "rejected %s %s: %s (call %s)",
                request.method,
                printable(request.scope["path"]),
                exc.reason,
                printable(info.get("call") or "-"),
            )
            info["rejected"] = "token"
            return PlainTextResponse(f"forbidden: {exc.reason}", 403)

    def _route(self, params: CallParams) -> Flow | None:
        """The flow of the called number (``to``, else ``tn``), else the default flow."""
        region = self.settings.default_region
        for key in ("to", "tn"):
            raw = params.values.get(key)
            if raw:
                number = to_e164(raw, region)
                if number is not None and number in self.by_number:
                    return self.by_number[number]
        return self.default

    def _state(self, params: CallParams, request: Request) -> Any:
        """The verified state the request's token carries (None without a token)."""
        token = params.values.pop(STATE_PARAM, None)
        if token is None:
            return None
        values = params.values
        numbers = call_numbers(values, self.settings.default_region)
        return self.app.signer.verify(token, request.scope["path"], values.get("call"), numbers)

    # -- the other endpoints ---------------------------------------------------------------

    def _document(self, body: bytes) -> Endpoint:
        async def endpoint(request: Request) -> HTTPResponse | None:
            refused = self._refused(request)
            if refused is not None:
                return refused
            base = self._base(request.scope)
            return _xml(absolutize(body, base, carried_query(self.settings)))

        return endpoint

    async def _events(self, request: Request) -> HTTPResponse | None:
        refused = self._refused(request)
        if refused is not None:
            return refused
        settings = self.settings
        try:
            if request.method == "POST":
                raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
                body = parse_json(raw)
                if not isinstance(body, dict):
                    raise BadRequest(400, "the event body must be a JSON object")
            else:
                query = dict(request.query_params)
                if settings.access_key is not None:
                    query.pop(settings.access_key_param, None)
                body = {
                    "type": query.pop("type", "call_state"),
                    "payload": dict(query),
                    "call": {k: v for k, v in query.items() if k in ("from", "to")},
                }
        except ClientGone:
            return None
        except BadRequest as exc:
            return PlainTextResponse(exc.message, exc.status)
        await self.app.dispatch(parse_event(body))
        return HTTPResponse(status_code=204)

    async def _metrics(self, request: Request) -> HTTPResponse | None:
        """Prometheus metrics, behind the same access control as the webhook."""
        refused = self._refused(request)
        if refused is not None or self.app.metrics is None:
            return refused
        body, content_type = self.app.metrics.exposition()
        return HTTPResponse(body, headers={"content-type": content_type})

    async def _healthz(self, request: Request) -> HTTPResponse:
        """``{"status": "ok"}``, or ``"degraded"`` when the session store does not answer:
        flows that use the session then get the fallback document, the others still work.
        Always 200: with a shared store down, taking every server out would end every call.
        """
        try:
            reachable = await asyncio.wait_for(self.app.store.ping(), HEALTH_TIMEOUT_S)
        except (TimeoutError, SessionStoreError):
            reachable = False
        store = "ok" if reachable else "unreachable"
        status = "ok" if reachable else "degraded"
        return JSONResponse({"status": status, "session_store": store})

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """At shutdown, close the session store (a Redis client is bound to this loop)."""
        try:
            yield
        finally:
            await self.app.store.close()


def _access_log(scope: Scope, status: int, info: dict[str, str], started: float) -> None:
    """One structured line per request, with the fields also as ``extra`` attributes.

    The record is made directly: ``Logger.info`` would walk the stack to find the caller,
    which costs a third of the logging and says nothing useful here. Every value the caller
    controls is escaped (:func:`printable`), so a request cannot write a second line.
    """
    elapsed = (time.perf_counter() - started) * 1000
    call = printable(info.get("call") or "-")
    flow = info.get("flow") or "-"
    client = printable(info.get("client") or "-")
    method, path = printable(str(scope.get("method"))), printable(str(scope.get("path")))
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "call": call,
        "flow": flow,
        "client": client,
        "duration_ms": round(elapsed, 3),
    }
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        0,
        "method=%s path=%s status=%d call=%s flow=%s client=%s duration_ms=%.1f",
        (method, path, status, call, flow, client, elapsed),
        None,
        extra=fields,
    )
    access_logger.handle(record)


def _xml(body: bytes) -> HTTPResponse:
    return HTTPResponse(body, media_type=XML)
