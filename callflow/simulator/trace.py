"""What happened on a simulated call: ordered, typed events and helpers to read them.

A call ends with one of the documented hang-up reasons (:data:`HangupReason`, or
``hangup (TAG)`` for a tagged ``<Hangup/>``), compared exactly by
:func:`callflow.testing.assert_ended`. A call that got a fallback document, or whose
document fetch failed with no ``<Error>`` to handle it, is :attr:`Trace.failed`: it did not
run as written, whatever it ended with. Beside its events, a trace keeps the bytes of each
document the call fetched (:attr:`Trace.documents`, :class:`FetchedDocument`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Final, Literal, TypeVar, get_args

EndedBy = Literal["hangup", "end-of-document", "caller", "error", "limit"]
E = TypeVar("E", bound="TraceEvent")

HangupReason = Literal[
    "hangup",
    "end of document",
    "caller hung up",
    "webhook failed",
    "invalid document",
    "max fetches",
    "max commands",
]
"""Why a simulated call ended (``Trace.hangup_reason``); a tagged ``<Hangup tag="T"/>`` gives
``hangup (T)`` instead of ``hangup``."""
REASON_HANGUP: Final = "hangup"
"""A ``<Hangup/>`` without a tag ran (``ended_by="hangup"``)."""
REASON_END_OF_DOCUMENT: Final = "end of document"
"""The last document ran out of commands: Opentact hangs up (``ended_by="end-of-document"``)."""
REASON_CALLER_HUNG_UP: Final = "caller hung up"
"""The caller hung up: an input provider, a Dial outcome asked for, an ``on_event`` or an
``on_document`` callback raised :class:`~callflow.simulator.inputs.HangUp`
(``ended_by="caller"``)."""
REASON_WEBHOOK_FAILED: Final = "webhook failed"
"""The call-flow webhook failed: network error, non-2xx, timeout or an invalid document
(``ended_by="error"``, §7 #18)."""
REASON_INVALID_DOCUMENT: Final = "invalid document"
"""The XML file the call started from is not a valid document (``ended_by="error"``)."""
REASON_MAX_FETCHES: Final = "max fetches"
"""More requests than ``max_fetches``, documents and Curl together (``ended_by="limit"``)."""
REASON_MAX_COMMANDS: Final = "max commands"
"""More commands than ``max_commands`` executed (``ended_by="limit"``)."""
REASONS: Final[frozenset[str]] = frozenset(get_args(HangupReason))
"""Every hang-up reason except the tagged ``hangup (TAG)`` form."""
FALLBACK_TAG: Final = "callflow-fallback"
"""The tag of the ``<Hangup/>`` in callflow's fallback document."""

FallbackCause = Literal["error", "timeout", "invalid", "unknown"]
"""Why a server sent its fallback document: its ``x-callflow-fallback`` header, or
``unknown`` for a server that only ends it with ``<Hangup tag="callflow-fallback"/>``."""


def tagged_hangup(tag: str | None) -> str:
    """The hang-up reason of ``<Hangup tag=...>``: ``hangup (TAG)``, or ``hangup``.

    >>> tagged_hangup("voicemail"), tagged_hangup(None)
    ('hangup (voicemail)', 'hangup')
    """
    return f"{REASON_HANGUP} ({tag})" if tag else REASON_HANGUP


def is_reason(text: str) -> bool:
    """Whether ``text`` is a documented hang-up reason (``hangup (TAG)`` included)."""
    return text in REASONS or (text.startswith("hangup (") and text.endswith(")"))


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """Base of every trace event; ``type`` names the kind in JSON output."""

    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        """Return the event as a JSON-ready dict with its ``type``."""
        return {"type": self.type, **asdict(self)}

    def describe(self) -> str:
        """One line for the transcript."""
        return self.type


@dataclass(frozen=True, slots=True)
class RequestEvent(TraceEvent):
    """A request made to the customer's server (or a Curl target)."""

    type: ClassVar[str] = "request"
    method: str
    url: str
    params: dict[str, str]
    status: int | None
    purpose: str
    """``webhook``, ``gather``, ``gather-callback``, ``callback`` or ``curl``."""
    error: str | None = None

    def describe(self) -> str:
        outcome = self.error or f"HTTP {self.status}"
        return f"[{self.purpose}] {self.method} {self.url} -> {outcome}"


@dataclass(frozen=True, slots=True)
class AnswerEvent(TraceEvent):
    type: ClassVar[str] = "answer"
    delay: int = 0
    tag: str | None = None

    def describe(self) -> str:
        return "(call answered)"


@dataclass(frozen=True, slots=True)
class SayEvent(TraceEvent):
    type: ClassVar[str] = "say"
    text: str
    loop: int = 1
    lang: str | None = None

    def describe(self) -> str:
        times = f" (x{self.loop})" if self.loop > 1 else ""
        return f"Say: {' '.join(self.text.split())}{times}"


@dataclass(frozen=True, slots=True)
class PlayEvent(TraceEvent):
    type: ClassVar[str] = "play"
    url: str | None
    record: str | None = None
    loop: int = 1

    def describe(self) -> str:
        what = self.url if self.url else f"recording {self.record!r}"
        times = f" (x{self.loop})" if self.loop > 1 else ""
        return f"Play: {what}{times}"


@dataclass(frozen=True, slots=True)
class PauseEvent(TraceEvent):
    """A Pause; ``stopped`` when the caller pressed its ``dtmf_stop`` key (``input``)."""

    type: ClassVar[str] = "pause"
    length: int
    input: str | None = None
    stopped: bool = False

    def describe(self) -> str:
        if self.stopped:
            return f"(pause {self.length} ms, ended early: pressed {self.input!r})"
        return f"(pause {self.length} ms)"


@dataclass(frozen=True, slots=True)
class ToneEvent(TraceEvent):
    type: ClassVar[str] = "tone"
    hz: tuple[int | float, ...] | None
    loop: int = 1

    def describe(self) -> str:
        freqs = ",".join(str(f) for f in self.hz) if self.hz else "default"
        return f"Tone: {freqs} Hz"


@dataclass(frozen=True, slots=True)
class GatherEvent(TraceEvent):
    """One attempt of a Gather: what was asked, what the caller pressed, what followed."""

    type: ClassVar[str] = "gather"
    prompt: list[str]
    input: str | None
    digits: str | None
    outcome: str
    """``match``, ``default``, ``no-match``, ``no-input``, ``url`` or ``callback``."""
    attempt: int = 1
    value: str | None = None

    def describe(self) -> str:
        pressed = "no input" if self.input is None else f"pressed {self.input!r}"
        branch = f" (branch {self.value!r})" if self.value is not None else ""
        return f"Gather attempt {self.attempt}: {pressed} -> {self.outcome}{branch}"


@dataclass(frozen=True, slots=True)
class DialEvent(TraceEvent):
    type: ClassVar[str] = "dial"
    targets: list[str]
    outcome: str
    answered_by: str | None = None

    def describe(self) -> str:
        who = f", answered by {self.answered_by}" if self.answered_by else ""
        return f"Dial {', '.join(self.targets)}: {self.outcome}{who}"


@dataclass(frozen=True, slots=True)
class RecordEvent(TraceEvent):
    type: ClassVar[str] = "record"
    action: str
    """``record``, ``start``, ``stop`` or ``wait``."""
    tag: str | None = None
    length: int | None = None

    def describe(self) -> str:
        name = f" {self.tag!r}" if self.tag else ""
        return f"Record {self.action}{name}"


@dataclass(frozen=True, slots=True)
class CallbackEvent(TraceEvent):
    type: ClassVar[str] = "callback"
    url: str
    method: str
    tag: str | None = None

    def describe(self) -> str:
        return f"Callback {self.method} {self.url}"


@dataclass(frozen=True, slots=True)
class HoldEvent(TraceEvent):
    type: ClassVar[str] = "hold"
    action: str
    tag: str | None = None

    def describe(self) -> str:
        return f"({self.action})"


@dataclass(frozen=True, slots=True)
class MetaEvent(TraceEvent):
    type: ClassVar[str] = "meta"
    name: str
    value: str

    def describe(self) -> str:
        return f"Meta {self.name}={self.value!r}"


@dataclass(frozen=True, slots=True)
class FilterEvent(TraceEvent):
    type: ClassVar[str] = "filter"
    element: str
    matched: bool
    detail: str = ""

    def describe(self) -> str:
        return f"{self.element} {'matched' if self.matched else 'did not match'} {self.detail}"


@dataclass(frozen=True, slots=True)
class ErrorEvent(TraceEvent):
    """A command that failed; ``handled`` when its ``<Error>`` ran."""

    type: ClassVar[str] = "error"
    command: str
    reason: str
    handled: bool = False

    def describe(self) -> str:
        handled = " (Error handler runs)" if self.handled else ""
        return f"! {self.command} failed: {self.reason}{handled}"


@dataclass(frozen=True, slots=True)
class FallbackEvent(TraceEvent):
    """The server answered with its fallback document: the flow raised, timed out or returned
    an invalid document (``cause``); the call did not run as written."""

    type: ClassVar[str] = "fallback"
    url: str
    cause: FallbackCause

    def describe(self) -> str:
        return f"! fallback document ({self.cause}) from {self.url}"


@dataclass(frozen=True, slots=True)
class FetchFailedEvent(TraceEvent):
    """A document fetch failed (network error, non-2xx, timeout, too large, invalid XML);
    ``handled`` when an ``<Error>`` ran for it."""

    type: ClassVar[str] = "fetch-failed"
    url: str
    purpose: str
    """``webhook``, ``gather``, ``gather-callback`` or ``callback``."""
    reason: str
    handled: bool = False

    def describe(self) -> str:
        handled = " (Error handler runs)" if self.handled else " (no <Error> handled it)"
        return f"! [{self.purpose}] fetch failed: {self.reason}{handled}"


@dataclass(frozen=True, slots=True)
class WarningEvent(TraceEvent):
    type: ClassVar[str] = "warning"
    message: str

    def describe(self) -> str:
        return f"warning: {self.message}"


@dataclass(frozen=True, slots=True)
class HangupEvent(TraceEvent):
    """The end of the call: a documented ``reason`` (see :data:`HangupReason`), who ended it,
    the Hangup's ``tag`` and a readable ``detail``."""

    type: ClassVar[str] = "hangup"
    reason: str
    ended_by: EndedBy
    tag: str | None = None
    detail: str = ""

    def describe(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"Hangup: {self.reason}{detail}"


@dataclass(frozen=True, slots=True)
class FetchedDocument:
    """The reply to one document request of a call (``webhook``, ``gather``,
    ``gather-callback`` or ``callback``), its body as it arrived; ``trace.events[index]`` is
    the :class:`RequestEvent` of the request.

    ``url`` is the URL requested as the trace shows it (its secrets redacted, as in the
    request event). ``body`` is **not** redacted: it holds the bytes the server sent, signed
    state, session tokens and access keys in its links included. Every reply is kept,
    whatever its status (a 404 page, a fallback document, an invalid one, a retried legacy
    callback's that never runs); ``too_large`` when it passed ``max_document_bytes`` and
    ``body`` holds only what was read. A request that got no reply (a network error, a
    timeout, a URL that cannot be resolved) has none, and a ``<Curl>`` reply, never run
    (D18), is not a document.
    """

    url: str
    purpose: str
    status: int
    body: bytes
    index: int
    too_large: bool = False


@dataclass
class Trace:
    """The ordered events of one simulated call, and the documents it fetched."""

    events: list[TraceEvent] = field(default_factory=list)
    documents: list[FetchedDocument] = field(default_factory=list)
    """Each document reply the call received, in order (not in :meth:`to_dict`: the bodies
    are not redacted)."""

    def add(self, event: TraceEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """Return the events of class ``kind``, in order."""
        return [event for event in self.events if isinstance(event, kind)]

    @property
    def heard(self) -> list[str]:
        """What the caller heard, in order: each Say text (once per loop) and each Play."""
        result: list[str] = []
        for event in self.events:
            if isinstance(event, SayEvent):
                result.extend([" ".join(event.text.split())] * event.loop)
            elif isinstance(event, PlayEvent):
                what = event.url or f"recording:{event.record}"
                result.extend([f"[play {what}]"] * event.loop)
        return result

    @property
    def dialed(self) -> list[str]:
        """Every target dialled, in order."""
        return [target for dial in self.of(DialEvent) for target in dial.targets]

    @property
    def requests(self) -> list[RequestEvent]:
        """Every request made, in order."""
        return self.of(RequestEvent)

    @property
    def hangup(self) -> HangupEvent | None:
        """The hang-up event (the last event of a finished call)."""
        hangups = self.of(HangupEvent)
        return hangups[-1] if hangups else None

    @property
    def hangup_reason(self) -> str | None:
        """Why the call ended."""
        return self.hangup.reason if self.hangup else None

    @property
    def fallbacks(self) -> list[FallbackEvent]:
        """Every fallback document the server sent, in order."""
        return self.of(FallbackEvent)

    @property
    def failed_fetches(self) -> list[FetchFailedEvent]:
        """Every failed document fetch, handled by an ``<Error>`` or not, in order."""
        return self.of(FetchFailedEvent)

    @property
    def failed(self) -> bool:
        """Whether the call did not run as written: the server sent a fallback document, a
        document fetch failed with no ``<Error>`` to handle it, or the call could not start."""
        return (
            bool(self.fallbacks)
            or any(not fetch.handled for fetch in self.failed_fetches)
            or (self.hangup is not None and self.hangup.ended_by == "error")
        )

    @property
    def ended_normally(self) -> bool:
        """Whether the call ended with a Hangup, at the end of a document or because the
        caller hung up, and did not fail (:attr:`failed`): no fallback, no unhandled failed
        fetch."""
        return (
            self.hangup is not None
            and self.hangup.ended_by in ("hangup", "end-of-document", "caller")
            and not self.failed
        )

    @property
    def exit_code(self) -> int:
        """``callflow simulate``'s exit status for this call: 0 only for a call that ran as
        written and ended normally (the caller hanging up included), 1 after a fallback, an
        unhandled failed fetch, an error or a limit."""
        return 0 if self.ended_normally else 1

    def transcript(self) -> str:
        """A readable account of the call, one line per event."""
        return "\n".join(event.describe() for event in self.events)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"events": [...], "hangup_reason": ..., "ended_by": ..., "failed": ...}``
        for JSON output."""
        return {
            "events": [event.to_dict() for event in self.events],
            "hangup_reason": self.hangup_reason,
            "ended_by": self.hangup.ended_by if self.hangup else None,
            "failed": self.failed,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
