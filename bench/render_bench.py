"""Benchmark (a): rendering the small, IVR and large documents with callflow and its peers."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable

import callflow as cf

from . import documents as d
from .timing import Contender, Figure, compare, repeated


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
        result["callflow build+render"] = repeated(lambda: cf.render(d.callflow_ivr(*nxt())))
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
    result["callflow build+render"] = repeated(lambda: cf.render(build(nxt()[0])))
    result["callflow render() of a built tree"] = _render_prebuilt(lambda: build(nxt()[0]))
    result["lxml etree + tostring"] = repeated(lambda: lxml_build(nxt()[0]))
    if peers["twilio"]:
        result["twilio VoiceResponse"] = repeated(lambda: twilio_build(nxt()[0]))
    if peers["plivo"]:
        result["plivo plivoxml"] = repeated(lambda: plivo_build(nxt()[0]))
    return result


def run(*, rounds: int, number: int) -> dict[str, list[Figure]]:
    """Run benchmark (a) for the three documents; large documents use fewer calls."""
    results = {}
    for document in ("small", "ivr", "large"):
        calls = max(1, number // 20) if document == "large" else number
        results[document] = compare(
            contenders(document), "f-string floor", rounds=rounds, number=calls
        )
    return results
