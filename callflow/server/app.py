"""The remote call-control server: :class:`App`, an ASGI application serving flows.

Opentact requests the call-flow webhook on every inbound call and the round-trip URLs of
``Gather url`` and ``Callback`` (spec §2, D9). The App answers each with a valid document,
whatever happens: a flow that raises, hangs or returns an invalid document gets the fallback
document, and a malformed request gets a precise 4xx. Never a traceback to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from callflow.dialect.elements.audio import Say
from callflow.dialect.elements.call_control import Hangup
from callflow.dialect.elements.document import Response
from callflow.dialect.phone_numbers import to_e164
from callflow.dialect.problems import Problem
from callflow.dialect.rendering import render
from callflow.dialect.validation import check, schema_problems
from callflow.exceptions import (
    CallflowError,
    ConfigurationError,
    RegistrationError,
    SessionStoreError,
    SessionTooLarge,
    TemplateError,
)
from callflow.server.access import check_access
from callflow.server.context import BadRequest, CallContext, CallParams, parse_json
from callflow.server.events import Event, parse_event
from callflow.server.forwarded import Origin, base_url, header_bytes, resolve
from callflow.server.logs import printable
from callflow.server.metrics import NO_FLOW, Metrics
from callflow.server.request import ClientGone, read_body, read_params
from callflow.server.routing import Flow, FlowFunction, Router, normalise_path
from callflow.server.sessions import SessionStore, open_store
from callflow.server.settings import LogFormat, Mode, Network, Settings
from callflow.server.state import STATE_PARAM, InvalidState, StateSigner
from callflow.server.templates import Rendered, Templates
from callflow.server.threads import FlowThreads
from callflow.server.urls import absolutize

logger = logging.getLogger("callflow")
access_logger = logging.getLogger("callflow.access")

SESSION_PARAM = "cf_session"
"""Query parameter carrying the session key when Opentact sent no call uuid."""
FLOW_PARAM = "cf_flow"
"""Query parameter naming the default flow on round trips to the webhook path."""
SESSION_SCOPE = "(session)"
"""What a ``cf_session`` token is issued for (where a state token names a path)."""
ORIGIN = "callflow.origin"
"""Key of the request's checked :class:`~callflow.server.forwarded.Origin` in ``scope["state"]``."""
FALLBACK_HEADER = "x-callflow-fallback"
"""Response header naming why the fallback document was sent: error, timeout or invalid."""
HEALTH_TIMEOUT_S = 1.0
"""How long ``/healthz`` waits for the session store."""
CLIENT_CLOSED = 499
"""Status logged for a request whose client went away before the reply (nginx's 499)."""

XML = "application/xml"
_FAST = frozenset(("GET", "POST"))
_LIMITS = {408: "limit", 413: "limit", 431: "limit"}
"""Statuses counted as requests refused by a size or time limit."""
VALID_MEMO = 512
"""Distinct outgoing documents remembered as checked (oldest out first)."""

DEFAULT_FALLBACK = Response(
    Say("We are sorry, an application error has occurred. Please try again later."),
    Hangup(tag="callflow-fallback"),
)
"""Sent when a flow raises, times out or returns an invalid document."""

NOT_IN_SERVICE = Response(
    Say("The number you have called is not in service."),
    Hangup(tag="callflow-not-in-service"),
)
"""Sent when the webhook has no flow for the called number and no default flow."""

EventHandler = Callable[[Event], Awaitable[None] | None]
Endpoint = Callable[[Request], Awaitable[HTTPResponse | None]]
"""Answers one path; None when the client went away before it could."""
H = TypeVar("H", bound=EventHandler)


class App:
    """An ASGI application answering Opentact's webhooks with flows.

    >>> from callflow import App, Hangup, Response, Say
    >>> app = App(secret="s3cret")
    >>> @app.flow("/")
    ... def main(call):
    ...     return Response(Say("Hello"), Hangup())
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        templates: str | Path | None = None,
        store: SessionStore | None = None,
        fallback: Response = DEFAULT_FALLBACK,
        not_in_service: Response = NOT_IN_SERVICE,
        mode: Mode | None = None,
        secret: str | None = None,
        old_secrets: Sequence[str] | None = None,
        state_ttl_s: int | None = None,
        base_url: str | None = None,
        allowed_hosts: Sequence[str] | None = None,
        trusted_proxies: Sequence[str | Network] | None = None,
        webhook_path: str | None = None,
        events_path: str | None = None,
        flow_timeout_ms: int | None = None,
        validate_responses: bool | None = None,
        max_body_bytes: int | None = None,
        max_header_bytes: int | None = None,
        body_timeout: float | None = None,
        sync_flow_threads: int | None = None,
        session_ttl_s: int | None = None,
        default_region: str | None = None,
        access_key: str | None = None,
        access_key_param: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        allowed_ips: Sequence[str | Network] | None = None,
        time_zone: str | None = None,
        log_format: LogFormat | None = None,
        session_url: str | None = None,
        max_session_bytes: int | None = None,
        metrics: bool | None = None,
        metrics_path: str | None = None,
    ) -> None:
        """Create the app. Keyword settings override ``CALLFLOW_*`` environment variables
        (see :class:`Settings` and ``docs/configuration.md``); or pass ``settings`` whole.

        Every value is checked now: a bad one raises :class:`ConfigurationError`, so a
        misconfigured server does not start.
        """
        given = {
            "mode": mode,
            "secret": secret,
            "old_secrets": tuple(old_secrets) if old_secrets is not None else None,
            "state_ttl_s": state_ttl_s,
            "base_url": base_url,
            "allowed_hosts": tuple(allowed_hosts) if allowed_hosts is not None else None,
            "trusted_proxies": tuple(trusted_proxies) if trusted_proxies is not None else None,
            "webhook_path": webhook_path,
            "events_path": events_path,
            "flow_timeout_ms": flow_timeout_ms,
            "validate_responses": validate_responses,
            "max_body_bytes": max_body_bytes,
            "max_header_bytes": max_header_bytes,
            "body_timeout": body_timeout,
            "sync_flow_threads": sync_flow_threads,
            "session_ttl_s": session_ttl_s,
            "default_region": default_region,
            "access_key": access_key,
            "access_key_param": access_key_param,
            "basic_auth": basic_auth,
            "allowed_ips": tuple(allowed_ips) if allowed_ips is not None else None,
            "time_zone": time_zone,
            "log_format": log_format,
            "session_url": session_url,
            "max_session_bytes": max_session_bytes,
            "metrics": metrics,
            "metrics_path": metrics_path,
        }
        options = {name: value for name, value in given.items() if value is not None}
        if settings is None:
            settings = Settings.from_env(None, **options)
        elif options:
            raise ConfigurationError("pass either settings= or keyword options, not both")
        self.settings = settings.with_secret()
        if self.settings.mode == "production" and not (
            self.settings.base_url or self.settings.allowed_hosts
        ):
            raise ConfigurationError(
                "production mode needs CALLFLOW_BASE_URL or CALLFLOW_ALLOWED_HOSTS "
                "(base_url= or allowed_hosts=): otherwise links would be built from "
                "whatever Host a request names"
            )
        if templates is not None and not Path(templates).is_dir():
            raise ConfigurationError(f"templates: {templates} is not a directory")
        self.router = Router(region=self.settings.default_region)
        self.store: SessionStore = (
            store
            if store is not None
            else open_store(
                self.settings.session_url, max_session_bytes=self.settings.max_session_bytes
            )
        )
        self.fallback = fallback
        self.fallback_body = render(fallback)
        self.not_in_service_body = render(not_in_service)
        self.templates = Templates(templates) if templates is not None else None
        secret_key = self.settings.secret or ""
        old = self.settings.old_secrets
        self.signer = StateSigner(secret_key, old, self.settings.state_ttl_s)
        self.sessions = StateSigner(
            secret_key, old, self.settings.session_ttl_s, salt="callflow.session", kind="session"
        )
        self._store_down = False
        self.threads = FlowThreads(self.settings.sync_flow_threads)
        self.metrics = Metrics() if self.settings.serving_metrics else None
        self._documents: dict[str, bytes] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._asgi: Starlette | None = None
        self._fast: dict[str, Flow | None] = {}
        self._paths: dict[str, Endpoint] = {}
        self._valid: dict[bytes, None] = {}

    # -- registration ----------------------------------------------------------------------

    def flow(
        self, path: str, *, name: str | None = None, numbers: Iterable[str] = ()
    ) -> Callable[[Any], Any]:
        """Register the decorated flow at ``path`` and return it unchanged (see
        :meth:`Router.flow`). A flow at the webhook path is the default flow."""
        self._not_started()
        self._reserve(path)
        return self.router.flow(path, name=name, numbers=numbers)

    def include(self, router: Router, prefix: str = "") -> None:
        """Mount every flow of ``router`` under ``prefix``."""
        self._not_started()
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise RegistrationError(f"prefix must start with '/' and not end with it: {prefix!r}")
        for flow in router.flows:
            path = prefix + flow.path if flow.path != "/" or not prefix else prefix
            self._reserve(path)
            self.router.add_flow(path, flow.function, name=flow.name, numbers=flow.numbers)

    def documents(self, directory: str | Path, prefix: str = "") -> list[str]:
        """Serve every ``*.xml`` under ``directory`` at ``prefix/<relative path>``.

        Each is validated now and served in canonical form; an invalid one raises
        :class:`ConfigurationError` with ``file:line: message`` for every problem, so the
        server does not start with it.
        """
        self._not_started()
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise RegistrationError(f"prefix must start with '/' and not end with it: {prefix!r}")
        root = Path(directory)
        if not root.is_dir():
            raise ConfigurationError(f"hosted documents: {root} is not a directory")
        problems: list[str] = []
        found: dict[str, bytes] = {}
        for file in sorted(root.rglob("*.xml")):
            path = normalise_path(f"{prefix}/{file.relative_to(root).as_posix()}")
            if "{" in path or "}" in path:
                raise RegistrationError(f"hosted document paths cannot hold braces: {path!r}")
            self._reserve(path)
            if any(f.path == path for f in self.router.flows):
                raise RegistrationError(f"path {path!r} is already taken by a flow")
            errors, document, _ = check(file.read_bytes())
            problems.extend(f"{file}:{p.line}: {p.message}" for p in errors)
            if document is not None:
                found[path] = render(document)
        if problems:
            raise ConfigurationError("invalid hosted documents:\n" + "\n".join(problems))
        self._documents.update(found)
        return list(found)

    def on_event(self, event_type: str) -> Callable[[H], H]:
        """Register a handler for events of ``event_type`` (``call_state``, ``call_flow``,
        ... or ``*`` for all); sync or async. Returns the function unchanged."""

        def register(handler: H) -> H:
            self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    @property
    def flows(self) -> list[Flow]:
        """The registered flows."""
        return list(self.router.flows)

    def _reserve(self, path: str) -> None:
        """Refuse a path that the app's own routes or a hosted document already answer."""
        reserved = ("/healthz", self.settings.events_path, self.settings.metrics_path)
        if path in reserved:
            raise RegistrationError(
                f"path {path!r} is reserved (health check, event webhook, metrics)"
            )
        if path in self._documents:
            raise RegistrationError(f"path {path!r} is already taken by a hosted document")

    def _not_started(self) -> None:
        if self._asgi is not None:
            raise RegistrationError("cannot register after the app has started serving")

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._asgi is None:
            self._asgi = self._build()
        if scope["type"] != "http":
            await self._asgi(scope, receive, send)
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
            # Flow paths are plain paths: a dict finds them without Starlette's routing and
            # middleware (the hot path of every call); anything else goes through Starlette.
            path = scope["path"]
            endpoint = self._paths.get(path)
            if endpoint is None:
                redirect = self._slash_redirect(scope)
                if redirect is not None:
                    await redirect(scope, receive, send_status)
                else:
                    await self._asgi(scope, receive, send_status)
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
            if self.metrics is not None:
                self.metrics.request(info.get("flow") or NO_FLOW, status)
                cause = info.get("rejected") or _LIMITS.get(status)
                if cause is not None:
                    self.metrics.rejected(cause)
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
        if path == "/" or other not in self._paths:
            return None
        if self.settings.base_url:
            prefix = self.settings.base_url.rstrip("/")
        else:
            prefix = str(scope.get("root_path", "")).rstrip("/")
        query = bytes(scope.get("query_string", b"")).decode("utf-8")
        return RedirectResponse(prefix + other + ("?" + query if query else ""), 307)

    def _base(self, scope: Scope) -> str:
        return base_url(scope["state"][ORIGIN], scope, self.settings.base_url)

    def _build(self) -> Starlette:
        settings = self.settings
        self._by_name = {flow.name: flow for flow in self.router.flows}
        self._by_number = {n: flow for flow in self.router.flows for n in flow.numbers}
        self._default = next(
            (f for f in self.router.flows if f.path == settings.webhook_path), None
        )
        paths: dict[str, Endpoint] = {settings.webhook_path: self._webhook}
        for flow in self.router.flows:
            if flow.path != settings.webhook_path:
                paths[flow.path] = self._endpoint(flow)
        for path, body in self._documents.items():
            paths[path] = self._document(body)
        paths[settings.events_path] = self._events
        if self.metrics is not None:
            paths[settings.metrics_path] = self._metrics
        self._paths = paths
        # Starlette answers the rest: the health check, and 404 for unknown paths (its own
        # slash redirects would build Location from the raw Host: off).
        app = Starlette(
            routes=[Route("/healthz", self._healthz, methods=["GET"])], lifespan=self._lifespan
        )
        app.router.redirect_slashes = False
        return app

    def _endpoint(self, flow: Flow) -> Endpoint:
        async def endpoint(request: Request) -> HTTPResponse | None:
            return await self._serve(request, flow)

        return endpoint

    async def _webhook(self, request: Request) -> HTTPResponse | None:
        return await self._serve(request, None)

    # -- serving a flow --------------------------------------------------------------------

    async def _serve(self, request: Request, flow: Flow | None) -> HTTPResponse | None:
        info: dict[str, str] = request.scope["state"]["callflow"]
        if flow is not None:
            info["flow"] = flow.name
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            params = await read_params(
                request, self.settings.max_body_bytes, self.settings.body_timeout
            )
            if self.settings.access_key is not None:
                params.values.pop(self.settings.access_key_param, None)
            info["call"] = params.values.get("call", "")
            chosen = params.values.pop(FLOW_PARAM, None)
            default = self._default
            if flow is None and default is not None and chosen == default.name:
                flow = default  # a round trip back to the default flow
            if flow is None:
                flow = self._route(params)
                if flow is None:
                    info["flow"] = "(not in service)"
                    logger.warning(
                        "no flow for the called number (to=%s tn=%s): not in service",
                        printable(params.values.get("to", "-")),
                        printable(params.values.get("tn", "-")),
                    )
                    return _xml(self.not_in_service_body)
                info["flow"] = flow.name
            state = self._state(params, request)
            body = await self._answer(request, flow, params, state)
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
        region = self.settings.default_region
        for key in ("to", "tn"):
            raw = params.values.get(key)
            if raw:
                number = to_e164(raw, region)
                if number is not None and number in self._by_number:
                    return self._by_number[number]
        return self._default

    def _state(self, params: CallParams, request: Request) -> Any:
        token = params.values.pop(STATE_PARAM, None)
        if token is None:
            return None
        values = params.values
        return self.signer.verify(
            token, request.scope["path"], values.get("call"), self._numbers(values)
        )

    def _numbers(self, values: dict[str, str]) -> tuple[str | None, str | None]:
        """The caller and called numbers of a request, in E.164 (raw when not a number):
        what a state token minted without a call uuid is bound to."""
        region = self.settings.default_region
        caller = values.get("from")
        called = values.get("to") or values.get("tn")
        return (
            (to_e164(caller, region) or caller) if caller else None,
            (to_e164(called, region) or called) if called else None,
        )

    async def _answer(self, request: Request, flow: Flow, params: CallParams, state: Any) -> bytes:
        values = params.values
        call_uuid = values.get("call")
        numbers = self._numbers(values)
        # Session keys are callflow's: random, carried in links as a token signed and bound
        # to the call (its uuid, else its numbers). A key the caller made up, or one issued
        # for another call, opens nothing; the call uuid alone never names a session.
        key = self._session_key(values.pop(SESSION_PARAM, None), call_uuid, numbers)
        session: dict[str, Any] | None = {}
        store_error: SessionStoreError | None = None
        if key is not None:
            try:
                session = await self.store.load(key)
                self._store_recovered()
            except SessionStoreError as exc:
                session, store_error = None, exc  # only a flow that touches it fails
        had_session = bool(session)
        made: list[str] = []  # the session token of this request, made when first needed

        def session_token() -> str:
            if not made:
                nonlocal key
                key = key or secrets.token_urlsafe(16)
                made.append(self.sessions.sign({"k": key}, SESSION_SCOPE, call_uuid, numbers))
            return made[0]

        base = self._base(request.scope)
        url_for = self.url_builder(values, base, session_token)
        render_template = self.templates.render if self.templates is not None else None
        call = CallContext(
            params,
            region=self.settings.default_region,
            state=state,
            session=session,
            session_error=store_error,
            flow=flow.name,
            request=request,
            url_for=url_for,
            render_template=render_template,
        )
        info: dict[str, str] = request.scope["state"]["callflow"]
        body = await self._run(flow, call, info)
        written = call._session  # without the error a broken store raises on access
        if store_error is None and "fallback" not in info:
            try:
                if written:
                    if key is None:
                        key = secrets.token_urlsafe(16)
                    await self.store.save(key, written, self.settings.session_ttl_s)
                    self._store_recovered()
                elif had_session and key is not None:  # the flow cleared it
                    await self.store.delete(key)
                    self._store_recovered()
            except SessionTooLarge as exc:
                logger.error("flow %r: %s; fallback sent", flow.name, exc)
                return self._fallback("error", info)
            except SessionStoreError as exc:
                self._store_failed(flow.name, exc)
                return self._fallback("error", info)
        link = session_token() if (made or had_session or written) else None
        return absolutize(body, base, self._link_query(None), self._link_query(link))

    def url_builder(
        self,
        values: dict[str, str],
        base: str | None = None,
        session_token: Callable[[], str] | None = None,
    ) -> Callable[..., str]:
        """Return ``call.url_for`` for a request with the parameters ``values``: absolute links
        to this App's flows from ``base`` (default: the ``base_url`` setting, else
        ``http://testserver``), ``state`` signed for the call, and the session token
        (default: a new session's) and access key every link carries.
        ``CallContext.make(app=...)`` uses it to unit-test flows that build links."""
        call_uuid = values.get("call")
        numbers = self._numbers(values)
        origin = base if base is not None else (self.settings.base_url or "http://testserver")
        origin = origin.rstrip("/")
        if session_token is None:
            fresh = {"k": secrets.token_urlsafe(16)}
            token = self.sessions.sign(fresh, SESSION_SCOPE, call_uuid, numbers)
            session_token = lambda: token  # noqa: E731

        def url_for(name: str, *, state: Any = None, **query: str | int) -> str:
            if self._asgi is not None:
                target = self._by_name.get(name)
            else:  # not serving yet (a unit test): the flows registered so far
                target = next((f for f in self.router.flows if f.name == name), None)
            if target is None:
                raise KeyError(f"no flow named {name!r}")
            pairs: dict[str, str] = {k: str(v) for k, v in query.items()}
            if target.path == self.settings.webhook_path:
                # Opentact appends `tn`: without this the webhook would route by number.
                pairs[FLOW_PARAM] = target.name
            if state is not None:
                pairs[STATE_PARAM] = self.signer.sign(state, target.path, call_uuid, numbers)
            link = self._link_query(session_token())
            query_text = "&".join(part for part in (urlencode(pairs), link) if part)
            return origin + target.path + ("?" + query_text if query_text else "")

        return url_for

    def _fallback(self, cause: str, info: dict[str, str]) -> bytes:
        """The fallback document, recorded as sent for ``cause`` (error, timeout, invalid)."""
        info["fallback"] = cause
        if self.metrics is not None:
            self.metrics.fallback(cause)
        return self.fallback_body

    def _session_key(
        self, token: str | None, call_uuid: str | None, numbers: tuple[str | None, str | None]
    ) -> str | None:
        """The session key a ``cf_session`` token carries, if callflow issued it for this
        call; a token it did not issue (or issued for another call) opens no session."""
        if not token:
            return None
        try:
            payload = self.sessions.verify(token, SESSION_SCOPE, call_uuid, numbers)
        except InvalidState as exc:
            logger.warning(
                "ignored a cf_session token: %s (call %s)", exc.reason, printable(call_uuid or "-")
            )
            return None
        key = payload.get("k") if isinstance(payload, dict) else None
        return key if isinstance(key, str) and key else None

    def _store_failed(self, flow: str, exc: SessionStoreError) -> None:
        """One error line per outage burst, not one per request."""
        if self.metrics is not None:
            self.metrics.store_error()
        if not self._store_down:
            self._store_down = True
            logger.error("session store failed (flow %r): %s; fallback sent", flow, exc)

    def _store_recovered(self) -> None:
        if self._store_down:
            self._store_down = False
            logger.warning("session store is reachable again")

    async def _run(self, flow: Flow, call: CallContext, info: dict[str, str]) -> bytes:
        """Run ``flow`` within the timeout; any failure gives the fallback document."""
        timeout = self.settings.flow_timeout_ms / 1000
        uuid = printable(call.uuid or "-")
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            result, timed_out = await _call(flow.function, call, timeout, self.threads)
            if self.metrics is not None:
                self.metrics.flow_duration(flow.name, loop.time() - started)
            if isinstance(result, Response):
                body = render(result)
            elif isinstance(result, Rendered):
                body = result.body
            elif not timed_out:
                # Foreign XML text: checked off the event loop (a big document would stall
                # every other call) and within what is left of the flow's time budget.
                left = max(timeout - (loop.time() - started), 0.0)
                try:
                    body = await asyncio.wait_for(self.threads.run(_canonical, result), left)
                except TimeoutError:
                    timed_out = True
            if timed_out:
                logger.error(
                    "flow %r took longer than flow_timeout_ms=%d (call %s): fallback sent",
                    flow.name,
                    self.settings.flow_timeout_ms,
                    uuid,
                )
                return self._fallback("timeout", info)
        except BadRequest:
            raise
        except SessionStoreError as exc:
            self._store_failed(flow.name, exc)
            return self._fallback("error", info)
        except (InvalidDocument, TemplateError) as exc:
            logger.error(
                "flow %r returned an invalid document (call %s): %s; fallback sent",
                flow.name,
                uuid,
                exc,
            )
            return self._fallback("invalid", info)
        except Exception:
            logger.exception("flow %r raised (call %s): fallback sent", flow.name, uuid)
            return self._fallback("error", info)
        except asyncio.CancelledError:
            raise
        if self.settings.validating and isinstance(result, Response) and body not in self._valid:
            # The DSL constructors enforced every other rule: the schema is what is left.
            # Each distinct document is checked once (flows mostly send the same few).
            problems = schema_problems(body, strict=True)
            if not problems:
                if len(self._valid) >= VALID_MEMO:
                    self._valid.pop(next(iter(self._valid)))
                self._valid[body] = None
            if problems:
                shown = "; ".join(f"{p.line}:{p.column}: {p.message}" for p in problems[:5])
                logger.error(
                    "flow %r returned an invalid document (call %s): %s; fallback sent",
                    flow.name,
                    uuid,
                    shown,
                )
                return self._fallback("invalid", info)
        return body

    def _document(self, body: bytes) -> Endpoint:
        async def endpoint(request: Request) -> HTTPResponse | None:
            refused = self._refused(request)
            if refused is not None:
                return refused
            base = self._base(request.scope)
            return _xml(absolutize(body, base, self._link_query(None)))

        return endpoint

    def _refused(self, request: Request) -> HTTPResponse | None:
        """The 401/403 reply when ``request`` fails the configured access control."""
        origin: Origin = request.scope["state"][ORIGIN]
        rejection = check_access(request, self.settings, origin.client)
        if rejection is None:
            return None
        request.scope["state"]["callflow"]["rejected"] = "access"
        return PlainTextResponse(rejection.message, rejection.status, dict(rejection.headers))

    def _link_query(self, session_key: str | None) -> str:
        """Query that links back into the app need: the access key, the carried session."""
        pairs: dict[str, str] = {}
        if session_key is not None:
            pairs[SESSION_PARAM] = session_key
        if self.settings.access_key is not None:
            pairs[self.settings.access_key_param] = self.settings.access_key
        return urlencode(pairs)

    async def _metrics(self, request: Request) -> HTTPResponse | None:
        """Prometheus metrics, behind the same access control as the webhook."""
        refused = self._refused(request)
        if refused is not None or self.metrics is None:
            return refused
        body, content_type = self.metrics.exposition()
        return HTTPResponse(body, headers={"content-type": content_type})

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """At shutdown, close the session store (a Redis client is bound to this loop)."""
        try:
            yield
        finally:
            await self.store.close()

    async def _healthz(self, request: Request) -> HTTPResponse:
        """``{"status": "ok"}``, or ``"degraded"`` when the session store does not answer:
        flows that use the session then get the fallback document, the others still work.
        Always 200: with a shared store down, taking every server out would end every call.
        """
        try:
            reachable = await asyncio.wait_for(self.store.ping(), HEALTH_TIMEOUT_S)
        except (TimeoutError, SessionStoreError):
            reachable = False
        store = "ok" if reachable else "unreachable"
        status = "ok" if reachable else "degraded"
        return JSONResponse({"status": status, "session_store": store})

    # -- events ----------------------------------------------------------------------------

    async def _events(self, request: Request) -> HTTPResponse | None:
        refused = self._refused(request)
        if refused is not None:
            return refused
        try:
            if request.method == "POST":
                settings = self.settings
                raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
                body = parse_json(raw)
                if not isinstance(body, dict):
                    raise BadRequest(400, "the event body must be a JSON object")
            else:
                query = dict(request.query_params)
                if self.settings.access_key is not None:
                    query.pop(self.settings.access_key_param, None)
                body = {
                    "type": query.pop("type", "call_state"),
                    "payload": dict(query),
                    "call": {k: v for k, v in query.items() if k in ("from", "to")},
                }
        except ClientGone:
            return None
        except BadRequest as exc:
            return PlainTextResponse(exc.message, exc.status)
        event = parse_event(body)
        await self.dispatch(event)
        return HTTPResponse(status_code=204)

    async def dispatch(self, event: Event) -> None:
        """Run the handlers registered for ``event``; a failing handler is logged."""
        for handler in [*self._handlers.get(event.type, ()), *self._handlers.get("*", ())]:
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception(
                    "event handler %r failed on a %s event",
                    getattr(handler, "__name__", handler),
                    event.type,
                )


def _canonical(result: object) -> bytes:
    """Validate XML text returned by a flow and return it in canonical form (D1)."""
    if isinstance(result, str):
        result = result.encode("utf-8")
    if not isinstance(result, bytes):
        raise CallflowError(
            "a flow must return a Response, a rendered template or XML, "
            f"not {type(result).__name__}"
        )
    problems, document, _ = check(result)
    if document is None:
        raise InvalidDocument(problems)
    return render(document)


class InvalidDocument(CallflowError):
    """XML text from a flow that is not a valid document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(f"{p.line}:{p.column}: {p.message}" for p in problems[:5])
        super().__init__(f"invalid document: {shown}")


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


async def _call(
    function: FlowFunction, call: CallContext, timeout: float, threads: FlowThreads
) -> tuple[object, bool]:
    """Run the flow within ``timeout`` seconds; return (result, whether it timed out).

    An async flow runs on the event loop under ``asyncio.timeout`` (cheap); a sync flow runs
    on the App's bounded thread pool (it may block) and is abandoned when it overruns; one
    that cannot start within the timeout (every thread busy) times out all the same.
    """
    if inspect.iscoroutinefunction(function):
        try:
            async with asyncio.timeout(timeout) as deadline:
                return await function(call), False
        except TimeoutError:
            if deadline.expired():
                return None, True
            raise  # the flow's own TimeoutError, not ours
    try:
        async with asyncio.timeout(timeout) as deadline:
            result = await threads.run(function, call)
            if inspect.isawaitable(result):
                result = await result
            return result, False
    except TimeoutError:
        if deadline.expired():
            return None, True
        raise  # the flow's own TimeoutError, not ours


def _xml(body: bytes) -> HTTPResponse:
    return HTTPResponse(body, media_type=XML)
