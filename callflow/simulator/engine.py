"""A local Opentact: place a call against a flow and record what the caller experiences.

The engine runs documents by the semantics of the spec (§3, rulings of §5, defaults of §7),
makes the round-trip requests Opentact would make (D9) and records an ordered
:class:`~callflow.simulator.trace.Trace`. Inputs are scripted (keys per Gather attempt, an outcome
per
Dial) or asked for interactively.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import uuid as uuids
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from callflow.dialect.elements.audio import Pause, Play, Say, Tone
from callflow.dialect.elements.base import Element
from callflow.dialect.elements.call_control import Answer, Hangup, Hold, Unhold
from callflow.dialect.elements.dial import Dial
from callflow.dialect.elements.document import Error, Meta, Response
from callflow.dialect.elements.filters import Call, Geo, Schedule
from callflow.dialect.elements.gather import DTMF, Gather
from callflow.dialect.elements.recording import Record, RecordStart, RecordStop, RecordWait
from callflow.dialect.elements.remote import Callback, Curl
from callflow.dialect.phone_numbers import same_number, to_e164
from callflow.dialect.reader import MAX_BYTES, load
from callflow.dialect.validation import check
from callflow.server.app import FALLBACK_HEADER
from callflow.simulator.geography import state_of
from callflow.simulator.trace import (
    FALLBACK_TAG,
    REASON_END_OF_DOCUMENT,
    REASON_INVALID_DOCUMENT,
    REASON_MAX_COMMANDS,
    REASON_MAX_FETCHES,
    REASON_WEBHOOK_FAILED,
    AnswerEvent,
    CallbackEvent,
    DialEvent,
    EndedBy,
    ErrorEvent,
    FallbackCause,
    FallbackEvent,
    FetchFailedEvent,
    FilterEvent,
    GatherEvent,
    HangupEvent,
    HoldEvent,
    MetaEvent,
    PauseEvent,
    PlayEvent,
    RecordEvent,
    RequestEvent,
    SayEvent,
    ToneEvent,
    Trace,
    TraceEvent,
    WarningEvent,
    tagged_hangup,
)
from callflow.simulator.transport import SECRET_PARAMS, Reply, Transport, redact, with_query

DialOutcome = Literal["answer", "busy", "no-answer", "fail"]
DIAL_OUTCOMES: Final = ("answer", "busy", "no-answer", "fail")
DIAL_REASONS: Final = {
    "busy": "[originate] ERR USER_BUSY",
    "no-answer": "[originate] ERR NO_USER_RESPONSE",
    "fail": "[originate] ERR CALL_REJECTED",
}

DEFAULT_DTMF_LENGTH: Final = 1  # §7 #2
DEFAULT_GATHER_TIMEOUT_MS: Final = 5000  # §7 #2
DEFAULT_FETCH_TIMEOUT_MS: Final = 10_000  # §7 #7
DEFAULT_HOLD_MS: Final = 300_000  # D15
DEFAULT_PAUSE_MS: Final = 1000  # D13
DEFAULT_RECORD_MS: Final = 10_000  # §7 #7
MAX_FETCHES: Final = 50
MAX_COMMANDS: Final = 10_000
MAX_TIMEOUT_MS: Final = 10_000
"""The longest a request may take, whatever timeout a document asks for."""
MAX_DOCUMENT_BYTES: Final = MAX_BYTES
"""The longest reply body read; the rest is abandoned (the validator's limit)."""
FALLBACK_CAUSES: Final[Mapping[str, FallbackCause]] = {
    "error": "error",
    "timeout": "timeout",
    "invalid": "invalid",
}
"""The causes a callflow App names in ``x-callflow-fallback``; any other is ``unknown``."""
FILLERS: Final = frozenset(("Say", "Play", "Pause"))

Keys = str | None
"""What the caller does at one listening command (a Gather attempt, a Pause with
``dtmf_stop``): keys pressed (``"1234#"``) or no input."""
InputProvider = Callable[["GatherPrompt"], Keys]
DialScript = str | Mapping[str, str]
"""One Dial's outcome: for every target, or per target (``{"15550100200": "busy"}``)."""


@dataclass(frozen=True, slots=True)
class GatherPrompt:
    """What an input provider is told when a command listens for keys: a Gather attempt,
    or (``command="Pause"``) a Pause that a ``dtmf_stop`` key ends early."""

    prompt: list[str]
    attempt: int
    attempts: int
    dtmf_length: int
    dtmf_stop: str | None
    command: Literal["Gather", "Pause"] = "Gather"


@dataclass(frozen=True, slots=True)
class Location:
    """Where the caller is, overriding the number's geocoding (for ``Geo``)."""

    state: str | None
    county: str | None = None

    @classmethod
    def parse(cls, text: str) -> Location:
        """Read ``STATE[,COUNTY]`` (``NJ,ESSEX``)."""
        state, _, county = text.partition(",")
        state = state.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise ValueError(f"location must be STATE[,COUNTY] with a two-letter state: {text!r}")
        return cls(state, county.strip().upper() or None)


class _End(Exception):
    """The call is over."""


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


class _Replace(Exception):
    """A fetched document replaces the rest of the current one (D6, D8)."""

    def __init__(self, document: Response, raw: bytes) -> None:
        self.document = document
        self.raw = raw


@dataclass
class _Outcome:
    ok: bool
    reason: str = ""


def _scripted(keys: Iterable[Keys]) -> InputProvider:
    remaining = iter(list(keys))

    def provide(prompt: GatherPrompt) -> Keys:
        return next(remaining, None)  # scripted input used up: no input

    return provide


def check_dial_script(script: DialScript) -> DialScript:
    """Reject an unknown Dial outcome early (a usage error)."""
    outcomes = script.values() if isinstance(script, Mapping) else [script]
    for outcome in outcomes:
        if outcome not in DIAL_OUTCOMES:
            raise ValueError(f"dial outcome must be one of {', '.join(DIAL_OUTCOMES)}: {outcome!r}")
    return script


@dataclass
class CallRun:
    """The state of one simulated call while it runs."""

    transport: Transport
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
    max_fetches: int
    max_commands: int
    on_event: Callable[[TraceEvent], None] | None = None
    send_events: bool = False
    max_timeout_ms: int = MAX_TIMEOUT_MS
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    secret_params: frozenset[str] = SECRET_PARAMS
    secret_values: frozenset[str] = frozenset()
    uuid: str = field(default_factory=lambda: str(uuids.uuid4()))
    sca: str = field(default_factory=lambda: str(uuids.uuid4()))
    account: str = field(default_factory=lambda: str(uuids.uuid4()))
    elapsed_ms: int = 0
    answered: bool = False
    warned_media: bool = False
    fetches: int = 0
    commands: int = 0
    failures: int = 0
    metas: dict[str, str] = field(default_factory=dict)
    recordings: set[str] = field(default_factory=set)
    recording_now: set[str] = field(default_factory=set)
    legacy_callbacks: set[int] = field(default_factory=set)
    gather_history: list[dict[str, Any]] = field(default_factory=list)
    current_url: str | None = None
    path: str = ""
    """Where the running command is, as events name it (``Gather[3]/DTMF[1]/Dial[0]``)."""
    collecting: bool = False
    """A Gather is collecting: its fillers do not listen for keys on their own."""
    failed_here: set[int] = field(default_factory=set)
    """The commands (``id``) that failed while running, so each sends one event."""
    _last_failure: str = ""
    """Why the last request or document failed, for the Error handler and the trace."""
    _last_url: str = ""
    """The URL of the last request, as it was sent."""

    # -- recording the trace ---------------------------------------------------------------

    def emit(self, event: TraceEvent) -> None:
        self.trace.add(event)
        if self.on_event is not None:
            self.on_event(event)
        if isinstance(event, FallbackEvent) and _fallback_listeners:
            for listener in list(_fallback_listeners):
                listener(event)

    def end(self, ended_by: EndedBy, reason: str, tag: str | None = None, detail: str = "") -> _End:
        """Record the end of the call; the call-state events go out once the commands still
        running have sent theirs (:meth:`run`)."""
        self.emit(HangupEvent(reason, ended_by, tag, detail))
        return _End(reason)

    def shown(self, url: str) -> str:
        """``url`` as the trace records it: secrets redacted (the request uses the real one)."""
        return self.scrub(redact(url, self.secret_params))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret value (an access key) replaced."""
        for value in self.secret_values:
            if value:
                text = text.replace(value, "REDACTED")
        return text

    # -- running ---------------------------------------------------------------------------

    def run(self) -> Trace:
        self._send_state("init")
        self._send_state("ringing")
        if self.auto_answer:
            self.answered = True
            self._send_state("live")
        try:
            document, raw = self._first_document()
            while True:
                self._mark_legacy(document, raw)
                try:
                    self.block(document.children)
                except _Replace as replaced:
                    document, raw = replaced.document, replaced.raw
                    continue
                raise self.end("end-of-document", REASON_END_OF_DOCUMENT, None, "Opentact hangs up")
        except _End:
            pass
        self._send_state("hangup")
        self._send_state("destroyed")
        return self.trace

    def _first_document(self) -> tuple[Response, bytes]:
        if self.transport.document is not None:
            raw = self.transport.document
            document = self._document(raw, "the XML file")
            if document is None:
                raise self.end(
                    "error", REASON_INVALID_DOCUMENT, None, "the XML file is not a valid document"
                )
            return document, raw
        url = self.transport.start_url or ""
        params = {"from": self.from_, "to": self.to}
        body = self.call_object() if self.method == "POST" else None
        fetched = self.fetch(self.method, url, params, "webhook", json_body=body)
        if fetched is None:
            self.emit(FetchFailedEvent(self.shown(self._last_url), "webhook", self._last_failure))
            raise self.end(
                "error", REASON_WEBHOOK_FAILED, None, f"{self._last_failure}; Opentact hangs up"
            )
        return fetched

    @contextlib.contextmanager
    def level(self, el: Element, index: int) -> Iterator[None]:
        """Name ``el``, child ``index`` of the running element, in event paths (§1)."""
        parent = self.path
        self.path = f"{parent}/{el.xml_tag}[{index}]" if parent else f"{el.xml_tag}[{index}]"
        try:
            yield
        finally:
            self.path = parent

    def block(self, children: Sequence[Element]) -> None:
        """Run a command block; an ``<Error>`` among the children only runs on a failure."""
        for index, child in enumerate(children):
            if isinstance(child, Error):
                continue
            with self.level(child, index):
                self.command(child)

    def command(self, el: Element) -> None:
        self.commands += 1
        if self.commands > self.max_commands:
            raise self.end(
                "limit", REASON_MAX_COMMANDS, None, f"more than {self.max_commands} commands"
            )
        handler = _HANDLERS.get(type(el))
        if handler is None:
            return
        key = id(el)
        # One call_flow event per executed command (§6.3): a failure sent it already, a
        # Hangup sends its own; a container is reported however its children ended.
        try:
            handler(self, el)
        except _Replace:
            if key not in self.failed_here:
                self._send_flow(el, True, "document replaced")
            raise
        except _End:
            if key not in self.failed_here and not isinstance(el, Hangup):
                self._send_flow(el, True, "the call ended")
            raise
        else:
            if key not in self.failed_here:
                self._send_flow(el, True, "done")
        finally:
            self.failed_here.discard(key)

    def fail(self, el: Element, reason: str) -> None:
        """Record a failure of ``el`` and run its ``<Error>`` handler if it has one (D7)."""
        self.failures += 1
        self.failed_here.add(id(el))
        handler = el.error
        self.emit(ErrorEvent(el.xml_tag, reason, handled=handler is not None))
        self._send_flow(el, False, reason)
        if isinstance(handler, Error):
            index = next(i for i, child in enumerate(el.children) if child is handler)
            with self.level(handler, index):
                if handler.say:
                    self.emit(SayEvent(reason))
                self.block(handler.children)

    def fetch_failed(self, el: Element, purpose: str) -> None:
        """A document fetch of ``el`` failed: trace it, then run ``el``'s ``<Error>`` (D6, D8)."""
        reason = self._last_failure
        url = self.shown(self._last_url)
        self.emit(FetchFailedEvent(url, purpose, reason, el.error is not None))
        self.fail(el, reason)

    def media(self) -> None:
        if not self.answered and not self.warned_media:
            self.warned_media = True
            self.emit(WarningEvent("media before <Answer/> with auto_answer off (§7 #19)"))

    def now(self) -> datetime:
        return (self.start + timedelta(milliseconds=self.elapsed_ms)).astimezone(self.tz)

    # -- HTTP --------------------------------------------------------------------------------

    def d9(self) -> dict[str, str]:
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

    def fetch(
        self,
        method: str,
        url: str,
        params: dict[str, str],
        purpose: str,
        *,
        json_body: Any = None,
        timeout_ms: int | None = None,
    ) -> tuple[Response, bytes] | None:
        """Fetch and validate a document; None (with the reason traced) when it fails."""
        reply, full = self.send(
            method, url, params, purpose, json_body=json_body, timeout_ms=timeout_ms
        )
        if reply is None:
            return None
        shown = self.shown(full)
        if reply.error is not None or reply.status is None:
            self._last_failure = self.scrub(reply.error or "request failed")
            return None
        if not 200 <= reply.status < 300:
            self._last_failure = f"HTTP {reply.status} from {shown}"
            return None
        if reply.too_large:
            self._last_failure = (
                f"the reply from {shown} is larger than the limit of "
                f"{self.max_document_bytes} bytes (the rest was not read)"
            )
            self.emit(WarningEvent(self._last_failure))
            return None
        document = self._document(reply.body, shown)
        if document is None:
            return None
        if FALLBACK_HEADER not in reply.headers and _ends_in_fallback(document):
            self.emit(FallbackEvent(shown, "unknown"))  # a server that is not callflow's
        self.current_url = full
        return document, reply.body

    def send(
        self,
        method: str,
        url: str,
        params: dict[str, str],
        purpose: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        timeout_ms: int | None = None,
    ) -> tuple[Reply | None, str]:
        """Make one request (a document fetch or a Curl, both counted in ``max_fetches``)."""
        self.fetches += 1
        if self.fetches > self.max_fetches:
            raise self.end(
                "limit",
                REASON_MAX_FETCHES,
                None,
                f"more than {self.max_fetches} requests, documents and Curl",
            )
        recorded = {
            name: ("REDACTED" if name in self.secret_params else value)
            for name, value in params.items()
        }
        resolved = self.transport.resolve(url)
        self._last_url = url
        if resolved is None:
            shown = self.shown(url)
            self._last_failure = f"cannot resolve the path-only URL {shown!r} without a server"
            self.emit(RequestEvent(method, shown, recorded, None, purpose, self._last_failure))
            return None, url
        full = self._last_url = with_query(resolved, params)
        wanted = timeout_ms or DEFAULT_FETCH_TIMEOUT_MS  # no timeout (or 0): the default
        reply = self.transport.request(
            method,
            full,
            json_body=json_body,
            content=content,
            content_type=content_type,
            timeout_ms=min(wanted, self.max_timeout_ms),  # a document cannot ask for more
            max_bytes=self.max_document_bytes,
        )
        error = self.scrub(reply.error) if reply.error is not None else None
        self.emit(RequestEvent(method, self.shown(full), recorded, reply.status, purpose, error))
        cause = reply.headers.get(FALLBACK_HEADER)
        if cause is not None:
            self.emit(FallbackEvent(self.shown(full), FALLBACK_CAUSES.get(cause, "unknown")))
        return reply, full

    def _document(self, body: bytes, source: str) -> Response | None:
        problems, document, _ = check(body, max_bytes=self.max_document_bytes)
        if document is None:
            first = problems[0] if problems else None
            where = f"{first.line}:{first.column}: {first.message}" if first else "invalid"
            self._last_failure = f"invalid document from {source}: {where}"
            self.emit(WarningEvent(self._last_failure))
            return None
        return document

    def _mark_legacy(self, document: Response, raw: bytes) -> None:
        """Remember the Gathers written with the legacy ``callback`` attribute (§2.3).

        Parsing normalises ``callback`` to ``url``; the raw tree says which were legacy. The
        builder keeps Gathers in document order, so the two lists pair up.
        """
        self.legacy_callbacks = set()
        if b"callback" not in raw:
            return
        loaded = load(raw)
        if loaded.tree is None:
            return
        raw_gathers = list(loaded.tree.iter("Gather"))
        gathers = [el for el in document.iter() if isinstance(el, Gather)]
        for el, node in zip(gathers, raw_gathers, strict=False):
            if "callback" in node.attrib:
                self.legacy_callbacks.add(id(el))

    # -- events to the App's webhook (optional) ------------------------------------------

    def _send_state(self, state: str) -> None:
        if not self.send_events or self.transport.app is None:
            return
        message = f"CallSCA in {self.from_} > {self.to} - {state}"
        body = {
            "uuid": str(uuids.uuid4()),
            "type": "call_state",
            "created_on": self.now().isoformat(),
            "message": message,
            "payload": {"state": state, "duration": self.elapsed_ms // 1000},
            "call": {**self.call_object(), "state": state},
        }
        self._post_event(body)

    def _send_flow(self, el: Element, success: bool, reason: str) -> None:
        if not self.send_events or self.transport.app is None:
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
        self._post_event(body)

    def _post_event(self, body: dict[str, Any]) -> None:
        app = self.transport.app
        if app is None:
            return
        url = with_query(self.transport.base + app.settings.events_path, self.transport.query)
        self.transport.request("POST", url, json_body=body)

    # -- commands ----------------------------------------------------------------------------

    def answer(self, el: Answer) -> None:
        already = self.answered
        self.answered = True
        self.elapsed_ms += el.delay or 0  # the delay runs after answering (§7 #1)
        self.emit(AnswerEvent(el.delay or 0, el.tag))
        if not already:  # an auto-answered call is live already
            self._send_state("live")

    def hangup(self, el: Hangup) -> None:
        self._send_flow(el, True, "hangup")
        raise self.end("hangup", tagged_hangup(el.tag), el.tag)

    def say(self, el: Say) -> None:
        self.media()
        self.emit(SayEvent(el.text, el.loop or 1, el.lang))
        self.elapsed_ms += 60 * len(el.text) * (el.loop or 1)  # about 16 characters a second

    def play(self, el: Play) -> None:
        self.media()
        if el.record is not None and el.record not in self.recordings | self.recording_now:
            self.fail(el, f"no recording named {el.record!r} on this call")
            return
        url = self.shown(el.url) if el.url is not None else None
        self.emit(PlayEvent(url, el.record, el.loop or 1))

    def pause(self, el: Pause) -> None:
        length = el.length if el.length is not None else DEFAULT_PAUSE_MS
        if el.dtmf_stop is not None and not self.collecting:
            # A Pause with a stop key listens (§3.6): it takes the caller's next key presses,
            # and ends early when they hold its key. A Gather's filler leaves them to it.
            prompt = GatherPrompt([], 1, 1, 1, el.dtmf_stop, command="Pause")
            pressed = self.inputs(prompt)
            if pressed and el.dtmf_stop in pressed:
                self.emit(PauseEvent(length, pressed, stopped=True))
                return
            self.elapsed_ms += length
            self.emit(PauseEvent(length, pressed))
            return
        self.elapsed_ms += length
        self.emit(PauseEvent(length))

    def tone(self, el: Tone) -> None:
        self.media()
        self.emit(ToneEvent(el.hz, el.loop or 1))
        self._meta_children(el)

    def hold(self, el: Hold) -> None:
        self.emit(HoldEvent("hold", el.tag))
        # Nothing takes a simulated call off hold early: the timeout expires (§7 #9).
        self.elapsed_ms += el.timeout if el.timeout is not None else DEFAULT_HOLD_MS
        self.emit(HoldEvent("unhold (hold timeout)", el.tag))

    def unhold(self, el: Unhold) -> None:
        self.emit(HoldEvent("unhold", el.tag))

    def meta(self, el: Meta) -> None:
        self.metas[el.name] = el.value
        self.emit(MetaEvent(el.name, el.value))

    def _meta_children(self, el: Element) -> None:
        for child in el.children:
            if isinstance(child, Meta):
                self.meta(child)

    def record(self, el: Record) -> None:
        self.media()
        tag = el.tag or f"record-{len(self.recordings) + 1}"
        length = el.timeout if el.timeout is not None else DEFAULT_RECORD_MS
        self.emit(RecordEvent("record", el.tag, length))
        self.recording_now.add(tag)
        try:
            self.block(el.children)
        finally:
            self.recording_now.discard(tag)
            self.recordings.add(tag)
        self.elapsed_ms += length if not el.children else 0

    def record_start(self, el: RecordStart) -> None:
        self.recording_now.add(el.tag or "")
        self.emit(RecordEvent("start", el.tag))

    def record_stop(self, el: RecordStop) -> None:
        self._finish_recording(el, "stop")

    def record_wait(self, el: RecordWait) -> None:
        self._finish_recording(el, "wait")  # waits until the recording is done (§7 #8)

    def _finish_recording(self, el: RecordStop | RecordWait, action: str) -> None:
        tag = el.tag or ""
        if tag not in self.recording_now:
            if action == "wait" and tag in self.recordings:  # already finished: no wait
                self.emit(RecordEvent(action, el.tag))
                return
            self.fail(el, f"no recording {tag!r} in progress")
            return
        self.recording_now.discard(tag)
        self.recordings.add(tag)
        self.emit(RecordEvent(action, el.tag))

    def dial(self, el: Dial) -> None:
        targets = [t.target for t in el.targets]
        script = next(self.dials, "answer")
        outcomes = {
            target: (script.get(target, "no-answer") if isinstance(script, Mapping) else script)
            for target in targets
        }
        winner = next((t for t in targets if outcomes[t] == "answer"), None)
        self._meta_children(el)
        if winner is not None:  # first answer wins; the rest are cancelled (D10)
            self.emit(DialEvent(targets, "answer", winner))
            return  # the far end hung up: continue after </Dial>
        distinct = set(outcomes.values())
        outcome = distinct.pop() if len(distinct) == 1 else "no-answer"
        self.emit(DialEvent(targets, outcome))
        self.fail(el, DIAL_REASONS[outcome])

    def gather(self, el: Gather) -> None:
        length = el.dtmf_length or DEFAULT_DTMF_LENGTH
        attempts = el.attempts or 1
        legacy = id(el) in self.legacy_callbacks
        self._meta_children(el)
        for attempt in range(1, attempts + 1):
            before = len(self.trace.events)
            self.collecting = True
            try:
                for index, child in enumerate(el.children):
                    if child.xml_tag in FILLERS:
                        with self.level(child, index):
                            self.command(child)
            finally:
                self.collecting = False
            prompt = [e.text for e in self.trace.events[before:] if isinstance(e, SayEvent)]
            pressed = self.inputs(GatherPrompt(prompt, attempt, attempts, length, el.dtmf_stop))
            digits = collect(pressed, length, el.dtmf_stop)
            if digits is None:
                timeout = el.timeout if el.timeout is not None else DEFAULT_GATHER_TIMEOUT_MS
                self.elapsed_ms += timeout
            if legacy:
                if self._legacy_callback(el, digits, attempt, attempts, pressed, prompt):
                    return
                continue
            if digits is None:
                self.emit(GatherEvent(prompt, pressed, None, "no-input", attempt))
                continue
            if el.url is not None:
                self.emit(GatherEvent(prompt, pressed, digits, "url", attempt))
                params = {**self.d9(), "dtmf": digits}
                body = self.call_object() if el.method == "POST" else None
                fetched = self.fetch(
                    el.method or "GET",
                    el.url,
                    params,
                    "gather",
                    json_body=body,
                    timeout_ms=el.timeout,
                )
                if fetched is None:
                    self.fetch_failed(el, "gather")
                    return
                raise _Replace(*fetched)
            for index, child in enumerate(el.children):
                if isinstance(child, DTMF) and child.value == digits:
                    self.emit(GatherEvent(prompt, pressed, digits, "match", attempt, child.value))
                    with self.level(child, index):
                        self.block(child.children)
                    return
            default = el.default
            outcome = "default" if default is not None else "no-match"
            self.emit(GatherEvent(prompt, pressed, digits, outcome, attempt))
            if default is not None:
                index = next(i for i, child in enumerate(el.children) if child is default)
                with self.level(default, index):
                    self.block(default.children)
            return
        self.fail(el, "no input")

    def _legacy_callback(
        self,
        el: Gather,
        digits: str | None,
        attempt: int,
        attempts: int,
        pressed: Keys,
        prompt: list[str],
    ) -> bool:
        """Call the legacy ``callback`` after an attempt (§2.3); True when the Gather is done."""
        success = digits is not None
        self.emit(GatherEvent(prompt, pressed, digits, "callback", attempt))
        params = {
            "code": digits or "",
            "success": "true" if success else "false",
            "attempts": str(attempt),
        }
        self.gather_history.append({"attempt": attempt, "code": digits, "success": success})
        body = None
        if el.method == "POST":  # the call object and the Gather history (§2.3, §7 #6)
            body = {**self.call_object(), "gather": list(self.gather_history)}
        fetched = self.fetch(
            el.method or "GET",
            el.url or "",
            params,
            "gather-callback",
            json_body=body,
            timeout_ms=el.timeout,
        )
        if not success and attempt < attempts:
            return False  # retried; the reply to a failed attempt is not run, nor its failure
        if fetched is None:
            self.fetch_failed(el, "gather-callback")
            return True
        raise _Replace(*fetched)

    def callback(self, el: Callback) -> None:
        method = el.method or "GET"
        self.emit(CallbackEvent(self.shown(el.url), method, el.tag))
        self._meta_children(el)
        params = self.d9()
        if el.tag is not None:
            params["tag"] = el.tag
        for name, value in self.metas.items():
            params.setdefault(name, value)  # a built-in parameter wins (§7 #16)
        body = self.call_object() if el.body else None
        fetched = self.fetch(
            method, el.url, params, "callback", json_body=body, timeout_ms=el.timeout
        )
        if fetched is None:
            self.fetch_failed(el, "callback")
            return
        raise _Replace(*fetched)

    def curl(self, el: Curl) -> None:
        method = el.method or ("POST" if el.body else "GET")
        content = el.body.encode() if el.body is not None else None
        reply, _ = self.send(
            method,
            el.url,
            {},
            "curl",
            content=content,
            content_type="text/plain" if content else None,
            timeout_ms=el.timeout,
        )
        if reply is None or reply.status is None or not 200 <= reply.status < 300:
            if reply is None:
                reason = self._last_failure
            else:
                reason = self.scrub(reply.error) if reply.error else f"HTTP {reply.status}"
            self.fail(el, f"curl failed: {reason}")
            return
        # The reply is never run (D18), and a long one is not read to its end.

    def call_filter(self, el: Call) -> None:
        matched = True
        detail = ""
        if el.field is not None:
            actual = {
                "from": self.from_,
                "to": self.to,
                "tn": self.to,
                "direction": "in",
                "state": "live" if self.answered else "ringing",
            }[el.field]
            if el.field in ("from", "to", "tn"):
                matched = same_number(el.value, actual)
            else:
                matched = el.value == actual
            detail = f"({el.field}={actual!r}, wanted {el.value!r})"
        self._filter(el, matched, detail)

    def geo(self, el: Geo) -> None:
        state = self.location.state if self.location else state_of(to_e164(self.from_) or "")
        county = self.location.county if self.location else None
        matched = (not el.states or state in el.states) and (
            el.county is None or county == el.county
        )  # both conditions must hold (§7 #13)
        self._filter(
            el, matched, f"(caller in {state or 'unknown state'}{', ' + county if county else ''})"
        )

    def schedule(self, el: Schedule) -> None:
        now = self.now()
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.weekday()]
        matched = el.dow is None or day in el.dow
        if matched and el.time is not None:
            matched = in_time_range(now.strftime("%H:%M:%S"), el.time)
        self._filter(el, matched, f"({now:%a %H:%M:%S %Z})")

    def _filter(self, el: Call | Geo | Schedule, matched: bool, detail: str) -> None:
        self.emit(FilterEvent(el.xml_tag, matched, detail))
        if matched:
            self.block(el.children)


def _ends_in_fallback(document: Response) -> bool:
    """Whether ``document`` is callflow's fallback (``<Hangup tag="callflow-fallback"/>``)."""
    return any(isinstance(el, Hangup) and el.tag == FALLBACK_TAG for el in document.iter())


def collect(pressed: Keys, length: int, stop: str | None) -> str | None:
    """The digits a Gather collects from ``pressed`` (D6): up to ``length`` digits, ending at
    the stop key (not part of the code). Only the stop key, or nothing: no input (§7 #3)."""
    if not pressed:
        return None
    digits = ""
    for key in pressed:
        if stop is not None and key == stop:
            break
        digits += key
        if len(digits) >= length:
            break
    return digits or None


def in_time_range(clock: str, time_range: str) -> bool:
    """Whether ``HH:MM:SS`` is in the inclusive range; a range may cross midnight (§7 #14)."""
    start, end = time_range.split("-")
    if start <= end:
        return start <= clock <= end
    return clock >= start or clock <= end


_HANDLERS: dict[type[Element], Callable[[CallRun, Any], None]] = {
    Answer: CallRun.answer,
    Hangup: CallRun.hangup,
    Say: CallRun.say,
    Play: CallRun.play,
    Pause: CallRun.pause,
    Tone: CallRun.tone,
    Hold: CallRun.hold,
    Unhold: CallRun.unhold,
    Meta: CallRun.meta,
    Record: CallRun.record,
    RecordStart: CallRun.record_start,
    RecordStop: CallRun.record_stop,
    RecordWait: CallRun.record_wait,
    Dial: CallRun.dial,
    Gather: CallRun.gather,
    Callback: CallRun.callback,
    Curl: CallRun.curl,
    Call: CallRun.call_filter,
    Geo: CallRun.geo,
    Schedule: CallRun.schedule,
}


class Simulator:
    """Plays Opentact's part against ``target``: a callflow ``App`` (in process, no
    sockets), ``"module:attribute"``, an ``http(s)://`` URL of any server, or an XML file.

    ``query`` is added to the webhook URL (an access key, say) and ``auth`` is sent as HTTP
    Basic credentials to the target, for servers with access control.

    No server is trusted: each request has one total deadline, a document's own ``timeout``
    capped by ``max_timeout_ms``; a reply body is abandoned past ``max_document_bytes``;
    ``max_fetches`` bounds documents and Curl requests together. With ``redact`` (the
    default) the trace shows ``token``, ``cf_state``, ``cf_session``, the ``query``
    parameters and the App's access key as ``REDACTED``; the requests carry the real values.

    >>> from callflow import App, Response, Say, Hangup
    >>> app = App(secret="doc")
    >>> _ = app.flow("/")(lambda call: Response(Say("Hi"), Hangup()))  # doctest: +SKIP
    """

    def __init__(
        self,
        target: object,
        *,
        auto_answer: bool = True,
        method: Literal["GET", "POST"] = "GET",
        tz: str | None = None,
        events: bool = False,
        max_fetches: int = MAX_FETCHES,
        max_commands: int = MAX_COMMANDS,
        max_timeout_ms: int = MAX_TIMEOUT_MS,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        query: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        redact: bool = True,
    ) -> None:
        if max_timeout_ms <= 0 or max_document_bytes <= 0:
            raise ValueError("max_timeout_ms and max_document_bytes must be > 0")
        self.transport = Transport(target, auth=auth)
        self.transport.query = dict(query or {})
        if query and self.transport.start_url is not None:
            # e.g. the access key of a locked-down App: {"token": "..."}
            self.transport.start_url = with_query(self.transport.start_url, dict(query))
        self.auto_answer = auto_answer
        self.method = method
        if tz is None:  # the App's time zone, else UTC (D19)
            app = self.transport.app
            tz = app.settings.time_zone if app is not None else "UTC"
        self.tz = ZoneInfo(tz)
        self.events = events
        self.max_fetches = max_fetches
        self.max_commands = max_commands
        self.max_timeout_ms = max_timeout_ms
        self.max_document_bytes = max_document_bytes
        # The access key and the tokens the App puts on links never appear in a trace.
        names = set(SECRET_PARAMS) | set(query or {})
        values = set((query or {}).values())
        app = self.transport.app
        if app is not None and app.settings.access_key is not None:
            names.add(app.settings.access_key_param)
            values.add(app.settings.access_key)
        self.secret_params = frozenset(names) if redact else frozenset()
        self.secret_values = frozenset(v for v in values if len(v) >= 4) if redact else frozenset()

    def call(
        self,
        *,
        from_: str = "+15550100999",
        to: str = "+15550100200",
        keys: Iterable[Keys] = (),
        dial: Iterable[DialScript] = (),
        at: datetime | None = None,
        tz: str | None = None,
        location: Location | str | None = None,
        input: InputProvider | None = None,
        on_event: Callable[[TraceEvent], None] | None = None,
    ) -> Trace:
        """Place one call and return its :class:`Trace`.

        ``keys`` answers Gather attempts in order (``None`` = no input; when they run out,
        further attempts get no input); ``dial`` gives each Dial's outcome (``answer``,
        ``busy``, ``no-answer``, ``fail``; default ``answer``); ``at`` is the call's start
        time for Schedule (naive times are in ``tz``); ``location`` overrides the caller's
        ``STATE[,COUNTY]`` for Geo; ``input`` asks for keys instead of ``keys``.
        """
        zone = ZoneInfo(tz) if tz is not None else self.tz
        start = at or datetime.now(zone)
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        if isinstance(location, str):
            location = Location.parse(location)
        scripts = [check_dial_script(script) for script in dial]
        app = self.transport.app
        region = app.settings.default_region if app is not None else "US"
        run = CallRun(
            transport=self.transport,
            trace=Trace(),
            from_=to_e164(from_, region) or from_,
            to=to_e164(to, region) or to,
            inputs=input or _scripted(keys),
            dials=itertools.chain(scripts),
            start=start,
            tz=zone,
            location=location,
            auto_answer=self.auto_answer,
            method=self.method,
            max_fetches=self.max_fetches,
            max_commands=self.max_commands,
            on_event=on_event,
            send_events=self.events,
            max_timeout_ms=self.max_timeout_ms,
            max_document_bytes=self.max_document_bytes,
            secret_params=self.secret_params,
            secret_values=self.secret_values,
        )
        return run.run()

    def close(self) -> None:
        """Release the in-process client and HTTP connections."""
        self.transport.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
