"""The XML Schemas shipped with callflow: ``compat.xsd`` and ``strict.xsd`` (package data)."""

from __future__ import annotations

import functools
import threading
from importlib import resources
from typing import Literal

from lxml import etree

SchemaMode = Literal["compat", "strict"]

_local = threading.local()


@functools.cache
def schema_text(mode: SchemaMode) -> bytes:
    """Return the XSD source of ``mode`` (read once per process)."""
    return resources.files("callflow.dialect").joinpath("schema", f"{mode}.xsd").read_bytes()


def xml_schema(mode: SchemaMode) -> etree.XMLSchema:
    """Return the parsed schema of ``mode``.

    Each thread gets its own copy, parsed once: ``XMLSchema`` keeps the error log of its last
    run on the object, so one shared instance would mix up concurrent validations.
    """
    cache: dict[str, etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    schema = cache.get(mode)
    if schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = cache[mode] = etree.XMLSchema(etree.fromstring(schema_text(mode), parser))
    return schema
