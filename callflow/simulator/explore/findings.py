"""What the finished walk says about the whole App: cycles no key press leaves (CF704),
branches no input reached (CF705), and a walk stopped by its limits (CF707).

The findings of a single path (a missing path, a failed fetch, silence, a flow error) are
made as the walk meets them, in :mod:`~callflow.simulator.explore.walk`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from callflow.dialect.elements.base import Element
from callflow.dialect.elements.document import Response
from callflow.dialect.elements.gather import DEFAULT_DTMF_LENGTH, DTMF, Gather
from callflow.simulator.explore import codes as code
from callflow.simulator.explore.exploration import Finding
from callflow.simulator.explore.steps import Step

if TYPE_CHECKING:
    from callflow.simulator.explore.walk import Explorer

StepKey = tuple[object, ...]


def element_paths(document: Response) -> dict[int, str]:
    """Where each element is, as the engine names it: ``Gather[3]/DTMF[1]`` (by ``id``)."""
    found: dict[int, str] = {}

    def walk(el: Element, path: str) -> None:
        for index, child in enumerate(el.children):
            here = f"{path}/{child.xml_tag}[{index}]" if path else f"{child.xml_tag}[{index}]"
            found[id(child)] = here
            walk(child, here)

    walk(document, "")
    return found


def _components(graph: Mapping[StepKey, list[StepKey]]) -> Iterator[list[StepKey]]:
    """The strongly connected components of ``graph`` (Tarjan's, without recursion)."""
    index: dict[StepKey, int] = {}
    low: dict[StepKey, int] = {}
    stack: list[StepKey] = []
    on_stack: set[StepKey] = set()
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[StepKey, int]] = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph.get(node, [])
            if position < len(successors):
                work.append((node, position + 1))
                successor = successors[position]
                if successor not in index:
                    work.append((successor, 0))
                elif successor in on_stack:
                    low[node] = min(low[node], index[successor])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield component
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])


def traps(explorer: Explorer) -> list[Finding]:
    """CF704: every cycle of steps that no path leaves (none of them ends the call, none
    leads out of the cycle)."""
    steps = explorer.steps
    graph = {key: [s for s in step.successors if s in steps] for key, step in steps.items()}
    found: list[Finding] = []
    for component in _components(graph):
        members = set(component)
        looped = len(component) > 1 or component[0] in graph[component[0]]
        if not looped:
            continue
        leaves = any(
            steps[key].ends or any(s not in members for s in graph[key]) for key in component
        )
        if leaves:
            continue
        ordered = sorted(component, key=lambda key: steps[key].index)
        labels = list(dict.fromkeys(explorer.results.label(steps[k].node) for k in ordered))
        first = steps[ordered[0]]
        cycle = " -> ".join([*labels, labels[0]])
        found.append(
            Finding(
                code.TRAP,
                f"the cycle {cycle} has no way out: no key press ends the call or leads "
                "elsewhere, so it only ends when Opentact gives up",
                first.node,
                explorer.reproduce(first.scenario, first.prefix),
            )
        )
    return found


def _why_not(gather: Gather, value: str, earlier: list[str]) -> str:
    length = gather.dtmf_length or DEFAULT_DTMF_LENGTH
    if gather.url is not None:
        return "the Gather has a url: the digits go there, and its branches never run"
    if len(value) > length:
        return f"it is longer than the Gather's dtmf_length ({length})"
    if gather.dtmf_stop is not None and gather.dtmf_stop in value:
        return f"it holds the stop key {gather.dtmf_stop!r}"
    if value in earlier:
        return "an earlier branch of the Gather has the same value"
    return f"pressing {value} did not select it"


def unreachable(explorer: Explorer) -> list[Finding]:
    """CF705: the Gathers no explored call ran, the DTMF branches pressing their value did
    not run, the flows and hosted documents no explored call requested."""
    results = explorer.results
    found: list[Finding] = []
    seen: dict[str, Step] = {}
    for step in explorer.steps.values():
        if step.key in explorer.claimed and step.document is not None:
            seen.setdefault(step.body, step)
    for body, step in seen.items():
        document = step.document
        if document is None:  # the steps kept above have one
            continue
        places = element_paths(document)
        label = results.label(step.node)
        ran = results.gathers_ran.get(body, set())
        for number, gather in enumerate(el for el in document.iter() if isinstance(el, Gather)):
            where = f"the Gather at {places[id(gather)]} of {label} ({step.path})"
            if number not in ran:
                found.append(Finding(code.UNREACHABLE, f"no explored call runs {where}", step.node))
                continue
            matched = results.matched.get((body, number), set())
            earlier: list[str] = []
            for branch in gather.children:
                if not isinstance(branch, DTMF):
                    continue
                if branch.value not in matched:
                    why = _why_not(gather, branch.value, earlier)
                    found.append(
                        Finding(
                            code.UNREACHABLE,
                            f"the DTMF branch {branch.value!r} of {where} never runs: {why}",
                            step.node,
                        )
                    )
                earlier.append(branch.value)
    app = explorer.app
    if app is not None:
        for flow in app.flows:
            if flow.name not in results.reached:
                node = results.node("flow", flow.name, flow.path, flow.name)
                found.append(
                    Finding(
                        code.UNREACHABLE,
                        f"no explored call reaches the flow {flow.name!r} ({flow.path}): link "
                        "to it, or give the inputs it needs (codes, callers, numbers)",
                        node.id,
                    )
                )
        for path in app.hosted:
            if path not in results.reached:
                node = results.node("document", path, path, path)
                found.append(
                    Finding(
                        code.UNREACHABLE,
                        f"no explored call fetches the hosted document {path}",
                        node.id,
                    )
                )
    return found


def incomplete(explorer: Explorer) -> list[Finding]:
    """CF707 when a limit stopped the walk before every path was followed, or replayed
    calls went another way than the calls they replay (their paths were not followed)."""
    if explorer.complete:
        return []
    first = next(iter(explorer.results.nodes.values()))
    found = []
    if explorer.diverged:
        found.append(
            Finding(
                code.INCOMPLETE,
                f"{explorer.diverged} replayed calls went another way than the call they "
                "replay, with the same inputs: a flow that is not deterministic (a random "
                "choice, the real clock, data that changes between calls); the paths after "
                "them were not followed, and the other findings only cover what was",
                first.id,
            )
        )
    if explorer.limited:
        found.append(
            Finding(
                code.INCOMPLETE,
                f"exploration stopped at its limits ({explorer.calls} calls of max_steps "
                f"{explorer.max_steps}, {len(explorer.claimed)} documents of max_documents "
                f"{explorer.max_documents}) with paths left to follow; the other findings "
                "only cover what was explored",
                first.id,
            )
        )
    return found
