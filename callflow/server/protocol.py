"""The HTTP/1.1 protocol of ``callflow serve``: uvicorn's httptools protocol, with a bound on
the size of a request's head (request line and header fields).

httptools (llhttp) has no header limit, and uvicorn sets none: a client pushing a 64 MB
header was buffered whole (12.8 s, +300 MB) before any check could run. Here the bytes of the
head are counted as they arrive, before they reach the parser; past ``max_header_bytes`` the
client gets ``431 Request Header Fields Too Large`` and the connection is closed. uvicorn's h11
protocol can bound heads too (``h11_max_incomplete_event_size``), but answers 400 and is
several times slower per request; bench/ measures this protocol against plain httptools.

A reply's head also goes out with the start of its body, in one write: uvicorn writes the head
when the ``http.response.start`` message comes and the body at the next message, so a whole
reply sent at once was two system calls and two TCP segments. Here the head is held until the
first body message of the same reply, or until the event loop turns (a streamed reply whose
body is not ready yet, a HEAD request), whichever comes first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from callflow.server.settings import Settings

_END_OF_HEAD = b"\r\n\r\n"


def _limit(config: Config) -> int:
    """``max_header_bytes`` of the served App, else of the ``CALLFLOW_*`` environment."""
    cached: int | None = getattr(config, "_callflow_max_header_bytes", None)
    if cached is not None:
        return cached
    app: Any = config.loaded_app
    for _ in range(8):  # through uvicorn's wrappers to the App
        settings = getattr(app, "settings", None)
        if isinstance(settings, Settings):
            limit = settings.max_header_bytes
            break
        app = getattr(app, "app", None)
        if app is None:
            limit = Settings.from_env().max_header_bytes
            break
    else:
        limit = Settings.from_env().max_header_bytes
    config._callflow_max_header_bytes = limit  # type: ignore[attr-defined]
    return limit


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol refusing request heads larger than the App's
    ``max_header_bytes`` with 431."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._max_head = _limit(config)
        self._head = 0  # bytes of the current request head so far
        self._in_head = True  # between requests or inside a head (not in a body)
        self._tail = b""  # last bytes seen, for an end of head split across reads

    def on_headers_complete(self) -> None:
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not before and type(cycle) is RequestResponseCycle:
            # Made and scheduled, not started yet: its reply writes go through a _HeldHead.
            cycle.__class__ = _OneWriteCycle
            cycle.transport = _HeldHead(cycle.transport, self.loop)  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            window = self._tail + data
            end = window.find(_END_OF_HEAD)
            if end == -1:
                self._head += len(data)
                self._tail = window[-3:]
            else:
                self._head += end + len(_END_OF_HEAD) - len(self._tail)
                self._in_head = False
                self._tail = b""
            if self._head > self._max_head:
                self._refuse()
                return
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head, self._tail = True, 0, b""

    def _refuse(self) -> None:
        if self.transport.is_closing():
            return
        self.logger.warning(
            "refused a request head larger than max_header_bytes=%d", self._max_head
        )
        if self.cycle is None or self.cycle.response_complete:
            message = f"request header fields larger than {self._max_head} bytes"
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: " + str(len(message)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + message.encode()
            )
        self.transport.close()


class _HeldHead:
    """The transport of one request's cycle: while :attr:`holding`, a write (the reply's
    head) is kept; the next write sends it with what is written then (the body), and a
    callback of the next loop turn sends it if nothing came by then. Anything else goes to
    the transport as it is."""

    __slots__ = ("_loop", "head", "holding", "transport")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self.head: bytes | None = None
        self.holding = False

    def write(self, data: bytes) -> None:
        if self.holding:
            self.head = data if self.head is None else self.head + data
            return
        head = self.head
        if head is not None:
            self.head = None
            data = head + data
        self.transport.write(data)

    def hold(self) -> None:
        """Keep the writes made until :meth:`release_later`."""
        self.holding = True

    def release_later(self) -> None:
        """Stop holding; send what was held at the next loop turn if no write sends it."""
        self.holding = False
        if self.head is not None:
            self._loop.call_soon(self.release)

    def release(self) -> None:
        """Send the held head now (if the connection is still open)."""
        head = self.head
        if head is not None:
            self.head = None
            if not self.transport.is_closing():
                self.transport.write(head)

    def close(self) -> None:
        self.release()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request cycle, its reply head held for the body (:class:`_HeldHead`)."""

    transport: _HeldHead  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        if message["type"] != "http.response.start" or self.response_started:
            await super().send(message)
            return
        transport = self.transport
        transport.hold()
        try:
            await super().send(message)
        finally:
            transport.release_later()
