"""validate() and assert_valid(): both modes, the rules checked in Python, every problem with
its place, hardened reading of untrusted input, and every kind of source."""

from __future__ import annotations

import random
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from callflow import (
    Call,
    Gather,
    Hangup,
    Problem,
    Response,
    Say,
    SchemaValidationError,
    assert_valid,
    render,
    validate,
)
from callflow.dialect.loader import _RULES as CONSTRUCTOR_RULES
from callflow.dialect.loader import CLASSES, Builder
from callflow.dialect.reader import Places, load
from callflow.dialect.validation import _schema_check as schema_check
from callflow.dialect.validation import examine, schema_problems
from callflow.dialect.xsd import xml_schema

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "xsd"
MODES = [pytest.param(False, id="compat"), pytest.param(True, id="strict")]

SPEC_EXAMPLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Answer/>
  <Schedule dow="sat,sun"><Say>We are closed.</Say><Hangup/></Schedule>
  <Gather dtmf_length="1" timeout="6000" attempts="2">
    <Say>Press 1 for support, 2 for messages.</Say>
    <DTMF value="1"><Dial><To>15550100200</To><To>ann@acme.sip.opentact.org</To></Dial></DTMF>
    <DTMF value="2"><Callback url="https://ivr.example.com/vm"/></DTMF>
    <Default><Say>Not an option.</Say></Default>
    <Error say="true"/>
  </Gather>
  <Hangup/>
</Response>
"""
"""The example of spec §1, verbatim."""


def xml(text: str) -> bytes:
    """A document from an indented literal; its first line is line 1."""
    return textwrap.dedent(text).strip().encode()


def data_files(folder: str) -> list[pytest.ParameterSet]:
    return [pytest.param(path, id=path.name) for path in sorted((DATA_DIR / folder).glob("*.xml"))]


def messages(problems: list[Problem]) -> str:
    return "\n".join(f"{p.line}:{p.column} {p.path}: {p.message}" for p in problems)


# -- valid documents -----------------------------------------------------------------------


@pytest.mark.parametrize("strict", MODES)
def test_spec_example_is_valid(strict: bool) -> None:
    assert validate(SPEC_EXAMPLE, strict=strict) == []


@pytest.mark.parametrize("strict", MODES)
@pytest.mark.parametrize("path", data_files("strict-valid"))
def test_canonical_document_is_valid(path: Path, strict: bool) -> None:
    assert validate(path, strict=strict) == []


def test_spec_example_data_file_is_the_spec_example() -> None:
    text = (DATA_DIR / "strict-valid" / "spec-example.xml").read_text(encoding="utf-8")
    first, _comment, *rest = text.splitlines(keepends=True)
    assert first + "".join(rest) == SPEC_EXAMPLE


# -- legacy and variant forms --------------------------------------------------------------

COMPAT_ONLY = [
    # file, a fragment of the strict problem's message, a fragment of the offending line
    ("callback-method-lowercase.xml", "'patch'", 'method="patch"'),
    ("curl-method-lowercase.xml", "'post'", 'method="post"'),
    ("error-play.xml", "'play'", 'play="true"'),
    ("error-sibling-in-case.xml", "Switch", "<Switch>"),
    ("error-sibling-in-default.xml", "Error", "<Error><Hangup/>"),
    ("error-sibling-in-dtmf.xml", "Error", '<Error say="true">'),
    ("error-sibling-in-error.xml", "Error", "<Error><Say>"),
    ("error-sibling.xml", "Error", '<Error say="true"/>'),
    ("gather-callback.xml", "'callback'", "callback="),
    ("gather-finishOnKey.xml", "'finishOnKey'", "finishOnKey="),
    ("gather-length.xml", "'length'", 'length="4"'),
    ("gather-method-lowercase.xml", "'post'", 'method="post"'),
    ("gather-numDigits.xml", "'numDigits'", "numDigits="),
    ("hz-x.xml", "'350x2,440'", 'hz="350x2,440"'),
    ("lowercase-callback-in-block.xml", "'callback'", "<callback>"),
    ("lowercase-callback.xml", "'callback'", "<callback>"),
    ("switch-case.xml", "'Switch'", "<Switch>"),
    ("tag-on-dial.xml", "'tag'", "<Dial tag="),
    ("tag-on-pause-dtmf-meta.xml", "'tag'", 'tag="wait"'),
    ("to-sip-prefix.xml", "sip:ann@acme.sip.opentact.org", "<To>sip:"),
    ("tone-v.xml", "'v'", 'v="-6"'),
    ("unknown-attribute-on-response.xml", "'version'", "<Response version="),
    ("unknown-attribute.xml", "'x-voice-speed'", "x-voice-speed="),
]


def test_compat_only_table_covers_every_file() -> None:
    names = {path.name for path in (DATA_DIR / "compat-only").glob("*.xml")}
    assert {row[0] for row in COMPAT_ONLY} == names


@pytest.mark.parametrize(
    ("name", "fragment", "marker"), [pytest.param(*row, id=row[0]) for row in COMPAT_ONLY]
)
def test_legacy_form_is_valid_in_compat_and_named_by_strict(
    name: str, fragment: str, marker: str
) -> None:
    path = DATA_DIR / "compat-only" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, 1) if marker in text)
    assert validate(path) == []
    problems = validate(path, strict=True)
    assert any(p.line == line and fragment in p.message for p in problems), messages(problems)


# -- rules checked in Python ---------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A document that breaks one rule XSD cannot express, and where the problem must be."""

    id: str
    document: str
    line: int
    path: str
    fragments: tuple[str, ...]
    modes: tuple[bool, ...] = (False, True)
    xsd_valid: bool = True
    """Whether the schema of each mode accepts the document (the rule is Python's alone)."""


RULES = [
    Rule(
        "duplicate-dtmf",
        """
        <Response>
          <Gather dtmf_length="1">
            <DTMF value="1"><Say>One.</Say></DTMF>
            <DTMF value="1"><Say>Uno.</Say></DTMF>
          </Gather>
        </Response>
        """,
        4,
        "/Response/Gather/DTMF[2]",
        ("duplicate", "'1'"),
    ),
    Rule(
        "duplicate-dtmf-and-case",
        """
        <Response>
          <Gather dtmf_length="1">
            <DTMF value="1"><Say>One.</Say></DTMF>
            <Switch>
              <Case dtmf="1"><Say>Uno.</Say></Case>
            </Switch>
          </Gather>
        </Response>
        """,
        5,
        "/Response/Gather/Switch/Case",
        ("duplicate", "'1'"),
        modes=(False,),
    ),
    Rule(
        "two-errors-in-gather",
        """
        <Response>
          <Gather dtmf_length="1">
            <Error say="true"/>
            <Error><Hangup/></Error>
          </Gather>
        </Response>
        """,
        4,
        "/Response/Gather/Error[2]",
        ("one", "<Error>"),
    ),
    Rule(
        "two-errors-in-dial",
        """
        <Response>
          <Dial>
            <To>15550100200</To>
            <Error/>
            <Error/>
          </Dial>
        </Response>
        """,
        5,
        "/Response/Dial/Error[2]",
        ("one", "<Error>"),
    ),
    Rule(
        "two-errors-via-switch",
        """
        <Response>
          <Gather dtmf_length="1">
            <Error/>
            <Switch>
              <Error/>
            </Switch>
          </Gather>
        </Response>
        """,
        5,
        "/Response/Gather/Switch/Error",
        ("one", "<Error>"),
        modes=(False,),
    ),
    Rule(
        "two-defaults-via-switch",
        """
        <Response>
          <Gather dtmf_length="1">
            <Default/>
            <Switch>
              <Default/>
            </Switch>
          </Gather>
        </Response>
        """,
        5,
        "/Response/Gather/Switch/Default",
        ("one", "<Default>"),
        modes=(False,),
    ),
    Rule(
        "dial-without-targets",
        """
        <Response>
          <Answer/>
          <Dial>
            <Error><Say>Nobody to call.</Say></Error>
          </Dial>
        </Response>
        """,
        3,
        "/Response/Dial",
        ("<To>", "<Sip>"),
    ),
    Rule(
        "dial-empty",
        """
        <Response>
          <Answer/>
          <Dial/>
        </Response>
        """,
        3,
        "/Response/Dial",
        ("<To>", "<Sip>"),
    ),
    Rule(
        "say-content-and-text-attribute",
        """
        <Response>
          <Answer/>
          <Say text="Hello.">Hello again.</Say>
        </Response>
        """,
        3,
        "/Response/Say",
        ("both", "text"),
    ),
    Rule(
        "say-empty",
        """
        <Response>
          <Say></Say>
        </Response>
        """,
        2,
        "/Response/Say",
        ("text",),
    ),
    Rule(
        "say-blank",
        """
        <Response>
          <Say>
          </Say>
        </Response>
        """,
        2,
        "/Response/Say",
        ("text",),
    ),
    Rule(
        "say-empty-text-attribute",
        """
        <Response>
          <Hangup/>
          <Say text=""/>
        </Response>
        """,
        3,
        "/Response/Say",
        ("text", "empty"),
    ),
    Rule(
        "play-content-and-record",
        """
        <Response>
          <Play record="msg">https://cdn.example.com/a.mp3</Play>
        </Response>
        """,
        2,
        "/Response/Play",
        ("source",),
    ),
    Rule(
        "play-url-and-record",
        """
        <Response>
          <Play url="https://cdn.example.com/a.mp3" record="msg"><Error/></Play>
        </Response>
        """,
        2,
        "/Response/Play",
        ("source",),
    ),
    Rule(
        "play-content-and-url",
        """
        <Response>
          <Play url="/a.wav"><Error/>/b.wav</Play>
        </Response>
        """,
        2,
        "/Response/Play",
        ("both", "url"),
    ),
    Rule(
        "play-without-source",
        """
        <Response>
          <Play loop="2"/>
        </Response>
        """,
        2,
        "/Response/Play",
        ("source",),
    ),
    Rule(
        "meta-value-and-text",
        """
        <Response>
          <Meta name="lang" value="fr">fr</Meta>
        </Response>
        """,
        2,
        "/Response/Meta",
        ("both", "value", "text"),
    ),
    Rule(
        "meta-without-value",
        """
        <Response>
          <Meta name="lang"/>
        </Response>
        """,
        2,
        "/Response/Meta",
        ("value",),
    ),
    Rule(
        "sibling-error-first-in-response",
        """
        <Response>
          <Error say="true"/>
          <Hangup/>
        </Response>
        """,
        2,
        "/Response/Error",
        ("<Error>", "after"),
        modes=(False,),
    ),
    Rule(
        "sibling-error-after-meta",
        """
        <Response>
          <Meta name="a" value="1"/>
          <Error say="true"/>
        </Response>
        """,
        3,
        "/Response/Error",
        ("<Error>", "after"),
        modes=(False,),
    ),
    Rule(
        "sibling-error-after-command-with-error",
        """
        <Response>
          <Hangup><Error/></Hangup>
          <Error say="true"/>
        </Response>
        """,
        3,
        "/Response/Error",
        ("<Hangup>", "already"),
        modes=(False,),
    ),
    Rule(
        "second-sibling-error",
        """
        <Response>
          <Hangup/>
          <Error/>
          <Error say="true"/>
        </Response>
        """,
        4,
        "/Response/Error[2]",
        ("<Hangup>", "already"),
        modes=(False,),
    ),
    Rule(
        "sibling-error-first-in-response-strict",
        """
        <Response>
          <Error say="true"/>
          <Hangup/>
        </Response>
        """,
        2,
        "/Response/Error",
        ("Error", "not expected"),
        modes=(True,),
        xsd_valid=False,
    ),
    Rule(
        "sibling-error-after-command-with-error-strict",
        """
        <Response>
          <Hangup><Error/></Hangup>
          <Error say="true"/>
        </Response>
        """,
        3,
        "/Response/Error",
        ("Error", "not expected"),
        modes=(True,),
        xsd_valid=False,
    ),
    Rule(
        "say-text-next-to-error",
        """
        <Response>
          <Say>Hello.<Error/></Say>
        </Response>
        """,
        2,
        "/Response/Say",
        ("text", "<Error>", "attribute"),
        modes=(True,),
    ),
    Rule(
        "play-text-next-to-error",
        """
        <Response>
          <Hangup/>
          <Play>https://cdn.example.com/a.mp3<Error/></Play>
        </Response>
        """,
        3,
        "/Response/Play",
        ("url", "<Error>", "attribute"),
        modes=(True,),
    ),
    Rule(
        "play-url-attribute-without-error",
        """
        <Response>
          <Play url="https://cdn.example.com/a.mp3"/>
        </Response>
        """,
        2,
        "/Response/Play",
        ("URL", "text content"),
        modes=(True,),
    ),
    Rule(
        "geo-unknown-state",
        """
        <Response>
          <Geo states="NJ,ZZ"><Say>Hi.</Say></Geo>
        </Response>
        """,
        2,
        "/Response/Geo",
        ("states", "ZZ"),
    ),
    Rule(
        "geo-repeated-state",
        """
        <Response>
          <Geo states="NJ,NJ"/>
        </Response>
        """,
        2,
        "/Response/Geo",
        ("states", "repeat"),
    ),
    Rule(
        "schedule-repeated-day",
        """
        <Response>
          <Schedule dow="mon,mon"/>
        </Response>
        """,
        2,
        "/Response/Schedule",
        ("dow", "repeat"),
    ),
    Rule(
        "gather-legacy-and-canonical-alias",
        """
        <Response>
          <Gather numDigits="1" dtmf_length="2"/>
        </Response>
        """,
        2,
        "/Response/Gather",
        ("numDigits", "dtmf_length"),
        modes=(False,),
    ),
    Rule(
        "tone-legacy-and-canonical-volume",
        """
        <Response>
          <Tone v="-3" volume="-6"/>
        </Response>
        """,
        2,
        "/Response/Tone",
        ("'v'", "'volume'"),
        modes=(False,),
    ),
]

RULE_CASES = [
    pytest.param(rule, strict, id=f"{rule.id}-{'strict' if strict else 'compat'}")
    for rule in RULES
    for strict in rule.modes
]
STRICT_ONLY = [rule for rule in RULES if rule.modes == (True,) and rule.xsd_valid]


@pytest.mark.parametrize(("rule", "strict"), RULE_CASES)
def test_rule_is_reported_at_the_offending_element(rule: Rule, strict: bool) -> None:
    problems = validate(xml(rule.document), strict=strict)
    assert any(
        p.line == rule.line
        and p.path == rule.path
        and p.column > 0
        and all(fragment in p.message for fragment in rule.fragments)
        for p in problems
    ), messages(problems)


@pytest.mark.parametrize(
    ("rule", "strict"),
    [
        pytest.param(rule, strict, id=f"{rule.id}-{'strict' if strict else 'compat'}")
        for rule in RULES
        for strict in rule.modes
        if rule.xsd_valid
    ],
)
def test_rule_is_one_that_the_schema_cannot_check(rule: Rule, strict: bool) -> None:
    tree = etree.fromstring(xml(rule.document))
    assert xml_schema("strict" if strict else "compat").validate(tree)


@pytest.mark.parametrize("rule", [pytest.param(rule, id=rule.id) for rule in STRICT_ONLY])
def test_strict_only_rule_is_valid_in_compat(rule: Rule) -> None:
    assert validate(xml(rule.document)) == []


# -- every problem, with its place ---------------------------------------------------------

MANY_PROBLEMS = xml(
    """
    <Response>
      <Gather dtmf_length="1">
        <DTMF value="1"><Say>One.</Say></DTMF>
        <DTMF value="2a"><Say>Two.</Say></DTMF>
        <DTMF value="3"><Dial/></DTMF>
      </Gather>
      <Geo states="ZZ"/>
      <Say></Say>
      <Hangup>bye</Hangup>
      <Meta name="a" value="1">one</Meta>
    </Response>
    """
)


@pytest.mark.parametrize("strict", MODES)
def test_every_problem_is_reported_with_its_place(strict: bool) -> None:
    problems = validate(MANY_PROBLEMS, strict=strict)
    assert [(p.line, p.column, p.path) for p in problems] == [
        (4, 5, "/Response/Gather/DTMF[2]"),
        (5, 21, "/Response/Gather/DTMF[3]/Dial"),
        (7, 3, "/Response/Geo"),
        (8, 3, "/Response/Say"),
        (9, 3, "/Response/Hangup"),
        (10, 3, "/Response/Meta"),
    ], messages(problems)


@pytest.mark.parametrize("strict", MODES)
def test_every_rule_about_a_gathers_children_is_reported(strict: bool) -> None:
    problems = validate(
        xml(
            """
            <Response>
              <Gather dtmf_length="1">
                <DTMF value="1"/>
                <DTMF value="1"/>
                <DTMF value="2"><Say/></DTMF>
                <DTMF value="2"/>
                <Error/>
                <Error say="true"/>
              </Gather>
            </Response>
            """
        ),
        strict=strict,
    )
    assert [(p.line, p.column, p.path) for p in problems] == [
        (4, 5, "/Response/Gather/DTMF[2]"),
        (5, 21, "/Response/Gather/DTMF[3]/Say"),
        (6, 5, "/Response/Gather/DTMF[4]"),
        (8, 5, "/Response/Gather/Error[2]"),
    ], messages(problems)


@pytest.mark.parametrize("strict", MODES)
def test_every_repetition_of_a_child_is_reported_at_itself(strict: bool) -> None:
    problems = validate(
        xml(
            """
            <Response>
              <Gather dtmf_length="1">
                <DTMF value="1"/>
                <DTMF value="1"/>
                <DTMF value="1"/>
                <Error/>
                <Error/>
                <Error/>
                <Default/>
                <Default/>
              </Gather>
            </Response>
            """
        ),
        strict=strict,
    )
    assert [(p.line, p.path, p.message) for p in problems] == [
        (4, "/Response/Gather/DTMF[2]", DUPLICATE_1),
        (5, "/Response/Gather/DTMF[3]", DUPLICATE_1),
        (7, "/Response/Gather/Error[2]", "<Gather> can hold at most one <Error>"),
        (8, "/Response/Gather/Error[3]", "<Gather> can hold at most one <Error>"),
        (10, "/Response/Gather/Default[2]", "<Gather> can hold at most one <Default>"),
    ], messages(problems)


DUPLICATE_1 = "<DTMF> 'value' duplicates another branch of this Gather (D5) (got '1')"


def test_a_second_switch_is_reported_at_each_repetition() -> None:
    problems = validate(
        xml(
            """
            <Response>
              <Gather dtmf_length="1">
                <Switch><Case dtmf="1"/></Switch>
                <Switch><Case dtmf="2"/></Switch>
                <Switch><Case dtmf="3"/></Switch>
              </Gather>
            </Response>
            """
        )
    )
    assert [(p.line, p.path, p.message) for p in problems] == [
        (4, "/Response/Gather/Switch[2]", "<Gather> can hold at most one <Switch>"),
        (5, "/Response/Gather/Switch[3]", "<Gather> can hold at most one <Switch>"),
    ], messages(problems)


def test_problems_are_sorted_by_place() -> None:
    problems = validate(MANY_PROBLEMS)
    assert problems == sorted(problems)


def test_a_problem_reads_as_line_column_message() -> None:
    problem = Problem(4, 5, "/Response/Gather/DTMF[2]", DUPLICATE_1)
    assert str(problem) == f"4:5: {DUPLICATE_1}"
    assert problem.to_dict() == {
        "line": 4,
        "column": 5,
        "path": "/Response/Gather/DTMF[2]",
        "message": DUPLICATE_1,
    }


def test_schema_validation_error_writes_each_problem_after_the_source() -> None:
    problems = validate(MANY_PROBLEMS)
    error = SchemaValidationError(problems, source="menu.xml")
    lines = str(error).splitlines()
    assert lines[0] == f"menu.xml is not valid ({len(problems)} problems)"
    assert lines[1:] == [f"menu.xml:{p}" for p in problems]
    assert lines[1].startswith("menu.xml:4:5: <DTMF> 'value' must be")


# -- hardened reading ----------------------------------------------------------------------

SECRET = "TOPSECRET-4f9c1d"


@pytest.fixture
def secret_files(tmp_path: Path) -> tuple[Path, Path]:
    """A text file holding ``SECRET`` and a DTD defining ``&secret;`` as ``SECRET``."""
    text = tmp_path / "secret.txt"
    text.write_text(SECRET, encoding="utf-8")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret "{SECRET}">', encoding="utf-8")
    return text, dtd


class _Spy(etree.Resolver):
    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def resolve(self, system_url: str | None, public_id: str | None, context: object, /) -> None:
        self.seen.append(str(system_url))
        return None  # fall through to lxml's own loading rules


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every URL libxml2 tries to load through a parser made while the test runs."""
    seen: list[str] = []
    make = etree.XMLParser

    def spying(**kwargs: Any) -> etree.XMLParser:
        parser: etree.XMLParser = make(**kwargs)
        parser.resolvers.add(_Spy(seen))
        return parser

    monkeypatch.setattr(etree, "XMLParser", spying)
    yield seen


ENCODINGS = [
    pytest.param("utf-8", id="utf-8"),
    # §2.5: Opentact XML is UTF-8. In UTF-16 or UTF-32 a <!DOCTYPE would hide from a byte
    # scan, so such a document is refused before parsing, for its encoding.
    pytest.param("utf-16", id="utf-16"),
    pytest.param("utf-16-be", id="utf-16-be"),
    pytest.param("utf-32", id="utf-32"),
]
NOT_UTF8 = "document is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)"


def encoded(body: str, encoding: str) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding.upper()}"?>\n{body}'.encode(encoding)


BILLION_LAUGHS = """\
<!DOCTYPE Response [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Response><Say>&lol9;</Say></Response>
"""


def assert_refused(problems: list[Problem], loads: list[str], encoding: str, *secrets: str) -> None:
    """One problem names the DTD (or, not in UTF-8, the encoding), nothing was loaded and no
    secret leaked."""
    assert len(problems) == 1, messages(problems)
    if encoding == "utf-8":
        assert "DTD" in problems[0].message, messages(problems)
    else:
        assert problems[0].message == NOT_UTF8, messages(problems)
    assert loads == []
    text = messages(problems)
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_entity_bomb_is_reported_not_expanded(encoding: str, loads: list[str]) -> None:
    problems = validate(encoded(BILLION_LAUGHS, encoding))
    assert_refused(problems, loads, encoding, "lollol")
    with pytest.raises(SchemaValidationError) as caught:
        assert_valid(encoded(BILLION_LAUGHS, encoding))
    assert "lollol" not in str(caught.value)


def test_entity_bomb_is_reported_at_the_doctype() -> None:
    problems = validate(encoded(BILLION_LAUGHS, "utf-8"))
    assert [(p.line, p.column) for p in problems] == [(2, 1)]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_external_file_entity_is_reported_not_read(
    encoding: str, loads: list[str], secret_files: tuple[Path, Path]
) -> None:
    text, _ = secret_files
    for target in (text.as_uri(), "file:///etc/passwd"):
        body = (
            f'<!DOCTYPE Response [<!ENTITY xxe SYSTEM "{target}">]>\n'
            "<Response><Say>&xxe;</Say></Response>"
        )
        assert_refused(validate(encoded(body, encoding)), loads, encoding, SECRET, "root:")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_external_http_entity_is_reported_not_fetched(encoding: str, loads: list[str]) -> None:
    body = (
        '<!DOCTYPE Response [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>\n'
        "<Response><Say>&xxe;</Say></Response>"
    )
    assert_refused(validate(encoded(body, encoding)), loads, encoding)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_parameter_entity_is_reported_not_read(
    encoding: str, loads: list[str], secret_files: tuple[Path, Path]
) -> None:
    _, dtd = secret_files
    body = (
        f'<!DOCTYPE Response [<!ENTITY % pe SYSTEM "{dtd.as_uri()}"> %pe;]>\n'
        "<Response><Say>&secret;</Say></Response>"
    )
    assert_refused(validate(encoded(body, encoding)), loads, encoding, SECRET)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_external_dtd_is_reported_not_read(
    encoding: str, loads: list[str], secret_files: tuple[Path, Path]
) -> None:
    _, dtd = secret_files
    for target in (dtd.as_uri(), "http://127.0.0.1:9/evil.dtd"):
        body = f'<!DOCTYPE Response SYSTEM "{target}">\n<Response><Say>&secret;</Say></Response>'
        assert_refused(validate(encoded(body, encoding)), loads, encoding, SECRET)


def test_doctype_without_entities_is_refused_too(loads: list[str]) -> None:
    assert_refused(validate(b"<!DOCTYPE Response>\n<Response/>"), loads, "utf-8")


@pytest.mark.parametrize(
    "hz",
    [
        pytest.param("350x100000", id="huge-repeat"),
        pytest.param("350x" + "9" * 5000, id="repeat-beyond-the-int-digit-limit"),
        pytest.param("350x65", id="one-past-the-limit"),
        pytest.param("350x32,440x33", id="past-the-limit-in-all"),
        pytest.param("350x64,440", id="one-more-after-a-repeat"),
    ],
)
def test_tone_repeat_notation_cannot_amplify_a_small_document(hz: str) -> None:
    # "350x2" means 350,350 (compat, §7 #10); an unbounded count turns 50 bytes into
    # gigabytes, like an entity bomb. It must be a problem, neither expanded nor a crash.
    problems = validate(f'<Response><Tone hz="{hz}"/></Response>'.encode())
    assert [(p.line, p.column, p.path) for p in problems] == [(1, 11, "/Response/Tone")]
    assert "<Tone> 'hz' expands to more than 64 frequencies" in problems[0].message


@pytest.mark.parametrize("hz", ["350x64", "350x32,440x32", "350x63,440"])
def test_tone_repeat_notation_up_to_64_frequencies_is_valid(hz: str) -> None:
    assert validate(f'<Response><Tone hz="{hz}"/></Response>'.encode()) == []


def test_document_over_the_size_limit_is_a_problem() -> None:
    data = render(Response(Say("x" * 100)))
    assert validate(data, max_bytes=len(data)) == []
    problems = validate(data, max_bytes=len(data) - 1)
    assert len(problems) == 1
    assert str(len(data) - 1) in problems[0].message
    assert (problems[0].line, problems[0].column) == (1, 1)


def test_default_size_limit_is_one_mebibyte() -> None:
    data = render(Response(Say("x" * 2**20)))
    problems = validate(data)
    assert len(problems) == 1
    assert str(len(data)) in problems[0].message
    assert "1048576" in problems[0].message


@pytest.mark.parametrize(
    ("data", "line", "column", "fragment"),
    [
        pytest.param(b"<Response>\n  <Say>Hi\n</Response>", 3, 12, "mismatch", id="mismatch"),
        pytest.param(b"<Response>\n  <Say>Hi</Say>\n", 3, 1, "end of data", id="unclosed"),
        pytest.param(b'<Response>\n<Say a="1" a="2">x</Say>\n</Response>', 2, 17, "a", id="attr"),
        pytest.param(b"<Response>\n  &bogus;\n</Response>", 2, 10, "bogus", id="entity"),
        pytest.param(
            b"<Response><Say>\x80</Say></Response>",
            1,
            16,
            "document is not valid UTF-8 (byte 0x80)",
            id="bytes",
        ),
        pytest.param(b'<?xml version="1.0"?>', 1, 22, "tag", id="declaration-only"),
    ],
)
def test_not_well_formed_xml_is_reported_with_line_and_column(
    data: bytes, line: int, column: int, fragment: str
) -> None:
    problems = validate(data)
    assert [(p.line, p.column) for p in problems] == [(line, column)], messages(problems)
    assert fragment in problems[0].message


@pytest.mark.parametrize(
    ("data", "line", "column", "message"),
    [
        pytest.param(
            b"<Response>\n<Say>caf\xe9</Say></Response>",
            2,
            9,
            "document is not valid UTF-8 (byte 0xe9)",
            id="latin-1-byte",
        ),
        pytest.param(
            b"<Response>\n  <Say>ok\x00</Say></Response>",
            2,
            10,
            "document is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)",
            id="nul-byte",
        ),
        pytest.param(
            "<Response/>".encode("utf-16"),
            1,
            4,
            "document is not UTF-8 (it holds NUL bytes: UTF-16 or UTF-32?)",
            id="utf-16",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response/>',
            1,
            31,
            "document declares encoding 'ISO-8859-1': Opentact XML is UTF-8",
            id="declared-latin-1",
        ),
        pytest.param(
            b"<?xml version='1.0' encoding='utf-16'?><Response/>",
            1,
            31,
            "document declares encoding 'utf-16': Opentact XML is UTF-8",
            id="declared-utf-16-in-utf-8",
        ),
    ],
)
@pytest.mark.parametrize("strict", MODES)
def test_a_document_that_is_not_utf8_is_one_problem_at_its_byte(
    data: bytes, line: int, column: int, message: str, strict: bool
) -> None:
    problems = validate(data, strict=strict)
    assert problems == [Problem(line, column, "/", message)], messages(problems)


@pytest.mark.parametrize(
    "declaration",
    [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<?xml version='1.0' encoding='utf-8'?>",
        '<?xml version="1.0" encoding="utf8"?>',
        '<?xml version="1.0"?>',
        "\ufeff<?xml version='1.0' encoding='UTF-8'?>",
    ],
)
def test_a_utf8_declaration_is_accepted(declaration: str) -> None:
    assert validate(f"{declaration}\n<Response><Say>café</Say></Response>".encode()) == []


def test_syntax_problems_of_one_document_do_not_leak_into_the_next() -> None:
    with pytest.raises(etree.XMLSyntaxError):  # an error in lxml's thread-global log
        etree.fromstring(b"<elsewhere><unclosed></elsewhere>")
    first = validate(b"<Response><Say>Hi</Response>")
    second = validate(b"<Response>\n\n<Hangup>\n</Response>")
    assert len(first) == 1
    assert len(second) == 1, messages(second)
    assert second[0].line == 4
    assert "Hangup" in second[0].message
    assert first[0].message not in messages(second)
    assert "elsewhere" not in messages(first) + messages(second)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(b"", id="empty-bytes"),
        pytest.param(b" \n\t\n", id="blank-bytes"),
        pytest.param("", id="empty-str"),
        pytest.param(b"\xef\xbb\xbf", id="bom-only"),
    ],
)
def test_empty_document_is_a_problem(source: bytes | str) -> None:
    problems = validate(source)
    assert len(problems) == 1
    assert "empty" in problems[0].message or "expected" in problems[0].message
    assert problems[0].line == 1


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(b"<Hangup/>", "Hangup", id="command"),
        pytest.param(b"<response><Hangup/></response>", "response", id="lower-case"),
        pytest.param(b'<Response xmlns="urn:example:x"/>', "urn:example:x", id="default-ns"),
        pytest.param(b'<x:Response xmlns:x="urn:example:x"/>', "urn:example:x", id="prefixed"),
    ],
)
@pytest.mark.parametrize("strict", MODES)
def test_wrong_root_is_a_problem(data: bytes, fragment: str, strict: bool) -> None:
    problems = validate(data, strict=strict)
    assert problems
    assert problems[0].line == 1
    assert problems[0].column == 1
    assert fragment in problems[0].message


def test_namespaced_child_is_a_problem() -> None:
    problems = validate(b'<Response><Hangup xmlns="urn:example:x"/></Response>')
    assert any("urn:example:x" in p.message for p in problems), messages(problems)


@pytest.mark.parametrize("strict", MODES)
def test_utf8_bom_is_accepted(strict: bool) -> None:
    assert validate(b"\xef\xbb\xbf" + SPEC_EXAMPLE.encode(), strict=strict) == []
    assert validate("\ufeff" + SPEC_EXAMPLE, strict=strict) == []


def test_document_without_declaration_is_accepted() -> None:
    assert validate(b"<Response><Hangup/></Response>", strict=True) == []


@pytest.mark.parametrize("strict", MODES)
def test_comments_and_processing_instructions_are_accepted(strict: bool) -> None:
    data = xml(
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <?xml-stylesheet href="flow.xsl"?>
        <!-- before the root -->
        <Response>
          <!-- between commands --><?app hint?>
          <Say>Hello <!-- inside text -->world<?app pause?>.</Say>
          <Gather dtmf_length="1"><!-- c --><DTMF value="1"><?app x?></DTMF></Gather>
          <Dial><!-- c --><To>15550100200</To><?app y?></Dial>
        </Response>
        <!-- after the root --><?app end?>
        """
    )
    assert validate(data, strict=strict) == []


# -- sources -------------------------------------------------------------------------------

INVALID = xml(
    """
    <Response>
      <Dial/>
      <Say></Say>
      <Hangup>bye</Hangup>
    </Response>
    """
)


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.xml"
    path.write_bytes(INVALID)
    return path


def test_validate_accepts_every_kind_of_source(invalid_file: Path) -> None:
    expected = validate(INVALID)
    assert len(expected) == 3
    assert validate(INVALID.decode()) == expected
    assert validate(invalid_file) == expected
    assert validate(str(invalid_file)) == expected


@pytest.mark.parametrize("strict", MODES)
def test_validate_accepts_a_response_object(strict: bool) -> None:
    doc = Response(Gather(Say("Press 1"), dtmf_length=1), Hangup())
    assert validate(doc, strict=strict) == []


def test_str_not_starting_with_markup_is_a_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validate(str(tmp_path / "missing.xml"))


def test_assert_valid_returns_none_for_a_valid_document() -> None:
    assert_valid(SPEC_EXAMPLE, strict=True)
    assert_valid(Response(Hangup()), strict=True)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        pytest.param("bytes", "<bytes>", id="bytes"),
        pytest.param("str", "<string>", id="str"),
        pytest.param("path", None, id="path"),
        pytest.param("str-path", None, id="str-path"),
    ],
)
def test_assert_valid_raises_with_every_problem(
    kind: str, name: str | None, invalid_file: Path
) -> None:
    sources: dict[str, bytes | str | Path] = {
        "bytes": INVALID,
        "str": INVALID.decode(),
        "path": invalid_file,
        "str-path": str(invalid_file),
    }
    source = sources[kind]
    problems = validate(source)
    with pytest.raises(SchemaValidationError) as caught:
        assert_valid(source)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problems == tuple(problems)
    assert len(error.problems) == 3
    source_name = name if name is not None else str(invalid_file)
    assert error.source == source_name
    lines = str(error).splitlines()
    assert source_name in lines[0]
    assert lines[1:] == [f"{source_name}:{p.line}:{p.column}: {p.message}" for p in problems]


def test_assert_valid_in_strict_mode_reports_legacy_forms() -> None:
    with pytest.raises(SchemaValidationError) as caught:
        assert_valid(b'<Response><Gather numDigits="1"/></Response>', strict=True)
    assert any("numDigits" in p.message for p in caught.value.problems)
    assert_valid(b'<Response><Gather numDigits="1"/></Response>')


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            '<Response><Gather dtmf_length="0"><Say>x</Say></Gather></Response>',
            "<Gather> 'dtmf_length' must be >= 1 (got 0)",
            id="gather-dtmf-length",
        ),
        pytest.param(
            '<Response><Say loop="abc">x</Say></Response>',
            "<Say> 'loop' must be an int (got 'abc')",
            id="say-loop-not-a-number",
        ),
        pytest.param(
            '<Response><Tone volume="5"/></Response>',
            "<Tone> 'volume' must be <= 0 (dB, 0 is loudest) (got 5)",
            id="tone-volume-facet",
        ),
        pytest.param(
            '<Response><Gather dtmf_stop="ab"/></Response>',
            "<Gather> 'dtmf_stop' must be one key of 0-9 * # (got 'ab')",
            id="gather-stop-key",
        ),
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_bad_values_are_reported_in_the_dialects_words_once(
    document: str, message: str, strict: bool
) -> None:
    problems = validate(document.encode(), strict=strict)
    assert [p.message for p in problems] == [message]
    assert "atomic type" not in message and "facet" not in message


# -- checking without building: the builder's own problems, in its words -------------------

# validate() checks a document without building it (issue 12): a scan passes what builds
# without a problem, the builder looks only into the rest, and applies the constructors' rules
# to the parsed values. These tests hold it to what building the document reports.

_MS = ["0", "100", "-1", "1.5", " 7 ", "x", "+5", "1_0"]
_COUNT = ["1", "2", "0", "x"]
_BOOL = ["true", "false", "1", " true "]
_URL = ["https://a.example/x", "/p", "bad url", "https://a.example/\u00a0x", ""]
_VALUES: dict[str, list[str]] = {
    **dict.fromkeys(("delay", "length", "timeout", "don", "doff"), _MS),
    **dict.fromkeys(("loop", "attempts", "dtmf_length", "numDigits"), _COUNT),
    **dict.fromkeys(("say", "play", "asr"), _BOOL),
    **dict.fromkeys(("url", "callback"), _URL),
    "tag": ["t", "", " "],
    "body": [*_BOOL, "text"],
    "dtmf_stop": ["#", "1", "12", ""],
    "finishOnKey": ["#", "12"],
    "method": ["GET", "post", "PATCH", "get", "put", "X"],
    "lang": ["en-US", "e"],
    "type": ["WaveNet", "x"],
    "gender": ["MALE", "m"],
    "code": ["en-US-Wavenet-A", "a b"],
    "text": ["Hi", " ", ""],
    "record": ["msg", " ", ""],
    "leg": ["aleg", "x"],
    "volume": ["-12", "-12.5", "0", "1", "-0.0", "x", "-1e3"],
    "v": ["-3", "2"],
    "hz": ["350,440", "350x2", "1x65", "0", "100001", "350x70", "2.5"],
    "value": ["1", "2", "1*", "x", "v"],
    "dtmf": ["1", "2", "#", "x"],
    "field": ["to", "from", "x"],
    "states": ["NJ", "NJ,NY", "ZZ", "NJ,NJ"],
    "county": ["ESSEX", "essex"],
    "dow": ["sat,sun", "sat,sat", "mon", "xyz"],
    "time": ["09:00:00-17:00:00", "25:00:00-01:00:00"],
    "name": ["a", "b c", "k\u180e", ""],
    "target": ["15550100200"],
}
_TEXTS: dict[str, list[str]] = {
    "Say": ["Hello", "", "  ", "a&b", "\u00a0"],
    "Play": ["https://x.example/a.mp3", "bad url", "", " /p "],
    "To": [
        *("15550100200", "+442071838750", "123", "sip:ann@b.example", "ann@b.example"),
        *(" 1 555 010 0200 ", "x", "", "5550100200"),
    ],
    "Sip": ["2001@10.0.0.5:5080", "bad", "a@b:99999999", " a@b "],
    "Meta": ["", "v", "line\nbreak"],
    "Curl": ["", "body", " "],
    "callback": ["https://a.example", "bad url", " /x "],
}


def near_the_rules(seed: int, count: int) -> list[bytes]:
    """Documents that are mostly nested as the spec says, with values and texts good and bad
    and the rules XSD cannot express kept or broken: what the Python checks are about."""
    from xml.sax.saxutils import escape, quoteattr

    from callflow.dialect import nesting
    from callflow.dialect.loader import CLASSES, LEGACY_ATTRIBUTES

    rnd = random.Random(seed)

    def attributes(name: str) -> str:
        cls = CLASSES.get(name)
        names = [f.name for f in cls.fields] if cls else []
        names += [*LEGACY_ATTRIBUTES.get(name, {}), "foo"]
        if name == "Case":
            names += ["dtmf", "dtmf", "value"]
        chosen: dict[str, str] = {}
        for attr in rnd.sample(names, min(len(names), rnd.randint(0, 3))):
            if cls and attr == cls.content and attr != "text" and rnd.random() < 0.7:
                continue
            chosen[attr] = rnd.choice(_VALUES.get(attr, ["x"]))
        if name in ("DTMF", "Case") and rnd.random() < 0.85:
            chosen["value" if name == "DTMF" else "dtmf"] = rnd.choice(["1", "2", "3", "*"])
        if name in ("Callback", "Curl") and rnd.random() < 0.85:
            chosen["url"] = rnd.choice(_URL)
        if name == "Meta" and rnd.random() < 0.85:
            chosen["name"] = rnd.choice(_VALUES["name"])
        if name == "Meta" and rnd.random() < 0.5:
            chosen["value"] = rnd.choice(["v", "", "1"])
        return "".join(f" {key}={quoteattr(value)}" for key, value in chosen.items())

    def element(name: str, level: int) -> str:
        if name == "callback":
            return f"<callback>{escape(rnd.choice(_TEXTS['callback']))}</callback>"
        allowed = sorted(nesting.ALLOWED.get(name, ()))
        if name in nesting.PLAIN_BLOCKS or name == "Gather":
            allowed += ["Error"]
        if name == "Gather":
            allowed += ["Switch", "DTMF", "DTMF"]
        if name == "Switch":
            allowed = ["Case", "Case", "Default", "Error"]
        if "Callback" in allowed:
            allowed += ["callback"]
        if name == "Dial":
            allowed += ["To", "Sip"]
        if rnd.random() < 0.02:
            allowed += ["Hangup", "Bogus"]
        inner = []
        texts = _TEXTS.get(name)
        if texts:
            inner.append(escape(rnd.choice(texts)))
        for _ in range(rnd.randint(0, 3) if level < 4 and allowed else 0):
            inner.append(element(rnd.choice(allowed), level + 1))
            if texts and rnd.random() < 0.2:
                inner.append(escape(rnd.choice(texts)))
        if rnd.random() < 0.03:
            inner.append("x")
        if rnd.random() < 0.03:
            inner.append("<!-- c -->")
        return f"<{name}{attributes(name)}>{''.join(inner)}</{name}>"

    return [element("Response", 0).encode() for _ in range(count)]


@pytest.mark.parametrize("strict", MODES)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_validate_reports_what_building_the_document_reports(seed: int, strict: bool) -> None:
    documents = near_the_rules(seed, 300)
    checked = [validate(document, strict=strict) for document in documents]
    built = [examine(document, strict=strict).problems for document in documents]
    assert checked == built
    # The documents are near the rules: many valid, many with problems the XSD cannot see.
    valid = sum(not problems for problems in built)
    beyond_xsd = sum(
        len(problems) > len(schema_problems(document, strict=strict))
        for document, problems in zip(documents, built, strict=True)
    )
    assert valid > 10 and beyond_xsd > 50, (valid, beyond_xsd)


@pytest.mark.parametrize("strict", MODES)
@pytest.mark.parametrize("folder", ["strict-valid", "compat-only", "invalid"])
def test_validate_reports_what_building_reports_for_every_data_file(
    folder: str, strict: bool
) -> None:
    for path in sorted((DATA_DIR / folder).glob("*.xml")):
        assert validate(path, strict=strict) == examine(path, strict=strict).problems, path.name


@pytest.mark.parametrize("strict", MODES)
def test_what_the_scan_passes_builds_without_a_problem(strict: bool) -> None:
    checked = 0
    for document in near_the_rules(7, 200):
        loaded = load(document)
        assert loaded.tree is not None
        places = Places(loaded.tree, document)
        _, nested = schema_check(loaded.tree, strict, places)
        scanner = Builder(loaded.tree, strict=strict, construct=False, nested=nested)
        dirty = scanner._scan(loaded.tree.getroot())
        for el in loaded.tree.getroot().iter(etree.Element):
            if el in dirty or el.tag not in CLASSES or el.tag == "Switch":
                continue  # a lower-case callback, a Switch: its parent builds what it holds
            builder = Builder(loaded.tree, strict=strict, nested=nested, places=places)
            assert builder.build(el) is not None and builder.problems == [], document
            checked += 1
    assert checked > 500


def test_every_rule_a_constructor_adds_is_applied_when_checking() -> None:
    # Checking without building applies each constructor's rules beyond its fields' checkers
    # (loader._RULES); a class that gains one must gain its entry there too.
    from callflow.dialect.elements.base import Element

    own = {
        cls
        for cls in CLASSES.values()
        if cls._check is not Element._check or getattr(cls, "_distinct", None)
    }
    assert own <= set(CONSTRUCTOR_RULES)
    # Beyond those, only rules a constructor's __init__ may apply itself.
    assert set(CONSTRUCTOR_RULES) <= own | {Call, Gather}


@pytest.mark.parametrize("strict", MODES)
def test_value_problems_leave_the_structure_checked(strict: bool) -> None:
    # After a problem with a value only, libxml2 checks the element's content all the same:
    # the builder need not check the nesting and text again.
    document = b'<Response><Pause length="x"/><Gather dtmf_length="0"><Hangup/></Gather></Response>'
    loaded = load(document)
    assert loaded.tree is not None
    problems, nested = schema_check(loaded.tree, strict, Places(loaded.tree, document))
    assert not nested and any("Hangup" in p.message for p in problems)
    loaded = load(b'<Response><Pause length="x"/><Say loop="0">Hi</Say></Response>')
    assert loaded.tree is not None
    problems, nested = schema_check(loaded.tree, strict, Places(loaded.tree, loaded.data))
    assert nested and len(problems) == 2


def test_remembered_values_stay_bounded() -> None:
    from callflow.dialect import loader

    for i in range(3 * loader._REMEMBERED):
        validate(f'<Response><Say lang="en-U{i}">Hello {i}</Say><Pause length="{i}"/></Response>')
    assert all(len(memo) <= loader._REMEMBERED for memo in loader._CLEAN_LEAVES.values())
    remembered: list[set[str] | set[object]] = [
        accepted for kind in loader._KINDS.values() for accepted in kind.accepted.values()
    ]
    remembered += [kind.accepted_content for kind in loader._KINDS.values()]
    assert all(len(accepted) <= loader._REMEMBERED for accepted in remembered)
    assert len(loader._ACCEPTED) <= loader._ACCEPTED_MAX
