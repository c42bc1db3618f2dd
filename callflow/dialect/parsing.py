"""Parse Opentact XML into DSL objects; legacy forms come back in canonical form."""

from __future__ import annotations

from callflow.dialect.elements.document import Response
from callflow.dialect.reader import MAX_BYTES, Source
from callflow.dialect.validation import check
from callflow.exceptions import SchemaValidationError


def parse(source: Source, *, strict: bool = False, max_bytes: int = MAX_BYTES) -> Response:
    """Validate ``source`` and return it as a :class:`Response` tree.

    Raises :class:`SchemaValidationError` carrying every problem when it is invalid.

    >>> parse(b'<Response><Gather numDigits="1"><Say>Hi</Say></Gather></Response>')
    Response(Gather(Say('Hi'), dtmf_length=1))
    """
    problems, doc, name = check(source, strict=strict, max_bytes=max_bytes)
    if doc is None:
        raise SchemaValidationError(problems, source=name)
    return doc
