"""The document root, the failure handler and call variables: Response, Error, Meta."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.types import BlockChild, Scalar


class Response(Element):
    """The root of every document; its children run in order.

    >>> from callflow import Response, Say, Hangup, render
    >>> render(Response(Say("Hello"), Hangup()))
    b'<?xml version="1.0" encoding="UTF-8"?>\\n<Response><Say>Hello</Say><Hangup/></Response>'
    """

    __slots__ = ("_bytes",)
    xml_tag = "Response"
    _cache_slots = ("_bytes",)

    _bytes: bytes | None
    """The rendered document, kept by ``render`` (a constant document is encoded once)."""

    def __init__(self, *children: BlockChild) -> None: ...


class Error(Element):
    """The failure handler of the command that holds it (D7); its children run on failure.

    ``say=True`` speaks the failure reason first.
    """

    __slots__ = ()
    xml_tag = "Error"
    fields = (Field("tag", checks.tag), Field("say", checks.boolean))

    tag: str | None
    say: bool | None

    def __init__(self, *children: BlockChild, tag: str | None = None, say: bool | None = None): ...


class Meta(Element):
    """A call variable ``name=value``, sent with every later ``<Callback>`` request (D17).

    ``name`` is any non-empty text without whitespace or control characters (``2fa``,
    ``x.y-z``, ``a&b``); it is escaped in the XML and percent-encoded in the request.
    Ints, floats and bools are stored as their wire strings (``True`` -> ``"true"``). A value
    holding a line break is rendered as text content, any other as the ``value`` attribute.
    """

    __slots__ = ()
    xml_tag = "Meta"
    fields = (
        Field("name", checks.meta_name, required=True),
        Field("value", checks.scalar, required=True),
    )
    content = "value"
    content_mode = "text-if-multiline"

    name: str
    value: str

    def __init__(self, name: str, value: Scalar) -> None: ...

    def _positional(self) -> tuple[str, ...]:
        return ("name", "value")
