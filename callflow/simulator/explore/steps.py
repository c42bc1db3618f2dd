"""The state of a walk: the calls it places (:class:`Task`), the steps it reaches
(:class:`Step`), what it collects on the way (:class:`Results`), and the App's errors it
hears while a call runs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from callflow.dialect.elements.document import Response
from callflow.simulator.explore.exploration import Edge, EdgeKind, Finding, Node, NodeKind
from callflow.simulator.explore.samples import Choice


@dataclass(frozen=True, slots=True)
class Scenario:
    """What a call is before anyone presses a key: who calls whom, when, from where."""

    caller: str
    called: str
    at: datetime
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One simulated call to place: replay ``prefix``, then explore the ``index``-th document
    of the call (0: the webhook's). ``claim``: the step found there is explored by this task
    unless another one has it already (a new clock or place for a step seen before)."""

    scenario: Scenario
    prefix: tuple[Choice, ...]
    index: int
    claim: bool = False


@dataclass
class Step:
    """A document fetched on some call: a node of the graph the findings are read from."""

    key: tuple[object, ...]
    node: str
    path: str
    document: Response | None
    body: str
    scenario: Scenario
    prefix: tuple[Choice, ...]
    index: int
    successors: dict[tuple[object, ...], None] = field(default_factory=dict)
    ends: bool = False


@dataclass
class Results:
    """What the walk collects: the map, the findings and what ran."""

    nodes: dict[tuple[str, str], Node] = field(default_factory=dict)
    edges: dict[Edge, None] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    gathers_ran: dict[str, set[int]] = field(default_factory=dict)
    """The Gathers (their index in document order) that ran, by document body."""
    matched: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    """The DTMF values that ran, by document body and Gather."""
    reached: set[str] = field(default_factory=set)
    """The flows (by name) and hosted documents (by path) a call requested."""

    labels: dict[str, str] = field(default_factory=dict)
    """The label of each node, by id."""

    def node(self, kind: NodeKind, name: str, path: str, label: str) -> Node:
        """The node of the ``kind`` step ``name``, made the first time it is asked for."""
        found = self.nodes.get((kind, name))
        if found is None:
            found = self.nodes[(kind, name)] = Node(f"n{len(self.nodes)}", path, label, kind)
            self.labels[found.id] = label
        return found

    def label(self, id: str) -> str:
        """The label of the node ``id``."""
        return self.labels[id]

    def edge(self, source: str, target: str, label: str, kind: EdgeKind = "next") -> None:
        self.edges.setdefault(Edge(source, target, label, kind))

    def finding(self, found: Finding, key: str | None = None) -> None:
        """Keep ``found`` unless one with the same code, node and ``key`` (default: its
        message) was found first."""
        self.findings.setdefault(
            (found.code, found.node, found.message if key is None else key), found
        )


class ErrorLog(logging.Handler):
    """Hears what the App logs at ERROR while a call runs (a flow's exception), so that a
    finding can say what went wrong; while it listens nothing reaches stderr."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.heard: list[str] = []
        """The messages logged."""
        self.raised: list[str] = []
        """The exceptions logged, as ``Type: message``."""

    def emit(self, record: logging.LogRecord) -> None:
        self.heard.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.raised.append(f"{type(error).__name__}: {error}")

    def clear(self) -> None:
        self.heard.clear()
        self.raised.clear()


@contextlib.contextmanager
def listening(handler: ErrorLog) -> Iterator[None]:
    logger = logging.getLogger("callflow")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
