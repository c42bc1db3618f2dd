"""What validation and lint report: a :class:`Problem` or a :class:`Finding` per place."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final, Literal

MAX_PROBLEMS: Final = 1_000
"""Problems reported per document at most, the first by place; one more says how many were
left out. A hostile document can hold a hundred thousand: nobody reads past the first ones,
and reporting them all costs more than finding them."""


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One reason a document is invalid, with its place in the source.

    ``path`` is the element path (``/Response/Gather[1]/DTMF[2]``); ``line`` and ``column``
    are 1-based (column 0 when unknown). ``str(problem)`` is ``LINE:COLUMN: message``, the
    form every report writes (after the source's name, where there is one).
    """

    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready dict."""
        return asdict(self)


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
        return asdict(self)
