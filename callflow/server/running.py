"""Running one flow for one request: its session, its time budget, its output checked.

Whatever the flow does, the request gets a document: one that raises, overruns
``flow_timeout_ms`` or returns an invalid document gets the App's fallback document (marked
with :data:`FALLBACK_HEADER`), and the reason is logged and counted.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from callflow.dialect.elements.document import Response
from callflow.dialect.rendering import CheckedXML, render
from callflow.dialect.validation import check, schema_problems
from callflow.exceptions import (
    BadRequest,
    CallflowError,
    InvalidDocument,
    InvalidState,
    SessionStoreError,
    SessionTooLarge,
    TemplateError,
)
from callflow.server.budget import within
from callflow.server.context import CallContext
from callflow.server.logs import printable
from callflow.server.request import CallParams
from callflow.server.routing import Flow, FlowFunction
from callflow.server.state import SESSION_SCOPE, call_numbers
from callflow.server.templates import Rendered
from callflow.server.threads import FlowThreads
from callflow.server.urls import SESSION_PARAM, Links, absolutize, carried_query

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from callflow.server.app import App

logger = logging.getLogger("callflow")

FALLBACK_HEADER = "x-callflow-fallback"
"""Response header naming why the fallback document was sent: error, timeout or invalid."""
VALID_MEMO = 512
"""Distinct outgoing documents remembered as checked (oldest out first)."""


class Runner:
    """Runs the flows of ``app``: loads and saves the call's session around each run, and
    turns every failure into the fallback document."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self._store_down = False
        self._valid: dict[bytes, None] = {}
        self._async: dict[str, bool] = {}
        self._key_query = carried_query(app.settings)  # the settings never change

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        info: dict[str, str],
        flow: Flow,
        params: CallParams,
        state: Any,
        base: str,
    ) -> bytes:
        """Run ``flow`` for the request of ``scope`` with its session; return the document
        to send, its path-only URLs made absolute from ``base``."""
        app, settings = self.app, self.settings
        values = params.values
        call_uuid = values.get("call")
        numbers = call_numbers(values, settings.default_region)
        # Session keys are callflow's: random, carried in links as a token signed and bound
        # to the call (its uuid, else its numbers). A key the caller made up, or one issued
        # for another call, opens nothing; the call uuid alone never names a session.
        token = values.pop(SESSION_PARAM, None)
        key = self._session_key(token, call_uuid, numbers) if token else None
        session: dict[str, Any] | None = {}
        store_error: SessionStoreError | None = None
        if key is not None:
            try:
                session = await app.store.load(key)
                self._store_recovered()
            except SessionStoreError as exc:
                session, store_error = None, exc  # only a flow that touches it fails
        had_session = bool(session)
        tokens = _SessionToken(app, key, call_uuid, numbers)
        templates = app.templates
        call = CallContext(
            params,
            region=settings.default_region,
            state=state,
            session=session,
            session_error=store_error,
            flow=flow.name,
            url_for=Links(app, call_uuid, numbers, base, tokens).url_for,
            render_template=templates.render if templates is not None else None,
        )
        call._asgi = (scope, receive, params.body)
        body = await self.run(flow, call, info)
        written = call._session  # without the error a broken store raises on access
        if store_error is None and "fallback" not in info:
            try:
                if written:
                    key = tokens.key
                    if key is None:
                        key = tokens.key = secrets.token_urlsafe(16)
                    await app.store.save(key, written, settings.session_ttl_s)
                    self._store_recovered()
                elif had_session and key is not None:  # the flow cleared it
                    await app.store.delete(key)
                    self._store_recovered()
            except SessionTooLarge as exc:
                logger.error("flow %r: %s; fallback sent", flow.name, exc)
                return self.fallback("error", info)
            except SessionStoreError as exc:
                self._store_failed(flow.name, exc)
                return self.fallback("error", info)
        plain = self._key_query
        if tokens.made is not None or had_session or written:
            links = carried_query(settings, tokens())
        else:
            links = plain
        return absolutize(body, base, plain, links)

    async def run(self, flow: Flow, call: CallContext, info: dict[str, str]) -> bytes:
        """Run ``flow`` within the timeout; any failure gives the fallback document."""
        timeout = self.settings.flow_timeout_ms / 1000
        threads, metrics = self.app.threads, self.app.metrics
        started = time.monotonic()
        try:
            is_async = self._async.get(flow.name)
            if is_async is None:
                is_async = self._async[flow.name] = inspect.iscoroutinefunction(flow.function)
            if is_async:
                # Run at once; the timer is armed only if the flow waits for something.
                result, timed_out = await within(flow.function(call), timeout)  # type: ignore[arg-type]
            else:
                result, timed_out = await _call(flow.function, call, timeout, threads)
            if metrics is not None:
                metrics.flow_duration(flow.name, time.monotonic() - started)
            if isinstance(result, Response):
                body = render(result)
                self._check(body)
            elif isinstance(result, CheckedXML):
                body = result  # written by the DSL, every value checked: sent as it is
            elif isinstance(result, Rendered):
                body = result.body
            elif not timed_out:
                # Foreign XML text: checked off the event loop (a big document would stall
                # every other call) and within what is left of the flow's time budget.
                left = max(timeout - (time.monotonic() - started), 0.0)
                try:
                    body = await asyncio.wait_for(threads.run(_canonical, result), left)
                except TimeoutError:
                    timed_out = True
            if timed_out:
                logger.error(
                    "flow %r took longer than flow_timeout_ms=%d (call %s): fallback sent",
                    flow.name,
                    self.settings.flow_timeout_ms,
                    printable(call.uuid or "-"),
                )
                return self.fallback("timeout", info)
        except BadRequest:
            raise
        except SessionStoreError as exc:
            self._store_failed(flow.name, exc)
            return self.fallback("error", info)
        except (InvalidDocument, TemplateError) as exc:
            logger.error(
                "flow %r returned an invalid document (call %s): %s; fallback sent",
                flow.name,
                printable(call.uuid or "-"),
                exc,
            )
            return self.fallback("invalid", info)
        except Exception:
            logger.exception(
                "flow %r raised (call %s): fallback sent", flow.name, printable(call.uuid or "-")
            )
            return self.fallback("error", info)
        return body

    def fallback(self, cause: str, info: dict[str, str]) -> bytes:
        """The fallback document, recorded as sent for ``cause`` (error, timeout, invalid)."""
        info["fallback"] = cause
        if self.app.metrics is not None:
            self.app.metrics.fallback(cause)
        return self.app.fallback_body

    def _check(self, body: bytes) -> None:
        """Raise :class:`InvalidDocument` for a rendered DSL tree that fails the schema, when
        validating. The DSL constructors enforced every other rule: the schema is what is
        left. Each distinct document is checked once (flows mostly send the same few)."""
        if not self.settings.validating or body in self._valid:
            return
        problems = schema_problems(body, strict=True)
        if problems:
            raise InvalidDocument(problems)
        if len(self._valid) >= VALID_MEMO:
            self._valid.pop(next(iter(self._valid)))
        self._valid[body] = None

    def _session_key(
        self, token: str | None, call_uuid: str | None, numbers: tuple[str | None, str | None]
    ) -> str | None:
        """The session key a ``cf_session`` token carries, if callflow issued it for this
        call; a token it did not issue (or issued for another call) opens no session."""
        if not token:
            return None
        try:
            payload = self.app.sessions.verify(token, SESSION_SCOPE, call_uuid, numbers)
        except InvalidState as exc:
            logger.warning(
                "ignored a cf_session token: %s (call %s)", exc.reason, printable(call_uuid or "-")
            )
            return None
        key = payload.get("k") if isinstance(payload, dict) else None
        return key if isinstance(key, str) and key else None

    def _store_failed(self, flow: str, exc: SessionStoreError) -> None:
        """One error line per outage burst, not one per request."""
        if self.app.metrics is not None:
            self.app.metrics.store_error()
        if not self._store_down:
            self._store_down = True
            logger.error("session store failed (flow %r): %s; fallback sent", flow, exc)

    def _store_recovered(self) -> None:
        if self._store_down:
            self._store_down = False
            logger.warning("session store is reachable again")


class _SessionToken:
    """The ``cf_session`` token of one request, signed when a link first needs it (for the
    request's session key, or a new one)."""

    __slots__ = ("app", "call_uuid", "key", "made", "numbers")

    def __init__(
        self,
        app: App,
        key: str | None,
        call_uuid: str | None,
        numbers: tuple[str | None, str | None],
    ) -> None:
        self.app = app
        self.key = key
        self.call_uuid = call_uuid
        self.numbers = numbers
        self.made: str | None = None

    def __call__(self) -> str:
        if self.made is None:
            self.key = self.key or secrets.token_urlsafe(16)
            self.made = self.app.sessions.sign(
                {"k": self.key}, SESSION_SCOPE, self.call_uuid, self.numbers
            )
        return self.made


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


async def _call(
    function: FlowFunction, call: CallContext, timeout: float, threads: FlowThreads
) -> tuple[object, bool]:
    """Run a sync flow within ``timeout`` seconds; return (result, whether it timed out).

    It runs on the App's bounded thread pool (it may block) and is abandoned when it
    overruns; one that cannot start within the timeout (every thread busy) times out all the
    same. (An async flow runs on the event loop, through :func:`within`.)
    """
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
