"""The reply writes of ``callflow serve``'s HTTP protocol: a reply sent at once is one write
(head and body together); a head whose body is not ready yet still goes out at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from callflow.server.protocol import BoundedHttpToolsProtocol

ASGI = Callable[[Any, Any, Any], Awaitable[None]]


class Transport(asyncio.Transport):
    """Records each write (a system call and a TCP segment on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def served(app: ASGI, request: bytes, *, turns: int = 20) -> list[bytes]:
    """The writes the protocol makes for ``request`` to ``app``, after ``turns`` loop turns."""

    async def main() -> list[bytes]:
        config = Config(app=app, lifespan="off", log_level="warning")
        config.load()
        protocol = BoundedHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        for _ in range(turns):
            await asyncio.sleep(0)
        return transport.writes

    return asyncio.run(main())


GET = b"GET / HTTP/1.1\r\nhost: example.test\r\n\r\n"


async def whole(scope: Any, receive: Any, send: Any) -> None:
    headers = [(b"x", b"1"), (b"content-length", b"5")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"hello"})


def test_a_reply_sent_at_once_is_one_write() -> None:
    (write,) = served(whole, GET)
    assert write.startswith(b"HTTP/1.1 200 OK\r\n")
    assert write.endswith(b"\r\n\r\nhello")
    assert b"\r\nx: 1\r\n" in write


def test_two_replies_on_one_connection_are_one_write_each() -> None:
    writes = served(whole, GET + GET, turns=40)
    assert len(writes) == 2
    assert all(w.startswith(b"HTTP/1.1 200 OK\r\n") and w.endswith(b"hello") for w in writes)


def test_a_head_request_gets_its_head_without_a_body_write() -> None:
    (write,) = served(whole, b"HEAD / HTTP/1.1\r\nhost: example.test\r\n\r\n")
    assert write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b"\r\n\r\n")


def test_a_streamed_head_goes_out_before_its_body_is_ready() -> None:
    seen: list[list[bytes]] = []

    async def streamed(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(5):  # the body is not ready for a few loop turns
            await asyncio.sleep(0)
        seen.append(list(transport_writes(send)))
        await send({"type": "http.response.body", "body": b"late", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def transport_writes(send: Any) -> list[bytes]:
        writes: list[bytes] = send.__self__.transport.transport.writes
        return writes

    writes = served(streamed, GET)
    (before_body,) = seen
    assert len(before_body) == 1 and before_body[0].endswith(b"\r\n\r\n")  # the head alone
    assert writes[0] == before_body[0]
    assert b"".join(writes[1:]) == b"4\r\nlate\r\n0\r\n\r\n"


def test_an_app_that_fails_after_the_head_closes_the_connection() -> None:
    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("boom")

    async def main() -> Transport:
        config = Config(app=failing, lifespan="off", log_level="critical")
        config.load()
        protocol = BoundedHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(GET)
        for _ in range(20):
            await asyncio.sleep(0)
        return transport

    transport = asyncio.run(main())
    assert transport.closed
    assert len(transport.writes) <= 1  # the head at most, never a body after it
