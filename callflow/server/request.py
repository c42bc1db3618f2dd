"""Reading Opentact's HTTP requests into :class:`CallParams`, with precise 4xx errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from urllib.parse import unquote_plus

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from callflow.server.context import (
    BadRequest,
    CallParams,
    merge_call_object,
    merge_pairs,
    parse_json,
)

MAX_FIELDS = 1000


class ClientGone(Exception):
    """The client disconnected before its request body had arrived: nobody to answer."""


async def read_body(request: Request, limit: int, timeout: float = 10.0) -> bytes:
    """Read the body, refusing more than ``limit`` bytes with 413 (before reading it all)
    and a body still incomplete after ``timeout`` seconds with 408.

    Raises :class:`ClientGone` when the client disconnects mid-body.
    """
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BadRequest(400, "Content-Length is not a number")
        if int(length) > limit:
            raise BadRequest(413, f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BadRequest(413, f"request body larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError as exc:
        raise BadRequest(408, f"request body did not arrive within {timeout:g} s") from exc
    except ClientDisconnect as exc:
        raise ClientGone from exc
    return b"".join(chunks)


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


def parse_query(query: str, what: str = "query string") -> list[tuple[str, str]]:
    """Split a query string into pairs, as ``parse_qsl(keep_blank_values=True)`` does.

    The common webhook query (``from=%2B1555...&to=1555...``) takes the short path; anything
    with escapes goes through ``urllib.parse.unquote_plus`` part by part.
    """
    parts = query.split("&")
    if len(parts) > MAX_FIELDS:
        raise BadRequest(400, f"malformed {what}: more than {MAX_FIELDS} fields")
    pairs = []
    for part in parts:
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            try:
                name = unquote_plus(name, errors="strict")
                value = unquote_plus(value, errors="strict")
            except UnicodeDecodeError as exc:
                raise BadRequest(400, f"malformed {what}: {exc}") from exc
        pairs.append((name, value))
    return pairs


async def read_params(request: Request, limit: int, timeout: float = 10.0) -> CallParams:
    """Return the parameters of a GET query, or a POST with JSON, form or no body."""
    params = CallParams()
    # The raw query of the scope: App checked that it is UTF-8 (request.url would rebuild
    # and re-split the whole URL for the same string).
    query = bytes(request.scope.get("query_string", b"")).decode("utf-8", "replace")
    if query:
        merge_pairs(params, parse_query(query))
    if request.method not in ("POST", "PUT", "PATCH"):
        return params
    body = await read_body(request, limit, timeout)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body.strip():
        return params
    if content_type == "application/json" or content_type.endswith("+json"):
        merge_call_object(params, parse_json(body))
    elif content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest(400, f"malformed form body: {exc}") from exc
        merge_pairs(params, parse_query(text, "form body"))
    elif content_type == "multipart/form-data":
        try:
            parser = MultiPartParser(
                request.headers, _once(body), max_files=0, max_fields=MAX_FIELDS
            )
            data = await parser.parse()
        except MultiPartException as exc:
            raise BadRequest(400, f"malformed multipart body: {exc.message}") from exc
        pairs = [(k, v) for k, v in data.multi_items() if not isinstance(v, UploadFile)]
        merge_pairs(params, [(k, str(v)) for k, v in pairs])
    elif content_type == "text/plain":
        pass  # a Curl body (D18): the parameters are in the query
    else:
        shown = content_type or "none"
        raise BadRequest(
            415, f"unsupported Content-Type {shown!r}: send JSON or a form, or use GET"
        )
    return params
