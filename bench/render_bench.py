"""Benchmark (a): rendering the small, IVR and large documents with callflow and its peers.

A document built anew per call is also measured against a minimal checked DSL
(:mod:`bench.minimal_dsl`), the floor a checked DSL can reach in Python (issue 12: callflow's
target is 1.2x it); both write the same XML, which :func:`same_xml` asserts before timing.
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable

from lxml import etree

import callflow as cf

from . import documents as d
from .timing import Contender, Figure, compare, repeated

CALLFLOW = "callflow build+render"
MINIMAL = "minimal checked DSL build+render"


def _inputs() -> Callable[[], tuple[str, str, str]]:
    names = itertools.cycle(d.CALLERS)
    numbers = itertools.cycle(d.NUMBERS)
    refs = itertools.cycle([f"R-{i:04d}" for i in range(97)])
    return lambda: (next(names), next(numbers), next(refs))


def _render_prebuilt(build: Callable[[], cf.Response]) -> Contender:
    """``render()`` of trees built before timing starts. Elements write their XML when they
    are built, so this is the declaration and the encoding only: the work is in
    ``build+render``."""

    def contender(number: int) -> Callable[[], object]:
        trees = iter([build() for _ in range(number)])
        return lambda: cf.render(next(trees))

    return contender


def peers_available() -> dict[str, bool]:
    return {
        "twilio": importlib.util.find_spec("twilio") is not None,
        "plivo": importlib.util.find_spec("plivo") is not None,
    }


def contenders(document: str) -> dict[str, Contender]:
    """The contenders for ``document`` (small, ivr or large); the floor comes first."""
    nxt = _inputs()
    peers = peers_available()
    result: dict[str, Contender] = {}
    if document == "ivr":
        result["f-string floor"] = repeated(lambda: d.fstring_ivr(*nxt()))
        result[CALLFLOW] = repeated(lambda: cf.render(d.callflow_ivr(*nxt())))
        result[MINIMAL] = repeated(lambda: d.minimal_ivr(*nxt()))
        result["callflow render() of a built tree"] = _render_prebuilt(
            lambda: d.callflow_ivr(*nxt())
        )
        result["callflow, constant subtrees"] = repeated(
            lambda: cf.render(d.callflow_ivr_constant(*nxt()))
        )
        result["callflow prepared (3 slots)"] = repeated(lambda: d.callflow_ivr_prepared(*nxt()))
        result["lxml etree + tostring"] = repeated(lambda: d.lxml_ivr(*nxt()))
        if peers["twilio"]:
            result["twilio VoiceResponse"] = repeated(lambda: d.twilio_ivr(*nxt()))
        if peers["plivo"]:
            result["plivo plivoxml"] = repeated(lambda: d.plivo_ivr(*nxt()))
        return result
    builders = {
        "small": (d.fstring_small, d.callflow_small, d.lxml_small, d.twilio_small, d.plivo_small),
        "large": (d.fstring_large, d.callflow_large, d.lxml_large, d.twilio_large, d.plivo_large),
    }
    floor, build, lxml_build, twilio_build, plivo_build = builders[document]
    result["f-string floor"] = repeated(lambda: floor(nxt()[0]))
    result[CALLFLOW] = repeated(lambda: cf.render(build(nxt()[0])))
    if document == "large":
        result[MINIMAL] = repeated(lambda: d.minimal_large(nxt()[0]))
    result["callflow render() of a built tree"] = _render_prebuilt(lambda: build(nxt()[0]))
    result["lxml etree + tostring"] = repeated(lambda: lxml_build(nxt()[0]))
    if peers["twilio"]:
        result["twilio VoiceResponse"] = repeated(lambda: twilio_build(nxt()[0]))
    if peers["plivo"]:
        result["plivo plivoxml"] = repeated(lambda: plivo_build(nxt()[0]))
    return result


def _canonical(xml: bytes) -> str:
    return etree.canonicalize(xml.decode())


def same_xml() -> None:
    """Assert that callflow and the minimal checked DSL write the same XML (canonicalised)
    for every input the benchmark cycles through: else the comparison would be unfair."""
    for name, number in itertools.product(d.CALLERS, d.NUMBERS):
        ref = f"R-{len(name):04d}"
        pairs = [
            (cf.render(d.callflow_ivr(name, number, ref)), d.minimal_ivr(name, number, ref)),
            (cf.render(d.callflow_large(name)), d.minimal_large(name)),
        ]
        for ours, theirs in pairs:
            if _canonical(ours) != _canonical(theirs):
                raise AssertionError(f"callflow and the minimal DSL differ:\n{ours!r}\n{theirs!r}")


def versus_minimal(*, rounds: int, number: int) -> dict[str, list[Figure]]:
    """A document built anew and rendered, callflow against the minimal checked DSL (the
    baseline), for the IVR and the large documents: figures per element."""
    same_xml()
    results: dict[str, list[Figure]] = {}
    for document in ("ivr", "large"):
        every = contenders(document)
        pair = {MINIMAL: every[MINIMAL], CALLFLOW: every[CALLFLOW]}
        calls = max(1, number // 20) if document == "large" else number
        elements = d.ELEMENTS[document]
        results[document] = [
            Figure(
                f"{figure.name} (per element)",
                figure.median_us / elements,
                figure.ratio_median,
                figure.ratio_min,
                figure.ratio_max,
            )
            for figure in compare(pair, MINIMAL, rounds=rounds, number=calls)
        ]
    return results


def run(*, rounds: int, number: int) -> dict[str, list[Figure]]:
    """Run benchmark (a) for the three documents; large documents use fewer calls."""
    results = {}
    for document in ("small", "ivr", "large"):
        calls = max(1, number // 20) if document == "large" else number
        results[document] = compare(
            contenders(document), "f-string floor", rounds=rounds, number=calls
        )
    return results
