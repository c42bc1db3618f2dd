"""Call control without media: Answer, Hangup, Hold, Unhold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.dialect.elements.document import Error


class Answer(Element):
    """Answer the inbound call; ``delay`` ms wait after answering (§7 #1). Not needed with
    ``auto_answer``."""

    __slots__ = ()
    xml_tag = "Answer"
    fields = (Field("delay", checks.ms), Field("tag", checks.tag))

    delay: int | None
    tag: str | None

    def __init__(self, *children: Error, delay: int | None = None, tag: str | None = None): ...


class Hangup(Element):
    """End the call; ``tag`` is the hang-up reason in events (D20)."""

    __slots__ = ()
    xml_tag = "Hangup"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: Error, tag: str | None = None) -> None: ...


class Hold(Element):
    """Put the call on hold for at most ``timeout`` ms, any int >= 1 (D15); Opentact's default
    when it is absent is 300000, which is not a maximum (``Hold(timeout=600000)`` is valid)."""

    __slots__ = ()
    xml_tag = "Hold"
    fields = (Field("tag", checks.tag), Field("timeout", checks.hold_ms))

    tag: str | None
    timeout: int | None

    def __init__(self, *children: Error, tag: str | None = None, timeout: int | None = None): ...


class Unhold(Element):
    """Take the call off hold (D15)."""

    __slots__ = ()
    xml_tag = "Unhold"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: Error, tag: str | None = None) -> None: ...
