"""``Slot``: a named placeholder for a value supplied when a prepared document is rendered."""

from __future__ import annotations

import keyword
import re
import secrets
from typing import Final

from callflow.exceptions import SlotError

_NONCE: Final = secrets.token_hex(8)
MARK_OPEN: Final = f"\ue000{_NONCE}:"
MARK_CLOSE: Final = "\ue001"
"""Around a slot's name in the rendered skeleton: private-use characters and a random
nonce of this process, so no text a caller or a developer writes can pass for a slot."""
MARK: Final = re.compile(f"{re.escape(MARK_OPEN)}([A-Za-z][A-Za-z0-9_]*){MARK_CLOSE}")


class Slot(str):
    """A placeholder for a text value (Say text, a URL, a dial target, a Meta value, a tag)
    filled in by :meth:`PreparedDocument.render`; see :func:`callflow.prepare`.

    A ``Slot`` is a ``str``, so it fits wherever the DSL takes text; the value given at render
    time is checked by the same rule as the attribute it stands for.

    >>> Slot("greeting").name
    'greeting'
    """

    __slots__ = ("name",)
    name: str

    def __new__(cls, name: str) -> Slot:
        if (
            not isinstance(name, str)
            or not name.isascii()
            or not name.isidentifier()
            or keyword.iskeyword(name)
            or name.startswith("_")
        ):
            raise SlotError(
                "a slot name must be an ASCII identifier, not a keyword or _private", name
            )
        slot = super().__new__(cls, f"{MARK_OPEN}{name}{MARK_CLOSE}")
        slot.name = name
        return slot

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"

    def __reduce__(self) -> tuple[type[Slot], tuple[str]]:
        return (Slot, (self.name,))
