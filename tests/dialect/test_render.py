"""``callflow.dialect.rendering``: declaration and encoding, attribute order, escaping, where
content goes
(text or attribute), and the per-element render cache.

Output is compared structurally (``lxml.etree.canonicalize``) or by parsing it back with lxml,
never as exact bytes except for the declaration; every rendered document is validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pytest
from lxml import etree

from callflow import (
    DTMF,
    Answer,
    Call,
    Callback,
    Curl,
    Default,
    Dial,
    Element,
    Error,
    Gather,
    Hangup,
    Hold,
    Meta,
    Pause,
    Play,
    Record,
    Response,
    Say,
    Schedule,
    To,
    Tone,
    render,
    validate,
)
from callflow.dialect.rendering import to_xml
from callflow.dialect.serialising import escape_attribute, escape_text, wire_value

DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MP3: Final = "https://cdn.example.com/hold.mp3"


def canonical(xml: str | bytes) -> str:
    """The C14N 2.0 form of ``xml``, so that two documents compare structurally."""
    data = xml.encode() if isinstance(xml, str) else xml
    return etree.canonicalize(etree.fromstring(data))


def parse(data: bytes) -> etree._Element:
    """Parse rendered bytes with lxml (after checking they are valid in strict mode)."""
    assert validate(data, strict=True) == []
    return etree.fromstring(data)


def menu() -> Gather:
    return Gather(
        Say("Press 1 for sales."),
        DTMF(Dial(To("15550100200")), value="1"),
        Default(Say("Not an option.")),
        dtmf_length=1,
        timeout=6000,
    )


MENU_XML: Final = (
    '<Gather dtmf_length="1" timeout="6000"><Say>Press 1 for sales.</Say>'
    '<DTMF value="1"><Dial><To>15550100200</To></Dial></DTMF>'
    "<Default><Say>Not an option.</Say></Default></Gather>"
)

# -- declaration and encoding ----------------------------------------------------------------


def test_output_starts_with_the_xml_declaration() -> None:
    rendered = render(Response(Hangup()))
    assert rendered.startswith(DECLARATION)
    assert rendered.count(b"<?xml") == 1
    docinfo = parse(rendered).getroottree().docinfo
    assert (docinfo.xml_version, docinfo.encoding) == ("1.0", "UTF-8")


def test_empty_response_renders() -> None:
    rendered = render(Response())
    assert canonical(rendered) == canonical("<Response/>")
    assert parse(rendered).tag == "Response"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Café crème", id="latin-1"),
        pytest.param("Звоните нам", id="cyrillic"),
        pytest.param("お電話ありがとうございます", id="japanese"),
        pytest.param("☎ 555 0100", id="bmp-symbol"),
        pytest.param("𝄞 hold music 🎵", id="astral-plane"),
        pytest.param("no\u00a0break\u2028line", id="unicode-spaces"),
    ],
)
def test_output_is_utf8_without_character_references(text: str) -> None:
    rendered = render(Response(Say(text), Hangup(tag=text)))
    assert text.encode("utf-8") in rendered
    assert b"&#" not in rendered
    rendered.decode("utf-8")  # strict: raises on anything that is not UTF-8
    root = parse(rendered)
    assert root[0].text == text
    assert root[1].get("tag") == text


# -- attribute order -------------------------------------------------------------------------

FULL = [
    pytest.param(lambda: Answer(delay=1500, tag="greet"), id="answer"),
    pytest.param(
        lambda: Say(
            "Hi", Error(), tag="s", loop=2, lang="en-US", code="c1", gender="MALE", type="WaveNet"
        ),
        id="say",
    ),
    pytest.param(lambda: Play(MP3, Error(), tag="p", loop=2, leg="both"), id="play"),
    pytest.param(lambda: Play(record="msg", tag="p", loop=2, leg="bleg"), id="play-record"),
    pytest.param(lambda: Pause(dtmf_stop="#", length=2000), id="pause"),
    pytest.param(lambda: Record(timeout=60000, asr=True, tag="msg"), id="record"),
    pytest.param(
        lambda: Gather(
            tag="menu",
            attempts=3,
            timeout=8000,
            method="POST",
            url="/next",
            dtmf_stop="#",
            dtmf_length=4,
        ),
        id="gather",
    ),
    pytest.param(lambda: DTMF(value="1"), id="dtmf"),
    pytest.param(lambda: Error(say=True, tag="e"), id="error"),
    pytest.param(
        lambda: Callback(tag="s2", timeout=5000, body=True, method="POST", url="/next"),
        id="callback",
    ),
    pytest.param(lambda: Hold(timeout=120000, tag="h"), id="hold"),
    pytest.param(
        lambda: Tone(
            leg="aleg", timeout=30000, hz=[350, 440], doff=4000, don=2000, volume=-12, loop=3
        ),
        id="tone",
    ),
    pytest.param(lambda: Meta("lang", "fr"), id="meta"),
    pytest.param(lambda: Curl("{}", tag="crm", timeout=3000, method="POST", url="/hit"), id="curl"),
    pytest.param(lambda: Call(value="in", field="direction"), id="call"),
    pytest.param(lambda: Schedule(time="09:00:00-17:59:59", dow=["mon"]), id="schedule"),
]


def in_document(element: Element) -> Response:
    if isinstance(element, DTMF):
        return Response(Gather(element))
    if isinstance(element, Error):
        return Response(Hangup(element))
    return Response(element)  # type: ignore[arg-type]


@pytest.mark.parametrize("build", FULL)
def test_attributes_are_rendered_in_the_order_of_fields(build: Callable[[], Element]) -> None:
    element = build()
    root = parse(render(in_document(element)))
    rendered = next(el for el in root.iter(element.xml_tag))
    text_field = element.content if rendered.text else None
    expected = [
        spec.name
        for spec in type(element).fields
        if getattr(element, spec.name) is not None and spec.name != text_field
    ]
    assert list(rendered.attrib) == expected
    assert len(expected) >= 1


def test_tone_spec_example_renders_in_fields_order() -> None:
    tone = Tone(hz="350,440", don=2000, doff=4000, volume=-12, loop=3, leg="aleg")
    root = parse(render(Response(tone)))
    assert list(root[0].attrib) == ["loop", "volume", "don", "doff", "hz", "leg"]


@pytest.mark.parametrize("build", FULL)
def test_rendering_is_deterministic(build: Callable[[], Element]) -> None:
    first, second = in_document(build()), in_document(build())
    assert render(first) == render(second)
    assert render(first) == render(first)


# -- escaping --------------------------------------------------------------------------------

AWKWARD = [
    pytest.param("Fish & chips", id="ampersand"),
    pytest.param("1 < 2", id="less-than"),
    pytest.param("2 > 1", id="greater-than"),
    pytest.param('say "hi"', id="double-quote"),
    pytest.param("it's", id="apostrophe"),
    pytest.param("&amp; &lt; &#65;", id="entity-lookalikes"),
    pytest.param("]]> <![CDATA[x]]>", id="cdata-markers"),
    pytest.param("<!-- not a comment --><b>bold</b>", id="markup"),
    pytest.param("line 1\nline 2", id="newline"),
    pytest.param("line 1\r\nline 2", id="crlf"),
    pytest.param("a\rb", id="carriage-return"),
    pytest.param("tab\there", id="tab"),
    pytest.param("  padded  ", id="surrounding-spaces"),
    pytest.param("\n\tindented\r\n", id="only-whitespace-around"),
    pytest.param("all: & < > \" ' \r \n \t end", id="everything"),
]

Place = tuple[Callable[[str], Response], Callable[[etree._Element], str | None]]

PLACES: Final[dict[str, Place]] = {
    "say-text": (lambda v: Response(Say(v)), lambda root: root[0].text),
    "say-text-attribute": (lambda v: Response(Say(v, Error())), lambda root: root[0].get("text")),
    "tag-attribute": (lambda v: Response(Hangup(tag=v)), lambda root: root[0].get("tag")),
    "error-tag": (
        lambda v: Response(Hangup(Error(tag=v))),
        lambda root: root[0][0].get("tag"),
    ),
    "meta-value": (
        lambda v: Response(Meta("note", v)),
        lambda root: root[0].get("value") if "value" in root[0].attrib else root[0].text,
    ),
    "curl-body": (lambda v: Response(Curl(v, url="/hit")), lambda root: root[0].text),
    "curl-body-with-error": (
        lambda v: Response(Curl(v, Error(), url="/hit")),
        lambda root: root[0].text,
    ),
    "call-value": (
        lambda v: Response(Call(field="state", value=v)),
        lambda root: root[0].get("value"),
    ),
}


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("place", list(PLACES))
def test_text_and_attributes_survive_escaping(place: str, value: str) -> None:
    build, read = PLACES[place]
    root = parse(render(build(value)))
    assert read(root) == value


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://ivr.example.com/next?a=1&b=2", id="ampersand"),
        pytest.param("https://ivr.example.com/next?q=\"x\"&r='y'", id="quotes"),
        pytest.param("https://ivr.example.com/n?<x>", id="angle-brackets"),
        pytest.param("/next?a=%20&b=&amp;", id="path-with-entity-lookalike"),
    ],
)
def test_urls_survive_escaping(url: str) -> None:
    doc = Response(
        Play(url),
        Play(url, Error()),
        Gather(url=url),
        Callback(url=url),
        Curl(url=url),
    )
    root = parse(render(doc))
    assert root[0].text == url
    assert [root[1].get("url"), root[2].get("url"), root[3].get("url"), root[4].get("url")] == [
        url
    ] * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("a & b", "a &amp; b", id="ampersand"),
        pytest.param("<x>", "&lt;x&gt;", id="angle-brackets"),
        pytest.param("a\rb", "a&#13;b", id="carriage-return"),
        pytest.param("a\nb\tc \"d\" 'e'", "a\nb\tc \"d\" 'e'", id="kept-as-is"),
    ],
)
def test_escape_text(text: str, expected: str) -> None:
    assert escape_text(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param('say "hi"', "say &quot;hi&quot;", id="double-quote"),
        pytest.param("it's", "it's", id="apostrophe-kept"),
        pytest.param("a\nb", "a&#10;b", id="newline"),
        pytest.param("a\tb", "a&#9;b", id="tab"),
        pytest.param("a\rb", "a&#13;b", id="carriage-return"),
        pytest.param("&<>", "&amp;&lt;&gt;", id="markup"),
    ],
)
def test_escape_attribute(value: str, expected: str) -> None:
    assert escape_attribute(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("text", "text", id="str"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(1500, "1500", id="int"),
        pytest.param(-12, "-12", id="negative-int"),
        pytest.param(440.5, "440.5", id="float"),
        pytest.param(("mon", "tue"), "mon,tue", id="tuple-of-str"),
        pytest.param((350, 440.5), "350,440.5", id="tuple-of-numbers"),
    ],
)
def test_wire_value(value: object, expected: str) -> None:
    assert wire_value(value) == expected


# -- where the content goes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "xml"),
    [
        pytest.param(Say("Hello"), "<Say>Hello</Say>", id="say-text"),
        pytest.param(
            Say("Hello", Error(say=True)),
            '<Say text="Hello"><Error say="true"/></Say>',
            id="say-text-attribute-with-error",
        ),
        pytest.param(Play(MP3), f"<Play>{MP3}</Play>", id="play-url-text"),
        pytest.param(
            Play(MP3, Error()), f'<Play url="{MP3}"><Error/></Play>', id="play-url-with-error"
        ),
        pytest.param(
            Play(None, Error(), record="msg"),
            '<Play record="msg"><Error/></Play>',
            id="play-record-with-error",
        ),
        pytest.param(Meta("lang", "fr"), '<Meta name="lang" value="fr"/>', id="meta-one-line"),
        pytest.param(
            Meta("note", "a\rb"), '<Meta name="note" value="a&#13;b"/>', id="meta-cr-attribute"
        ),
        pytest.param(Meta("note", "a\nb"), '<Meta name="note">a\nb</Meta>', id="meta-multiline"),
        pytest.param(Meta("note", "\n"), '<Meta name="note">\n</Meta>', id="meta-only-newline"),
        pytest.param(
            Curl("body", Error(), url="/hit"),
            '<Curl url="/hit">body<Error/></Curl>',
            id="curl-body-stays-text",
        ),
        pytest.param(Curl(url="/hit"), '<Curl url="/hit"/>', id="curl-no-body"),
    ],
)
def test_content_is_rendered_as_text_or_attribute(element: Element, xml: str) -> None:
    rendered = render(Response(element))  # type: ignore[arg-type]
    assert canonical(rendered) == canonical(f"<Response>{xml}</Response>")
    assert validate(rendered, strict=True) == []


def test_say_text_attribute_leaves_no_text_content() -> None:
    root = parse(render(Response(Say("Hello", Error()))))
    assert root[0].text is None
    assert root[0].get("text") == "Hello"
    assert [child.tag for child in root[0]] == ["Error"]


def test_meta_multiline_value_has_no_value_attribute() -> None:
    root = parse(render(Response(Meta("note", "line 1\nline 2"))))
    assert root[0].get("value") is None
    assert root[0].text == "line 1\nline 2"


# -- the render cache ------------------------------------------------------------------------


def test_shared_subtree_renders_correctly_in_two_documents() -> None:
    shared = menu()
    first = Response(Answer(), shared, Hangup())
    second = Response(Schedule(shared, dow=["mon", "tue"]), Record(shared, tag="r"))
    rendered_first = render(first)
    cached = to_xml(shared)
    rendered_second = render(second)
    assert canonical(rendered_first) == canonical(
        f"<Response><Answer/>{MENU_XML}<Hangup/></Response>"
    )
    assert canonical(rendered_second) == canonical(
        f'<Response><Schedule dow="mon,tue">{MENU_XML}</Schedule>'
        f'<Record tag="r">{MENU_XML}</Record></Response>'
    )
    assert validate(rendered_first, strict=True) == []
    assert validate(rendered_second, strict=True) == []
    assert to_xml(shared) is cached
    assert rendered_second.decode().count(cached) == 2


def test_cached_string_is_reused() -> None:
    shared = menu()
    assert to_xml(shared) is to_xml(shared)
    doc = Response(shared)
    assert to_xml(doc) is to_xml(doc)
    assert render(doc) == render(doc)


def test_cache_does_not_change_equality_or_hash() -> None:
    rendered, fresh = menu(), menu()
    before = hash(rendered)
    to_xml(rendered)
    assert hash(rendered) == before == hash(fresh)
    assert rendered == fresh
    assert to_xml(rendered) == to_xml(fresh)


def test_equal_subtrees_in_one_document_render_alike() -> None:
    doc = Response(
        Gather(Say("Press 1"), Pause(length=500)), Gather(Say("Press 1"), Pause(length=500))
    )
    root = parse(render(doc))
    assert etree.tostring(root[0]) == etree.tostring(root[1])


# -- what render accepts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "name"),
    [
        pytest.param(lambda: render(Say("Hi")), "Say", id="say"),  # type: ignore[arg-type]
        pytest.param(lambda: render(Gather()), "Gather", id="gather"),  # type: ignore[arg-type]
        pytest.param(lambda: render("<Response/>"), "str", id="str"),  # type: ignore[arg-type]
        pytest.param(lambda: render(b"<Response/>"), "bytes", id="bytes"),  # type: ignore[arg-type]
        pytest.param(lambda: render(None), "NoneType", id="none"),  # type: ignore[arg-type]
    ],
)
def test_render_of_a_non_response_raises_type_error(build: Callable[[], bytes], name: str) -> None:
    with pytest.raises(TypeError, match=f"^render\\(\\) takes a Response, not {name}$"):
        build()
