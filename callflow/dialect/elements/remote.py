"""Commands that make HTTP requests: Callback (a redirect, D8) and Curl (a side request, D18)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.choices import CallbackMethod
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.dialect.elements.document import Error
    from callflow.types import CallbackChild


class Callback(Element):
    """Fetch a new document from ``url``; it replaces the rest of this one (D8).

    ``body=True`` sends the call object as JSON; ``tag`` and every ``Meta`` collected so far
    are appended to the query (D9). A failed fetch runs the ``Error`` child.
    """

    __slots__ = ()
    xml_tag = "Callback"
    fields = (
        Field("url", checks.url, required=True),
        Field("method", checks.one_of(CallbackMethod)),
        Field("body", checks.boolean),
        Field("timeout", checks.ms),
        Field("tag", checks.tag),
    )

    url: str
    method: CallbackMethod | None
    body: bool | None
    timeout: int | None
    tag: str | None

    def __init__(
        self,
        *children: CallbackChild,
        url: str,
        method: CallbackMethod | None = None,
        body: bool | None = None,
        timeout: int | None = None,
        tag: str | None = None,
    ) -> None: ...


class Curl(Element):
    """Make an HTTP request to ``url`` with the optional text ``body``; its reply is not run
    and the flow continues (D18). A failure runs the ``Error`` child."""

    __slots__ = ()
    xml_tag = "Curl"
    fields = (
        Field("body", checks.non_empty_text),
        Field("url", checks.url, required=True),
        Field("method", checks.curl_method),
        Field("timeout", checks.ms),
        Field("tag", checks.tag),
    )
    content = "body"

    body: str | None
    url: str
    method: str | None
    timeout: int | None
    tag: str | None

    def __init__(
        self,
        body: str | None = None,
        *children: Error,
        url: str,
        method: str | None = None,
        timeout: int | None = None,
        tag: str | None = None,
    ) -> None: ...
