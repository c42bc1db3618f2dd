"""Explore an App: every reachable path, followed by simulated calls, and what is wrong on it.

* ``walk``: :func:`explore`, breadth first and bounded, one simulated call per branch;
  ``call``: one of those calls; ``steps``: what the walk keeps (tasks, steps, results);
* ``samples``: what it tries at each Gather, Dial, Schedule and Geo;
* ``documents``: the stub for URLs outside the target, and when two documents are the same
  step;
* ``exploration``: the result, :class:`Exploration` (its :class:`Node`, :class:`Edge` and
  :class:`Finding`); ``codes``: the ``CF7xx`` codes; ``findings``: what the whole map says
  (cycles, unreachable branches); ``formats``: text, JSON, Mermaid, dot and SVG.

``docs/explore.md`` tells the story; users call it as ``callflow explore APP`` or
:func:`callflow.testing.explore`.
"""

from callflow.simulator.explore.codes import CODES as CODES
from callflow.simulator.explore.exploration import Edge as Edge
from callflow.simulator.explore.exploration import Exploration as Exploration
from callflow.simulator.explore.exploration import Finding as Finding
from callflow.simulator.explore.exploration import Node as Node
from callflow.simulator.explore.walk import MAX_DOCUMENTS as MAX_DOCUMENTS
from callflow.simulator.explore.walk import MAX_STEPS as MAX_STEPS
from callflow.simulator.explore.walk import explore as explore

__all__ = [
    "CODES",
    "MAX_DOCUMENTS",
    "MAX_STEPS",
    "Edge",
    "Exploration",
    "Finding",
    "Node",
    "explore",
]
