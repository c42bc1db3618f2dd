"""What exploring an App gives: the map of its steps (:class:`Node`, :class:`Edge`) and what is
wrong on it (:class:`Finding`), together an :class:`Exploration`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from callflow.simulator.explore import formats
from callflow.simulator.explore.codes import CODES

NodeKind = Literal["call", "flow", "document", "missing", "end"]
EdgeKind = Literal["next", "end", "failed"]
Format = Literal["text", "json", "mermaid", "dot", "svg"]
FORMATS: tuple[Format, ...] = ("text", "json", "mermaid", "dot", "svg")


@dataclass(frozen=True, slots=True)
class Node:
    """A step of the map: where a call starts (``call``), a document fetched from a path
    (``flow`` or hosted ``document``), a path nothing serves (``missing``), or how a call
    ends (``end``).

    ``id`` is stable for the same App (``n0`` is the first call); ``path`` is the URL path of
    the document (``/menu``), empty for calls and ends; ``label`` is what the map shows: the
    flow's name, the path, or the end (``hangup (voicemail)``).
    """

    id: str
    path: str
    label: str
    kind: NodeKind


@dataclass(frozen=True, slots=True)
class Edge:
    """What leads from one step to the next: ``label`` names the caller's inputs and the
    filters that matched (``press 2``, ``no input``, ``busy``, ``weekend``); ``kind`` is
    ``failed`` for a fetch that failed, ``end`` for the end of the call."""

    source: str
    target: str
    label: str
    kind: EdgeKind = "next"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found on some path: a stable ``code`` (``CF7xx``, see
    :data:`~callflow.simulator.explore.codes.CODES`), a ``message``, the ``node`` it is
    about and, for a path that fails, ``reproduce``: the ``callflow simulate`` command line
    that places that call."""

    code: str
    message: str
    node: str
    reproduce: str | None = None

    @property
    def fix(self) -> str:
        """How to fix this kind of problem."""
        return CODES[self.code].fix

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data, with its ``fix``."""
        return {**asdict(self), "fix": self.fix}


@dataclass(frozen=True, slots=True, repr=False)
class Exploration:
    """The map of every path explored from an App's entries, and the findings on it.

    ``calls`` is how many simulated calls the exploration placed; ``complete`` is False when
    a limit (``max_steps``, ``max_documents``) stopped it (a ``CF707`` finding says so).
    """

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    findings: tuple[Finding, ...]
    calls: int = 0
    complete: bool = True

    def __repr__(self) -> str:
        found = f": {', '.join(self.codes())}" if self.findings else ""
        return (
            f"<Exploration: {len(self.nodes)} nodes, {len(self.edges)} edges, "
            f"{len(self.findings)} findings{found}>"
        )

    @property
    def clean(self) -> bool:
        """Whether the exploration found nothing: ``assert exploration.clean``."""
        return not self.findings

    def node(self, id: str) -> Node:
        """The node whose ``id`` is ``id``; ``KeyError`` when there is none."""
        for node in self.nodes:
            if node.id == id:
                return node
        raise KeyError(id)

    def codes(self) -> list[str]:
        """The codes of the findings, in order (repeated when found on several nodes)."""
        return [finding.code for finding in self.findings]

    def to_dict(self) -> dict[str, Any]:
        """The exploration as JSON-ready data (what ``render("json")`` prints)."""
        return {
            "clean": self.clean,
            "complete": self.complete,
            "calls": self.calls,
            "nodes": [asdict(node) for node in self.nodes],
            "edges": [asdict(edge) for edge in self.edges],
            "findings": [finding.to_dict() for finding in self.findings],
        }

    def render(self, format: Format = "text") -> str:
        """The exploration as ``text`` (the tree of steps, then the findings), ``json``,
        ``mermaid``, ``dot`` or ``svg`` (drawn by Graphviz's ``dot``; raises
        :class:`~callflow.simulator.explore.formats.GraphvizMissing` without it)."""
        return formats.render(self, format)
