"""Public URLs: the base URL of a request, and path-only URLs made absolute."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request

from .config import Network
from .render import escape_attribute, escape_text
from .security import in_networks

# Canonical documents carry URLs in these places only; inside a start tag a '>' or '"' of a
# value is always escaped, so the patterns cannot match text of the caller's.
_URL_ATTRIBUTE = re.compile(rb'(<(?:Gather|Callback|Curl|Play)\b[^>]*?\surl=")(/[^"]*)"')
_PLAY_TEXT = re.compile(rb"(<Play\b[^>]*>)(/[^<]*)<")


def base_url(request: Request, configured: str | None, trusted: Sequence[Network]) -> str:
    """Return the public base URL (no trailing ``/``) for ``request``.

    ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` count only when the direct peer is a
    trusted proxy; otherwise a client could make callflow hand out links to its own host.
    """
    if configured:
        return configured.rstrip("/")
    scheme = request.url.scheme
    host = request.headers.get("host") or request.url.netloc
    peer = request.client.host if request.client else ""
    if trusted and in_networks(peer, trusted):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{scheme}://{host}{root}"


def absolutize(body: bytes, base: str) -> bytes:
    """Prefix every path-only URL (``/next``) of a rendered document with ``base``."""
    if b'url="/' not in body and b">/" not in body:
        return body
    prefix_attr = escape_attribute(base).encode()
    prefix_text = escape_text(base).encode()
    body = _URL_ATTRIBUTE.sub(lambda m: m.group(1) + prefix_attr + m.group(2) + b'"', body)
    return _PLAY_TEXT.sub(lambda m: m.group(1) + prefix_text + m.group(2) + b"<", body)
