"""How the simulator reaches a target: an App in process, a real URL, or an XML file."""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib
import inspect
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import anyio.from_thread
import httpx2 as httpx

from .app import App

LOCAL_ORIGIN = "http://testserver"
"""Where an in-process App is reached (no sockets)."""


class TargetError(Exception):
    """A target that cannot be used (bad module:attribute, missing file...)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The outcome of one request: a status and body, or the reason it failed."""

    status: int | None
    body: bytes
    error: str | None = None


def with_query(url: str, params: dict[str, str]) -> str:
    """Append ``params`` to ``url``, keeping the URL's own query first (D9)."""
    if not params:
        return url
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{urlencode(params)}"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def load_app(spec: str) -> Any:
    """Import ``module:attribute`` (from the current directory too)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise TargetError(f"expected module:attribute, not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise TargetError(f"cannot import {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise TargetError(f"module {module_name!r} has no attribute {attribute!r}") from exc


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
    origin, over real HTTP (httpx) otherwise."""

    def __init__(self, target: object, *, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.query: dict[str, str] = {}
        """Added to requests to the target's own event webhook (an access key, say)."""
        self.app: App | None = None
        self.document: bytes | None = None
        self._local: httpx.AsyncClient | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._portal_cm: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.Client | None = None
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
                raise TargetError(f"cannot read {file}: {exc.strerror or exc}") from exc
            self.start_url = None
            self.base = ""
        else:
            app: Any = load_app(target) if isinstance(target, str) else target
            if not _is_asgi(app):
                raise TargetError(f"{target!r} is not an ASGI application")
            self.app = app if isinstance(app, App) else None
            webhook = self.app.settings.webhook_path if self.app is not None else "/"
            self.start_url = LOCAL_ORIGIN + webhook
            self.base = LOCAL_ORIGIN
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            self._local = httpx.AsyncClient(transport=transport, base_url=LOCAL_ORIGIN)
            if _loop_running():
                # Called from async code (an async test): the App runs on an event loop in a
                # helper thread, like starlette's TestClient.
                self._portal_cm = anyio.from_thread.start_blocking_portal()
                self._portal = self._portal_cm.__enter__()
            else:
                # Called from sync code: a private loop in this thread, no thread hops.
                self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        if self._local is not None and self._portal is not None:
            self._portal.call(self._local.aclose)
            self._portal_cm.__exit__(None, None, None)
            self._local = self._portal = self._portal_cm = None
        if self._local is not None and self._loop is not None:
            self._loop.run_until_complete(self._local.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._local = self._loop = None
        if self._http is not None:
            self._http.close()
            self._http = None

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
    ) -> Reply:
        """Send a request and return its :class:`Reply` (never raises for HTTP failures)."""
        headers = {}
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
        try:
            if self._local is not None and origin(url) == LOCAL_ORIGIN:
                send = functools.partial(self._local.request, content=data, headers=headers)
                if self._portal is not None:
                    response = self._portal.call(send, method, url)
                elif self._loop is not None and not _loop_running():
                    response = self._loop.run_until_complete(send(method, url))
                else:
                    raise RuntimeError(
                        "this Simulator was made outside async code: use it there too "
                        "(or make it inside the running event loop)"
                    )
            else:
                if self._http is None:
                    self._http = httpx.Client(follow_redirects=False)
                response = self._http.request(
                    method, url, content=data, headers=headers, timeout=timeout_ms / 1000
                )
        except httpx.TimeoutException:
            return Reply(None, b"", f"timed out after {timeout_ms} ms")
        except httpx.HTTPError as exc:
            return Reply(None, b"", f"request failed: {exc}")
        return Reply(response.status_code, response.content)
