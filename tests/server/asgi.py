"""Direct ASGI requests, without a test client: the dispatcher as a server calls it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)


def scope(
    path: str = "/",
    query: bytes = b"",
    *,
    method: str = "GET",
    host: bytes = b"ivr.test",
    headers: tuple[tuple[bytes, bytes], ...] = (),
    client: tuple[str, int] = ("1.2.3.4", 5060),
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host), *headers],
        "client": client,
        "server": ("127.0.0.1", 8000),
    }


async def request(app: Any, asgi_scope: dict[str, Any], body: bytes = b"") -> Reply:
    """Send one request to ``app``; return what it sent back."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(asgi_scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return Reply(start["status"], list(start.get("headers", [])), content)


def get(app: Any, path: str = "/", query: bytes = b"", **options: Any) -> Reply:
    """One GET, on an event loop of its own."""
    return asyncio.run(request(app, scope(path, query, **options)))
