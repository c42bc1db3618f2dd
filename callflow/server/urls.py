"""Links back into the app: the query they carry, and path-only URLs made absolute."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode

from callflow.dialect.serialising import escape_attribute, escape_text
from callflow.server.settings import Settings
from callflow.server.state import STATE_PARAM

if TYPE_CHECKING:
    from callflow.server.app import App

SESSION_PARAM = "cf_session"
"""Query parameter carrying the session token (signed, bound to the call)."""
FLOW_PARAM = "cf_flow"
"""Query parameter naming the default flow on round trips to the webhook path."""

# Canonical documents carry URLs in these places only. Inside a start tag a '<', '>' or '"' of
# a value is always escaped, so the '<' before ` url="/` starts that tag, and text content
# never holds a raw '<'.
_URL_ELEMENTS = (b"<Gather ", b"<Callback ", b"<Curl ", b"<Play ")
_LINK_ELEMENTS = (b"<Gather ", b"<Callback ")
_URL_MARK = b' url="/'
_PLAY_TEXT = re.compile(rb"(<Play\b[^>]*>)(/[^<]*)<")


def carried_query(settings: Settings, session_token: str | None = None) -> str:
    """The query a link back into the app carries: the session token (when a session
    travels) and the access key (when one is required). Every webhook request builds it, so
    the access-key part is encoded once per setting."""
    key = _access_query(settings.access_key_param, settings.access_key)
    if session_token is None:
        return key
    session = f"{SESSION_PARAM}={quote_plus(session_token)}"
    return f"{session}&{key}" if key else session


@functools.lru_cache(maxsize=8)
def _access_query(param: str, access_key: str | None) -> str:
    return "" if access_key is None else urlencode({param: access_key})


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


class Links:
    """``call.url_for`` of one request: links to the flows of ``app`` from ``origin``, with
    ``state`` signed for the call and the query every link carries (``session_token()``
    is asked only when a link is made)."""

    __slots__ = ("app", "call_uuid", "numbers", "origin", "session_token")

    def __init__(
        self,
        app: App,
        call_uuid: str | None,
        numbers: tuple[str | None, str | None],
        origin: str,
        session_token: Callable[[], str],
    ) -> None:
        self.app = app
        self.call_uuid = call_uuid
        self.numbers = numbers
        self.origin = origin.rstrip("/")
        self.session_token = session_token

    def url_for(self, name: str, *, state: Any = None, **query: str | int) -> str:
        """The absolute URL of the flow ``name`` (see :meth:`CallContext.url_for`)."""
        app = self.app
        settings = app.settings
        dispatcher = app._dispatcher
        if dispatcher is not None:
            target = dispatcher.by_name.get(name)
        else:  # not serving yet (a unit test): the flows registered so far
            target = next((f for f in app.router.flows if f.name == name), None)
        if target is None:
            raise KeyError(f"no flow named {name!r}")
        pairs: dict[str, str] = {k: str(v) for k, v in query.items()}
        if target.path == settings.webhook_path:
            # Opentact appends `tn`: without this the webhook would route by number.
            pairs[FLOW_PARAM] = target.name
        if state is not None:
            pairs[STATE_PARAM] = app.signer.sign(state, target.path, self.call_uuid, self.numbers)
        link = carried_query(settings, self.session_token())
        own = urlencode(pairs) if pairs else ""
        query_text = f"{own}&{link}" if own and link else own or link
        return self.origin + target.path + ("?" + query_text if query_text else "")
