"""The requests one simulated call makes, trusting no server: documents fetched and checked,
Curl requests, and the events posted to an App's event webhook.

Each request has one total deadline (a document's own ``timeout``, capped by
``max_timeout_ms``), a reply is read up to ``max_document_bytes``, and ``max_fetches`` bounds
the documents and Curl requests of a call together. Every request is traced with the secrets
of its URL redacted (the request itself carries the real values); the reply to each
document request is handed on as it arrives, before it is checked (``received``), for the
trace to keep its bytes.

Every document gets the full check (the XSD and every rule of the dialect, as
:func:`~callflow.dialect.validation.check` gives them), whoever sent it: the simulator is
there to catch what a server gets wrong, a callflow App included. The check parses the
bytes once, and the tree it builds is the one the engine runs. Checking is a function of the
bytes alone, so a Simulator remembers the verdict on each distinct document it received
(:class:`CheckedDocuments`): flows mostly send the same few, and a document sent again is
neither parsed nor checked again, its problems reported again all the same. A document
whose bytes are new (links with fresh signed state) is checked in full, once: the XSD, then
the build, which applies every rule of the dialect as it goes (the DSL elements it built
before are reused where the parts of the document repeat).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, Final

from callflow.dialect.elements.call_control import Hangup
from callflow.dialect.elements.document import Response
from callflow.dialect.elements.gather import Gather
from callflow.dialect.reader import MAX_BYTES
from callflow.dialect.validation import examine
from callflow.server.running import FALLBACK_HEADER
from callflow.simulator.trace import (
    FALLBACK_TAG,
    FallbackCause,
    FallbackEvent,
    RequestEvent,
    TraceEvent,
    WarningEvent,
)
from callflow.simulator.transport import (
    REDACTED,
    SECRET_PARAMS,
    Reply,
    Transport,
    redact,
    with_query,
)

MAX_FETCHES: Final = 50
MAX_TIMEOUT_MS: Final = 10_000
"""The longest a request may take, whatever timeout a document asks for."""
MAX_DOCUMENT_BYTES: Final = MAX_BYTES
"""The longest reply body read; the rest is abandoned (the validator's limit)."""
DEFAULT_FETCH_TIMEOUT_MS: Final = 10_000  # §7 #7
FALLBACK_CAUSES: Final[Mapping[str, FallbackCause]] = {
    "error": "error",
    "timeout": "timeout",
    "invalid": "invalid",
}
"""The causes a callflow App names in ``x-callflow-fallback``; any other is ``unknown``."""

MEMO_DOCUMENTS: Final = 256
"""Distinct documents a Simulator remembers as checked (oldest out first)."""
MEMO_BYTES: Final = 1_048_576
"""Their bytes in all, at most."""
MEMO_DOCUMENT_BYTES: Final = 65_536
"""The largest document remembered: a larger one is checked again each time it comes."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A document that was fetched (or read) and is valid, with what running it needs."""

    document: Response
    raw: bytes
    legacy_callbacks: frozenset[int] = frozenset()
    """The Gathers (their ``id``, in ``document``) written with the legacy ``callback``
    attribute (§2.3): parsing normalises it to ``url``, the tree as read says which were."""
    ends_in_fallback: bool = False
    """Whether it is callflow's fallback document (``<Hangup tag="callflow-fallback"/>``)."""


class CheckedDocuments:
    """The verdict on each distinct document received, kept so that none is checked twice:
    a valid one as its :class:`Fetched`, an invalid one as its first problem. At most
    ``max_documents`` of at most ``max_bytes`` in all are kept, oldest out first, each of at
    most ``max_document_bytes``; safe to share between threads (one Simulator's calls)."""

    def __init__(
        self,
        max_documents: int = MEMO_DOCUMENTS,
        max_bytes: int = MEMO_BYTES,
        max_document_bytes: int = MEMO_DOCUMENT_BYTES,
    ) -> None:
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.max_document_bytes = max_document_bytes
        self._kept: dict[bytes, Fetched | str] = {}
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        """Forget every verdict."""
        with self._lock:
            self._kept.clear()
            self._size = 0

    def check(self, raw: bytes, *, max_bytes: int = MAX_BYTES) -> Fetched | str:
        """``raw`` checked in full and built, once: a :class:`Fetched`, or the first
        problem of an invalid document (``max_bytes`` is the policy's, the same on every
        call of one Simulator)."""
        known = self._kept.get(raw)
        if known is not None:
            return known
        verdict = _check(raw, max_bytes)
        if len(raw) <= min(self.max_document_bytes, self.max_bytes):
            with self._lock:
                if raw not in self._kept:
                    self._kept[raw] = verdict
                    self._size += len(raw)
                while len(self._kept) > self.max_documents or self._size > self.max_bytes:
                    oldest = next(iter(self._kept))
                    del self._kept[oldest]
                    self._size -= len(oldest)
        return verdict


def _check(raw: bytes, max_bytes: int) -> Fetched | str:
    """One parse, the full check and the build; the legacy Gathers read off the same tree."""
    checked = examine(raw, max_bytes=max_bytes)
    document = checked.document
    if document is None:
        first = checked.problems[0] if checked.problems else None
        return str(first) if first else "invalid"
    legacy: frozenset[int] = frozenset()
    if b"callback" in raw and checked.tree is not None:
        # The builder keeps Gathers in document order, so the two lists pair up.
        gathers = [el for el in document.iter() if isinstance(el, Gather)]
        nodes = checked.tree.iter("Gather")
        legacy = frozenset(
            id(el) for el, node in zip(gathers, nodes, strict=False) if "callback" in node.attrib
        )
    tree = checked.tree
    ends = (
        tree is None  # never: a valid document was parsed
        or any(FALLBACK_TAG in (node.get("tag") or "") for node in tree.iter("Hangup"))
    ) and _ends_in_fallback(document)
    return Fetched(document, raw, legacy, ends)


@dataclass(frozen=True, slots=True)
class Request:
    """One request a call makes: ``params`` go in the query, after the URL's own (D9);
    ``purpose`` names it in the trace (``webhook``, ``gather``, ``curl``...); no
    ``timeout_ms`` (or 0) means the default."""

    method: str
    url: str
    params: Mapping[str, str]
    purpose: str
    _: KW_ONLY
    json_body: Any = None
    content: bytes | None = None
    content_type: str | None = None
    timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What the requests of a Simulator's calls may do, and what of them a trace may show."""

    max_fetches: int = MAX_FETCHES
    max_timeout_ms: int = MAX_TIMEOUT_MS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    secret_params: frozenset[str] = SECRET_PARAMS
    """Query parameters whose values the trace shows as ``REDACTED``."""
    secret_values: frozenset[str] = frozenset()
    """Values (an access key) the trace shows as ``REDACTED`` wherever they appear."""


class Fetcher:
    """Makes the requests of one call through ``transport`` and traces them with ``emit``.

    ``end_call`` is how a request past ``max_fetches`` ends the call: it returns the
    exception to raise. After a failed fetch, :attr:`last_failure` says why and
    :attr:`last_url` is the URL as it was sent. ``documents`` remembers the documents
    checked (a Simulator's, shared by its calls; by default this call's own). ``received``
    is called with the request event and the reply of each document request that got one,
    right after the event is traced and before anything else is made of the reply.
    """

    def __init__(
        self,
        transport: Transport,
        policy: FetchPolicy,
        *,
        emit: Callable[[TraceEvent], None],
        end_call: Callable[[str], BaseException],
        documents: CheckedDocuments | None = None,
        received: Callable[[RequestEvent, Reply], None] | None = None,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.emit = emit
        self.end_call = end_call
        self.received = received
        self.documents = documents if documents is not None else CheckedDocuments()
        self.sent = 0
        self.last_failure = ""
        self.last_url = ""
        self._shown = ""

    def shown(self, url: str) -> str:
        """``url`` as the trace records it: secrets redacted (the request uses the real one)."""
        return self.scrub(redact(url, self.policy.secret_params))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret value (an access key) replaced."""
        for value in self.policy.secret_values:
            if value:
                text = text.replace(value, REDACTED)
        return text

    def fetch(self, request: Request) -> Fetched | None:
        """Fetch and check a document; None (with the reason traced) when it fails."""
        reply, _ = self.send(request, document=True)
        if reply is None:
            return None
        shown = self._shown  # as :meth:`send` traced it
        if reply.error is not None or reply.status is None:
            self.last_failure = self.scrub(reply.error or "request failed")
            return None
        if not 200 <= reply.status < 300:
            self.last_failure = f"HTTP {reply.status} from {shown}"
            return None
        if reply.too_large:
            self.last_failure = (
                f"the reply from {shown} is larger than the limit of "
                f"{self.policy.max_document_bytes} bytes (the rest was not read)"
            )
            self.emit(WarningEvent(self.last_failure))
            return None
        fetched = self.checked(reply.body, shown)
        if fetched is None:
            return None
        if fetched.ends_in_fallback and FALLBACK_HEADER not in reply.headers:
            self.emit(FallbackEvent(shown, "unknown"))  # a server that is not callflow's
        return fetched

    def send(self, request: Request, *, document: bool = False) -> tuple[Reply | None, str]:
        """Make one request (a document fetch or a Curl, both counted in ``max_fetches``);
        return its reply (None when the URL cannot be resolved) and the URL sent. The reply
        of a ``document`` request goes to ``received`` too."""
        self.sent += 1
        if self.sent > self.policy.max_fetches:
            raise self.end_call(f"more than {self.policy.max_fetches} requests, documents and Curl")
        recorded = {
            name: (REDACTED if name in self.policy.secret_params else value)
            for name, value in request.params.items()
        }
        method, url, purpose = request.method, request.url, request.purpose
        resolved = self.transport.resolve(url)
        self.last_url = url
        if resolved is None:
            shown = self.shown(url)
            self.last_failure = f"cannot resolve the path-only URL {shown!r} without a server"
            self.emit(RequestEvent(method, shown, recorded, None, purpose, self.last_failure))
            return None, url
        full = self.last_url = with_query(resolved, request.params)
        wanted = request.timeout_ms or DEFAULT_FETCH_TIMEOUT_MS
        reply = self.transport.request(
            method,
            full,
            json_body=request.json_body,
            content=request.content,
            content_type=request.content_type,
            timeout_ms=min(wanted, self.policy.max_timeout_ms),  # a document cannot ask more
            max_bytes=self.policy.max_document_bytes,
        )
        error = self.scrub(reply.error) if reply.error is not None else None
        shown = self._shown = self.shown(full)
        event = RequestEvent(method, shown, recorded, reply.status, purpose, error)
        self.emit(event)
        if document and self.received is not None and reply.status is not None:
            self.received(event, reply)
        cause = reply.headers.get(FALLBACK_HEADER)
        if cause is not None:
            self.emit(FallbackEvent(shown, FALLBACK_CAUSES.get(cause, "unknown")))
        return reply, full

    def checked(self, body: bytes, source: str) -> Fetched | None:
        """``body`` checked and built; None (with a warning traced) when it is not valid."""
        verdict = self.documents.check(body, max_bytes=self.policy.max_document_bytes)
        if isinstance(verdict, str):
            self.last_failure = f"invalid document from {source}: {verdict}"
            self.emit(WarningEvent(self.last_failure))
            return None
        return verdict

    def document(self, body: bytes, source: str) -> Response | None:
        """``body`` as a document; None (with a warning traced) when it is not valid."""
        fetched = self.checked(body, source)
        return fetched.document if fetched is not None else None

    def post_event(self, body: dict[str, Any]) -> None:
        """Post ``body`` to the in-process App's event webhook (not counted, not traced)."""
        app = self.transport.app
        if app is None:
            return
        url = with_query(self.transport.base + app.settings.events_path, self.transport.query)
        self.transport.request("POST", url, json_body=body)


def _ends_in_fallback(document: Response) -> bool:
    """Whether ``document`` is callflow's fallback (``<Hangup tag="callflow-fallback"/>``)."""
    return any(isinstance(el, Hangup) and el.tag == FALLBACK_TAG for el in document.iter())
