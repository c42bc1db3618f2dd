"""Benchmark (b): validating a rendered document, as a ratio to rendering it."""

from __future__ import annotations

import callflow as cf
from callflow.dialect.validation import schema_problems

from . import documents as d
from .timing import Figure, compare, repeated


def run(*, rounds: int, number: int) -> list[Figure]:
    """Validation of the IVR document (compat, strict, outgoing check) against its render."""
    body = cf.render(d.callflow_ivr("Zoë & <Co>", "15550100200", "R-0001"))
    contenders = {
        "render (build+render)": repeated(
            lambda: cf.render(d.callflow_ivr("Zoë & <Co>", "15550100200", "R-0001"))
        ),
        "validate(body) compat": repeated(lambda: cf.validate(body)),
        "validate(body, strict=True)": repeated(lambda: cf.validate(body, strict=True)),
        "outgoing check (XSD, strict)": repeated(lambda: schema_problems(body, strict=True)),
    }
    return compare(contenders, "render (build+render)", rounds=rounds, number=number)
