"""The console's map of the App: ``callflow explore``'s graph of every reachable step, drawn
as SVG, with the nodes the page marks as a call reaches them.

Exploring runs many simulated calls, so the map is made once, on first demand, in a worker
thread, and kept; a map that cannot be made (Graphviz missing, say) is a clear "map
unavailable" with the reason, never an error page.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import threading
from typing import Any

from callflow.server.app import App

logger = logging.getLogger("callflow")

EXPLORE_MODULE = "callflow.simulator.explore"


class CallMap:
    """The explore map of ``app``, made once (thread-safe) and kept."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._made: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        """``{"available": True, "svg": ..., "nodes": [{"id", "path", "label", "kind"}],
        "findings": [...]}``, or
        ``{"available": False, "reason": ...}``."""
        with self._lock:
            if self._made is None:
                self._made = self._make()
            return self._made

    def _make(self) -> dict[str, Any]:
        try:
            module = importlib.import_module(EXPLORE_MODULE)
        except ImportError:
            return _unavailable("this callflow has no explore module")
        try:
            exploration = module.explore(self.app)
        except Exception as exc:
            logger.exception("the console could not explore the App")
            return _unavailable(f"exploring the App failed: {type(exc).__name__}: {exc}")
        nodes = [
            {
                "id": str(node.id),
                "path": str(node.path),
                "label": str(node.label),
                "kind": str(getattr(node, "kind", "")),
            }
            for node in exploration.nodes
        ]
        findings = [_finding(finding) for finding in exploration.findings]
        result: dict[str, Any] = {"nodes": nodes, "findings": findings}
        if shutil.which("dot") is None:
            reason = "Graphviz's dot is not installed (Debian: apt-get install graphviz)"
            return {**_unavailable(reason), **result}
        try:
            svg = exploration.render("svg")
        except Exception as exc:
            logger.exception("the console could not draw the explore map")
            return {**_unavailable(f"drawing the map failed: {exc}"), **result}
        return {"available": True, "svg": str(svg), **result}


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason, "nodes": [], "findings": []}


def _finding(finding: object) -> dict[str, Any]:
    to_dict = getattr(finding, "to_dict", None)
    if callable(to_dict):
        shown = to_dict()
        if isinstance(shown, dict):
            return {str(key): value for key, value in shown.items()}
    return {"message": str(finding)}
