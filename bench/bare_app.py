"""The baseline of benchmark (c): a bare Starlette endpoint returning constant bytes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say>Hello.</Say><Hangup/></Response>'


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/xml")


app = Starlette(routes=[Route("/", constant, methods=["GET", "POST"])])
