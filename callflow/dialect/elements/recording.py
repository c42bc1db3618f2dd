"""Recording the call: Record, RecordStart, RecordStop, RecordWait (D14)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.dialect.elements.document import Error
    from callflow.types import CommandBlockChild


class Record(Element):
    """Record the caller; children run while recording (D14). ``tag`` names the recording
    for ``Play(record=...)``; ``asr`` transcribes it; ``timeout`` is the length in ms (§7 #7).
    """

    __slots__ = ()
    xml_tag = "Record"
    fields = (
        Field("tag", checks.tag),
        Field("asr", checks.boolean),
        Field("timeout", checks.ms),
    )

    tag: str | None
    asr: bool | None
    timeout: int | None

    def __init__(
        self,
        *children: CommandBlockChild,
        tag: str | None = None,
        asr: bool | None = None,
        timeout: int | None = None,
    ) -> None: ...


class RecordStart(Element):
    """Start recording the call in the background."""

    __slots__ = ()
    xml_tag = "RecordStart"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: Error, tag: str | None = None) -> None: ...


class RecordStop(Element):
    """Stop the recording started by ``RecordStart``."""

    __slots__ = ()
    xml_tag = "RecordStop"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: Error, tag: str | None = None) -> None: ...


class RecordWait(Element):
    """Wait until the recording is finished (§7 #8)."""

    __slots__ = ()
    xml_tag = "RecordWait"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: Error, tag: str | None = None) -> None: ...
