"""Each distinct document is checked once per Simulator (callflow/simulator/fetching.py):
one parse and one check, reused by every call, and every problem still reported each time
the document comes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from callflow.dialect.validation import examine
from callflow.simulator import fetching
from callflow.simulator.fetching import CheckedDocuments, Fetched
from callflow.simulator.trace import WarningEvent
from callflow.testing import Simulator, expect_fallback


def doc(inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Response>{inner}</Response>'.encode()


def fixed(replies: dict[str, bytes]) -> Starlette:
    async def endpoint(request: Request) -> HTTPResponse:
        body = replies.get(request.url.path, b"")
        return HTTPResponse(body, 200 if body else 404, media_type="application/xml")

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


@pytest.fixture
def examined(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The documents the full check ran on, in order."""
    seen: list[bytes] = []
    real: Callable[..., Any] = examine

    def counting(source: bytes, **options: Any) -> Any:
        seen.append(source)
        return real(source, **options)

    monkeypatch.setattr(fetching, "examine", counting)
    return seen


def test_a_document_sent_again_is_checked_once(examined: list[bytes]) -> None:
    menu = doc('<Say>Menu.</Say><Callback url="/next"/>')
    app = fixed({"/": menu, "/next": doc("<Say>Bye.</Say><Hangup/>")})
    with Simulator(app) as simulator:
        traces = [simulator.call() for _ in range(3)]
        assert len(simulator.documents) == 2
    assert [trace.heard for trace in traces] == [["Menu.", "Bye."]] * 3
    assert all(trace.ended_normally for trace in traces)
    assert len(examined) == 2  # the menu and the next document, each once


def test_an_invalid_document_fails_every_call_it_comes_in(examined: list[bytes]) -> None:
    app = fixed({"/": doc('<Gather dtmf_length="0"><Say>P.</Say></Gather>')})
    with Simulator(app) as simulator:
        traces = [simulator.call() for _ in range(2)]
    assert len(examined) == 1
    for trace in traces:
        assert trace.hangup_reason == "webhook failed"
        assert trace.failed
        (warning,) = trace.of(WarningEvent)
        assert warning.message.startswith("invalid document from http://testserver/?from=")
        assert "'dtmf_length' must be >= 1 (got 0)" in warning.message


def test_a_known_legacy_gather_still_calls_its_callback() -> None:
    legacy = doc('<Gather callback="/code" dtmf_length="1"><Say>Code?</Say></Gather>')
    app = fixed({"/": legacy, "/code": doc("<Say>Thanks.</Say>")})
    with Simulator(app) as simulator:
        for _ in range(2):
            trace = simulator.call(keys=["4"])
            assert [r.purpose for r in trace.requests] == ["webhook", "gather-callback"]
            assert trace.heard == ["Code?", "Thanks."]


def test_a_known_fallback_document_is_still_reported() -> None:
    fallback = doc('<Say>Sorry.</Say><Hangup tag="callflow-fallback"/>')
    with expect_fallback(), Simulator(fixed({"/": fallback})) as simulator:
        for _ in range(2):
            trace = simulator.call()
            assert [f.cause for f in trace.fallbacks] == ["unknown"]
            assert trace.failed


def test_the_memo_keeps_the_newest_documents_within_its_bounds() -> None:
    documents = CheckedDocuments(max_documents=2, max_bytes=10_000, max_document_bytes=5_000)
    first, second, third = (doc(f"<Say>{n}.</Say>") for n in range(3))
    for raw in (first, second, third):
        assert isinstance(documents.check(raw), Fetched)
    assert len(documents) == 2
    big = doc("<Say>" + "x" * 6_000 + "</Say>")
    checked = documents.check(big)
    assert isinstance(checked, Fetched)
    assert checked.raw == big
    assert len(documents) == 2  # too large to remember: checked, not kept
    assert documents.check(big) is not checked
    by_size = CheckedDocuments(max_documents=100, max_bytes=10_000)
    wide = [doc(f"<Say>{n}{'y' * 4_000}</Say>") for n in range(3)]
    verdicts = [by_size.check(raw) for raw in wide]
    assert len(by_size) == 2  # 10,000 bytes in all: the oldest went out
    assert by_size.check(wide[-1]) is verdicts[-1]
    assert by_size.check(wide[0]) is not verdicts[0]  # checked again
    documents.clear()
    assert len(documents) == 0


def test_a_verdict_is_the_documents_own() -> None:
    documents = CheckedDocuments()
    valid = documents.check(doc("<Hangup/>"))
    invalid = documents.check(b"<Response><Bogus/></Response>")
    assert isinstance(valid, Fetched)
    assert not valid.ends_in_fallback
    assert isinstance(invalid, str)
    assert "Bogus" in invalid
    assert documents.check(b"<Response><Bogus/></Response>") == invalid


def test_documents_sharing_parts_keep_their_own_legacy_gathers_and_fallbacks() -> None:
    # New bytes each time, the same parts: elements built before are reused, and what each
    # document says of itself (a legacy Gather, callflow's fallback) stays its own.
    documents = CheckedDocuments()
    gather = '<Gather {}="/code" dtmf_length="1"><Say>Code?</Say></Gather>'
    legacy = documents.check(doc(gather.format("callback") + "<Say>1</Say>"))
    canonical = documents.check(doc(gather.format("url") + "<Say>2</Say>"))
    again = documents.check(doc(gather.format("callback") + "<Say>3</Say>"))
    assert isinstance(legacy, Fetched) and isinstance(canonical, Fetched)
    assert isinstance(again, Fetched)
    assert len(legacy.legacy_callbacks) == 1 and len(again.legacy_callbacks) == 1
    assert not canonical.legacy_callbacks
    assert legacy.document.children[0] == canonical.document.children[0]  # normalised alike
    hangup = '<Hangup tag="callflow{}fallback"/>'
    plain = documents.check(doc("<Say>Sorry.</Say><Hangup/>"))
    fallback = documents.check(doc("<Say>Sorry.</Say>" + hangup.format("-")))
    escaped = documents.check(doc("<Say>Sorry.</Say>" + hangup.format("&#45;")))
    other = documents.check(doc("<Say>Sorry.</Say>" + hangup.format("-not-")))
    assert isinstance(plain, Fetched) and not plain.ends_in_fallback
    assert isinstance(fallback, Fetched) and fallback.ends_in_fallback
    assert isinstance(escaped, Fetched) and escaped.ends_in_fallback
    assert isinstance(other, Fetched) and not other.ends_in_fallback
