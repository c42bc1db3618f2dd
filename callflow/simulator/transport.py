"""How the simulator reaches a target: an App in process, a real URL, or an XML file.

The simulator trusts no server: each request has one total deadline (connect, headers and
body together), a reply body is streamed and abandoned once it passes the document limit,
and what the trace records has its secrets redacted (:func:`redact`).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote_plus, urlencode, urlsplit

import anyio.from_thread
import httpx2 as httpx

from callflow.dialect.reader import MAX_BYTES
from callflow.exceptions import TargetError
from callflow.server.app import App

LOCAL_ORIGIN = "http://testserver"
"""Where an in-process App is reached (no sockets)."""
SECRET_PARAMS: Final = frozenset(("token", "cf_state", "cf_session"))
"""Query parameters whose values never appear in a trace: access keys, signed state and
session tokens."""
REDACTED: Final = "REDACTED"


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one request: a status and body, or the reason it failed.

    ``too_large`` when the body passed the limit: ``body`` then holds only what was read
    before the rest was abandoned. ``headers`` have lower-case names.
    """

    status: int | None
    body: bytes
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    too_large: bool = False


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Append ``params`` to ``url``, keeping the URL's own query first (D9)."""
    if not params:
        return url
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{urlencode(params)}"


def redact(url: str, names: Collection[str] = SECRET_PARAMS) -> str:
    """Return ``url`` with the values of the query parameters ``names`` replaced by
    ``REDACTED``; everything else is kept as it was written.

    >>> redact("https://x/next?cf_state=abc.def&n=1&token=k#top")
    'https://x/next?cf_state=REDACTED&n=1&token=REDACTED#top'
    """
    base, hash_, fragment = url.partition("#")
    path, question, query = base.partition("?")
    if not question:
        return url
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name) in names:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}{hash_}{fragment}"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def load_app(spec: str) -> Any:
    """Import ``module:attribute`` (from the current directory too)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise TargetError(spec, "expected module:attribute")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(spec, f"cannot import {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise TargetError(spec, f"module {module_name!r} has no attribute {attribute!r}") from exc


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _is_asgi(app: object) -> bool:
    """Whether ``app`` looks like an ASGI application: an async callable."""
    if inspect.iscoroutinefunction(app):
        return True
    method = inspect.getattr_static(type(app), "__call__", None)
    return method is not None and inspect.iscoroutinefunction(method)


class Transport:
    """Sends the simulator's requests: to the in-process App when the URL is the App's
    origin, over real HTTP (httpx) otherwise. Both run on one event loop: a private loop
    in this thread from sync code, a helper thread's loop from async code (like starlette's
    TestClient), so one deadline bounds every request the same way."""

    def __init__(self, target: object, *, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.query: dict[str, str] = {}
        """Added to requests to the target's own event webhook (an access key, say)."""
        self.app: App | None = None
        self.document: bytes | None = None
        self._local: httpx.AsyncClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._portal_cm: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(target, str) and target.startswith(("http://", "https://")):
            self.start_url: str | None = target
            self.base = origin(target)
        elif isinstance(target, str | Path) and (
            isinstance(target, Path) or target.endswith(".xml") or ":" not in target
        ):
            file = Path(target)
            try:
                self.document = file.read_bytes()
            except OSError as exc:
                raise TargetError(
                    str(target), f"cannot read the file ({exc.strerror or exc})"
                ) from exc
            self.start_url = None
            self.base = ""
        else:
            app: Any = load_app(target) if isinstance(target, str) else target
            if not _is_asgi(app):
                raise TargetError(target, "not an ASGI application")
            self.app = app if isinstance(app, App) else None
            webhook = self.app.settings.webhook_path if self.app is not None else "/"
            self.start_url = LOCAL_ORIGIN + webhook
            self.base = LOCAL_ORIGIN
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            self._local = httpx.AsyncClient(transport=transport, base_url=LOCAL_ORIGIN)
            self._start_loop()  # the App's loop is chosen where the Simulator is made

    def _start_loop(self) -> None:
        if self._portal is not None or self._loop is not None:
            return
        if _loop_running():
            # Called from async code (an async test): requests run on an event loop in a
            # helper thread.
            self._portal_cm = anyio.from_thread.start_blocking_portal()
            self._portal = self._portal_cm.__enter__()
        else:
            # Called from sync code: a private loop in this thread, no thread hops.
            self._loop = asyncio.new_event_loop()

    def _run(self, make: Callable[[], Awaitable[Any]]) -> Any:
        self._start_loop()
        if self._portal is not None:
            return self._portal.call(make)
        if self._loop is not None and not _loop_running():
            return self._loop.run_until_complete(make())
        raise RuntimeError(
            "this Simulator was made outside async code: use it there too "
            "(or make it inside the running event loop)"
        )

    def close(self) -> None:
        clients = [client for client in (self._local, self._http) if client is not None]
        self._local = self._http = None

        async def close_clients() -> None:
            for client in clients:
                await client.aclose()

        if self._portal is not None:
            self._portal.call(close_clients)
            self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None
        if self._loop is not None:
            self._loop.run_until_complete(close_clients())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None

    def resolve(self, url: str) -> str | None:
        """Make a path-only URL absolute against the target; None when it cannot be."""
        if url.startswith("/"):
            return self.base + url if self.base else None
        return url

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        timeout_ms: int = 10_000,
        max_bytes: int = MAX_BYTES,
    ) -> Reply:
        """Send a request and return its :class:`Reply` (never raises for HTTP failures).

        ``timeout_ms`` bounds the whole exchange, the body included, for the in-process App
        as over HTTP; a body longer than ``max_bytes`` is abandoned (``too_large``).
        """
        headers = {"accept-encoding": "identity"}  # no compression: the limit is on bytes
        if self.auth is not None and self.base and origin(url) == self.base:
            user, password = self.auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["authorization"] = f"Basic {token}"
        data = content
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["content-type"] = "application/json"
        elif content_type is not None:
            headers["content-type"] = content_type
        seconds = timeout_ms / 1000
        local = self._local if origin(url) == LOCAL_ORIGIN else None

        async def exchange() -> Reply:
            client = local or self._http
            if client is None:  # made on the loop that will use it
                client = self._http = httpx.AsyncClient(follow_redirects=False)
            try:
                return await asyncio.wait_for(
                    _read(client, method, url, data, headers, seconds, max_bytes), seconds
                )
            except (TimeoutError, httpx.TimeoutException):
                return Reply(None, b"", f"timed out after {timeout_ms} ms")
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return Reply(None, b"", f"request failed: {exc}")

        reply: Reply = self._run(exchange)
        return reply


async def _read(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    data: bytes | None,
    headers: dict[str, str],
    seconds: float,
    max_bytes: int,
) -> Reply:
    """One request; the body is read chunk by chunk and abandoned past ``max_bytes``."""
    async with client.stream(
        method, url, content=data, headers=headers, timeout=seconds
    ) as response:
        status = response.status_code
        names = {name.lower(): value for name, value in response.headers.items()}
        declared = names.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return Reply(status, b"", headers=names, too_large=True)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > max_bytes:  # leaving the block closes the connection
                return Reply(status, bytes(body[: max_bytes + 1]), headers=names, too_large=True)
        return Reply(status, bytes(body), headers=names)
