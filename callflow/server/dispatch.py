"""The ASGI entry of an App: every request passes the edge checks, goes to its endpoint and
leaves one access-log line (:mod:`callflow.server.access_log`) and its metrics.

A flow path is found in a dict, without Starlette's routing and middleware (the hot path of
every call); the webhook path routes by the called number. Starlette answers the rest: the
health check, and 404. The hot path works on the ASGI scope itself (no Starlette ``Request``
or ``Response``): the query is decoded and split once (and remembered, as is the checked
origin of the request's host), and the reply goes out as two ASGI messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from callflow.dialect.phone_numbers import to_e164
from callflow.exceptions import BadRequest, InvalidState, SessionStoreError
from callflow.server.access import Rejection, check_access
from callflow.server.access_log import log_request
from callflow.server.events import parse_event
from callflow.server.forwarded import ORIGIN, Origin, base_url, resolve
from callflow.server.logs import printable
from callflow.server.metrics import NO_FLOW
from callflow.server.replies import XML_TYPE, Tracked, send_rejection, send_reply, send_text
from callflow.server.request import (
    CallParams,
    ClientGone,
    Query,
    parse_json,
    read_body,
    read_call,
    split_query,
)
from callflow.server.routing import Flow
from callflow.server.running import FALLBACK_HEADER, Runner
from callflow.server.state import STATE_PARAM, call_numbers
from callflow.server.urls import FLOW_PARAM, absolutize, carried_query

if TYPE_CHECKING:
    from callflow.server.app import App

logger = logging.getLogger("callflow")

HEALTH_TIMEOUT_S = 1.0
"""How long ``/healthz`` waits for the session store."""
CLIENT_CLOSED = 499
"""Status logged for a request whose client went away before the reply (nginx's 499)."""
ORIGIN_MEMO = 256
"""Distinct (host, forwarded headers, peer) remembered with their checked origin."""

XML = "application/xml"
_FAST = frozenset(("GET", "POST"))
_LIMITS = {408: "limit", 413: "limit", 431: "limit"}
"""Statuses counted as requests refused by a size or time limit."""
# What forwarded.resolve reads of the headers (it reads the peer, scheme and server too).
_ORIGIN_FIELDS = frozenset(
    (b"host", b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
)
_CLOSE = ((b"connection", b"close"),)
_FALLBACK_NAME = FALLBACK_HEADER.encode()

Endpoint = Callable[[Scope, Receive, Send, dict[str, str], Query], Awaitable[int]]
"""Answers one path; returns the status it sent (:data:`CLIENT_CLOSED` when the client went
away before it could)."""


class _Refused(Exception):
    """A request refused at the edge, before any endpoint reads it."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        cause: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.cause = status, message, headers, cause


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
        self._key_query = carried_query(settings)
        self._origins: dict[tuple[object, ...], Origin | BadRequest] = {}
        self._bases: dict[tuple[Origin, str], str] = {}
        self._guarded = bool(
            settings.allowed_ips or settings.access_key is not None or settings.basic_auth
        )
        """Whether any access control is configured (else every request passes it)."""
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
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["callflow"] = info
        try:
            status = await self._answer(scope, receive, send, info)
        finally:
            metrics = self.app.metrics
            if metrics is not None:
                metrics.request(info.get("flow") or NO_FLOW, status)
                cause = info.get("rejected") or _LIMITS.get(status)
                if cause is not None:
                    metrics.rejected(cause)
            log_request(scope, status, info, started)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, info: dict[str, str]
    ) -> int:
        try:
            query = self._edge(scope, info)
        except _Refused as refused:
            if refused.cause is not None:
                info["rejected"] = refused.cause
            return await send_text(send, refused.status, refused.message, refused.headers)
        endpoint = self.paths.get(scope["path"])
        if endpoint is None:
            tracked = Tracked(send)
            redirect: ASGIApp = self._slash_redirect(scope) or self.starlette
            await redirect(scope, receive, tracked)
            return tracked.status
        if scope["method"] not in _FAST:
            info["rejected"] = "method"
            return await send_text(send, 405, "method not allowed", ((b"allow", b"GET, POST"),))
        return await endpoint(scope, receive, send, info, query)

    def _edge(self, scope: Scope, info: dict[str, str]) -> Query:
        """Check what every request must pass before anything else reads it (raise
        :class:`_Refused` when it fails); return its query, split. Records the request's
        :class:`Origin` in ``scope``."""
        peer = scope.get("client")
        info["client"] = str(peer[0]) if peer else "-"
        raw_query = scope.get("query_string") or b""
        # The size of the request target and the header fields as sent (as
        # forwarded.header_bytes counts it), and what the origin depends on, in one pass.
        size = len(scope.get("raw_path") or b"") + len(raw_query)
        fields: list[tuple[bytes, bytes]] = []
        for name, value in scope.get("headers", ()):
            size += len(name) + len(value) + 4
            if name in _ORIGIN_FIELDS:
                fields.append((name, value))
        limit = self.settings.max_header_bytes
        if size > limit:
            raise _Refused(431, f"request header fields larger than {limit} bytes", _CLOSE)
        query = split_query(bytes(raw_query))
        if query.text is None:
            raise _Refused(400, "malformed query string: not UTF-8")
        server = scope.get("server")
        key = (
            tuple(fields),
            info["client"] if peer else None,
            scope.get("scheme", "http"),
            tuple(server) if server is not None else None,
        )
        origin = self._origins.get(key)
        if origin is None:
            try:
                origin = resolve(scope, self.settings)
            except BadRequest as exc:
                origin = exc
            origins = self._origins
            if len(origins) >= ORIGIN_MEMO:
                origins.pop(next(iter(origins)))
            origins[key] = origin
        if isinstance(origin, BadRequest):
            raise _Refused(origin.status, origin.message, cause="host")
        info["client"] = origin.client
        scope["state"][ORIGIN] = origin
        return query

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

    def _rejection(self, scope: Scope, info: dict[str, str], query: Query) -> Rejection | None:
        """Why the request fails the configured access control, if it does."""
        if not self._guarded:
            return None
        origin: Origin = scope["state"][ORIGIN]
        rejection = check_access(scope, self.settings, origin.client, query)
        if rejection is not None:
            info["rejected"] = "access"
        return rejection

    def _base(self, scope: Scope) -> str:
        key = (scope["state"][ORIGIN], scope.get("root_path", ""))
        base = self._bases.get(key)
        if base is None:
            base = base_url(key[0], scope, self.settings.base_url)
            if len(self._bases) >= ORIGIN_MEMO:
                self._bases.pop(next(iter(self._bases)))
            self._bases[key] = base
        return base

    # -- flows -----------------------------------------------------------------------------

    def _flow_endpoint(self, flow: Flow) -> Endpoint:
        async def endpoint(
            scope: Scope, receive: Receive, send: Send, info: dict[str, str], query: Query
        ) -> int:
            return await self._serve(scope, receive, send, info, query, flow)

        return endpoint

    async def _webhook(
        self, scope: Scope, receive: Receive, send: Send, info: dict[str, str], query: Query
    ) -> int:
        return await self._serve(scope, receive, send, info, query, None)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        info: dict[str, str],
        query: Query,
        flow: Flow | None,
    ) -> int:
        """Answer a request for ``flow`` (None: the webhook, which routes by number)."""
        settings = self.settings
        if flow is not None:
            info["flow"] = flow.name
        rejection = self._rejection(scope, info, query)
        if rejection is not None:
            return await send_rejection(send, rejection)
        try:
            params = await read_call(
                scope, receive, query, settings.max_body_bytes, settings.body_timeout
            )
            values = params.values
            if settings.access_key is not None:
                values.pop(settings.access_key_param, None)
            info["call"] = values.get("call", "")
            chosen = values.pop(FLOW_PARAM, None)
            if flow is None and self.default is not None and chosen == self.default.name:
                flow = self.default  # a round trip back to the default flow
            if flow is None:
                flow = self._route(params)
                if flow is None:
                    info["flow"] = "(not in service)"
                    logger.warning(
                        "no flow for the called number (to=%s tn=%s): not in service",
                        printable(values.get("to", "-")),
                        printable(values.get("tn", "-")),
                    )
                    return await send_reply(send, 200, self.app.not_in_service_body, XML_TYPE)
                info["flow"] = flow.name
            state = self._state(params, scope)
            base = self._base(scope)
            body = await self.runner.answer(scope, receive, info, flow, params, state, base)
        except ClientGone:
            return CLIENT_CLOSED
        except BadRequest as exc:
            closing = _CLOSE if exc.status == 408 else ()
            return await send_text(send, exc.status, exc.message, closing)
        except InvalidState as exc:
            logger.warning(
                "rejected %s %s: %s (call %s)",
                scope["method"],
                printable(scope["path"]),
                exc.reason,
                printable(info.get("call") or "-"),
            )
            info["rejected"] = "token"
            return await send_text(send, 403, f"forbidden: {exc.reason}")
        cause = info.get("fallback")
        if cause is not None:
            # Opentact ignores it; the simulator and callflow.testing read it, so a call
            # that got the fallback document never passes for one that ran as written.
            marked = ((_FALLBACK_NAME, cause.encode("latin-1")),)
            return await send_reply(send, 200, body, XML_TYPE, marked)
        return await send_reply(send, 200, body, XML_TYPE)

    def _route(self, params: CallParams) -> Flow | None:
        """The flow of the called number (``to``, else ``tn``), else the default flow."""
        if not self.by_number:
            return self.default
        region = self.settings.default_region
        for key in ("to", "tn"):
            raw = params.values.get(key)
            if raw:
                number = to_e164(raw, region)
                if number is not None and number in self.by_number:
                    return self.by_number[number]
        return self.default

    def _state(self, params: CallParams, scope: Scope) -> object:
        """The verified state the request's token carries (None without a token)."""
        token = params.values.pop(STATE_PARAM, None)
        if token is None:
            return None
        values = params.values
        numbers = call_numbers(values, self.settings.default_region)
        return self.app.signer.verify(token, scope["path"], values.get("call"), numbers)

    # -- the other endpoints ---------------------------------------------------------------

    def _document(self, body: bytes) -> Endpoint:
        async def endpoint(
            scope: Scope, receive: Receive, send: Send, info: dict[str, str], query: Query
        ) -> int:
            rejection = self._rejection(scope, info, query)
            if rejection is not None:
                return await send_rejection(send, rejection)
            document = absolutize(body, self._base(scope), self._key_query)
            return await send_reply(send, 200, document, XML_TYPE)

        return endpoint

    async def _events(
        self, scope: Scope, receive: Receive, send: Send, info: dict[str, str], query: Query
    ) -> int:
        rejection = self._rejection(scope, info, query)
        if rejection is not None:
            return await send_rejection(send, rejection)
        request = Request(scope, receive)
        settings = self.settings
        try:
            if request.method == "POST":
                raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
                body = parse_json(raw)
                if not isinstance(body, dict):
                    raise BadRequest(400, "the event body must be a JSON object")
            else:
                values = dict(request.query_params)
                if settings.access_key is not None:
                    values.pop(settings.access_key_param, None)
                body = {
                    "type": values.pop("type", "call_state"),
                    "payload": dict(values),
                    "call": {k: v for k, v in values.items() if k in ("from", "to")},
                }
        except ClientGone:
            return CLIENT_CLOSED
        except BadRequest as exc:
            return await send_text(send, exc.status, exc.message)
        await self.app.dispatch(parse_event(body))
        reply = HTTPResponse(status_code=204)
        await reply(scope, receive, send)
        return reply.status_code

    async def _metrics(
        self, scope: Scope, receive: Receive, send: Send, info: dict[str, str], query: Query
    ) -> int:
        """Prometheus metrics, behind the same access control as the webhook."""
        rejection = self._rejection(scope, info, query)
        if rejection is not None:
            return await send_rejection(send, rejection)
        if self.app.metrics is None:
            return await send_text(send, 404, "Not Found")
        body, content_type = self.app.metrics.exposition()
        return await send_reply(send, 200, body, (b"content-type", content_type.encode()))

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
