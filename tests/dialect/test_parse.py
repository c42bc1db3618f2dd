"""parse(): documents come back as DSL trees, every legacy form in its canonical shape."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from callflow import (
    DTMF,
    Answer,
    Call,
    Callback,
    Curl,
    Default,
    Dial,
    Error,
    Gather,
    Geo,
    Hangup,
    Meta,
    Pause,
    Play,
    Record,
    Response,
    Say,
    Schedule,
    SchemaValidationError,
    Sip,
    To,
    Tone,
    parse,
    render,
    validate,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "xsd"
MODES = [pytest.param(False, id="compat"), pytest.param(True, id="strict")]

SPEC_EXAMPLE = Response(
    Answer(),
    Schedule(Say("We are closed."), Hangup(), dow=["sat", "sun"]),
    Gather(
        Say("Press 1 for support, 2 for messages."),
        DTMF(Dial(To("15550100200"), To("ann@acme.sip.opentact.org")), value="1"),
        DTMF(Callback(url="https://ivr.example.com/vm"), value="2"),
        Default(Say("Not an option.")),
        Error(say=True),
        dtmf_length=1,
        timeout=6000,
        attempts=2,
    ),
    Hangup(),
)
"""The example of spec §1, built with the DSL."""


def xml(text: str) -> bytes:
    """A document from an indented literal; its first line is line 1."""
    return textwrap.dedent(text).strip().encode()


@pytest.mark.parametrize("strict", MODES)
def test_spec_example_parses_to_its_dsl_tree(strict: bool) -> None:
    doc = parse(DATA_DIR / "strict-valid" / "spec-example.xml", strict=strict)
    assert doc == SPEC_EXAMPLE
    assert isinstance(doc, Response)


def test_parse_accepts_bytes_str_and_paths() -> None:
    path = DATA_DIR / "strict-valid" / "spec-example.xml"
    data = path.read_bytes()
    assert parse(data) == SPEC_EXAMPLE
    assert parse(data.decode()) == SPEC_EXAMPLE
    assert parse(str(path)) == SPEC_EXAMPLE


# -- legacy and variant forms --------------------------------------------------------------

LEGACY = [
    pytest.param(
        '<Gather numDigits="2"><Say>Hi</Say></Gather>',
        Response(Gather(Say("Hi"), dtmf_length=2)),
        id="gather-numDigits",
    ),
    pytest.param(
        '<Gather dtmf_length="1"><DTMF value="1"><Gather length="4"/></DTMF></Gather>',
        Response(Gather(DTMF(Gather(dtmf_length=4), value="1"), dtmf_length=1)),
        id="gather-length",
    ),
    pytest.param(
        '<Gather finishOnKey="#" dtmf_length="6"/>',
        Response(Gather(dtmf_length=6, dtmf_stop="#")),
        id="gather-finishOnKey",
    ),
    pytest.param(
        '<Gather callback="https://ivr.example.com/code" method="POST"/>',
        Response(Gather(url="https://ivr.example.com/code", method="POST")),
        id="gather-callback",
    ),
    pytest.param(
        '<Gather numDigits="4" finishOnKey="*" callback="/code" method="post" timeout="5000"/>',
        Response(Gather(dtmf_length=4, dtmf_stop="*", url="/code", method="POST", timeout=5000)),
        id="gather-every-legacy-attribute",
    ),
    pytest.param(
        """
        <Gather dtmf_length="1">
          <Say>Press 1 or 2.</Say>
          <Switch>
            <Case dtmf="1"><Say>One.</Say></Case>
            <Case dtmf="2"><Meta name="k" value="2"/><Hangup/></Case>
            <Default tag="bad-key"><Say>Not an option.</Say></Default>
            <Error say="true"/>
          </Switch>
          <Pause length="500"/>
        </Gather>
        """,
        Response(
            Gather(
                Say("Press 1 or 2."),
                DTMF(Say("One."), value="1"),
                DTMF(Meta("k", "2"), Hangup(), value="2"),
                Default(Say("Not an option."), tag="bad-key"),
                Error(say=True),
                Pause(length=500),
                dtmf_length=1,
            )
        ),
        id="switch-case-default-error",
    ),
    pytest.param(
        '<Gather><DTMF value="1"/><Switch><Case dtmf="2"/></Switch><DTMF value="3"/></Gather>',
        Response(Gather(DTMF(value="1"), DTMF(value="2"), DTMF(value="3"))),
        id="switch-between-dtmf",
    ),
    pytest.param(
        "<callback>https://ivr.example.com/next</callback>",
        Response(Callback(url="https://ivr.example.com/next")),
        id="lowercase-callback",
    ),
    pytest.param(
        '<Schedule dow="sun"><callback>\n  /closed\n</callback></Schedule>',
        Response(Schedule(Callback(url="/closed"), dow=["sun"])),
        id="lowercase-callback-with-whitespace",
    ),
    pytest.param(
        '<Dial><To>15550100200</To><Error play="true"/></Dial>',
        Response(Dial(To("15550100200"), Error(say=True))),
        id="error-play-true",
    ),
    pytest.param(
        '<Hangup><Error play="false"/></Hangup>',
        Response(Hangup(Error(say=False))),
        id="error-play-false",
    ),
    pytest.param('<Tone hz="440" v="-6"/>', Response(Tone(volume=-6, hz=[440])), id="tone-v"),
    pytest.param(
        '<Tone hz="350x2,440" don="500" doff="500"/>',
        Response(Tone(hz=(350, 350, 440), don=500, doff=500)),
        id="hz-x",
    ),
    pytest.param('<Tone hz="440x3"/>', Response(Tone(hz=(440, 440, 440))), id="hz-x-alone"),
    pytest.param(
        '<Tone hz="350.5x2,440x1"/>', Response(Tone(hz=(350.5, 350.5, 440))), id="hz-x-decimal"
    ),
    pytest.param(
        '<Gather url="/digits" method="post"/>',
        Response(Gather(url="/digits", method="POST")),
        id="gather-method-lowercase",
    ),
    pytest.param(
        '<Callback url="/next" method="patch"/><Callback url="/gone" method="delete"/>',
        Response(Callback(url="/next", method="PATCH"), Callback(url="/gone", method="DELETE")),
        id="callback-method-lowercase",
    ),
    pytest.param(
        '<Curl url="https://crm.example.com/hit" method="post">{"n":1}</Curl>',
        Response(Curl('{"n":1}', url="https://crm.example.com/hit", method="POST")),
        id="curl-method-lowercase",
    ),
    pytest.param(
        """
        <Play>https://cdn.example.com/welcome.mp3</Play>
        <Error say="true"><Say>Sorry.</Say></Error>
        <Hangup/>
        """,
        Response(
            Play("https://cdn.example.com/welcome.mp3", Error(Say("Sorry."), say=True)),
            Hangup(),
        ),
        id="sibling-error-in-response",
    ),
    pytest.param(
        """
        <Gather dtmf_length="1">
          <DTMF value="1"><Dial><To>15550100200</To></Dial><Error/></DTMF>
          <Default><Callback url="/retry"/><Error><Hangup/></Error></Default>
          <Error><Curl url="/log"/><Error say="true"/></Error>
        </Gather>
        """,
        Response(
            Gather(
                DTMF(Dial(To("15550100200"), Error()), value="1"),
                Default(Callback(Error(Hangup()), url="/retry")),
                Error(Curl(None, Error(say=True), url="/log")),
                dtmf_length=1,
            )
        ),
        id="sibling-error-in-blocks",
    ),
    pytest.param(
        '<Gather><Switch><Case dtmf="0"><Say>Menu.</Say><Error/></Case></Switch></Gather>',
        Response(Gather(DTMF(Say("Menu.", Error()), value="0"))),
        id="sibling-error-in-case",
    ),
    pytest.param(
        "<Dial><To>sip:ann@acme.sip.opentact.org</To></Dial>",
        Response(Dial(To("ann@acme.sip.opentact.org"))),
        id="to-sip-prefix",
    ),
    pytest.param(
        '<Play url="https://cdn.example.com/a.mp3" loop="2"/>',
        Response(Play("https://cdn.example.com/a.mp3", loop=2)),
        id="play-url-attribute",
    ),
    pytest.param(
        "<Say>Hello.<Error/></Say><Play>/a.wav<Error/></Play>",
        Response(Say("Hello.", Error()), Play("/a.wav", Error())),
        id="text-next-to-error",
    ),
    pytest.param(
        '<Dial tag="sales" v:x="1" xmlns:v="urn:v"><To carrier="a">15550100200</To></Dial>'
        '<Meta name="a" value="1" scope="call"/>',
        Response(Dial(To("15550100200")), Meta("a", "1")),
        id="unknown-attributes",
    ),
]


def response(body: str) -> bytes:
    return b"<Response>\n" + textwrap.dedent(body).strip().encode() + b"\n</Response>"


@pytest.mark.parametrize(("body", "expected"), LEGACY)
def test_legacy_form_is_normalised(body: str, expected: Response) -> None:
    assert parse(response(body)) == expected


@pytest.mark.parametrize(("body", "expected"), LEGACY)
def test_normalised_legacy_form_renders_as_canonical(body: str, expected: Response) -> None:
    data = render(parse(response(body)))
    assert validate(data, strict=True) == []
    assert parse(data, strict=True) == expected


@pytest.mark.parametrize(("body", "expected"), LEGACY)
def test_legacy_form_is_rejected_in_strict_mode(body: str, expected: Response) -> None:
    with pytest.raises(SchemaValidationError) as caught:
        parse(response(body), strict=True)
    assert caught.value.problems


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.name) for p in sorted((DATA_DIR / "compat-only").glob("*.xml"))]
)
def test_legacy_data_file_parses_in_compat_and_not_in_strict(path: Path) -> None:
    assert isinstance(parse(path), Response)
    with pytest.raises(SchemaValidationError):
        parse(path, strict=True)


def test_every_legacy_form_at_once() -> None:
    data = xml(
        """
        <Response>
          <Gather numDigits="1" finishOnKey="#" callback="/digits" method="post">
            <Switch>
              <Case dtmf="1"><callback>/one</callback></Case>
              <Error play="true"/>
            </Switch>
          </Gather>
          <Tone v="-3" hz="425x2"/>
          <Error/>
          <Dial><To>sip:bob@pbx.example.com</To></Dial>
        </Response>
        """
    )
    assert parse(data) == Response(
        Gather(
            DTMF(Callback(url="/one"), value="1"),
            Error(say=True),
            dtmf_length=1,
            dtmf_stop="#",
            url="/digits",
            method="POST",
        ),
        Tone(Error(), volume=-3, hz=[425, 425]),
        Dial(To("bob@pbx.example.com")),
    )


# -- values and text -----------------------------------------------------------------------


def test_values_are_converted_to_their_python_types() -> None:
    doc = parse(
        xml(
            """
            <Response>
              <Answer delay="1500"/>
              <Record tag="msg" asr="true" timeout="60000"><Pause length="0"/></Record>
              <Geo states="NJ,NY" county="ESSEX"><Hangup/></Geo>
              <Tone hz="1000.5,440" volume="0"/>
              <Call field="direction" value="in"/>
            </Response>
            """
        )
    )
    assert doc == Response(
        Answer(delay=1500),
        Record(Pause(length=0), tag="msg", asr=True, timeout=60000),
        Geo(Hangup(), states=("NJ", "NY"), county="ESSEX"),
        Tone(hz=(1000.5, 440), volume=0),
        Call(field="direction", value="in"),
    )


def test_text_is_kept_where_it_matters_and_trimmed_where_it_cannot() -> None:
    doc = parse(
        xml(
            """
            <Response>
              <Say>  Hello,
                world.  </Say>
              <Meta name="address">1 Main Street
            Springfield</Meta>
              <Curl url="/hit"> {"a": 1} </Curl>
              <Dial><To>
                15550100200
              </To><Sip> 2001@pbx.example.com:5080 </Sip></Dial>
              <Play>
                https://cdn.example.com/a.mp3
              </Play>
            </Response>
            """
        )
    )
    assert doc == Response(
        Say("  Hello,\n    world.  "),
        Meta("address", "1 Main Street\nSpringfield"),
        Curl(' {"a": 1} ', url="/hit"),
        Dial(To("15550100200"), Sip("2001@pbx.example.com:5080")),
        Play("https://cdn.example.com/a.mp3"),
    )


def test_comments_and_processing_instructions_are_not_text() -> None:
    doc = parse(b"<Response><Say>Hello <!-- c -->world<?app pause?>.</Say><!-- c --></Response>")
    assert doc == Response(Say("Hello world."))


def test_escaped_text_and_attributes_are_unescaped() -> None:
    doc = parse(
        b'<Response><Say tag="a&quot;b&lt;c&#10;d">Fish &amp; chips &#x1F4DE;&#13;</Say>'
        b'<Meta name="m" value="&apos;x&apos;&#9;"/></Response>'
    )
    assert doc == Response(Say("Fish & chips \U0001f4de\r", tag='a"b<c\nd'), Meta("m", "'x'\t"))


def test_empty_response_parses() -> None:
    assert parse(b"<Response/>", strict=True) == Response()


# -- invalid documents ---------------------------------------------------------------------

INVALID = xml(
    """
    <Response>
      <Gather dtmf_length="0">
        <DTMF value="1"><Dial/></DTMF>
      </Gather>
      <Say></Say>
      <Number>15550100200</Number>
    </Response>
    """
)


@pytest.mark.parametrize("strict", MODES)
def test_invalid_document_raises_with_every_problem(strict: bool) -> None:
    with pytest.raises(SchemaValidationError) as caught:
        parse(INVALID, strict=strict)
    problems = caught.value.problems
    assert problems == tuple(validate(INVALID, strict=strict))
    assert {p.line for p in problems} == {2, 3, 5, 6}
    assert caught.value.source == "<bytes>"


def test_invalid_file_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "flow.xml"
    path.write_bytes(INVALID)
    with pytest.raises(SchemaValidationError) as caught:
        parse(path)
    assert caught.value.source == str(path)
    assert str(caught.value).splitlines()[1].startswith(f"{path}:2:")


def test_schema_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid"):
        parse(b"<Response><Hangup>text</Hangup></Response>")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<Response>", id="unclosed"),
        pytest.param(b"<Hangup/>", id="wrong-root"),
        pytest.param(b'<!DOCTYPE r [<!ENTITY a "b">]><Response/>', id="dtd"),
    ],
)
def test_unreadable_document_raises(data: bytes) -> None:
    with pytest.raises(SchemaValidationError) as caught:
        parse(data)
    assert caught.value.problems


@pytest.mark.parametrize("strict", MODES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sound_build_builds_what_the_builder_builds(seed: int, strict: bool) -> None:
    # Where the XSD found the structure sound, build_sound builds (the builder's path for a
    # document it need not report on) exactly the tree the builder builds, and declines every
    # document the builder has a problem with: with its memo of leaves cold and warm.
    from test_validate import near_the_rules

    from callflow.dialect.loader import Builder, build_sound, forget_built
    from callflow.dialect.reader import Places, load
    from callflow.dialect.validation import _schema_check

    compared = {"built": 0, "declined": 0}
    for document in near_the_rules(seed, 300):
        tree = load(document).tree
        assert tree is not None
        places = Places(tree, document)
        _, nested = _schema_check(tree, strict, places)
        if not nested:
            continue  # the builder checks the structure itself: no sound build
        builder = Builder(tree, strict=strict, places=places, nested=True)
        expected = builder.build(tree.getroot())
        forget_built()
        cold = build_sound(tree.getroot(), strict=strict)
        warm = build_sound(tree.getroot(), strict=strict)
        if builder.problems:
            assert cold is None and warm is None, builder.problems
            compared["declined"] += 1
        else:
            assert isinstance(expected, Response)
            assert cold == expected and warm == expected
            assert render(cold) == render(warm) == render(expected)
            compared["built"] += 1
    assert compared["built"] >= 20 and compared["declined"] >= 20, compared


@pytest.mark.parametrize(
    "body",
    [
        "<Say>Hi</Say><Error/><Error/>",  # a second sibling handler
        "<Error/><Say>Hi</Say>",  # a handler before any command
        '<Gather><DTMF value="1"/><Switch><Case dtmf="1"/></Switch></Gather>',
        "<Gather><Default/><Switch><Default/></Switch></Gather>",
        '<Tone hz="350x70"/>',  # expands to too many frequencies
        '<Gather numDigits="1" dtmf_length="1"/>',  # two names of one attribute
        "<Dial><Error/></Dial>",  # no target: the constructor refuses it
        "<Say>Hi<Error/></Say><Error/>",  # a command that has its own handler already
    ],
)
def test_the_sound_build_leaves_every_problem_to_the_builder(body: str) -> None:
    from callflow.dialect.loader import build_sound
    from callflow.dialect.reader import load

    document = response(body)
    tree = load(document).tree
    assert tree is not None
    assert build_sound(tree.getroot(), strict=False) is None
    with pytest.raises(SchemaValidationError) as caught:
        parse(document)
    assert caught.value.problems, body
