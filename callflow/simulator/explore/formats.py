"""An exploration written out: ``text`` (the tree of steps, then the findings), ``json``,
``mermaid``, ``dot``, and ``svg`` (Graphviz draws the dot).

In dot, and so in the SVG, each node's ``id`` is ``cf-<node id>`` (``cf-n3``): the SVG group of
a node carries it, so a page can find the node of a step and mark it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import graphviz  # type: ignore[import-untyped]  # no stubs, no py.typed

from callflow.exceptions import CallflowError
from callflow.simulator.explore.samples import KEYPAD

if TYPE_CHECKING:
    from callflow.simulator.explore.exploration import Edge, Exploration, Node

MOST_LABELS: Final = 4
"""Alternatives shown on one edge of a drawing; the rest are counted."""
FINDING_COLOUR: Final = "#b00020"


class GraphvizMissing(CallflowError, RuntimeError):
    """Graphviz's ``dot`` program is not installed: no SVG."""

    def __init__(self) -> None:
        super().__init__(
            "Graphviz's dot program was not found on PATH: install it (Debian: apt-get "
            "install graphviz) to draw SVG, or write --format dot"
        )


def render(exploration: Exploration, format: str) -> str:
    """``exploration`` in ``format`` (see the module docstring)."""
    if format == "text":
        return text(exploration)
    if format == "json":
        return json.dumps(exploration.to_dict(), indent=2, ensure_ascii=False)
    if format == "mermaid":
        return mermaid(exploration)
    if format == "dot":
        return dot(exploration)
    if format == "svg":
        return svg(exploration)
    raise ValueError(f"unknown format {format!r}: text, json, mermaid, dot or svg")


def _grouped(edges: Iterable[Edge]) -> dict[tuple[str, str, str], list[str]]:
    """Edges with the same ends and kind, their labels together, in order; single keys
    that lead the same way are merged (``press 0-9/*/#``)."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for edge in edges:
        labels = grouped.setdefault((edge.source, edge.target, edge.kind), [])
        if edge.label and edge.label not in labels:
            labels.append(edge.label)
    return {ends: _merged(labels) for ends, labels in grouped.items()}


def _merged(labels: list[str]) -> list[str]:
    keys: dict[str, list[str]] = {}
    order: list[tuple[bool, str]] = []
    for label in labels:
        before, _, last = label.rpartition(", ")
        if last.startswith("press ") and len(last) == 7 and last[6] in KEYPAD:
            if before not in keys:
                order.append((True, before))
            keys.setdefault(before, []).append(last[6])
        else:
            order.append((False, label))
    merged = []
    for pressed, item in order:
        if not pressed:
            merged.append(item)
            continue
        keyed = "press " + _keys(keys[item])
        merged.append(f"{item}, {keyed}" if item else keyed)
    return merged


def _keys(keys: list[str]) -> str:
    """``0123456789*#`` -> ``0-9/*/#``, ``12`` -> ``1/2``."""
    ordered = sorted(set(keys), key=KEYPAD.index)
    parts: list[str] = []
    run: list[str] = []
    for key in [*ordered, ""]:
        if key.isdigit() and (not run or int(key) == int(run[-1]) + 1):
            run.append(key)
            continue
        if run:
            parts += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else run
        run = [key] if key.isdigit() else []
        if key and not key.isdigit():
            parts.append(key)
    if run:
        parts += [f"{run[0]}-{run[-1]}"] if len(run) >= 3 else run
    return "/".join(parts)


def _short(labels: list[str], separator: str) -> str:
    shown = labels[:MOST_LABELS]
    more = len(labels) - len(shown)
    return separator.join(shown) + (f"{separator}(+{more} more)" if more > 0 else "")


def _count(number: int, noun: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _name(node: Node) -> str:
    if node.path and node.path != node.label:
        return f"{node.label} ({node.path})"
    return node.label


# -- text --------------------------------------------------------------------------------------


def text(exploration: Exploration) -> str:
    """The tree of steps from each call, each step drawn once, then the findings."""
    nodes = {node.id: node for node in exploration.nodes}
    flagged = {finding.node for finding in exploration.findings}
    outgoing: dict[str, list[tuple[str, str, str]]] = {}
    for (source, target, kind), labels in _grouped(exploration.edges).items():
        for label in labels or [""]:
            outgoing.setdefault(source, []).append((target, kind, label))
    lines: list[str] = []
    drawn: set[str] = set()

    def draw(node_id: str, prefix: str, lead: str, label: str, kind: str) -> None:
        node = nodes[node_id]
        mark = " !" if node_id in flagged else ""
        how = f"{label} -> " if label else ("failed -> " if kind == "failed" else "")
        again = " (above)" if node_id in drawn and outgoing.get(node_id) else ""
        lines.append(f"{prefix}{lead}{how}{_name(node)}{mark}{again}")
        if node_id in drawn:
            return
        drawn.add(node_id)
        children = outgoing.get(node_id, [])
        inner = prefix + ("   " if lead in ("", "`- ") else "|  ")
        for number, (target, edge_kind, edge_label) in enumerate(children):
            last = number == len(children) - 1
            draw(target, inner if lead else prefix, "`- " if last else "|- ", edge_label, edge_kind)

    for node in exploration.nodes:
        if node.kind == "call":
            draw(node.id, "", "", "", "next")
    for node in exploration.nodes:
        if node.id not in drawn and node.kind != "end":
            draw(node.id, "", "", "", "next")
    documents = sum(1 for node in exploration.nodes if node.kind in ("flow", "document"))
    summary = ", ".join(
        (
            _count(documents, "step"),
            _count(len(exploration.edges), "edge"),
            _count(exploration.calls, "simulated call"),
        )
    )
    if exploration.clean:
        lines += ["", f"clean: {summary}"]
        return "\n".join(lines)
    lines += ["", f"{_count(len(exploration.findings), 'finding')} ({summary}):"]
    for finding in exploration.findings:
        node = nodes[finding.node]
        lines.append(f"{finding.code} {_name(node)}: {finding.message}")
        if finding.reproduce:
            lines.append(f"    reproduce: {finding.reproduce}")
    return "\n".join(lines)


# -- Mermaid -----------------------------------------------------------------------------------

_MERMAID_SHAPES: Final = {
    "call": ('(["', '"])'),
    "flow": ('["', '"]'),
    "document": ('[["', '"]]'),
    "missing": ('{{"', '"}}'),
    "end": ('(("', '"))'),
}


def _mermaid_text(value: str) -> str:
    return value.replace('"', "#quot;").replace("\n", " ")


def mermaid(exploration: Exploration) -> str:
    """A Mermaid flowchart: ``flowchart TD``, a node per step, labelled edges."""
    lines = ["flowchart TD"]
    for node in exploration.nodes:
        start, end = _MERMAID_SHAPES[node.kind]
        label = _mermaid_text(node.label)
        if node.path and node.path != node.label:
            label += "<br/>" + _mermaid_text(node.path)
        lines.append(f"    {node.id}{start}{label}{end}")
    for (source, target, kind), labels in _grouped(exploration.edges).items():
        arrow = "-.->" if kind == "failed" else "-->"
        label = _mermaid_text(_short(labels, " | "))
        lines.append(
            f'    {source} {arrow}|"{label}"| {target}'
            if label
            else f"    {source} {arrow} {target}"
        )
    flagged = list(dict.fromkeys(finding.node for finding in exploration.findings))
    if flagged:
        lines.append(f"    classDef finding stroke:{FINDING_COLOUR},stroke-width:3px")
        lines.append(f"    class {','.join(flagged)} finding")
    return "\n".join(lines)


# -- Graphviz ----------------------------------------------------------------------------------

_DOT_SHAPES: Final = {
    "call": 'shape=oval, style="bold"',
    "flow": 'shape=box, style="rounded"',
    "document": "shape=note",
    "missing": 'shape=box, style="dashed"',
    "end": 'shape=oval, style="filled", fillcolor="#eeeeee"',
}


def _quoted(value: str) -> str:
    """A dot string: quoted, with quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(exploration: Exploration) -> str:
    """A Graphviz digraph; each node's ``id`` is ``cf-<node id>``."""
    flagged = {finding.node for finding in exploration.findings}
    lines = [
        "digraph callflow {",
        '    graph [rankdir=TB, fontname="Helvetica", fontsize=11, nodesep=0.3];',
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for node in exploration.nodes:
        label = (
            node.label if not node.path or node.path == node.label else f"{node.label}\n{node.path}"
        )
        extra = f', color="{FINDING_COLOUR}", penwidth=2' if node.id in flagged else ""
        lines.append(
            f"    {node.id} [id={_quoted('cf-' + node.id)}, label={_quoted(label)}, "
            f"{_DOT_SHAPES[node.kind]}{extra}];"
        )
    for number, ((source, target, kind), labels) in enumerate(_grouped(exploration.edges).items()):
        style = ', style="dashed", color="#b00020"' if kind == "failed" else ""
        label = _short(labels, "\n")
        lines.append(
            f"    {source} -> {target} [id={_quoted(f'cf-e{number}')}, "
            f"label={_quoted(label)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(exploration: Exploration) -> str:
    """The dot drawn by Graphviz, as SVG text; :class:`GraphvizMissing` without ``dot``."""
    try:
        drawn: str = graphviz.Source(dot(exploration)).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizMissing() from exc
    return drawn
