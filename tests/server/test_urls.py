"""Public URLs (callflow.server.urls): path-only URLs of a rendered document made absolute, with the
query that links back into the App need (the access key, a carried session) appended."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from strategies import documents

from callflow import (
    Callback,
    Curl,
    Error,
    Gather,
    Hangup,
    Play,
    Response,
    Say,
    render,
    validate,
)
from callflow.server.urls import absolutize

BASE = "http://ivr.example/root"
QUERY = "token=k%26y&cf_session=s-1"
URL_ELEMENTS = ("Gather", "Callback", "Curl", "Play")


def absolute(url: str, query: str = QUERY) -> str:
    if not query:
        return BASE + url
    return BASE + url + ("&" if "?" in url else "?") + query


def test_every_place_of_a_url_in_a_canonical_document() -> None:
    body = render(
        Response(
            Play("/a.mp3?x=1"),
            Play("/b.mp3", Error(Say("No audio."))),
            Play("https://cdn.example/c.mp3"),
            Gather(Say("/not-a-url"), url="/g?a=1&b=2", dtmf_length=1),
            Callback(url="/next"),
            Curl('{"url": "/body"}', url="https://crm.example/hit", tag="/tag"),
            Hangup(tag="/x"),
        )
    )
    root = etree.fromstring(absolutize(body, BASE, QUERY))
    plays = root.findall("Play")
    assert plays[0].text == absolute("/a.mp3?x=1")
    assert plays[1].get("url") == absolute("/b.mp3")
    assert plays[2].text == "https://cdn.example/c.mp3"
    assert root.find("Gather").get("url") == absolute("/g?a=1&b=2")  # type: ignore[union-attr]
    assert root.find("Callback").get("url") == absolute("/next")  # type: ignore[union-attr]
    curl = root.find("Curl")
    assert curl is not None
    assert (curl.get("url"), curl.text, curl.get("tag")) == (
        "https://crm.example/hit",
        '{"url": "/body"}',
        "/tag",
    )
    assert [say.text for say in root.iter("Say")] == ["No audio.", "/not-a-url"]
    assert root.find("Hangup").get("tag") == "/x"  # type: ignore[union-attr]


def test_without_a_query_only_the_base_is_added() -> None:
    body = render(Response(Play("/a.mp3"), Callback(url="/next?x=1")))
    root = etree.fromstring(absolutize(body, BASE))
    assert root.findtext("Play") == BASE + "/a.mp3"
    assert root.find("Callback").get("url") == BASE + "/next?x=1"  # type: ignore[union-attr]


def test_a_document_without_path_only_urls_is_returned_as_it_is() -> None:
    body = render(Response(Say('<Callback url="/x"/> /etc'), Play("https://cdn.example/a.mp3")))
    assert absolutize(body, BASE, QUERY) == body


def test_the_same_document_gives_the_same_bytes_again() -> None:
    body = render(Response(Callback(url="/next")))
    first = absolutize(body, BASE, QUERY)
    assert absolutize(body, BASE, QUERY) == first
    assert absolutize(body, BASE, "token=other") != first


def _expected(element: etree._Element, query: str) -> dict[str, str | None]:
    """What absolutize must make of ``element``: its url (attribute or Play text) made
    absolute when it is a path, everything else unchanged."""
    seen: dict[str, str | None] = {"text": element.text, **dict(element.attrib)}
    if element.tag in URL_ELEMENTS:
        url = element.get("url")
        if url is not None and url.startswith("/"):
            seen["url"] = absolute(url, query)
        if element.tag == "Play" and element.text is not None and element.text.startswith("/"):
            seen["text"] = absolute(element.text, query)
    return seen


def _has_fragment(element: etree._Element) -> bool:
    # See test_the_query_goes_before_a_fragment.
    return "#" in (element.get("url") or "") or (
        element.tag == "Play" and "#" in (element.text or "")
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=documents(), query=st.sampled_from(["", QUERY, "cf_session=a&b"]))
def test_absolutize_changes_path_only_urls_and_nothing_else(doc: Response, query: str) -> None:
    body = render(doc)
    result = absolutize(body, BASE, query)
    assert validate(result, strict=True) == []
    before, after = etree.fromstring(body), etree.fromstring(result)
    pairs = list(zip(before.iter(), after.iter(), strict=True))
    for old, new in pairs:
        assert new.tag == old.tag
        if query and _has_fragment(old):
            continue
        assert {"text": new.text, **dict(new.attrib)} == _expected(old, query)


def test_the_query_goes_before_a_fragment() -> None:
    body = render(Response(Play("/a.mp3#t=5"), Callback(url="/next?x=1#top")))
    root = etree.fromstring(absolutize(body, BASE, "token=k"))
    assert root.findtext("Play") == BASE + "/a.mp3?token=k#t=5"
    assert root.find("Callback").get("url") == BASE + "/next?x=1&token=k#top"  # type: ignore[union-attr]
