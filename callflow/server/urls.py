"""Public URLs: the base URL of a request, and path-only URLs made absolute."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request

from callflow.dialect.rendering import escape_attribute, escape_text
from callflow.server.access import in_networks
from callflow.server.settings import Network

# Canonical documents carry URLs in these places only. Inside a start tag a '<', '>' or '"' of
# a value is always escaped, so the '<' before ` url="/` starts that tag, and text content
# never holds a raw '<'.
_URL_ELEMENTS = (b"<Gather ", b"<Callback ", b"<Curl ", b"<Play ")
_LINK_ELEMENTS = (b"<Gather ", b"<Callback ")
_URL_MARK = b' url="/'
_PLAY_TEXT = re.compile(rb"(<Play\b[^>]*>)(/[^<]*)<")


def base_url(request: Request, configured: str | None, trusted: Sequence[Network]) -> str:
    """Return the public base URL (no trailing ``/``) for ``request``.

    ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` count only when the direct peer is a
    trusted proxy; otherwise a client could make callflow hand out links to its own host.
    """
    if configured:
        return configured.rstrip("/")
    scope = request.scope
    scheme = str(scope.get("scheme", "http"))
    host = request.headers.get("host")
    if not host:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else "localhost"
    peer = request.client.host if request.client else ""
    if trusted and in_networks(peer, trusted):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host}{root}"


def absolutize(body: bytes, base: str, query: str = "", link_query: str | None = None) -> bytes:
    """Prefix every path-only URL (``/next``) of a rendered document with ``base``, and
    append ``query`` (URL-encoded: an access key) to it: such URLs point back at the app, and
    Opentact's request must pass the same checks. The URLs that fetch the next document
    (``Gather url``, ``Callback url``) get ``link_query`` instead (default ``query``): the
    session token travels there, not to media or ``Curl`` requests."""
    if _URL_MARK not in body and b"<Play" not in body:
        return body
    links = query if link_query is None else link_query
    key = (body, base, query, links)
    cached = _ABSOLUTE.get(key)
    if cached is None:
        cached = _absolutize(body, base, query, links)
        if len(_ABSOLUTE) >= _ABSOLUTE_SIZE:
            _ABSOLUTE.pop(next(iter(_ABSOLUTE)))
        _ABSOLUTE[key] = cached
    return cached


# Flows mostly return the same documents: remember the last results (oldest out first).
_ABSOLUTE: dict[tuple[bytes, str, str, str], bytes] = {}
_ABSOLUTE_SIZE = 128


def _absolutize(body: bytes, base: str, query: str, links: str) -> bytes:
    has_attribute = _URL_MARK in body
    if not has_attribute and b"<Play>/" not in body and b"<Play " not in body:
        return body
    if has_attribute:
        prefix = escape_attribute(base).encode()
        plain = escape_attribute(query).encode()
        linked = escape_attribute(links).encode()
        parts: list[bytes] = []
        done = 0
        found = body.find(_URL_MARK)
        while found != -1:
            tag_start = body.rfind(b"<", 0, found)
            if body.startswith(_URL_ELEMENTS, tag_start):
                start = found + len(_URL_MARK) - 1  # the '/'
                end = body.index(b'"', start)
                extra = linked if body.startswith(_LINK_ELEMENTS, tag_start) else plain
                url = _with_query(body[start:end], extra)
                parts += (body[done:start], prefix, url)
                done = end
            found = body.find(_URL_MARK, found + 1)
        body = b"".join(parts) + body[done:]
    if b"<Play" in body:
        text_prefix = escape_text(base).encode()
        extra = escape_text(query).encode()

        def play(match: re.Match[bytes]) -> bytes:
            return match.group(1) + text_prefix + _with_query(match.group(2), extra) + b"<"

        body = _PLAY_TEXT.sub(play, body)
    return body


def _with_query(url: bytes, query: bytes) -> bytes:
    """Append an (escaped) query to an (escaped) URL, before any ``#fragment``."""
    if not query:
        return url
    path, hash_mark, fragment = url.partition(b"#")
    joiner = b"&amp;" if b"?" in path else b"?"
    return path + joiner + query + hash_mark + fragment
