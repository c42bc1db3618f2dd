"""Replies sent as ASGI messages: what Starlette's ``Response`` would send, without making one
(the hot path of every call), and an ASGI ``send`` that remembers the status it sent."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import Message, Send

from callflow.server.access import Rejection

XML_TYPE = (b"content-type", b"application/xml")
TEXT_TYPE = (b"content-type", b"text/plain; charset=utf-8")


class Tracked:
    """An ASGI ``send`` that remembers the status it started a response with."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


async def send_reply(
    send: Send,
    status: int,
    body: bytes,
    content_type: tuple[bytes, bytes],
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> int:
    """Send a whole reply as two ASGI messages (the headers Starlette's ``Response`` would
    write: the given ones, Content-Length, Content-Type); return ``status``."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", b"%d" % len(body)), content_type],
        }
    )
    await send({"type": "http.response.body", "body": body})
    return status


def send_text(
    send: Send, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> Awaitable[int]:
    """Send a plain-text reply (a 4xx's message)."""
    return send_reply(send, status, message.encode(), TEXT_TYPE, headers)


def send_rejection(send: Send, rejection: Rejection) -> Awaitable[int]:
    """Send the 401/403 reply of a request refused by the access control."""
    headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in rejection.headers)
    return send_text(send, rejection.status, rejection.message, headers)
