"""Benchmark (b): ``validate`` of a document, as a ratio to lxml parsing the same bytes and
checking them against the same XSD (the floor: what any validator of the XSD must do).

Four documents: small (3 commands), IVR (about 20 elements), large (200 commands), each
rendered by the DSL, and the IVR with two problems (one the XSD finds, a duplicate DTMF value
only the Python rules find). Every contender of a document is timed in the same rounds as its
baseline, interleaved.
"""

from __future__ import annotations

import functools

from lxml import etree

import callflow as cf
from callflow.dialect.validation import schema_problems
from callflow.dialect.xsd import xml_schema

from . import documents as d
from .timing import Figure, compare, repeated

BASELINE = "lxml parse + XSD"


def documents() -> dict[str, bytes]:
    """The documents validated, by name."""
    ivr = cf.render(d.callflow_ivr("Zoë & <Co>", "15550100200", "R-0001"))
    invalid = ivr.replace(b'dtmf_length="1"', b'dtmf_length="0"').replace(
        b'<DTMF value="2">', b'<DTMF value="1">'
    )
    assert invalid != ivr and len(cf.validate(invalid)) == 2
    return {
        "small": cf.render(d.callflow_small("Zoë & <Co>")),
        "ivr": ivr,
        "large": cf.render(d.callflow_large("Zoë & <Co>")),
        "invalid ivr": invalid,
    }


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def floor(body: bytes) -> None:
    """lxml's parse of ``body`` (no DTD, no entities, no network; one parser made once, the
    cheapest way) and the compat XSD check."""
    xml_schema("compat").validate(etree.fromstring(body, _PARSER))


def run(*, rounds: int, number: int) -> list[Figure]:
    """For each document: ``validate`` (compat, strict), the XSD-only outgoing check and
    ``parse`` (the full check and the DSL tree built; valid documents), as a ratio to
    :func:`floor` on the same bytes. Figures are named ``document: contender``."""
    figures: list[Figure] = []
    for name, body in documents().items():
        contenders = {
            f"{name}: {BASELINE}": repeated(functools.partial(floor, body)),
            f"{name}: validate(body) compat": repeated(functools.partial(cf.validate, body)),
            f"{name}: validate(body, strict=True)": repeated(
                functools.partial(cf.validate, body, strict=True)
            ),
            f"{name}: outgoing check (XSD only, strict)": repeated(
                functools.partial(schema_problems, body, strict=True)
            ),
        }
        if name != "invalid ivr":  # parse raises on it
            contenders[f"{name}: parse(body) (checked and built)"] = repeated(
                functools.partial(cf.parse, body)
            )
        count = max(1, number * 1000 // (1000 + len(body)))  # fewer calls of larger documents
        figures += compare(contenders, f"{name}: {BASELINE}", rounds=rounds, number=count)
    return figures
