"""What validation and lint report: a :class:`Problem` or a :class:`Finding` per place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MAX_PROBLEMS: Final = 1_000
"""Problems reported per document at most, the first by place; one more says how many were
left out. A hostile document can hold a hundred thousand: nobody reads past the first ones,
and reporting them all costs more than finding them."""


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One reason a document is invalid, with its place in the source.

    ``path`` is the element path (``/Response/Gather[1]/DTMF[2]``); ``line`` and ``column``
    are 1-based (column 0 when unknown).
    """

    line: int
    column: int
    path: str
    message: str

    def to_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready dict."""
        return {
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
        }


Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """Something valid but likely wrong, with a stable ``code`` and a ``hint`` to fix it."""

    line: int
    column: int
    code: str
    path: str
    message: str
    hint: str
    severity: Severity = "warning"

    def to_dict(self) -> dict[str, object]:
        """Return the finding as a JSON-ready dict."""
        return {
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }
