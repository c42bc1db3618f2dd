"""What each command does on a simulated call: one handler per element, run by the engine.

A handler takes the running :class:`~callflow.simulator.engine.CallRun` and the element; it
traces what the caller experiences, moves the call's clock, and sends a command that fails
to its ``<Error>`` handler. The defaults are those of the spec (§7) and its rulings (§5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from callflow.dialect.elements.audio import Pause, Play, Say, Tone
from callflow.dialect.elements.base import Element
from callflow.dialect.elements.call_control import Answer, Hangup, Hold, Unhold
from callflow.dialect.elements.dial import Dial
from callflow.dialect.elements.document import Meta
from callflow.dialect.elements.filters import Call, Geo, Schedule
from callflow.dialect.elements.gather import DEFAULT_DTMF_LENGTH, DTMF, Gather
from callflow.dialect.elements.recording import Record, RecordStart, RecordStop, RecordWait
from callflow.dialect.elements.remote import Callback, Curl
from callflow.dialect.phone_numbers import same_number, to_e164
from callflow.simulator.fetching import Request
from callflow.simulator.geography import state_of
from callflow.simulator.inputs import GatherPrompt, Keys
from callflow.simulator.trace import (
    AnswerEvent,
    CallbackEvent,
    DialEvent,
    FilterEvent,
    GatherEvent,
    HoldEvent,
    MetaEvent,
    PauseEvent,
    PlayEvent,
    RecordEvent,
    SayEvent,
    ToneEvent,
    WarningEvent,
    tagged_hangup,
)

if TYPE_CHECKING:
    from callflow.simulator.engine import CallRun

DEFAULT_GATHER_TIMEOUT_MS: Final = 5000  # §7 #2
DEFAULT_HOLD_MS: Final = 300_000  # D15
DEFAULT_PAUSE_MS: Final = 1000  # D13
DEFAULT_RECORD_MS: Final = 10_000  # §7 #7
FILLERS: Final = frozenset(("Say", "Play", "Pause"))
"""The children of a Gather that play while it listens."""
DIAL_REASONS: Final = {
    "busy": "[originate] ERR USER_BUSY",
    "no-answer": "[originate] ERR NO_USER_RESPONSE",
    "fail": "[originate] ERR CALL_REJECTED",
}
"""The failure reason of a Dial that no target answered, by outcome."""


def answer(call: CallRun, el: Answer) -> None:
    already = call.answered
    call.answered = True
    call.elapsed_ms += el.delay or 0  # the delay runs after answering (§7 #1)
    call.emit(AnswerEvent(el.delay or 0, el.tag))
    if not already:  # an auto-answered call is live already
        call.send_state("live")


def hangup(call: CallRun, el: Hangup) -> None:
    call.send_flow(el, True, "hangup")
    raise call.end("hangup", tagged_hangup(el.tag), el.tag)


def _warn_before_answer(call: CallRun) -> None:
    """Warn, once, of media played on a call that was not answered."""
    if not call.answered and not call.warned_media:
        call.warned_media = True
        call.emit(WarningEvent("media before <Answer/> with auto_answer off (§7 #19)"))


def say(call: CallRun, el: Say) -> None:
    if not call.answered:
        _warn_before_answer(call)
    text = el.text
    loop = el.loop or 1
    call.emit(SayEvent(text, loop, el.lang))
    call.elapsed_ms += 60 * len(text) * loop  # about 16 characters a second


def play(call: CallRun, el: Play) -> None:
    _warn_before_answer(call)
    if el.record is not None and el.record not in call.recordings | call.recording_now:
        call.run_error_handler(el, f"no recording named {el.record!r} on this call")
        return
    url = call.http.shown(el.url) if el.url is not None else None
    call.emit(PlayEvent(url, el.record, el.loop or 1))


def pause(call: CallRun, el: Pause) -> None:
    length = el.length if el.length is not None else DEFAULT_PAUSE_MS
    if el.dtmf_stop is not None and not call.collecting:
        # A Pause with a stop key listens (§3.6): it takes the caller's next key presses,
        # and ends early when they hold its key. A Gather's filler leaves them to it.
        pressed = call.inputs(GatherPrompt([], 1, 1, 1, el.dtmf_stop, command="Pause"))
        if pressed and el.dtmf_stop in pressed:
            call.emit(PauseEvent(length, pressed, stopped=True))
            return
        call.elapsed_ms += length
        call.emit(PauseEvent(length, pressed))
        return
    call.elapsed_ms += length
    call.emit(PauseEvent(length))


def tone(call: CallRun, el: Tone) -> None:
    _warn_before_answer(call)
    call.emit(ToneEvent(el.hz, el.loop or 1))
    _meta_children(call, el)


def hold(call: CallRun, el: Hold) -> None:
    call.emit(HoldEvent("hold", el.tag))
    # Nothing takes a simulated call off hold early: the timeout expires (§7 #9).
    call.elapsed_ms += el.timeout if el.timeout is not None else DEFAULT_HOLD_MS
    call.emit(HoldEvent("unhold (hold timeout)", el.tag))


def unhold(call: CallRun, el: Unhold) -> None:
    call.emit(HoldEvent("unhold", el.tag))


def meta(call: CallRun, el: Meta) -> None:
    call.metas[el.name] = el.value
    call.emit(MetaEvent(el.name, el.value))


def _meta_children(call: CallRun, el: Element) -> None:
    for child in el.children:
        if isinstance(child, Meta):
            meta(call, child)


def record(call: CallRun, el: Record) -> None:
    _warn_before_answer(call)
    tag = el.tag or f"record-{len(call.recordings) + 1}"
    length = el.timeout if el.timeout is not None else DEFAULT_RECORD_MS
    call.emit(RecordEvent("record", el.tag, length))
    call.recording_now.add(tag)
    try:
        call.run_block(el.children)
    finally:
        call.recording_now.discard(tag)
        call.recordings.add(tag)
    call.elapsed_ms += length if not el.children else 0


def record_start(call: CallRun, el: RecordStart) -> None:
    call.recording_now.add(el.tag or "")
    call.emit(RecordEvent("start", el.tag))


def record_stop(call: CallRun, el: RecordStop) -> None:
    _finish_recording(call, el, "stop")


def record_wait(call: CallRun, el: RecordWait) -> None:
    _finish_recording(call, el, "wait")  # waits until the recording is done (§7 #8)


def _finish_recording(call: CallRun, el: RecordStop | RecordWait, action: str) -> None:
    tag = el.tag or ""
    if tag not in call.recording_now:
        if action == "wait" and tag in call.recordings:  # already finished: no wait
            call.emit(RecordEvent(action, el.tag))
            return
        call.run_error_handler(el, f"no recording {tag!r} in progress")
        return
    call.recording_now.discard(tag)
    call.recordings.add(tag)
    call.emit(RecordEvent(action, el.tag))


def dial(call: CallRun, el: Dial) -> None:
    targets = [t.target for t in el.targets]
    script = next(call.dials, "answer")
    outcomes = {
        target: (script.get(target, "no-answer") if isinstance(script, Mapping) else script)
        for target in targets
    }
    winner = next((t for t in targets if outcomes[t] == "answer"), None)
    _meta_children(call, el)
    if winner is not None:  # first answer wins; the rest are cancelled (D10)
        call.emit(DialEvent(targets, "answer", winner))
        return  # the far end hung up: continue after </Dial>
    distinct = set(outcomes.values())
    outcome = distinct.pop() if len(distinct) == 1 else "no-answer"
    call.emit(DialEvent(targets, outcome))
    call.run_error_handler(el, DIAL_REASONS[outcome])


def gather(call: CallRun, el: Gather) -> None:
    length = el.dtmf_length or DEFAULT_DTMF_LENGTH
    attempts = el.attempts or 1
    legacy = id(el) in call.legacy_callbacks
    children = el.children
    stop = el.dtmf_stop
    fillers = [(index, child) for index, child in enumerate(children) if child.xml_tag in FILLERS]
    _meta_children(call, el)
    events = call.trace.events
    for attempt in range(1, attempts + 1):
        before = len(events)
        call.collecting = True
        try:
            for index, child in fillers:
                with call.inside(child, index):
                    call.run_command(child)
        finally:
            call.collecting = False
        prompt = [e.text for e in events[before:] if isinstance(e, SayEvent)]
        pressed = call.inputs(GatherPrompt(prompt, attempt, attempts, length, stop))
        digits = collect(pressed, length, stop)
        if digits is None:
            call.elapsed_ms += el.timeout if el.timeout is not None else DEFAULT_GATHER_TIMEOUT_MS
        if legacy:
            if _legacy_callback(call, el, digits, attempt, attempts, pressed, prompt):
                return
            continue
        if digits is None:
            call.emit(GatherEvent(prompt, pressed, None, "no-input", attempt))
            continue
        if el.url is not None:
            call.emit(GatherEvent(prompt, pressed, digits, "url", attempt))
            params = {**call.appended_params(), "dtmf": digits}
            body = call.call_object() if el.method == "POST" else None
            request = Request(
                el.method or "GET", el.url, params, "gather", json_body=body, timeout_ms=el.timeout
            )
            call.follow(el, request)
            return
        for index, child in enumerate(children):
            if isinstance(child, DTMF) and child.value == digits:
                call.emit(GatherEvent(prompt, pressed, digits, "match", attempt, child.value))
                with call.inside(child, index):
                    call.run_block(child.children)
                return
        default = el.default
        outcome = "default" if default is not None else "no-match"
        call.emit(GatherEvent(prompt, pressed, digits, outcome, attempt))
        if default is not None:
            index = next(i for i, child in enumerate(children) if child is default)
            with call.inside(default, index):
                call.run_block(default.children)
        return
    call.run_error_handler(el, "no input")


def _legacy_callback(
    call: CallRun,
    el: Gather,
    digits: str | None,
    attempt: int,
    attempts: int,
    pressed: Keys,
    prompt: list[str],
) -> bool:
    """Call the legacy ``callback`` after an attempt (§2.3); True when the Gather is done."""
    success = digits is not None
    call.emit(GatherEvent(prompt, pressed, digits, "callback", attempt))
    params = {
        "code": digits or "",
        "success": "true" if success else "false",
        "attempts": str(attempt),
    }
    call.gather_history.append({"attempt": attempt, "code": digits, "success": success})
    body = None
    if el.method == "POST":  # the call object and the Gather history (§2.3, §7 #6)
        body = {**call.call_object(), "gather": list(call.gather_history)}
    request = Request(
        el.method or "GET",
        el.url or "",
        params,
        "gather-callback",
        json_body=body,
        timeout_ms=el.timeout,
    )
    if not success and attempt < attempts:
        call.http.fetch(request)  # retried: its reply is not run, nor its failure
        return False
    call.follow(el, request)
    return True


def callback(call: CallRun, el: Callback) -> None:
    method = el.method or "GET"
    call.emit(CallbackEvent(call.http.shown(el.url), method, el.tag))
    _meta_children(call, el)
    params = call.appended_params()
    if el.tag is not None:
        params["tag"] = el.tag
    for name, value in call.metas.items():
        params.setdefault(name, value)  # a built-in parameter wins (§7 #16)
    body = call.call_object() if el.body else None
    call.follow(
        el, Request(method, el.url, params, "callback", json_body=body, timeout_ms=el.timeout)
    )


def curl(call: CallRun, el: Curl) -> None:
    method = el.method or ("POST" if el.body else "GET")
    content = el.body.encode() if el.body is not None else None
    request = Request(
        method,
        el.url,
        {},
        "curl",
        content=content,
        content_type="text/plain" if content else None,
        timeout_ms=el.timeout,
    )
    reply, _ = call.http.send(request)
    if reply is None or reply.status is None or not 200 <= reply.status < 300:
        if reply is None:
            reason = call.http.last_failure
        else:
            reason = call.http.scrub(reply.error) if reply.error else f"HTTP {reply.status}"
        call.run_error_handler(el, f"curl failed: {reason}")
        return
    # The reply is never run (D18), and a long one is not read to its end.


def call_filter(call: CallRun, el: Call) -> None:
    matched = True
    detail = ""
    if el.field is not None:
        actual = {
            "from": call.from_,
            "to": call.to,
            "tn": call.to,
            "direction": "in",
            "state": "live" if call.answered else "ringing",
        }[el.field]
        if el.field in ("from", "to", "tn"):
            matched = same_number(el.value, actual)
        else:
            matched = el.value == actual
        detail = f"({el.field}={actual!r}, wanted {el.value!r})"
    _filter(call, el, matched, detail)


def geo(call: CallRun, el: Geo) -> None:
    state = call.location.state if call.location else state_of(to_e164(call.from_) or "")
    county = call.location.county if call.location else None
    matched = (not el.states or state in el.states) and (
        el.county is None or county == el.county
    )  # both conditions must hold (§7 #13)
    _filter(
        call,
        el,
        matched,
        f"(caller in {state or 'unknown state'}{', ' + county if county else ''})",
    )


def schedule(call: CallRun, el: Schedule) -> None:
    now = call.now()
    dow, time_range = el.dow, el.time
    matched = dow is None or _DAYS[now.weekday()] in dow
    if matched and time_range is not None:
        matched = in_time_range(now.strftime("%H:%M:%S"), time_range)
    _filter(call, el, matched, f"({now:%a %H:%M:%S %Z})")


_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _filter(call: CallRun, el: Call | Geo | Schedule, matched: bool, detail: str) -> None:
    call.emit(FilterEvent(el.xml_tag, matched, detail))
    if matched:
        call.run_block(el.children)


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


HANDLERS: Final[Mapping[type[Element], Callable[[CallRun, Any], None]]] = {
    Answer: answer,
    Hangup: hangup,
    Say: say,
    Play: play,
    Pause: pause,
    Tone: tone,
    Hold: hold,
    Unhold: unhold,
    Meta: meta,
    Record: record,
    RecordStart: record_start,
    RecordStop: record_stop,
    RecordWait: record_wait,
    Dial: dial,
    Gather: gather,
    Callback: callback,
    Curl: curl,
    Call: call_filter,
    Geo: geo,
    Schedule: schedule,
}
"""The handler of each element that does something when it runs."""
