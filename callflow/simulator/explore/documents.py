"""What a call fetches: a stub for the URLs outside the target, and a key that says when
two fetched documents are the same step.

Two documents are the same step when they have the same path and the same body, once what
changes on every call is left out: the call's uuid and ids, the session token, and the
signature and time of a signed ``state`` token, whose content (the state itself) is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from itsdangerous import URLSafeTimedSerializer

from callflow.server.state import STATE_PARAM
from callflow.server.urls import SESSION_PARAM
from callflow.simulator.transport import Reply, Transport

_TOKEN = re.compile(rf"({STATE_PARAM}|{SESSION_PARAM})=([^&\"'<\s]*)")
_CALL_IDS = re.compile(r"(call|sca|uuid)=[0-9a-f-]{36}")
_UNSIGNED = URLSafeTimedSerializer("")
"""Reads a signed token's payload without checking it (the App checks it)."""


def stub_outside(transport: Transport, inside: Callable[[str], bool]) -> None:
    """Leave the world outside the target alone: have ``transport`` answer a URL that is not
    ``inside`` with an empty 200 instead of requesting it (a Curl succeeds, a document fetch
    fails as invalid, and exploring stops there).

    The simulator has no hook that answers a request in its place (``on_document`` sees a
    reply once it came), so this wraps ``transport.request``. The transport is the
    explorer's own (it made the Simulator), so the wrapper touches nobody else's.
    """
    send: Callable[..., Reply] = transport.request

    def request(method: str, url: str, **options: Any) -> Reply:
        return send(method, url, **options) if inside(url) else Reply(200, b"")

    transport.request = request  # type: ignore[method-assign]


def url_path(url: str) -> str:
    """The path of ``url`` (``/menu``), or the URL itself when it has none."""
    return urlsplit(url).path or url


def _payload(token: str) -> str:
    """The readable content of a signed token: its state and where it leads, not its
    signature, time or call."""
    _, payload = _UNSIGNED.loads_unsafe(unquote_plus(token))
    if not isinstance(payload, dict):
        return "?"
    kept = {key: payload[key] for key in ("p", "s") if key in payload}
    return json.dumps(kept, sort_keys=True, default=str)


def step_key(body: bytes) -> str:
    """The body of a document with what changes on every call left out (see the module)."""
    text = body.decode("utf-8", "replace")

    def token(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name == SESSION_PARAM:
            return f"{name}=(session)"
        return f"{name}=({_payload(value)})"

    return _CALL_IDS.sub(r"\1=(call)", _TOKEN.sub(token, text))
