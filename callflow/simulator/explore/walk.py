"""The walk: explore every path of an App with simulated calls, breadth first and bounded.

A step is a document fetched on a call. Each step is explored by real simulated calls that
replay the inputs leading to it (so signed state and sessions are what they are on a real
call), then try one more input at each point where the step listens (a Gather, a Pause with a
stop key) or rings (a Dial); every other input there becomes a call of its own, queued. A call
stops as soon as it fetches the next step, which is queued in its turn unless it was seen
before. Times and places are tried the same way, where a step holds a ``Schedule`` or a
``Geo`` (:mod:`~callflow.simulator.explore.samples`).

Two calls reach the same step when they fetch the same path, get the same document (see
:func:`~callflow.simulator.explore.documents.step_key`) and their clock and place make its
filters match the same way, on a call between the same numbers.
"""

import shlex
import sys
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final
from urllib.parse import parse_qs, urlsplit

from callflow.dialect.elements.document import Response
from callflow.dialect.phone_numbers import to_e164
from callflow.dialect.validation import check
from callflow.server.app import App
from callflow.server.routing import Flow
from callflow.server.urls import FLOW_PARAM
from callflow.simulator.explore.call import NOT_IN_SERVICE_TAG, ExploringCall
from callflow.simulator.explore.documents import step_key, stub_outside, url_path
from callflow.simulator.explore.exploration import Exploration, Finding, Node
from callflow.simulator.explore.findings import incomplete, traps, unreachable
from callflow.simulator.explore.samples import (
    REFERENCE_CLOCK,
    REFERENCE_DAY,
    Choice,
    filters_of,
    geo_locations,
    geo_matches,
    schedule_clocks,
    schedule_days,
    schedule_matches,
    times_for,
)
from callflow.simulator.explore.steps import ErrorLog, Results, Scenario, Step, Task, listening
from callflow.simulator.facade import Simulator
from callflow.simulator.fetching import MAX_FETCHES
from callflow.simulator.trace import RequestEvent

MAX_STEPS: Final = 3000
"""The most simulated calls an exploration places (one per branch explored)."""
MAX_DOCUMENTS: Final = 300
"""The most distinct steps (documents) an exploration explores."""
DEFAULT_CALLER: Final = "+15550100999"
DEFAULT_CALLED: Final = "+15550100200"


def explore(
    target: object,
    *,
    max_steps: int = MAX_STEPS,
    max_documents: int = MAX_DOCUMENTS,
    numbers: Sequence[str] | None = None,
    callers: Sequence[str] | None = None,
    codes: Sequence[str] = (),
    name: str | None = None,
) -> Exploration:
    """Explore every path of ``target`` (an App, ``"module:attribute"``, or anything
    :class:`~callflow.simulator.facade.Simulator` accepts) and return the map and findings.

    Calls start from the App's entry flow and from each registered number (``numbers``
    replaces them: the called numbers to start from), from each of ``callers`` (default
    ``+15550100999``). ``codes`` are digit strings also tried at every Gather that collects
    more than one digit (a PIN the flow checks). At most ``max_steps`` simulated calls and
    ``max_documents`` distinct documents. ``name`` is how the ``callflow simulate`` command
    lines of the findings name the target (default: ``target`` itself when it is a string,
    else the ``module:attribute`` it is found at).

    >>> from callflow import App, Hangup, Response, Say
    >>> app = App(secret="doc")
    >>> _ = app.flow("/", name="hello")(lambda call: Response(Say("Hi"), Hangup()))
    >>> explore(app).clean
    True
    """
    simulator = Simulator(target, redact=False, max_fetches=max(MAX_FETCHES, max_documents + 10))
    try:
        explorer = Explorer(
            simulator,
            target=name or _spec(target),
            max_steps=max_steps,
            max_documents=max_documents,
            numbers=numbers,
            callers=callers,
            codes=codes,
        )
        explorer.run()
    finally:
        simulator.close()
    results = explorer.results
    for found in traps(explorer) if explorer.complete else []:
        results.finding(found)
    for found in unreachable(explorer) if explorer.complete else []:
        results.finding(found)
    for found in incomplete(explorer):
        results.finding(found)
    return Exploration(
        nodes=tuple(results.nodes.values()),
        edges=tuple(results.edges),
        findings=tuple(results.findings.values()),
        calls=explorer.calls,
        complete=explorer.complete,
    )


def _spec(target: object) -> str:
    """``module:attribute`` of an object a module holds (for the command lines of findings),
    else ``APP``."""
    if isinstance(target, str):
        return target
    if hasattr(target, "__fspath__"):
        return str(target)
    found: list[str] = []
    for module_name, module in list(sys.modules.items()):
        if module_name == "__main__" or module is None:
            continue
        try:
            names = [name for name, value in vars(module).items() if value is target]
        except TypeError:
            continue
        found += [f"{module_name}:{name}" for name in names if not name.startswith("_")]
    if not found:
        return "APP"

    def rank(spec: str) -> tuple[bool, int, str]:
        module_name = spec.partition(":")[0]
        tested = module_name.rpartition(".")[2].startswith(("test_", "conftest"))
        return (tested, len(module_name), spec)

    return min(found, key=rank)


class Explorer:
    """Explores what ``simulator`` reaches (its target's entry flow and numbers)."""

    def __init__(
        self,
        simulator: Simulator,
        *,
        target: str,
        max_steps: int = MAX_STEPS,
        max_documents: int = MAX_DOCUMENTS,
        numbers: Sequence[str] | None = None,
        callers: Sequence[str] | None = None,
        codes: Sequence[str] = (),
    ) -> None:
        if max_steps < 1 or max_documents < 1:
            raise ValueError(
                f"max_steps and max_documents must be >= 1 (got {max_steps}, {max_documents})"
            )
        self.simulator = simulator
        self.app: App | None = simulator.transport.app
        self.target = target
        self.max_steps = max_steps
        self.max_documents = max_documents
        self.codes = list(codes)
        stub_outside(simulator.transport, self.inside)
        self.results = Results()
        self.queue: deque[Task] = deque()
        self.queued: set[Task] = set()
        self.steps: dict[tuple[object, ...], Step] = {}
        self.claimed: set[tuple[object, ...]] = set()
        self.calls = 0
        self.limited = False
        """Whether a limit (max_steps, max_documents) stopped the walk."""
        self.diverged = 0
        """Replayed calls that went another way than the call they replay."""
        self.days: list[str] = ["mon"]
        self.clocks: list[str] = [REFERENCE_CLOCK.isoformat()]
        self.locations: list[str | None] = [None]
        self.timed: list[Step] = []
        self.placed: list[Step] = []
        self.errors = ErrorLog()
        self.parsed: dict[bytes, Response | None] = {}
        self.entries = self._entries(numbers, callers)

    @property
    def complete(self) -> bool:
        """Whether every path was followed: no limit stopped the walk, no replay diverged."""
        return not self.limited and not self.diverged

    # -- what to explore ------------------------------------------------------------------

    def _entries(
        self, numbers: Sequence[str] | None, callers: Sequence[str] | None
    ) -> list[Scenario]:
        app = self.app
        if numbers is None:
            found: list[str] = []
            if app is None or self._default_flow() is not None:
                found.append(DEFAULT_CALLED)
            found += [number for flow in (app.flows if app else []) for number in flow.numbers]
            numbers = found or [DEFAULT_CALLED]
        start = datetime.combine(REFERENCE_DAY.date(), REFERENCE_CLOCK)
        region = app.settings.default_region if app is not None else "US"
        called = dict.fromkeys(to_e164(n, region) or n for n in numbers)
        calling = dict.fromkeys(to_e164(n, region) or n for n in (callers or [DEFAULT_CALLER]))
        return [Scenario(caller, number, start) for caller in calling for number in called]

    def _default_flow(self) -> Flow | None:
        if self.app is None:
            return None
        webhook = self.app.settings.webhook_path
        return next((flow for flow in self.app.flows if flow.path == webhook), None)

    def enqueue(self, task: Task) -> None:
        if task not in self.queued:
            self.queued.add(task)
            self.queue.append(task)

    def claim(self, step: Step) -> bool:
        """Take ``step`` to explore; False when it is taken or the document limit is hit."""
        if step.key in self.claimed:
            return False
        if len(self.claimed) >= self.max_documents:
            self.limited = True
            return False
        self.claimed.add(step.key)
        return True

    def run(self) -> None:
        """Explore until every queued call was placed, or a limit stops it."""
        with listening(self.errors):
            for scenario in self.entries:
                who = (
                    f"call to {scenario.called}"
                    if scenario.caller == DEFAULT_CALLER
                    else f"call from {scenario.caller} to {scenario.called}"
                )
                self.results.node("call", f"{scenario.caller}>{scenario.called}", "", who)
                self.enqueue(Task(scenario, (), 0, claim=True))
            while self.queue:
                if self.calls >= self.max_steps:
                    self.limited = True
                    break
                self.place(self.queue.popleft())

    def place(self, task: Task) -> None:
        """Place one simulated call for ``task``."""
        self.calls += 1
        self.errors.clear()
        dials = [choice.value or "answer" for choice in task.prefix if choice.kind == "dial"]
        call = ExploringCall(self, task)
        if call.stopped is None:  # an XML file's first step may be all the task needs
            self.simulator.call(
                from_=task.scenario.caller,
                to=task.scenario.called,
                at=task.scenario.at,
                location=task.scenario.location,
                input=call.listen,
                dial=dials,
                on_event=call.event,
                on_document=call.document,
            )
        if call.stopped == "diverged":
            self.diverged += 1

    # -- steps ------------------------------------------------------------------------------

    def document(self, body: bytes) -> Response | None:
        if body not in self.parsed:
            self.parsed[body] = check(body)[1]
        return self.parsed[body]

    def step_for(
        self, call: ExploringCall, request: RequestEvent | None, path: str, body: bytes
    ) -> Step:
        """The step a call reached by fetching ``body`` from ``path``; new ones get a node."""
        document = self.document(body)
        scenario = call.task.scenario
        schedules, geos = filters_of(document) if document is not None else ([], [])
        text = step_key(body)
        key = (
            scenario.caller,
            scenario.called,
            path,
            text,
            tuple(schedule_matches(el, scenario.at) for el in schedules),
            tuple(geo_matches(el, scenario.location, scenario.caller) for el in geos),
        )
        step = self.steps.get(key)
        if step is None:
            node = self.node_of(request, path, body)
            step = Step(key, node.id, path, document, text, scenario, tuple(call.taken), call.index)
            self.steps[key] = step
            if schedules:
                days = [day for el in schedules for day in schedule_days(el)]
                clocks = [clock for el in schedules for clock in schedule_clocks(el)]
                self._add_times(step, days, clocks)
            if geos:
                places = [place for el in geos for place in geo_locations(el, scenario.caller)]
                self._add_places(step, places)
        return step

    def _add_times(self, step: Step, days: list[str], clocks: list[str]) -> None:
        new_days = [day for day in dict.fromkeys(days) if day not in self.days]
        new_clocks = [clock for clock in dict.fromkeys(clocks) if clock not in self.clocks]
        self.days += new_days
        self.clocks += new_clocks
        self.timed.append(step)
        moments = times_for(self.days, self.clocks)
        for timed in self.timed:
            for moment in moments:
                if moment != timed.scenario.at:
                    scenario = replace(timed.scenario, at=moment)
                    self.enqueue(Task(scenario, timed.prefix, timed.index, claim=True))

    def _add_places(self, step: Step, places: list[str]) -> None:
        self.locations += [place for place in dict.fromkeys(places) if place not in self.locations]
        self.placed.append(step)
        for placed in self.placed:
            for location in self.locations:
                if location != placed.scenario.location:
                    scenario = replace(placed.scenario, location=location)
                    self.enqueue(Task(scenario, placed.prefix, placed.index, claim=True))

    def flow_of(self, request: RequestEvent) -> Flow | None:
        """The flow that answers ``request`` (the webhook routes by the called number)."""
        app = self.app
        if app is None:
            return None
        path = url_path(request.url)
        if path != app.settings.webhook_path:
            return next((flow for flow in app.flows if flow.path == path), None)
        default = self._default_flow()
        if FLOW_PARAM in parse_qs(urlsplit(request.url).query):
            return default
        region = app.settings.default_region
        for name in ("to", "tn"):
            number = to_e164(request.params.get(name, ""), region)
            routed = next((f for f in app.flows if number and number in f.numbers), None)
            if routed is not None:
                return routed
        return default

    def node_of(self, request: RequestEvent | None, path: str, body: bytes) -> Node:
        """The node of the map for a document fetched from ``path``."""
        results = self.results
        flow = self.flow_of(request) if request is not None else None
        if flow is not None:
            return results.node("flow", flow.name, flow.path, flow.name)
        if NOT_IN_SERVICE_TAG.encode() in body:
            return results.node("document", f"{path} (not in service)", path, "not in service")
        return results.node("document", path, path, path)

    def note_request(self, request: RequestEvent) -> None:
        """Remember the flow or hosted document a call requested (for CF705)."""
        flow = self.flow_of(request)
        if flow is not None:
            self.results.reached.add(flow.name)
        else:
            self.results.reached.add(url_path(request.url))

    def inside(self, url: str) -> bool:
        """Whether ``url`` is the target's own (the App, the server explored)."""
        base = self.simulator.transport.base
        return bool(base) and url.startswith(base)

    # -- findings ---------------------------------------------------------------------------

    def reproduce(self, scenario: Scenario, taken: Sequence[Choice]) -> str:
        """The ``callflow simulate`` command line that places the same call."""
        parts = ["callflow", "simulate", self.target]
        if scenario.caller != DEFAULT_CALLER:
            parts += ["--from", scenario.caller]
        if scenario.called != DEFAULT_CALLED:
            parts += ["--to", scenario.called]
        parts += ["--at", scenario.at.isoformat()]
        if scenario.location is not None:
            parts += ["--location", scenario.location]
        for choice in taken:
            if choice.kind == "dial":
                parts += ["--dial", str(choice.value)]
            elif choice.value is None:
                parts.append("--no-input")
            else:
                parts += ["--press", choice.value]
        if not any(choice.kind == "keys" for choice in taken):
            parts.append("--no-input")  # scripted, not interactive on a terminal
        return shlex.join(parts)

    def report(
        self, call: ExploringCall, kind: str, node: str, message: str, key: str | None = None
    ) -> None:
        """A finding on a path, with the command line that replays it (the first path
        found, the shortest: the walk is breadth first)."""
        self.results.finding(
            Finding(kind, message, node, self.reproduce(call.task.scenario, call.taken)), key
        )
