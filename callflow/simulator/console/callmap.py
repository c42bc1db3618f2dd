"""The console's map of the App: ``callflow explore``'s graph of every reachable step, drawn
as SVG, with the nodes the page marks as a call reaches them.

Exploring runs many simulated calls, so the map is made once, on first demand, in a worker
thread, and kept; a map that cannot be made (Graphviz missing, say) is a clear "map
unavailable" with the reason, never an error page.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import asdict
from typing import Any

from callflow.server.app import App
from callflow.simulator.explore import explore

logger = logging.getLogger("callflow")


class CallMap:
    """The explore map of ``app``, made once (thread-safe) and kept."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._made: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        """``{"available": True, "svg": ..., "nodes": [{"id", "path", "label", "kind"}],
        "findings": [...]}``, or ``{"available": False, "reason": ..., "nodes": [...],
        "findings": [...]}`` (the nodes and findings when exploring worked)."""
        with self._lock:
            if self._made is None:
                self._made = self._make()
            return self._made

    def _make(self) -> dict[str, Any]:
        try:
            exploration = explore(self.app)
        except Exception as exc:  # the App's own bug: the page says so, the server goes on
            logger.exception("the console could not explore the App")
            return _unavailable(f"exploring the App failed: {type(exc).__name__}: {exc}")
        result: dict[str, Any] = {
            "nodes": [asdict(node) for node in exploration.nodes],
            "findings": [finding.to_dict() for finding in exploration.findings],
        }
        if shutil.which("dot") is None:
            reason = "Graphviz's dot is not installed (Debian: apt-get install graphviz)"
            return {**_unavailable(reason), **result}
        try:
            svg = exploration.render("svg")
        except Exception as exc:  # dot itself failed: the map is missing, not the page
            logger.exception("the console could not draw the explore map")
            return {**_unavailable(f"drawing the map failed: {exc}"), **result}
        return {"available": True, "svg": svg, **result}


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason, "nodes": [], "findings": []}
