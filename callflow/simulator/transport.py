"""How the simulator reaches a target: an App in process, a real URL, or an XML file.

An in-process App is called through ASGI directly (:func:`call_asgi`: the scope, receive
and send an HTTP server would give it, no sockets and no HTTP client); a URL over HTTP with
httpx. The simulator trusts no server: each request has one total deadline (connect,
headers and body together), a reply body is read as it comes and abandoned once it passes
the document limit, and what the trace records has its secrets redacted (:func:`redact`).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import SplitResult, quote, quote_plus, unquote, unquote_plus, urlsplit

import anyio.from_thread
import httpx2 as httpx

from callflow.dialect.reader import MAX_BYTES
from callflow.exceptions import TargetError
from callflow.server.app import App

LOCAL_ORIGIN = "http://testserver"
"""Where an in-process App is reached (no sockets)."""
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
"""An ASGI application: ``await app(scope, receive, send)``."""
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


_PLAIN: Final = re.compile(r"[A-Za-z0-9_.~-]*")
"""What ``quote_plus`` leaves as it is (uuids, most tokens)."""
_QUOTED: dict[str, str] = {}
"""Values quoted before (``+1555...`` numbers repeat on every call); bounded."""
_QUOTED_MAX: Final = 4096


def _quote(value: str) -> str:
    """``value`` as ``urlencode`` writes it, without its per-call machinery."""
    if _PLAIN.fullmatch(value):
        return value
    quoted = _QUOTED.get(value)
    if quoted is None:
        quoted = quote_plus(value)
        if len(value) <= 64:
            if len(_QUOTED) >= _QUOTED_MAX:
                _QUOTED.clear()
            _QUOTED[value] = quoted
    return quoted


def encode_query(params: Mapping[str, str]) -> str:
    """``params`` as a query string: the same text as ``urllib.parse.urlencode``.

    >>> encode_query({"from": "+15550100999", "n": "a b"})
    'from=%2B15550100999&n=a+b'
    """
    return "&".join(
        f"{_quote(str(name))}={_quote(value if isinstance(value, str) else str(value))}"
        for name, value in params.items()
    )


def with_query(url: str, params: Mapping[str, str]) -> str:
    """Append ``params`` to ``url``, keeping the URL's own query first (D9)."""
    if not params:
        return url
    if "?" not in url:  # no query (a "?" in a fragment is the rare case urlsplit settles)
        separator = "?"
    else:
        separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{encode_query(params)}"


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
    return asyncio._get_running_loop() is not None  # the public one raises (slower) if not


def _same_origin(url: str, base: str) -> bool:
    """Whether ``url`` is on the origin ``base`` (``scheme://host[:port]``)."""
    if url.startswith(base):  # the common case, without parsing the URL
        rest = url[len(base) : len(base) + 1]
        if not rest or rest in "/?#":
            return True
    return origin(url) == base


def _is_asgi(app: object) -> bool:
    """Whether ``app`` looks like an ASGI application: an async callable."""
    if inspect.iscoroutinefunction(app):
        return True
    method = inspect.getattr_static(type(app), "__call__", None)
    return method is not None and inspect.iscoroutinefunction(method)


class Transport:
    """Sends the simulator's requests: straight to the in-process App's ASGI callable when
    the URL is the App's origin (no sockets, no HTTP client: see :func:`call_asgi`), over
    real HTTP (httpx) otherwise. Both run on one event loop: a private loop in this thread
    from sync code, a helper thread's loop from async code (like starlette's TestClient),
    so one deadline bounds every request the same way."""

    def __init__(self, target: object, *, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.query: dict[str, str] = {}
        """Added to requests to the target's own event webhook (an access key, say)."""
        self.app: App | None = None
        self.document: bytes | None = None
        self._local: ASGIApp | None = None
        self._http: httpx.AsyncClient | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._portal_cm: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._authorization: bytes | None = None
        if auth is not None:
            user, password = auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._authorization = f"Basic {token}".encode("latin-1")
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
            self._local = app
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
        client = self._http
        self._local = self._http = None

        async def close_client() -> None:
            if client is not None:
                await client.aclose()

        if self._portal is not None:
            self._portal.call(close_client)
            self._portal_cm.__exit__(None, None, None)
            self._portal = self._portal_cm = None
        if self._loop is not None:
            self._loop.run_until_complete(close_client())
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
        headers = [(b"accept-encoding", b"identity")]  # no compression: the limit is on bytes
        if self._authorization is not None and self.base and _same_origin(url, self.base):
            headers.append((b"authorization", self._authorization))
        data = content
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers.append((b"content-type", b"application/json"))
        elif content_type is not None:
            headers.append((b"content-type", content_type.encode("latin-1")))
        seconds = timeout_ms / 1000
        local = self._local if _same_origin(url, LOCAL_ORIGIN) else None
        loop = self._loop
        if local is not None and loop is not None and not _loop_running():
            # The common case: the in-process App on this thread's loop, called as directly
            # as a server would call it (see :meth:`_call_here`).
            task = loop.create_task(call_asgi(local, method, url, data, headers, max_bytes))
            return self._call_here(loop, task, seconds, timeout_ms)

        async def exchange() -> Reply:
            try:
                async with asyncio.timeout(seconds):
                    if local is not None:
                        return await call_asgi(local, method, url, data, headers, max_bytes)
                    client = self._http
                    if client is None:  # made on the loop that will use it
                        client = self._http = httpx.AsyncClient(follow_redirects=False)
                    return await _read(client, method, url, data, headers, seconds, max_bytes)
            except (TimeoutError, httpx.TimeoutException):
                return Reply(None, b"", f"timed out after {timeout_ms} ms")
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return Reply(None, b"", f"request failed: {exc}")

        reply: Reply = self._run(exchange)
        return reply

    @staticmethod
    def _call_here(
        loop: asyncio.AbstractEventLoop, task: asyncio.Task[Reply], seconds: float, timeout_ms: int
    ) -> Reply:
        """Run ``task`` (a request to the in-process App, just created) on ``loop`` within
        its deadline.

        What ``asyncio.timeout`` would do, for less: an App mostly answers in the task's
        first step, without suspending, and then no timer is needed; one that suspends gets
        a timer at the deadline, counted from now, that cancels the task (the App sees the
        same ``CancelledError``). A cancelled task is a timeout when the timer cancelled it.
        """
        deadline = loop.time() + seconds
        expired = False
        timer: asyncio.TimerHandle | None = None

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        def arm() -> None:  # runs right after the task's first step (the loop is FIFO)
            nonlocal timer
            if not task.done():
                timer = loop.call_at(deadline, expire)

        loop.call_soon(arm)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if expired:
                return Reply(None, b"", f"timed out after {timeout_ms} ms")
            raise
        finally:
            if timer is not None:
                timer.cancel()


class _Abandoned(OSError):
    """The simulator stopped reading the reply, as a closed connection stops a server."""


# What a URL may hold unescaped in its path and in its query (RFC 3986), "%" kept as written.
_PATH_SAFE: Final = "!$&'()*+,;=:@/%~"
_QUERY_SAFE: Final = _PATH_SAFE + "?"
_ESCAPED: Final = re.compile(r"[A-Za-z0-9_.\-!$&'()*+,;=:@/%~?]*")
"""A path or query that needs no escaping (the common case: no quote call)."""


def _escaped(text: str, safe: str) -> str:
    return text if _ESCAPED.fullmatch(text) else quote(text, safe=safe)


_HOSTS: dict[tuple[str, str], tuple[bytes, tuple[str, int | None]]] = {}
"""The ``host`` header and ``server`` of each origin seen (a Simulator reaches a few)."""


def _host(parts: SplitResult) -> tuple[bytes, tuple[str, int | None]]:
    key = (parts.scheme, parts.netloc)
    known = _HOSTS.get(key)
    if known is None:
        known = (parts.netloc.encode("idna"), (parts.hostname or "", parts.port))
        if len(_HOSTS) >= 256:
            _HOSTS.clear()
        _HOSTS[key] = known
    return known


async def call_asgi(
    app: ASGIApp,
    method: str,
    url: str,
    data: bytes | None,
    headers: list[tuple[bytes, bytes]],
    max_bytes: int,
) -> Reply:
    """One request to an in-process ASGI ``app``: the scope an HTTP server would give it
    for ``url`` (client ``127.0.0.1``), the body in one message, the reply collected as it
    is sent. A reply that declares or sends more than ``max_bytes`` is abandoned: the next
    ``send`` raises, as on a connection the client closed. An exception escaping the App is
    a 500 (or whatever status it had sent), as from a server."""
    parts = urlsplit(url)
    raw_path = _escaped(parts.path or "/", _PATH_SAFE)
    query = _escaped(parts.query, _QUERY_SAFE)
    host, server = _host(parts)
    head = [(b"host", host), (b"accept", b"*/*"), *headers]
    if data is not None:
        head.append((b"content-length", str(len(data)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": parts.scheme,
        "path": unquote(raw_path) if "%" in raw_path else raw_path,
        "raw_path": raw_path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": "",
        "headers": head,
        "server": server,
        "client": ("127.0.0.1", 123),
    }
    status: int | None = None
    names: dict[str, str] = {}
    body = bytearray()
    too_large = complete = asked = False
    finished: asyncio.Future[None] | None = None

    async def receive() -> dict[str, Any]:
        nonlocal asked, finished
        if not asked:
            asked = True
            return {"type": "http.request", "body": data or b"", "more_body": False}
        if not complete:  # the request has no more body: the client waits for the reply
            if finished is None:
                finished = asyncio.get_running_loop().create_future()
            await finished
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, too_large, complete
        if too_large:
            raise _Abandoned("the simulator stopped reading the reply")
        kind = message["type"]
        if kind == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", ()):
                key = bytes(name).decode("latin-1").lower()
                text = bytes(value).decode("latin-1")
                names[key] = f"{names[key]}, {text}" if key in names else text
            declared = names.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                too_large = True
                raise _Abandoned("the reply is larger than the simulator reads")
        elif kind == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and method != "HEAD":
                body.extend(chunk)
                if len(body) > max_bytes:
                    too_large = True
                    raise _Abandoned("the reply is larger than the simulator reads")
            if not message.get("more_body", False):
                complete = True
                if finished is not None and not finished.done():
                    finished.set_result(None)

    try:
        await app(scope, receive, send)
    except Exception:
        if not too_large and status is None:
            status = 500
    finally:
        if finished is not None and not finished.done():
            finished.set_result(None)
    if too_large:
        return Reply(status, bytes(body[: max_bytes + 1]), headers=names, too_large=True)
    if status is None:
        return Reply(None, b"", "request failed: the App sent no response")
    return Reply(status, bytes(body), headers=names)


async def _read(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    data: bytes | None,
    headers: list[tuple[bytes, bytes]],
    seconds: float,
    max_bytes: int,
) -> Reply:
    """One request over HTTP; the body is read chunk by chunk and abandoned past
    ``max_bytes``."""
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
