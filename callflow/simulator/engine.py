"""The engine: runs the documents of one simulated call as Opentact would.

A :class:`CallRun` holds a call's state while it runs by the semantics of the spec (§3, the
rulings of §5, the defaults of §7): it runs command blocks, sends a command that failed to its
``<Error>`` handler (D7), lets a fetched document replace the rest of the running one (D6,
D8), posts the call's events to the App when asked, and records an ordered
:class:`~callflow.simulator.trace.Trace`, with the bytes of each document fetched. The
caller may hang up at any point where the call asks or tells something (an input provider, a
Dial outcome, the ``on_event`` and ``on_document`` callbacks raise
:class:`~callflow.simulator.inputs.HangUp`): the call ends there, as it stands. What each
command does is in :mod:`callflow.simulator.commands`; its requests go through a
:class:`~callflow.simulator.fetching.Fetcher`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from callflow.dialect.elements.base import Element
from callflow.dialect.elements.call_control import Hangup
from callflow.dialect.elements.document import Error
from callflow.dialect.elements.gather import Gather
from callflow.simulator.commands import HANDLERS
from callflow.simulator.fetching import CheckedDocuments, Fetched, Fetcher, FetchPolicy, Request
from callflow.simulator.geography import Location
from callflow.simulator.inputs import DialScript, HangUp, InputProvider
from callflow.simulator.trace import (
    REASON_CALLER_HUNG_UP,
    REASON_END_OF_DOCUMENT,
    REASON_INVALID_DOCUMENT,
    REASON_MAX_COMMANDS,
    REASON_MAX_FETCHES,
    REASON_WEBHOOK_FAILED,
    EndedBy,
    ErrorEvent,
    FallbackEvent,
    FetchedDocument,
    FetchFailedEvent,
    HangupEvent,
    RequestEvent,
    SayEvent,
    Trace,
    TraceEvent,
)
from callflow.simulator.transport import Reply, Transport

MAX_COMMANDS: Final = 10_000
_VARIANT: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
_UNTRACKED: Final = contextlib.nullcontext()


def new_uuids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text, as ``str(uuid.uuid4())`` makes them, for
    a fraction of its cost (a call makes three).

    >>> import uuid
    >>> made = [uuid.UUID(text) for text in new_uuids(2)]
    >>> [(u.version, u.variant == uuid.RFC_4122) for u in made]
    [(4, True), (4, True)]
    """
    h = os.urandom(16 * count).hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def new_uuid() -> str:
    """A random (version 4) UUID as text (see :func:`new_uuids`)."""
    return new_uuids(1)[0]


class _End(Exception):
    """The call is over."""


class _Replace(Exception):
    """A fetched document replaces the rest of the current one (D6, D8)."""

    def __init__(self, fetched: Fetched) -> None:
        self.fetched = fetched


_fallback_listeners: list[Callable[[FallbackEvent], None]] = []
_listeners_lock = threading.Lock()


@contextlib.contextmanager
def listening_for_fallbacks(listener: Callable[[FallbackEvent], None]) -> Iterator[None]:
    """Call ``listener`` with every fallback document any simulator receives while the block
    runs (``callflow.testing`` and its pytest plugin use it)."""
    with _listeners_lock:
        _fallback_listeners.append(listener)
    try:
        yield
    finally:
        with _listeners_lock:
            _fallback_listeners.remove(listener)


@dataclass
class CallRun:
    """The state of one simulated call while it runs."""

    transport: Transport
    policy: InitVar[FetchPolicy]
    trace: Trace
    from_: str
    to: str
    inputs: InputProvider
    dials: Iterator[DialScript]
    start: datetime
    tz: ZoneInfo
    location: Location | None
    auto_answer: bool
    method: Literal["GET", "POST"]
    max_commands: int = MAX_COMMANDS
    on_event: Callable[[TraceEvent], None] | None = None
    on_document: Callable[[FetchedDocument], None] | None = None
    send_events: bool = False
    uuid: str = field(default_factory=new_uuid)
    sca: str = field(default_factory=new_uuid)
    account: str = field(default_factory=new_uuid)
    elapsed_ms: int = 0
    answered: bool = False
    warned_media: bool = False
    commands: int = 0
    metas: dict[str, str] = field(default_factory=dict)
    recordings: set[str] = field(default_factory=set)
    recording_now: set[str] = field(default_factory=set)
    legacy_callbacks: set[int] = field(default_factory=set)
    gather_history: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    """Where the running command is, as events name it (``Gather[3]/DTMF[1]/Dial[0]``)."""
    collecting: bool = False
    """A Gather is collecting: its fillers do not listen for keys on their own."""
    failed_here: set[int] = field(default_factory=set)
    """The commands (``id``) that failed while running, so each sends one event."""
    documents: CheckedDocuments | None = None
    """The documents checked already (the Simulator's); None: this call's own."""
    http: Fetcher = field(init=False)
    """Makes the call's requests and knows why the last one failed."""
    posting: bool = field(init=False)
    """The call posts its events to the App (``send_events`` and an App in process): only
    then are the paths of the commands followed, and what failed."""
    _append: Callable[[TraceEvent], None] = field(init=False, repr=False)

    def __post_init__(self, policy: FetchPolicy) -> None:
        self.posting = self.send_events and self.transport.app is not None
        self._append = self.trace.events.append
        self.http = Fetcher(
            self.transport,
            policy,
            emit=self.emit,
            end_call=lambda detail: self.end("limit", REASON_MAX_FETCHES, None, detail),
            documents=self.documents,
            received=self.received,
        )

    # -- recording the trace ---------------------------------------------------------------

    def emit(self, event: TraceEvent) -> None:
        self._append(event)
        # The listeners first: a fallback is noticed even when on_event hangs up on it.
        if _fallback_listeners and isinstance(event, FallbackEvent):
            for listener in list(_fallback_listeners):
                listener(event)
        if self.on_event is not None:
            self.on_event(event)

    def received(self, request: RequestEvent, reply: Reply) -> None:
        """Keep the reply to a document request, traced just now as ``request``, and hand it
        to ``on_document``."""
        if reply.status is None:
            return
        # The request's event was the last one added: nothing runs between.
        index = len(self.trace.events) - 1
        document = FetchedDocument(
            request.url, request.purpose, reply.status, reply.body, index, reply.too_large
        )
        self.trace.documents.append(document)
        if self.on_document is not None:
            self.on_document(document)

    def end(self, ended_by: EndedBy, reason: str, tag: str | None = None, detail: str = "") -> _End:
        """Record the end of the call; the call-state events go out once the commands still
        running have sent theirs (:meth:`run`)."""
        with contextlib.suppress(HangUp):  # hanging up on the end: it ends all the same
            self.emit(HangupEvent(reason, ended_by, tag, detail))
        return _End(reason)

    def hang_up(self, signal: HangUp) -> _End:
        """End the call as it stands: the caller hung up (:class:`HangUp`)."""
        return self.end("caller", REASON_CALLER_HUNG_UP, None, signal.detail)

    # -- running ---------------------------------------------------------------------------

    def run(self) -> Trace:
        self.send_state("init")
        self.send_state("ringing")
        if self.auto_answer:
            self.answered = True
            self.send_state("live")
        try:
            fetched = self._first_document()
            while True:
                # Gathers written with the legacy ``callback`` attribute (§2.3)
                self.legacy_callbacks = set(fetched.legacy_callbacks)
                try:
                    self.run_block(fetched.document.children)
                except _Replace as replaced:
                    fetched = replaced.fetched
                    continue
                raise self.end("end-of-document", REASON_END_OF_DOCUMENT, None, "Opentact hangs up")
        except _End:
            pass
        except HangUp as signal:  # outside any command: while the webhook is fetched
            self.hang_up(signal)
        self.send_state("hangup")
        self.send_state("destroyed")
        return self.trace

    def _first_document(self) -> Fetched:
        if self.transport.document is not None:
            read = self.http.checked(self.transport.document, "the XML file")
            if read is None:
                raise self.end(
                    "error", REASON_INVALID_DOCUMENT, None, "the XML file is not a valid document"
                )
            return read
        url = self.transport.start_url or ""
        params = {"from": self.from_, "to": self.to}
        body = self.call_object() if self.method == "POST" else None
        fetched = self.http.fetch(Request(self.method, url, params, "webhook", json_body=body))
        if fetched is None:
            failure = self.http.last_failure
            self.emit(FetchFailedEvent(self.http.shown(self.http.last_url), "webhook", failure))
            raise self.end("error", REASON_WEBHOOK_FAILED, None, f"{failure}; Opentact hangs up")
        return fetched

    def inside(self, el: Element, index: int) -> contextlib.AbstractContextManager[None]:
        """Name ``el``, child ``index`` of the running element, in event paths (§1)."""
        if not self.posting:  # no event names a path
            return _UNTRACKED
        return self._inside(el, index)

    @contextlib.contextmanager
    def _inside(self, el: Element, index: int) -> Iterator[None]:
        parent = self.path
        self.path = f"{parent}/{el.xml_tag}[{index}]" if parent else f"{el.xml_tag}[{index}]"
        try:
            yield
        finally:
            self.path = parent

    def run_block(self, children: Sequence[Element]) -> None:
        """Run a command block; an ``<Error>`` among the children only runs on a failure."""
        if not self.posting:  # no event names a path
            for child in children:
                if not isinstance(child, Error):
                    self.run_command(child)
            return
        parent = self.path  # what :meth:`inside` does, without a context manager per command
        prefix = f"{parent}/" if parent else ""
        try:
            for index, child in enumerate(children):
                if isinstance(child, Error):
                    continue
                self.path = f"{prefix}{child.xml_tag}[{index}]"
                self.run_command(child)
        finally:
            self.path = parent

    def run_command(self, el: Element) -> None:
        self.commands += 1
        if self.commands > self.max_commands:
            raise self.end(
                "limit", REASON_MAX_COMMANDS, None, f"more than {self.max_commands} commands"
            )
        handler = HANDLERS.get(type(el))
        if handler is None:
            return
        if not self.posting:  # no call_flow events to send: nothing to follow
            try:
                handler(self, el)
            except HangUp as signal:  # asked or told something, the caller hung up
                raise self.hang_up(signal) from None
            return
        key = id(el)
        # One call_flow event per executed command (§6.3): a failure sent it already, a
        # Hangup sends its own; a container is reported however its children ended.
        try:
            handler(self, el)
        except _Replace:
            if key not in self.failed_here:
                self.send_flow(el, True, "document replaced")
            raise
        except _End:
            if key not in self.failed_here and not isinstance(el, Hangup):
                self.send_flow(el, True, "the call ended")
            raise
        except HangUp as signal:  # asked or told something, the caller hung up
            ended = self.hang_up(signal)
            if key not in self.failed_here:
                self.send_flow(el, True, "the call ended")
            raise ended from None
        else:
            if key not in self.failed_here:
                self.send_flow(el, True, "done")
        finally:
            self.failed_here.discard(key)

    def run_error_handler(self, el: Element, reason: str) -> None:
        """Record that ``el`` failed and run its ``<Error>`` handler if it has one (D7)."""
        if self.posting:
            self.failed_here.add(id(el))
        handler = el.error
        self.emit(ErrorEvent(el.xml_tag, reason, handled=handler is not None))
        self.send_flow(el, False, reason)
        if isinstance(handler, Error):
            index = next(i for i, child in enumerate(el.children) if child is handler)
            with self.inside(handler, index):
                if handler.say:
                    self.emit(SayEvent(reason))
                self.run_block(handler.children)

    def follow(self, el: Element, request: Request) -> None:
        """Fetch the document ``request`` names for ``el``: it replaces the rest of the running
        one, or, when the fetch fails, the failure is traced and ``el``'s ``<Error>`` runs
        (D6, D8)."""
        fetched = self.http.fetch(request)
        if fetched is not None:
            raise _Replace(fetched)
        reason = self.http.last_failure
        url = self.http.shown(self.http.last_url)
        self.emit(FetchFailedEvent(url, request.purpose, reason, el.error is not None))
        self.run_error_handler(el, reason)

    def now(self) -> datetime:
        return (self.start + timedelta(milliseconds=self.elapsed_ms)).astimezone(self.tz)

    # -- what the call tells servers ---------------------------------------------------------

    def appended_params(self) -> dict[str, str]:
        """The parameters Opentact appends to round-trip requests (D9)."""
        return {
            "from": self.from_,
            "tn": self.to.lstrip("+"),
            "state": "live" if self.answered else "ringing",
            "sca": self.sca,
            "call": self.uuid,
        }

    def call_object(self) -> dict[str, Any]:
        """A call object as Opentact sends it (§6.1)."""
        digits = self.to.lstrip("+")
        return {
            "uuid": self.uuid,
            "type": "CallSCA",
            "direction": "in",
            "from": self.from_,
            "to": digits,
            "state": "live" if self.answered else "ringing",
            "tn": {"tn": int(digits) if digits.isdigit() else digits},
            "sip_control_app": {"uuid": self.sca, "auto_answer": self.auto_answer},
            "account": {"uuid": self.account, "time_zone": str(self.tz)},
            "created_on": self.start.isoformat(),
        }

    def send_state(self, state: str) -> None:
        """Post a ``call_state`` event to the App, when events are on (§6.2)."""
        if not self.posting:
            return
        message = f"CallSCA in {self.from_} > {self.to} - {state}"
        body = {
            "uuid": new_uuid(),
            "type": "call_state",
            "created_on": self.now().isoformat(),
            "message": message,
            "payload": {"state": state, "duration": self.elapsed_ms // 1000},
            "call": {**self.call_object(), "state": state},
        }
        self.http.post_event(body)

    def send_flow(self, el: Element, success: bool, reason: str) -> None:
        """Post the ``call_flow`` event of a command that ran, when events are on (§6.3)."""
        if not self.posting:
            return
        status = "success" if success else "failure"
        tag = getattr(el, "tag", None) if not isinstance(el, Gather | Hangup) else el.tag
        body = {
            "timestamp": self.now().isoformat(),
            "success": success,
            "message": f"[{status}] command {self.path or el.xml_tag}, reason: {reason}",
            "type": "call_flow",
            "command": el.xml_tag,
            "payload": {
                "command": {
                    "name": el.xml_tag,
                    "success": success,
                    "reason": reason,
                    "path": self.path or el.xml_tag,
                    "tag": tag,
                    "children": [],
                    "error": [],
                },
                "call": self.call_object(),
            },
        }
        self.http.post_event(body)
