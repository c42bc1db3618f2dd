"""Reading Opentact's HTTP requests into :class:`CallParams`, with precise 4xx errors.

Opentact calls with GET query strings, POST JSON (the call object, spec §6.1) or, through
proxies, form bodies; every form carries the parameters of D9. Malformed input raises
:class:`~callflow.exceptions.BadRequest` with a precise 4xx status and a plain message.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.types import Receive, Scope

from callflow.exceptions import BadRequest
from callflow.server.budget import within

MAX_FIELDS = 1000

_KEYS = re.compile(r"[0-9*#]*")


@dataclass
class CallParams:
    """The raw parameters of one request, before numbers are normalised."""

    values: dict[str, str] = field(default_factory=dict)
    call_object: dict[str, Any] | None = None
    body: bytes | None = None
    """The request body as it was read (None when none was read: a GET)."""


def merge_pairs(params: CallParams, pairs: Iterable[tuple[str, str]]) -> None:
    """Add query or form pairs; a later value wins (Opentact appends after the URL's own)."""
    for key, value in pairs:
        params.values[key] = value


def _scalar(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(400, f"'{name}' must be a string or a number")
    return str(value)


def merge_call_object(params: CallParams, body: object) -> None:
    """Take the D9 parameters out of a JSON call object (§6.1); the raw object is kept."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the JSON body must be an object (the call object)")
    call = body
    if "uuid" not in body and isinstance(body.get("call"), dict):
        call = body["call"]  # an event-shaped body carrying the call object
    params.call_object = call
    values = params.values
    for key in ("from", "to", "state", "direction"):
        if call.get(key) is not None:
            values.setdefault(key, _scalar(key, call[key]))
    if call.get("uuid") is not None:
        values.setdefault("call", _scalar("uuid", call["uuid"]))
    tn = call.get("tn")
    if isinstance(tn, dict):
        tn = tn.get("tn")
    if tn is not None:
        values.setdefault("tn", _scalar("tn", tn))
    app = call.get("sip_control_app", call.get("sipcontrol_app"))  # both spellings (§6.4)
    if isinstance(app, dict):
        app = app.get("uuid")
    if app is not None:
        values.setdefault("sca", _scalar("sip_control_app", app))


def parse_json(data: bytes) -> object:
    """Decode a JSON body or raise :class:`BadRequest`."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise BadRequest(400, "the request body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise BadRequest(400, f"the request body is not valid JSON: {exc}") from exc


def parse_flag(name: str, raw: str) -> bool:
    """Read the parameter ``name`` as true or false (``success``)."""
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(400, f"'{name}' must be true or false, not {raw!r}")


def parse_count(name: str, raw: str) -> int:
    """Read the parameter ``name`` as an integer (``attempts``)."""
    try:
        return int(raw.strip())
    except ValueError:
        raise BadRequest(400, f"'{name}' must be an integer, not {raw!r}") from None


def parse_keys(name: str, raw: str) -> str:
    """Read the parameter ``name`` as telephone keys (``dtmf``, ``code``)."""
    value = raw.strip()
    if _KEYS.fullmatch(value) is None:
        raise BadRequest(400, f"'{name}' must hold only the keys 0-9 * #, not {raw!r}")
    return value


class ClientGone(Exception):
    """The client disconnected before its request body had arrived: nobody to answer."""


async def read_body(request: Request, limit: int, timeout: float = 10.0) -> bytes:
    """Read the body, refusing more than ``limit`` bytes with 413 (before reading it all)
    and a body still incomplete after ``timeout`` seconds with 408.

    Raises :class:`ClientGone` when the client disconnects mid-body.
    """
    length = request.headers.get("content-length")
    return await receive_body(request.receive, length, limit, timeout)


async def receive_body(
    receive: Receive, length: str | None, limit: int, timeout: float = 10.0
) -> bytes:
    """:func:`read_body` on the ASGI ``receive`` channel; ``length`` is the Content-Length
    header, if any. The timer is armed only when the body has not all arrived yet."""
    if length is not None:
        if not length.isdigit():
            raise BadRequest(400, "Content-Length is not a number")
        if int(length) > limit:
            raise BadRequest(413, f"request body larger than {limit} bytes")
    body, timed_out = await within(_collect(receive, limit), timeout)
    if timed_out or body is None:
        raise BadRequest(408, f"request body did not arrive within {timeout:g} s")
    return body


async def _collect(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BadRequest(413, f"request body larger than {limit} bytes")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif kind == "http.disconnect":
            raise ClientGone


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


@dataclass(frozen=True, slots=True)
class Query:
    """A request's query string, decoded and split once: its text (None when it is not
    UTF-8) and its pairs, or the :class:`BadRequest` that splitting it raised."""

    text: str | None
    pairs: tuple[tuple[str, str], ...] = ()
    error: BadRequest | None = None

    def values(self) -> dict[str, str]:
        """The parameters (a later value wins), or raise the query's :class:`BadRequest`."""
        if self.error is not None:
            raise self.error
        return dict(self.pairs)

    def get(self, name: str) -> str | None:
        """The (last) value of ``name``, as Starlette's ``request.query_params`` reads it
        (undecodable escapes replaced), even when the query is malformed."""
        if self.error is None:
            return dict(self.pairs).get(name)
        return dict(parse_qsl(self.text or "", keep_blank_values=True)).get(name)


QUERY_MEMO = 256
"""Distinct raw query strings remembered split (oldest out first)."""
_QUERIES: dict[bytes, Query] = {}


def split_query(raw: bytes) -> Query:
    """The :class:`Query` of the raw ``query_string`` of a scope, remembered: a webhook is
    mostly requested with the same few query strings."""
    query = _QUERIES.get(raw)
    if query is not None:
        return query
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Query(None)
    try:
        query = Query(text, tuple(parse_query(text)) if text else ())
    except BadRequest as exc:
        query = Query(text, (), exc)
    if len(_QUERIES) >= QUERY_MEMO:
        _QUERIES.pop(next(iter(_QUERIES)))
    _QUERIES[raw] = query
    return query


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of the (lower-case) header ``name`` of ``scope``, as Starlette's
    ``request.headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_params(request: Request, limit: int, timeout: float = 10.0) -> CallParams:
    """Return the parameters of a GET query, or a POST with JSON, form or no body."""
    raw = bytes(request.scope.get("query_string", b""))
    return await read_call(request.scope, request.receive, split_query(raw), limit, timeout)


async def read_call(
    scope: Scope, receive: Receive, query: Query, limit: int, timeout: float = 10.0
) -> CallParams:
    """:func:`read_params` on an ASGI ``scope`` and ``receive``, with the request's
    :class:`Query` (:func:`split_query`)."""
    params = CallParams(query.values())
    if scope["method"] not in ("POST", "PUT", "PATCH"):
        return params
    body = params.body = await receive_body(
        receive, header(scope, b"content-length"), limit, timeout
    )
    content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
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
                Headers(scope=scope), _once(body), max_files=0, max_fields=MAX_FIELDS
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
