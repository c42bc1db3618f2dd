"""One simulated call of the walk: it replays the inputs of its task, then tries one input
at each new point where the call listens or rings (queuing a call for each other one), and
stops as soon as the call fetches the next step. On the way it draws the edges of the map and
reports what goes wrong on this path.

The call stops as the caller hanging up would (:class:`~callflow.simulator.inputs.HangUp`):
the simulator ends it cleanly and returns its trace. That ``caller hung up`` end is the
explorer's doing, not the flow's, so once the call stops its events are not followed (no end
node is drawn for it)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

from callflow.simulator.explore import codes as code
from callflow.simulator.explore.documents import url_path
from callflow.simulator.explore.samples import (
    Choice,
    dial_choices,
    filter_label,
    gathers_for,
    key_choices,
    otherwise_label,
)
from callflow.simulator.explore.steps import Step, Task
from callflow.simulator.inputs import GatherPrompt, HangUp, Keys
from callflow.simulator.trace import (
    REASON_INVALID_DOCUMENT,
    DialEvent,
    FallbackEvent,
    FetchedDocument,
    FetchFailedEvent,
    FilterEvent,
    GatherEvent,
    HangupEvent,
    RequestEvent,
    TraceEvent,
    WarningEvent,
)

if TYPE_CHECKING:
    from callflow.simulator.explore.walk import Explorer

DOCUMENT_PURPOSES: Final = frozenset(("webhook", "gather", "gather-callback", "callback"))
NOT_IN_SERVICE_TAG: Final = "callflow-not-in-service"
FALLBACK_CODES: Final = {"invalid": code.FETCH_FAILED}
"""The finding of each fallback cause; the others (error, timeout, unknown) are CF706."""
_PROBLEM: Final = re.compile(r"invalid document: (.*?); fallback sent")
FALLBACK_WHAT: Final = {
    "error": "raised",
    "timeout": "timed out",
    "invalid": "returned an invalid document",
}


Stopped = Literal["done", "diverged"]
"""Why the explorer stopped a call early: it has what it came for, or a replayed call did
not go the way it went before (a flow that is not deterministic)."""


def _collapse(labels: Sequence[str]) -> str:
    """``no input, no input`` -> ``no input x2``: what an edge shows."""
    parts: list[tuple[str, int]] = []
    for label in labels:
        if parts and parts[-1][0] == label:
            parts[-1] = (label, parts[-1][1] + 1)
        else:
            parts.append((label, 1))
    return ", ".join(label if n == 1 else f"{label} x{n}" for label, n in parts)


class ExploringCall:
    """One simulated call of the walk: replays its task's inputs, then explores."""

    def __init__(self, explorer: Explorer, task: Task) -> None:
        self.explorer = explorer
        self.task = task
        self.taken: list[Choice] = []
        self.index = -1
        """The document running: the index-th of the call (-1: before the first)."""
        self.step: Step | None = None
        self.pending: RequestEvent | None = None
        self.pending_body = b""
        """The body of the document ``pending`` fetched (none yet: empty)."""
        self.stopped: Stopped | None = None
        """Why the explorer ended the call, once it did (its last events are not followed)."""
        self.fallback: FallbackEvent | None = None
        self.moves: list[str] = []
        """What the caller did, and which filters matched, in the running document."""
        self.matched_filters: dict[str, int] = {}
        self.unmatched_filters: dict[str, tuple[int, int]] = {}
        """How many filters of each tag did not match in the running document, and where
        in ``moves`` the first one did not."""
        self.prompt: GatherPrompt | None = None
        self.listening: list[int] | None = None
        """The Gathers (by index) that may have asked for the keys just pressed."""
        self.last_gather: GatherEvent | None = None
        self.warning: str = ""
        """The last warning the simulator gave (why the XML file is invalid)."""
        document = explorer.simulator.transport.document
        if document is not None:  # an XML file: the first document is the file
            name = explorer.target.replace("\\", "/").rpartition("/")[2]
            with contextlib.suppress(HangUp):  # done before it starts: not placed (stopped)
                self._arrive(explorer.step_for(self, None, name, document), None)

    @property
    def exploring(self) -> bool:
        """Whether the call runs the document its task explores (or is fetching it)."""
        return self.index == self.task.index or (self.index < 0 and self.task.index == 0)

    @property
    def here(self) -> str:
        """The node of the running document (or of the call, before the first)."""
        if self.step is not None:
            return self.step.node
        scenario = self.task.scenario
        return self.explorer.results.nodes[("call", f"{scenario.caller}>{scenario.called}")].id

    def _where(self) -> str:
        return self.explorer.results.label(self.here)

    def _stop(self, why: Stopped = "done") -> HangUp:
        """End the call here: the exception to raise (the caller hangs up)."""
        self.stopped = why
        return HangUp(f"the explorer stopped the call ({why})")

    def _choose(self, kind: str, options: list[Choice]) -> Choice:
        """The input at the next point of the call: the task's own while it replays, else
        the first option, each other one queued as a call of its own."""
        position = len(self.taken)
        if position < len(self.task.prefix):
            choice = self.task.prefix[position]
            if choice.kind != kind:
                raise self._stop("diverged")
        else:
            if not self.exploring:
                raise self._stop("diverged")
            choice = options[0]
            for other in options[1:]:
                prefix = (*self.taken, other)
                self.explorer.enqueue(Task(self.task.scenario, prefix, self.task.index))
        self.taken.append(choice)
        self.moves.append(choice.label)
        return choice

    # -- what the simulator asks and tells ---------------------------------------------------

    def listen(self, prompt: GatherPrompt) -> Keys:
        """The input provider: the keys for the command that listens."""
        self._settle(None)
        document = self.step.document if self.step is not None else None
        candidates = gathers_for(prompt, document) if prompt.command == "Gather" else []
        choice = self._choose("keys", key_choices(prompt, candidates, self.explorer.codes))
        self.prompt = prompt
        self.listening = None
        if self.exploring and self.step is not None and document is not None:
            gathers = [el for el in document.iter() if el.xml_tag == "Gather"]
            indexes = [i for i, el in enumerate(gathers) if any(el is c for c in candidates)]
            self.explorer.results.gathers_ran.setdefault(self.step.body, set()).update(indexes)
            self.listening = indexes
        return choice.value

    def event(self, event: TraceEvent) -> None:
        """The ``on_event`` callback: follows the call, and stops it once it has what its
        task came for."""
        if self.stopped is not None:
            return  # the explorer's own hang-up: not the flow's doing
        if self.pending is not None:
            if isinstance(event, FallbackEvent):
                self.fallback = event
                return
            if isinstance(event, WarningEvent):
                return  # an invalid document's warning comes before its failed fetch
            self._settle(event)
        if isinstance(event, WarningEvent):
            self.warning = event.message
        if isinstance(event, RequestEvent):
            self._requested(event)
        elif isinstance(event, DialEvent):
            self._settle(None)
            self._choose("dial", dial_choices())
        elif isinstance(event, GatherEvent):
            self._gathered(event)
        elif isinstance(event, FilterEvent):
            self._filtered(event)
        elif isinstance(event, HangupEvent):
            self._ended(event)

    def document(self, fetched: FetchedDocument) -> None:
        """The ``on_document`` callback: the body of the document just requested (the
        request's event came right before it)."""
        if self.pending is not None:
            self.pending_body = fetched.body

    def _requested(self, request: RequestEvent) -> None:
        explorer = self.explorer
        inside = explorer.inside(request.url)
        if inside:
            explorer.note_request(request)
        if request.purpose == "curl":
            if request.status == 404 and inside and self.exploring:
                path = url_path(request.url)
                missing = explorer.results.node("missing", path, path, path)
                explorer.report(
                    self,
                    code.MISSING_PATH,
                    missing.id,
                    f"a Curl in {self._where()} requests {path}, which no flow or hosted "
                    "document serves (HTTP 404)",
                )
            return
        if request.purpose not in DOCUMENT_PURPOSES:
            return
        prompt, gathered = self.prompt, self.last_gather
        if (
            request.purpose == "gather-callback"
            and gathered is not None
            and gathered.digits is None
            and prompt is not None
            and prompt.attempt < prompt.attempts
        ):
            return  # a legacy callback after a failed attempt: its reply is not run (§2.3)
        self.pending = request
        self.pending_body = b""
        self.fallback = None

    def _settle(self, event: TraceEvent | None) -> None:
        """Decide what became of the fetch in progress, now that the call goes on."""
        request, self.pending = self.pending, None
        if request is None:
            return
        if isinstance(event, FetchFailedEvent):
            self._failed(request, event)
            return
        body, self.pending_body = self.pending_body, b""
        self.index += 1
        self._arrive(self.explorer.step_for(self, request, url_path(request.url), body), request)

    def _arrive(self, step: Step, request: RequestEvent | None) -> None:
        """The call runs ``step`` now: draw the edge that led there, stop when the task is
        done (the next step is queued unless it was seen before)."""
        explorer = self.explorer
        if self.index <= 0:
            self.index = 0
            explorer.results.edge(self.here, step.node, "")
        else:
            label = _collapse(self._labels()) or (request.purpose if request else "")
            explorer.results.edge(self.here, step.node, label)
        if self.step is not None:
            self.step.successors.setdefault(step.key)
        self.step = step
        self.moves = []
        self.matched_filters = {}
        self.unmatched_filters = {}
        self.listening = None
        if self.index >= self.task.index and self.fallback is not None:
            self._fell_back(step, self.fallback)
        if self.index == self.task.index and self.task.claim and not explorer.claim(step):
            raise self._stop()
        if self.index > self.task.index:
            if explorer.claim(step):
                explorer.enqueue(Task(self.task.scenario, tuple(self.taken), self.index))
            raise self._stop()

    def _labels(self) -> list[str]:
        """What led out of the running document, in the order it happened: each filter
        that matched and each input; where the Schedules (or the Geos) it ran all failed to
        match, when the call was (where the caller was) instead: ``weekdays 09:00-17:59``,
        ``not in TX``."""
        step, scenario = self.step, self.task.scenario
        if step is None or step.document is None:
            return list(self.moves)
        missed: dict[int, list[str]] = {}
        for tag, (count, position) in self.unmatched_filters.items():  # in event order
            if tag not in self.matched_filters and tag in ("Schedule", "Geo"):
                label = otherwise_label(
                    step.document, tag, count, scenario.at, scenario.location, scenario.caller
                )
                missed.setdefault(position, []).append(label)
        labels: list[str] = []
        for position, move in enumerate([*self.moves, None]):
            labels += missed.get(position, [])
            if move is not None:
                labels.append(move)
        return labels

    def _gathered(self, event: GatherEvent) -> None:
        self.last_gather = event
        matched = event.outcome == "match" and event.value is not None
        if matched and self.listening is not None and self.step is not None:
            for index in self.listening:
                key = (self.step.body, index)
                self.explorer.results.matched.setdefault(key, set()).add(str(event.value))
        self.listening = None

    def _filtered(self, event: FilterEvent) -> None:
        if self.step is None or self.step.document is None:
            return
        if not event.matched:
            count, position = self.unmatched_filters.get(event.element, (0, len(self.moves)))
            self.unmatched_filters[event.element] = (count + 1, position)
            return
        seen = self.matched_filters.get(event.element, 0)
        self.matched_filters[event.element] = seen + 1
        scenario = self.task.scenario
        self.moves.append(
            filter_label(
                self.step.document, event.element, seen, scenario.at, scenario.location,
                scenario.caller,
            )
        )  # fmt: skip

    def _failed(self, request: RequestEvent, failed: FetchFailedEvent) -> None:
        explorer = self.explorer
        results = explorer.results
        path = url_path(request.url)
        label = _collapse(self._labels()) or request.purpose
        if not explorer.inside(request.url):
            parts = urlsplit(request.url)
            where = f"{parts.scheme}://{parts.netloc}{parts.path}"
            target = results.node("document", where, "", where)
            results.edge(self.here, target.id, label, "failed")
            raise self._stop()  # outside the target: not explored
        if not self.exploring:
            return
        if request.status == 404:
            target = results.node("missing", path, path, path)
            kind = code.MISSING_PATH
            message = (
                f"{label} in {self._where()} links to {path}, which no flow or hosted "
                "document serves (HTTP 404)"
            )
        else:
            target = explorer.node_of(request, path, b"")
            kind = code.FETCH_FAILED
            message = f"{label} in {self._where()}: fetching {path} failed: {failed.reason}"
        results.edge(self.here, target.id, label, "failed")
        explorer.report(self, kind, target.id, message)

    def _fell_back(self, step: Step, fallback: FallbackEvent) -> None:
        explorer = self.explorer
        kind = FALLBACK_CODES.get(fallback.cause, code.FLOW_ERROR)
        what = FALLBACK_WHAT.get(fallback.cause, "sent its fallback document")
        detail = ""
        if fallback.cause == "error" and explorer.errors.raised:
            detail = f" ({explorer.errors.raised[-1]})"
        elif fallback.cause == "invalid":
            problems = [p for m in explorer.errors.heard for p in _PROBLEM.findall(m)]
            detail = f" ({problems[-1]})" if problems else ""
        label = explorer.results.label(step.node)
        explorer.report(
            self,
            kind,
            step.node,
            f"{label} ({step.path}) {what}{detail}: the caller got the fallback document",
            key=f"{what}{detail}",
        )

    def _ended(self, event: HangupEvent) -> None:
        explorer = self.explorer
        self._settle(None)
        if not self.exploring:
            return
        if self.step is not None:
            self.step.ends = True
        end = explorer.results.node("end", event.reason, "", event.reason)
        label = _collapse(self._labels())
        explorer.results.edge(self.here, end.id, label, "end")
        where = self._where()
        if event.ended_by == "end-of-document":
            after = f" after {label}" if label else ""
            explorer.report(
                self,
                code.SILENCE,
                self.here,
                f"{where} ends{after} without a Hangup or a redirect: Opentact hangs up",
                key="",  # once per document: the first (shortest) path says it
            )
        elif event.reason == REASON_INVALID_DOCUMENT:
            why = self.warning.rpartition("the XML file: ")[2] or event.detail
            explorer.report(
                self,
                code.FETCH_FAILED,
                self.here,
                f"{where} is not a valid document ({why}): the call ends at once",
            )
        elif event.ended_by == "limit":
            explorer.report(
                self, code.INCOMPLETE, self.here, f"a call in {where} hit a limit: {event.detail}"
            )
        elif event.tag == NOT_IN_SERVICE_TAG:
            explorer.report(
                self,
                code.MISSING_PATH,
                self.here,
                f"no flow answers calls to {self.task.scenario.called}: the caller hears "
                "'not in service' (register a flow at the webhook path or for this number)",
            )
