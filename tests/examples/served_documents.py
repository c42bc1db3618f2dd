"""Shared by the example tests: keep the documents an App serves during a simulated call."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callflow import validate


class ServedDocuments:
    """An ASGI app in front of ``app`` that keeps the body of every XML reply it sends.

    Give it to the simulator in place of the App (``Simulator(ServedDocuments(app))``): the
    call runs the same, and ``documents`` then holds what the App answered, in order. The
    simulator does not know it is an App, so give it the App's time zone (``tz=``) and do not
    ask it for events.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.documents: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        xml = False
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal xml
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                xml = headers.get(b"content-type", b"").startswith(b"application/xml")
            elif message["type"] == "http.response.body" and xml:
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        if xml:
            self.documents.append(b"".join(chunks))


def assert_strictly_valid(documents: list[bytes], *, at_least: int) -> None:
    """Assert there are ``at_least`` documents and each passes ``validate(strict=True)``."""
    assert len(documents) >= at_least, f"only {len(documents)} documents were served"
    for document in documents:
        problems = validate(document, strict=True)
        assert problems == [], f"{document.decode()}\n{problems}"
