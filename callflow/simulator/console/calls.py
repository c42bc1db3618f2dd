"""One console call: the real simulator runs it in a worker thread, asking the page for the
caller's keys and each Dial's outcome, and keeps the events the page polls for.

Everything is bounded: the events a call keeps, the commands it runs, how long it may wait
for a page that stopped polling (:data:`IDLE_TIMEOUT_S`) and how long it may last at all. A
call whose page went away, or that the server shuts down, hangs up, and its thread ends: the
only things a worker waits for are the page's answers (with a timeout) and the simulator's
requests (each bounded by its own deadline). However it hangs up, the simulator hears it as
the caller hanging up (:class:`~callflow.simulator.inputs.HangUp`) the next time it asks or
tells the console something, and ends the call cleanly: the App gets its end-of-call events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import secrets
import threading
import time
from typing import Any, Final, Literal

from callflow.exceptions import BadRequest
from callflow.server.app import App
from callflow.simulator.console.documents import document_event, redacter
from callflow.simulator.console.options import CallOptions
from callflow.simulator.facade import Simulator
from callflow.simulator.inputs import DIAL_OUTCOMES, KEYS, AskedDial, GatherPrompt, HangUp, Keys
from callflow.simulator.trace import FetchedDocument, TraceEvent

logger = logging.getLogger("callflow")

IDLE_TIMEOUT_S: Final = 60.0
"""A call whose page has not asked for anything this long hangs up (the page went away)."""
MAX_CALL_S: Final = 1800.0
"""The longest a console call may last."""
MAX_EVENTS: Final = 5_000
"""Events a call may send the page; past them it hangs up."""
MAX_COMMANDS: Final = 2_000
"""Commands a console call may run (the simulator's ``max_commands``)."""
MAX_KEYS: Final = 64
"""Keys one request may press."""
POLL_WAIT_S: Final = 5.0
"""The longest a poll waits for new events before it answers with none: short, because a
server that stops waits for the requests in flight, polls included."""
_TICK_S: Final = 0.5
"""How often a waiting worker looks at the clock (idle timeout, shutdown)."""

State = Literal["starting", "running", "listening", "ringing", "ended"]


class HungUp(HangUp):
    """The call ends at once: the caller hung up (``by="caller"``), or the console ended it
    (``by="console"``: the page went away, a limit, the server stops). Raised to the
    simulator, it ends the call as the caller hanging up; the page is told ``reason``."""

    def __init__(self, reason: str, by: Literal["caller", "console"] = "console") -> None:
        super().__init__(reason)
        self.reason = reason
        self.by = by


class ConsoleCall:
    """One console call: the simulator runs it in a worker thread; the page reads its events
    (:meth:`wait`) and answers what it asks (:meth:`press`, :meth:`no_input`, :meth:`dial`,
    :meth:`hang_up`)."""

    def __init__(
        self,
        app: App,
        options: CallOptions,
        loop: asyncio.AbstractEventLoop,
        *,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_call_s: float = MAX_CALL_S,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.app = app
        self.options = options
        self.idle_timeout_s = idle_timeout_s
        self.max_events = max_events
        self.state: State = "starting"
        self.ended_at: float | None = None
        self.events: list[dict[str, Any]] = []
        self._loop = loop
        self._changed = asyncio.Event()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._deadline = self._started + max_call_s
        self._seen = self._started
        self._ask: dict[str, Any] | None = None
        """What the call waits for: ``listen`` (keys so far in ``buffer``) or ``ring``."""
        self._asks = 0
        self._answers: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=4)
        self._stop: HungUp | None = None
        """Why the call must end now, once it must."""
        self._hung_up: HungUp | None = None
        """Why the call ended, once the simulator was told to end it."""
        self.thread = threading.Thread(
            target=self._run, name=f"callflow-console-{self.id[:6]}", daemon=True
        )

    # -- what the page calls (from the event loop) --------------------------------------------

    def start(self) -> None:
        """Start the worker thread that runs the call."""
        self.thread.start()

    def touch(self) -> None:
        """The page is still there."""
        self._seen = time.monotonic()

    async def wait(
        self, after: int, wait_s: float = POLL_WAIT_S
    ) -> tuple[list[dict[str, Any]], State]:
        """The events after the first ``after`` and the state they leave the call in, waiting
        up to ``wait_s`` for an event when there is none yet (none at all once the call has
        ended and they were all read)."""
        self.touch()
        deadline = time.monotonic() + wait_s
        try:
            while True:
                self._changed.clear()
                with self._lock:
                    if len(self.events) > after or self.state == "ended":
                        return self.events[after:], self.state
                    state = self.state
                left = deadline - time.monotonic()
                if left <= 0:
                    return [], state
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), left)
        finally:
            self.touch()

    def press(self, keys: str) -> dict[str, str]:
        """Press ``keys`` while a command listens; return the call's state then, the keys
        it took and those left over (keys after the Gather is complete, like a real keypad's,
        are lost)."""
        if not keys or len(keys) > MAX_KEYS or not KEYS.fullmatch(keys):
            raise BadRequest(400, f"keys: expected 1 to {MAX_KEYS} of 0-9, * and # (got {keys!r})")
        self.touch()
        with self._lock:
            ask = self._ask
            if ask is None or ask["kind"] != "listen":
                raise BadRequest(409, "nothing is listening for keys now")
            taken = ""
            done = False
            for key in keys:
                taken += key
                ask["buffer"] += key
                if _complete(ask["buffer"], ask["dtmf_length"], ask["dtmf_stop"], ask["command"]):
                    done = True
                    break
            self._publish_locked({"kind": "key", "keys": taken})
            if done:
                self._answer_locked(ask["buffer"])
            state = self.state
        return {"state": state, "taken": taken, "ignored": keys[len(taken) :]}

    def no_input(self) -> None:
        """End the listening command as its timeout would: with the keys pressed so far, or
        with no input."""
        self.touch()
        with self._lock:
            ask = self._ask
            if ask is None or ask["kind"] != "listen":
                raise BadRequest(409, "nothing is listening for keys now")
            self._answer_locked(ask["buffer"] or None)

    def dial(self, outcome: str) -> None:
        """Say how the ringing Dial target answers."""
        if outcome not in DIAL_OUTCOMES:
            raise BadRequest(400, f"outcome: expected one of {', '.join(DIAL_OUTCOMES)}")
        self.touch()
        with self._lock:
            if self._ask is None or self._ask["kind"] != "ring":
                raise BadRequest(409, "no Dial is ringing now")
            self._answer_locked(outcome)

    def hang_up(self) -> None:
        """The caller hangs up: end the call at once (nothing happens to one that ended)."""
        self.end(HungUp("the caller hung up", "caller"))

    def end(self, why: HungUp) -> None:
        """End the call at once, for ``why``."""
        with self._lock:
            if self.state == "ended" or self._stop is not None:
                return
            self._stop = why
            self._ask = None
        # Wakes a waiting worker now; with its queue full, it sees _stop at its next tick.
        with contextlib.suppress(queue.Full):
            self._answers.put_nowait((-1, None))

    # -- the worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        options = self.options
        settings = self.app.settings
        query = {settings.access_key_param: settings.access_key} if settings.access_key else {}
        ended: dict[str, Any]
        try:
            simulator = Simulator(
                self.app,
                events=True,
                max_commands=MAX_COMMANDS,
                query=query,
                auth=settings.basic_auth,
            )
            try:
                pattern = redacter(simulator.policy.secret_params, simulator.policy.secret_values)
                self._set_state("running")

                def on_event(event: TraceEvent) -> None:
                    if self._hung_up is not None:
                        return  # the simulator's "caller hung up": the page hears ``ended``
                    self._check()
                    self._publish(
                        {"kind": "trace", "type": event.type, "text": event.describe()}
                        | {"event": event.to_dict()}
                    )

                def on_document(fetched: FetchedDocument) -> None:
                    self._publish(document_event(fetched, self.app, pattern))

                trace = simulator.call(
                    from_=options.from_,
                    to=options.to,
                    at=options.at,
                    tz=options.tz,
                    location=options.location,
                    input=self._keys,
                    dial=[AskedDial(self.ring) for _ in range(MAX_COMMANDS)],
                    on_event=on_event,
                    on_document=on_document,
                )
            finally:
                simulator.close()
            hangup, hung_up = trace.hangup, self._hung_up
            if hung_up is not None:
                ended = {"reason": hung_up.reason, "detail": "", "by": hung_up.by}
                ended |= {"failed": False, "exit_code": 0}
            else:
                ended = {
                    "reason": trace.hangup_reason,
                    "detail": hangup.detail if hangup is not None else "",
                    "by": "call",
                    "failed": trace.failed,
                    "exit_code": trace.exit_code,
                }
        except Exception as exc:  # a bug in the console or simulator: the page says so
            logger.exception("console call %s failed", self.id)
            ended = {"reason": "console error", "detail": f"{type(exc).__name__}: {exc}"}
            ended |= {"by": "console", "failed": True, "exit_code": 1}
        with self._lock:
            self._ask = None
            self._publish_locked({"kind": "ended", **ended}, force=True)
            self.state = "ended"
            self.ended_at = time.monotonic()
            self._wake()

    def _check(self) -> None:
        """Raise :class:`HungUp` (the simulator ends the call) when the call must end now."""
        now = time.monotonic()
        why = self._stop
        if why is None and now - self._seen > self.idle_timeout_s:
            why = HungUp("the console page went away (no request for a while)")
        if why is None and now > self._deadline:
            why = HungUp("the console call lasted too long")
        if why is not None:
            self._hung_up = why
            raise HungUp(why.reason, why.by)

    def _keys(self, prompt: GatherPrompt) -> Keys:
        """The simulator's input provider: ask the page, wait for its keys."""
        ask = {
            "kind": "listen",
            "command": prompt.command,
            "prompt": list(prompt.prompt),
            "attempt": prompt.attempt,
            "attempts": prompt.attempts,
            "dtmf_length": prompt.dtmf_length,
            "dtmf_stop": prompt.dtmf_stop,
        }
        keys: Keys = self._ask_page(ask, "listening")
        self._publish({"kind": "input", "keys": keys})
        return keys

    def ring(self, target: str) -> str:
        """Ask the page how ``target`` answers the ringing Dial."""
        outcome: str = self._ask_page({"kind": "ring", "target": target}, "ringing")
        self._publish({"kind": "dialed", "target": target, "outcome": outcome})
        return outcome

    def _ask_page(self, ask: dict[str, Any], state: State) -> Any:
        self._check()
        with self._lock:
            self._asks += 1
            number = self._asks
            self._ask = {**ask, "ask": number, "buffer": ""}
            self.state = state
            self._publish_locked({k: v for k, v in self._ask.items() if k != "buffer"})
        try:
            while True:
                try:
                    answered, value = self._answers.get(timeout=_TICK_S)
                except queue.Empty:
                    self._check()
                    continue
                if answered == number:
                    return value
                self._check()  # a hang-up's wake-up; a stale answer is dropped
        finally:
            with self._lock:
                if self._ask is not None and self._ask["ask"] == number:
                    self._ask = None
                if self.state == state:
                    self.state = "running"

    # -- events ------------------------------------------------------------------------------

    def _answer_locked(self, value: object) -> None:
        ask = self._ask
        if ask is None:
            return
        self._ask = None
        self.state = "running"
        try:
            self._answers.put_nowait((ask["ask"], value))
        except queue.Full:  # only stale answers can fill it: one ask is open at a time
            raise BadRequest(429, "too many answers at once") from None

    def _set_state(self, state: State) -> None:
        with self._lock:
            self.state = state
            self._wake()

    def _publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._publish_locked(event)

    def _publish_locked(self, event: dict[str, Any], *, force: bool = False) -> None:
        if len(self.events) >= self.max_events and not force:
            self._stop = self._stop or HungUp(f"more than {self.max_events} events")
            return
        self.events.append({"seq": len(self.events), **event})
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(self._changed.set)


def _complete(buffer: str, length: int, stop: str | None, command: str) -> bool:
    """Whether the keys in ``buffer`` end the listening command (§3.6, D6)."""
    if stop is not None and stop in buffer:
        return True
    if command == "Pause":
        return False
    return len(buffer) >= length
