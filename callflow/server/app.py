"""The remote call-control server: :class:`App`, an ASGI application serving flows.

Opentact requests the call-flow webhook on every inbound call and the round-trip URLs of
``Gather url`` and ``Callback`` (spec §2, D9). The App answers each with a valid document,
whatever happens: a flow that raises, hangs or returns an invalid document gets the fallback
document, and a malformed request gets a precise 4xx. Never a traceback to the client.

This module holds the App itself: its settings and what is registered on it (flows, routers,
hosted documents, event handlers). Serving is :mod:`callflow.server.dispatch` (a request to
its endpoint) and :mod:`callflow.server.running` (a flow within its budget).
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from starlette.types import Receive, Scope, Send

from callflow.dialect.elements.audio import Say
from callflow.dialect.elements.call_control import Hangup
from callflow.dialect.elements.document import Response
from callflow.dialect.rendering import render
from callflow.dialect.validation import check
from callflow.exceptions import ConfigurationError, RegistrationError
from callflow.server.dispatch import Dispatcher
from callflow.server.events import Event
from callflow.server.metrics import Metrics
from callflow.server.routing import F, Flow, FlowFunction, Router, normalise_path, registering

# Re-exported: the simulator reads the fallback header's name from here.
from callflow.server.sessions import SessionStore, open_store
from callflow.server.settings import LogFormat, Mode, Network, Settings
from callflow.server.state import SESSION_SCOPE, StateSigner, call_numbers
from callflow.server.templates import Templates
from callflow.server.threads import FlowThreads
from callflow.server.urls import Links

logger = logging.getLogger("callflow")

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
        self.fallback_body = render(fallback)
        self.not_in_service_body = render(not_in_service)
        self.templates = Templates(templates) if templates is not None else None
        secret_key = self.settings.secret or ""
        old = self.settings.old_secrets
        self.signer = StateSigner(secret_key, old, self.settings.state_ttl_s)
        self.sessions = StateSigner(
            secret_key, old, self.settings.session_ttl_s, salt="callflow.session", kind="session"
        )
        self.threads = FlowThreads(self.settings.sync_flow_threads)
        self.metrics = Metrics() if self.settings.serving_metrics else None
        self._documents: dict[str, bytes] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._dispatcher: Dispatcher | None = None

    # -- registration ----------------------------------------------------------------------

    def flow(
        self, path: str, *, name: str | None = None, numbers: Iterable[str] = ()
    ) -> Callable[[F], F]:
        """Register the decorated function as a flow at ``path``; return it unchanged.

        The checks and arguments are those of :meth:`add_flow`.
        """
        return registering(self.add_flow, path, name, numbers)

    def add_flow(
        self,
        path: str,
        function: FlowFunction,
        *,
        name: str | None = None,
        numbers: Iterable[str] = (),
    ) -> Flow:
        """Register ``function`` as a flow at ``path`` (the non-decorator form of
        :meth:`flow`); ``name`` (default: the function's) is what ``url_for`` links to.

        A flow at the webhook path is the default flow; ``numbers`` route calls to those
        numbers to this flow from the webhook (see :meth:`Router.flow`). Raises
        :class:`RegistrationError` for a path, name or number already taken, a malformed
        path or number, or once the app has started serving.
        """
        self._not_started()
        self._reserve(path)
        return self.router.add_flow(path, function, name=name, numbers=numbers)

    def include(self, router: Router, prefix: str = "") -> None:
        """Mount every flow of ``router`` under ``prefix``."""
        self._not_started()
        _check_prefix(prefix)
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
        _check_prefix(prefix)
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

    @property
    def hosted(self) -> Mapping[str, bytes]:
        """The hosted documents (see :meth:`documents`): path to canonical body."""
        return self._documents

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
        if self._dispatcher is not None:
            raise RegistrationError("cannot register after the app has started serving")

    # -- serving ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(self)  # registration ends here
        await self._dispatcher(scope, receive, send)

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
        numbers = call_numbers(values, self.settings.default_region)
        origin = base if base is not None else (self.settings.base_url or "http://testserver")
        if session_token is None:
            fresh = {"k": secrets.token_urlsafe(16)}
            token = self.sessions.sign(fresh, SESSION_SCOPE, call_uuid, numbers)
            session_token = lambda: token  # noqa: E731
        return Links(self, call_uuid, numbers, origin, session_token).url_for

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


def _check_prefix(prefix: str) -> None:
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise RegistrationError(f"prefix must start with '/' and not end with it: {prefix!r}")
