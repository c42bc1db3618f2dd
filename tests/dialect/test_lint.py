"""lint(): one finding per documented code, at the start tag of the element it is about, with a
fix hint and a severity; clean, legacy and invalid documents; order and lines; the list of codes
is the table of docs/validation.md."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from callflow import Finding, lint, parse, render, validate
from callflow.dialect.linting import codes
from callflow.dialect.problems import Severity

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "tests" / "data" / "xsd"
VALIDATION_DOC = ROOT / "docs" / "validation.md"

_TABLE_ROW = re.compile(r"^\| (CF\d{3}) \| (.+) \|$", re.MULTILINE)


def documented() -> dict[str, str]:
    """The lint code table of docs/validation.md: code -> description, in table order (the
    exploration findings after it, ``CF7xx``, are explore's, tested with it)."""
    text = VALIDATION_DOC.read_text(encoding="utf-8").partition("### Exploration findings")[0]
    rows = _TABLE_ROW.findall(text)
    return dict(rows)


def documented_severity(code: str) -> Severity:
    """The severity the table gives a code: CF001 is an error, "(info)" rows are info."""
    description = documented()[code]
    if "severity error" in description:
        return "error"
    return "info" if "(info)" in description else "warning"


def xml(text: str) -> bytes:
    """A document from an indented literal; its first line is line 1."""
    return textwrap.dedent(text).strip().encode()


def data_files(folder: str) -> list[pytest.ParameterSet]:
    return [pytest.param(path, id=path.name) for path in sorted((DATA_DIR / folder).glob("*.xml"))]


def described(findings: list[Finding]) -> str:
    return "\n".join(
        f"{f.line}:{f.column} {f.code} {f.severity} {f.path}: {f.message} [{f.hint}]"
        for f in findings
    )


# -- one document per code ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A small document that gets ``code``, and where and how the finding must be reported."""

    code: str
    document: str
    line: int
    column: int
    path: str
    severity: Severity
    message: tuple[str, ...]
    """Fragments the message must contain (what is wrong, and about what)."""
    hint: tuple[str, ...]
    """Fragments the hint must contain (the canonical replacement or the fix)."""
    also: tuple[str, ...] = ()
    """Other codes the document gets unavoidably (a Switch is always CF103)."""


CASES = [
    pytest.param(
        Case(
            "CF001",
            """
            <Response>
              <Answer/>
              <Hangup>bye</Hangup>
            </Response>
            """,
            3,
            3,
            "/Response/Hangup",
            "error",
            ("Hangup", "not allowed"),
            ("fix",),
        ),
        id="CF001-invalid",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Gather numDigits="2">
                <Say>Enter two digits.</Say>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("<Gather>", "'numDigits'", "legacy"),
            ('dtmf_length="2"',),
        ),
        id="CF101-gather-numDigits",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Gather dtmf_length="1">
                <Say>Press 1.</Say>
                <DTMF value="1">
                  <Gather length="3"><Say>Enter three digits.</Say></Gather>
                </DTMF>
                <Default><Say>No.</Say></Default>
              </Gather>
            </Response>
            """,
            5,
            7,
            "/Response/Gather/DTMF/Gather",
            "warning",
            ("<Gather>", "'length'", "legacy"),
            ('dtmf_length="3"',),
        ),
        id="CF101-gather-length",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Gather dtmf_length="4" finishOnKey="#">
                <Say>Enter your PIN, then press pound.</Say>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("<Gather>", "'finishOnKey'", "legacy"),
            ('dtmf_stop="#"',),
        ),
        id="CF101-gather-finishOnKey",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Gather callback="https://ivr.example.com/digits">
                <Say>Enter your account number.</Say>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("<Gather>", "'callback'", "legacy"),
            ('url="https://ivr.example.com/digits"',),
        ),
        id="CF101-gather-callback",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Dial>
                <To>15550100200</To>
                <Error play="true"/>
              </Dial>
            </Response>
            """,
            4,
            5,
            "/Response/Dial/Error",
            "warning",
            ("<Error>", "'play'", "legacy"),
            ('say="true"',),
        ),
        id="CF101-error-play",
    ),
    pytest.param(
        Case(
            "CF101",
            """
            <Response>
              <Tone v="-6"/>
            </Response>
            """,
            2,
            3,
            "/Response/Tone",
            "warning",
            ("<Tone>", "'v'", "legacy"),
            ('volume="-6"',),
        ),
        id="CF101-tone-v",
    ),
    pytest.param(
        Case(
            "CF102",
            """
            <Response>
              <Answer/>
              <Callback url="https://ivr.example.com/next" method="post"/>
            </Response>
            """,
            3,
            3,
            "/Response/Callback",
            "warning",
            ("<Callback>", "'post'", "lower case"),
            ('method="POST"',),
        ),
        id="CF102-callback",
    ),
    pytest.param(
        Case(
            "CF102",
            """
            <Response>
              <Curl url="https://crm.example.com/hit" method="patch"/>
            </Response>
            """,
            2,
            3,
            "/Response/Curl",
            "warning",
            ("<Curl>", "'patch'"),
            ('method="PATCH"',),
        ),
        id="CF102-curl",
    ),
    pytest.param(
        Case(
            "CF102",
            """
            <Response>
              <Gather url="https://ivr.example.com/digits" method="get">
                <Say>Enter your PIN.</Say>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("<Gather>", "'get'"),
            ('method="GET"',),
        ),
        id="CF102-gather",
    ),
    pytest.param(
        Case(
            "CF103",
            """
            <Response>
              <Gather dtmf_length="1">
                <Say>Press 1.</Say>
                <Switch>
                  <Case dtmf="1"><Say>One.</Say></Case>
                  <Default><Say>Not an option.</Say></Default>
                </Switch>
              </Gather>
            </Response>
            """,
            4,
            5,
            "/Response/Gather/Switch",
            "warning",
            ("<Switch>", "<Case>"),
            ("DTMF",),
        ),
        id="CF103-switch-case",
    ),
    pytest.param(
        Case(
            "CF104",
            """
            <Response>
              <Answer/>
              <callback>https://ivr.example.com/next</callback>
            </Response>
            """,
            3,
            3,
            "/Response/callback",
            "warning",
            ("<callback>", "legacy"),
            ('<Callback url="https://ivr.example.com/next"/>',),
        ),
        id="CF104-lower-case-callback",
    ),
    pytest.param(
        Case(
            "CF105",
            """
            <Response>
              <Dial><To>15550100200</To></Dial>
              <Error say="true"/>
            </Response>
            """,
            3,
            3,
            "/Response/Error",
            "warning",
            ("<Error>", "<Dial>", "sibling"),
            ("inside <Dial>",),
        ),
        id="CF105-sibling-error",
    ),
    pytest.param(
        Case(
            "CF106",
            """
            <Response>
              <Answer/>
              <Dial><To>sip:ann@acme.sip.opentact.org</To></Dial>
            </Response>
            """,
            3,
            9,
            "/Response/Dial/To",
            "warning",
            ("<To>", "'sip:'"),
            ("'sip:'",),
        ),
        id="CF106-sip-prefix",
    ),
    pytest.param(
        Case(
            "CF107",
            """
            <Response>
              <Play url="https://cdn.example.com/hold.mp3"/>
            </Response>
            """,
            2,
            3,
            "/Response/Play",
            "warning",
            ("<Play url=",),
            ("text",),
        ),
        id="CF107-play-url",
    ),
    pytest.param(
        Case(
            "CF108",
            """
            <Response>
              <Tone hz="350x2,440"/>
            </Response>
            """,
            2,
            3,
            "/Response/Tone",
            "warning",
            ("'x'", "hz"),
            ('hz="350,350,440"',),
        ),
        id="CF108-hz-repeat",
    ),
    pytest.param(
        Case(
            "CF109",
            """
            <Response>
              <Say>Hello.<Error/></Say>
            </Response>
            """,
            2,
            3,
            "/Response/Say",
            "warning",
            ("<Say>", "<Error>"),
            ("'text' attribute",),
        ),
        id="CF109-say-text",
    ),
    pytest.param(
        Case(
            "CF109",
            """
            <Response>
              <Play>https://cdn.example.com/a.mp3<Error/></Play>
            </Response>
            """,
            2,
            3,
            "/Response/Play",
            "warning",
            ("<Play>", "<Error>"),
            ("'url' attribute",),
        ),
        id="CF109-play-text",
    ),
    pytest.param(
        Case(
            "CF201",
            """
            <Response>
              <Answer/>
              <Hangup/>
              <Say>Goodbye.</Say>
            </Response>
            """,
            4,
            3,
            "/Response/Say",
            "warning",
            ("<Say>", "never run", "hangs up"),
            ("remove",),
        ),
        id="CF201-after-hangup",
    ),
    pytest.param(
        Case(
            "CF202",
            """
            <Response>
              <Callback url="https://ivr.example.com/next"/>
              <Say>Never said.</Say>
            </Response>
            """,
            3,
            3,
            "/Response/Say",
            "warning",
            ("<Say>", "never run", "<Callback>"),
            ("remove",),
        ),
        id="CF202-after-callback",
    ),
    pytest.param(
        Case(
            "CF203",
            """
            <Response>
              <Gather url="https://ivr.example.com/digits" dtmf_length="4">
                <Say>Enter your PIN.</Say>
              </Gather>
              <Hangup/>
            </Response>
            """,
            5,
            3,
            "/Response/Hangup",
            "warning",
            ("<Hangup>", "never run", "url <Gather>"),
            ("remove",),
        ),
        id="CF203-after-url-gather",
    ),
    pytest.param(
        Case(
            "CF301",
            """
            <Response>
              <Gather url="https://ivr.example.com/digits">
                <Say>Press 1.</Say>
                <DTMF value="1"><Say>One.</Say></DTMF>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("url", "branches"),
            ("branches",),
        ),
        id="CF301-url-and-branches",
    ),
    pytest.param(
        Case(
            "CF302",
            """
            <Response>
              <Gather>
                <Say>Enter your extension.</Say>
                <DTMF value="21"><Say>Sales.</Say></DTMF>
                <Default><Say>No such extension.</Say></Default>
              </Gather>
            </Response>
            """,
            4,
            5,
            "/Response/Gather/DTMF",
            "warning",
            ("'21'", "dtmf_length 1", "default"),
            ('dtmf_length="2"',),
        ),
        id="CF302-value-too-long",
    ),
    pytest.param(
        Case(
            "CF303",
            """
            <Response>
              <Gather dtmf_length="2" dtmf_stop="#">
                <Say>Enter a code, then press pound.</Say>
                <DTMF value="1#"><Say>One.</Say></DTMF>
                <Default><Say>No.</Say></Default>
              </Gather>
            </Response>
            """,
            4,
            5,
            "/Response/Gather/DTMF",
            "warning",
            ("'1#'", "stop key '#'"),
            ("dtmf_stop",),
        ),
        id="CF303-value-with-stop-key",
    ),
    pytest.param(
        Case(
            "CF304",
            """
            <Response>
              <Gather dtmf_length="1">
                <Say>Press 1 or 2.</Say>
                <DTMF value="1"><Say>One.</Say></DTMF>
                <Switch><Case dtmf="2"><Say>Two.</Say></Case></Switch>
                <Default><Say>No.</Say></Default>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "warning",
            ("<DTMF>", "<Switch>"),
            ("DTMF",),
            also=("CF103",),
        ),
        id="CF304-dtmf-and-switch",
    ),
    pytest.param(
        Case(
            "CF305",
            """
            <Response>
              <Gather dtmf_length="1">
                <Say>Press 1.</Say>
                <DTMF value="1"><Say>One.</Say></DTMF>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "info",
            ("<Default>",),
            ("<Default>",),
        ),
        id="CF305-no-default",
    ),
    pytest.param(
        Case(
            "CF306",
            """
            <Response>
              <Gather dtmf_length="1">
                <DTMF value="1"><Say>One.</Say></DTMF>
                <Default><Say>No.</Say></Default>
              </Gather>
            </Response>
            """,
            2,
            3,
            "/Response/Gather",
            "info",
            ("prompt",),
            ("<Say>",),
        ),
        id="CF306-no-prompt",
    ),
    pytest.param(
        Case(
            "CF401",
            """
            <Response>
              <Meta name="tn" value="15550100200"/>
              <Callback url="https://ivr.example.com/next"/>
            </Response>
            """,
            2,
            3,
            "/Response/Meta",
            "warning",
            ('name="tn"', "request parameter"),
            ("rename",),
        ),
        id="CF401-meta-request-parameter",
    ),
    pytest.param(
        Case(
            "CF402",
            """
            <Response>
              <Meta name="lang" value="en"/>
              <Meta name="lang" value="fr"/>
            </Response>
            """,
            3,
            3,
            "/Response/Meta[2]",
            "info",
            ('name="lang"', "twice"),
            ("remove",),
        ),
        id="CF402-meta-twice",
    ),
    pytest.param(
        Case(
            "CF501",
            """
            <Response>
              <Say voice="alice">Hello.</Say>
            </Response>
            """,
            2,
            3,
            "/Response/Say",
            "warning",
            ("<Say>", "'voice'"),
            ("spelling",),
        ),
        id="CF501-unknown-attribute",
    ),
    pytest.param(
        Case(
            "CF502",
            """
            <Response>
              <Dial tag="sales"><To>15550100200</To></Dial>
            </Response>
            """,
            2,
            3,
            "/Response/Dial",
            "warning",
            ("<Dial>", "'tag'"),
            ("remove",),
        ),
        id="CF502-tag-on-dial",
    ),
    pytest.param(
        Case(
            "CF601",
            """
            <Response>
              <Play record="greeting"/>
            </Response>
            """,
            2,
            3,
            "/Response/Play",
            "info",
            ('record="greeting"', "<Record>"),
            ("tag",),
        ),
        id="CF601-unknown-recording",
    ),
    pytest.param(
        Case(
            "CF602",
            """
            <Response>
              <Answer/>
              <Record tag="msg"/>
            </Response>
            """,
            3,
            3,
            "/Response/Record",
            "warning",
            ("<Record>", "timeout", "hangs up"),
            ("timeout=",),
        ),
        id="CF602-endless-record",
    ),
    pytest.param(
        Case(
            "CF603",
            """
            <Response>
              <Callback url="/next"/>
            </Response>
            """,
            2,
            3,
            "/Response/Callback",
            "info",
            ("'/next'", "path-only"),
            ("https://",),
        ),
        id="CF603-path-only-url",
    ),
    pytest.param(
        Case(
            "CF604",
            """
            <Response>
              <Schedule dow="sat,sun"/>
              <Hangup/>
            </Response>
            """,
            2,
            3,
            "/Response/Schedule",
            "warning",
            ("<Schedule>", "no children"),
            ("commands",),
        ),
        id="CF604-empty-filter",
    ),
    pytest.param(
        Case(
            "CF605",
            """
            <Response>
              <Dial>
                <To>15550100200</To>
                <To>15550100200</To>
              </Dial>
            </Response>
            """,
            2,
            3,
            "/Response/Dial",
            "warning",
            ("<Dial>", "'15550100200'", "twice"),
            ("duplicate",),
        ),
        id="CF605-same-target-twice",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_finding_is_reported_at_the_element_with_message_and_hint(case: Case) -> None:
    findings = lint(xml(case.document))
    assert sorted(f.code for f in findings) == sorted((case.code, *case.also)), described(findings)
    [finding] = [f for f in findings if f.code == case.code]
    assert (finding.line, finding.column, finding.path) == (case.line, case.column, case.path)
    assert finding.severity == case.severity
    assert finding.message.strip()
    assert finding.hint.strip()
    for fragment in case.message:
        assert fragment in finding.message, described(findings)
    for fragment in case.hint:
        assert fragment in finding.hint, described(findings)


@pytest.mark.parametrize("case", CASES)
def test_only_cf001_documents_are_invalid(case: Case) -> None:
    # Every other finding is about a document that is valid, in compat mode.
    problems = validate(xml(case.document))
    assert bool(problems) == (case.code == "CF001"), problems


@pytest.mark.parametrize("case", CASES)
def test_severity_is_the_one_the_table_gives(case: Case) -> None:
    assert case.severity == documented_severity(case.code)


def test_cases_cover_every_documented_code() -> None:
    covered = {param.values[0].code for param in CASES if isinstance(param.values[0], Case)}
    assert covered == set(documented())


# -- hints link to the rulings and questions they follow ------------------------------------

REFERENCES = ROOT / "docs" / "dialect-references.txt"
_CITED = re.compile(r"(?<!\w)(D[0-9]+|§7 #[0-9]+)(?![0-9])")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def references() -> dict[str, str]:
    """docs/dialect-references.txt: a citation as the code writes it -> page#anchor."""
    lines = REFERENCES.read_text(encoding="utf-8").splitlines()
    return dict(line.split("\t", 1) for line in lines if line.strip())


LINKED = {
    "CF109": "q11",
    "CF201": "d20",
    "CF202": "d8",
    "CF203": "d6",
    "CF301": "q5",
    "CF302": "q2",
    "CF401": "q16",
    "CF602": "q8",
}
"""The codes whose message cites a ruling or question (in CASES), and the anchor it has."""


@pytest.mark.parametrize("case", CASES)
def test_hint_links_to_what_the_finding_cites(case: Case) -> None:
    [finding] = [f for f in lint(xml(case.document)) if f.code == case.code]
    link = LINKED.get(case.code)
    if link is None:
        assert "docs/dialect.md" not in finding.hint
        return
    assert finding.hint.endswith(f" (see docs/dialect.md#{link})")
    cited = _CITED.findall(_QUOTED.sub("", finding.message))
    assert cited, finding.message
    assert references()[cited[0]] == f"dialect.md#{link}"


@pytest.mark.parametrize(
    "path", [*data_files("strict-valid"), *data_files("compat-only"), *data_files("invalid")]
)
def test_every_link_in_a_hint_is_in_the_references_table(path: Path) -> None:
    targets = set(references().values())
    for finding in lint(path):
        for anchor in re.findall(r"\(see docs/(dialect\.md#[a-z0-9-]+)\)", finding.hint):
            assert anchor in targets


def test_a_quoted_name_cites_nothing() -> None:
    findings = lint(b'<Response><Meta name="D9" value="1"/><Meta name="D9" value="2"/></Response>')
    [finding] = [f for f in findings if f.code == "CF402"]
    assert finding.hint == "remove the earlier one"


def test_an_explicit_dtmf_length_cites_no_default() -> None:
    document = b'<Response><Gather dtmf_length="1"><DTMF value="12"/></Gather></Response>'
    [finding] = [f for f in lint(document) if f.code == "CF302"]
    assert "§7" not in finding.message
    assert "docs/dialect.md" not in finding.hint


# -- the list of codes -------------------------------------------------------------------------


def test_codes_are_exactly_the_documented_table_in_order() -> None:
    table = list(documented())
    assert len(table) == 28
    assert list(codes()) == table


def test_codes_are_unique_and_well_formed() -> None:
    listed = list(codes())
    assert len(set(listed)) == len(listed)
    assert all(re.fullmatch(r"CF\d{3}", code) for code in listed)


@pytest.mark.parametrize(
    "path", [*data_files("strict-valid"), *data_files("compat-only"), *data_files("invalid")]
)
def test_every_reported_code_is_documented(path: Path) -> None:
    known = set(codes())
    for finding in lint(path):
        assert finding.code in known
        assert finding.severity == documented_severity(finding.code)
        assert finding.message.strip() and finding.hint.strip()
        assert finding.line >= 1 and finding.column >= 1


# -- clean documents ---------------------------------------------------------------------------

CLEAN = """\
<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Answer/>
  <Meta name="lang" value="en"/>
  <Gather dtmf_length="2" dtmf_stop="#" timeout="6000">
    <Say>Enter an extension, then press pound.</Say>
    <DTMF value="21"><Dial><To>15550100200</To><Sip>2001@pbx.example.com</Sip></Dial></DTMF>
    <DTMF value="*"><Play>https://cdn.example.com/menu.mp3</Play></DTMF>
    <Default><Say>No such extension.</Say></Default>
    <Error say="true"/>
  </Gather>
  <Record tag="msg" timeout="60000"/>
  <Play record="msg"/>
  <Say text="Goodbye."><Error/></Say>
  <Hangup/>
</Response>
"""


def test_clean_canonical_document_has_no_findings() -> None:
    assert validate(CLEAN, strict=True) == []
    assert lint(CLEAN) == []


# Findings lint reports on the canonical documents: none is about a legacy form (CF1xx) or an
# attribute (CF5xx); each other one was checked against its file. Files not listed have none.
STRICT_VALID_FINDINGS: dict[str, list[tuple[str, int, int]]] = {
    "call.xml": [("CF604", 6, 3), ("CF604", 7, 3), ("CF604", 8, 3)],
    "callback-methods.xml": [("CF603", 4, 23)],
    "curl.xml": [("CF603", 5, 3)],
    "default.xml": [("CF306", 4, 3)],
    "dtmf.xml": [("CF305", 4, 3), ("CF306", 4, 3), ("CF305", 7, 7), ("CF306", 7, 7)],
    "error-children.xml": [
        ("CF603", 6, 3),
        ("CF306", 12, 3),
        ("CF603", 13, 3),
        ("CF202", 14, 3),
        ("CF603", 17, 3),
    ],
    "gather-url.xml": [("CF203", 8, 3), ("CF306", 8, 3), ("CF603", 8, 3)],
    "geo.xml": [("CF604", 5, 3), ("CF604", 6, 3)],
    "meta-in-containers.xml": [("CF306", 4, 3), ("CF603", 15, 3), ("CF202", 16, 3)],
    "nested-blocks.xml": [("CF305", 9, 11), ("CF306", 9, 11), ("CF603", 11, 15)],
    # <Play leg="both">/media/beep.wav</Play>: the canonical form of a path-only media URL.
    "play-record-leg.xml": [("CF603", 6, 3)],
    "record.xml": [("CF602", 5, 3)],
    "schedule.xml": [("CF604", 5, 3), ("CF604", 6, 3)],
}


def _strict_valid_files() -> list[pytest.ParameterSet]:
    params = []
    for param in data_files("strict-valid"):
        path = param.values[0]
        assert isinstance(path, Path)
        params.append(pytest.param(path, id=path.name))
    return params


@pytest.mark.parametrize("path", _strict_valid_files())
def test_canonical_data_file_gets_exactly_its_findings(path: Path) -> None:
    findings = lint(path)
    expected = STRICT_VALID_FINDINGS.get(path.name, [])
    assert [(f.code, f.line, f.column) for f in findings] == expected, described(findings)


@pytest.mark.parametrize("path", data_files("strict-valid"))
def test_canonical_data_file_has_no_legacy_or_attribute_finding(path: Path) -> None:
    findings = lint(path)
    assert [f for f in findings if f.code[:3] in ("CF0", "CF1", "CF5")] == [], described(findings)


def test_strict_valid_findings_table_names_existing_files() -> None:
    names = {path.name for path in (DATA_DIR / "strict-valid").glob("*.xml")}
    assert set(STRICT_VALID_FINDINGS) <= names


def test_spec_example_has_no_findings() -> None:
    assert lint(DATA_DIR / "strict-valid" / "spec-example.xml") == []


# -- legacy forms ------------------------------------------------------------------------------

# The CF1xx/CF5xx findings of each legacy or variant data file: (code, line, column).
COMPAT_ONLY_FINDINGS: dict[str, list[tuple[str, int, int]]] = {
    "callback-method-lowercase.xml": [("CF102", 4, 3)],
    "curl-method-lowercase.xml": [("CF102", 4, 3)],
    "error-play.xml": [("CF101", 4, 29)],
    "error-sibling-in-case.xml": [("CF103", 5, 5), ("CF105", 8, 9)],
    "error-sibling-in-default.xml": [("CF105", 8, 7)],
    "error-sibling-in-dtmf.xml": [("CF105", 7, 7)],
    "error-sibling-in-error.xml": [("CF105", 8, 7)],
    "error-sibling.xml": [("CF105", 5, 3)],
    "gather-callback.xml": [("CF101", 4, 3)],
    "gather-finishOnKey.xml": [("CF101", 4, 3)],
    "gather-length.xml": [("CF101", 6, 7)],
    "gather-method-lowercase.xml": [("CF102", 4, 3)],
    "gather-numDigits.xml": [("CF101", 4, 3)],
    "hz-x.xml": [("CF108", 4, 3)],
    "lowercase-callback-in-block.xml": [("CF104", 5, 21), ("CF104", 9, 23)],
    "lowercase-callback.xml": [("CF104", 5, 3)],
    "switch-case.xml": [("CF103", 6, 5)],
    "tag-on-dial.xml": [("CF502", 4, 3)],
    "tag-on-pause-dtmf-meta.xml": [("CF502", 5, 5), ("CF502", 6, 5), ("CF502", 6, 31)],
    "to-sip-prefix.xml": [("CF106", 4, 9)],
    "tone-v.xml": [("CF101", 4, 3)],
    "unknown-attribute-on-response.xml": [("CF501", 3, 1)],
    "unknown-attribute.xml": [
        ("CF501", 4, 3),
        ("CF501", 4, 3),
        ("CF501", 5, 3),
        ("CF501", 5, 34),
        ("CF501", 5, 66),
        ("CF501", 6, 3),
    ],
}


def test_compat_only_table_covers_every_file() -> None:
    names = {path.name for path in (DATA_DIR / "compat-only").glob("*.xml")}
    assert set(COMPAT_ONLY_FINDINGS) == names


@pytest.mark.parametrize("path", data_files("compat-only"))
def test_every_legacy_form_of_the_data_files_is_reported(path: Path) -> None:
    # Each file is valid in compat mode and rejected by strict: lint names what strict rejects.
    assert validate(path) == []
    assert validate(path, strict=True) != []
    findings = lint(path)
    legacy = [(f.code, f.line, f.column) for f in findings if f.code[:3] in ("CF1", "CF5")]
    assert legacy == COMPAT_ONLY_FINDINGS[path.name], described(findings)
    assert all(f.severity == "warning" for f in findings if f.code[:3] in ("CF1", "CF5"))


# -- invalid documents -------------------------------------------------------------------------

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


def test_invalid_document_gives_one_cf001_per_problem() -> None:
    findings = lint(MANY_PROBLEMS)
    problems = validate(MANY_PROBLEMS)
    assert len(problems) == 6
    assert [(f.line, f.column, f.path, f.message) for f in findings] == [
        (p.line, p.column, p.path, p.message) for p in problems
    ]
    assert {f.code for f in findings} == {"CF001"}
    assert {f.severity for f in findings} == {"error"}
    assert all(f.hint.strip() for f in findings)


def test_invalid_document_gets_no_other_finding() -> None:
    # Valid-but-wrong checks run on valid documents only: the Hangup and the Say after it
    # would be CF201 in a valid document.
    document = b"<Response><Hangup/><Say>Bye.</Say><Geo states='ZZ'/></Response>"
    assert [f.code for f in lint(document)] == ["CF001"]


@pytest.mark.parametrize("path", data_files("invalid"))
def test_invalid_data_file_gives_only_cf001_findings(path: Path) -> None:
    findings = lint(path)
    problems = validate(path)
    assert problems
    assert [(f.code, f.severity) for f in findings] == [("CF001", "error")] * len(problems)
    assert [(f.line, f.column, f.path, f.message) for f in findings] == [
        (p.line, p.column, p.path, p.message) for p in problems
    ]


def test_unreadable_document_is_one_cf001_finding() -> None:
    assert [(f.code, f.line, f.column, f.severity) for f in lint(b"<Response>")] == [
        ("CF001", 1, 11, "error")
    ]
    assert [(f.code, f.message) for f in lint(b"")] == [("CF001", "document is empty")]


# -- order and places --------------------------------------------------------------------------

SEVERAL = xml(
    """
    <Response>
      <Meta name="from" value="+15550100999"/>
      <Gather numDigits="2">
        <DTMF value="123"><Hangup/><Say>Bye.</Say></DTMF>
        <Default><Say>No.</Say></Default>
      </Gather>
      <Record/>
      <Hangup/>
      <Say>Never said.</Say>
    </Response>
    """
)


def test_findings_are_sorted_by_position() -> None:
    findings = lint(SEVERAL)
    assert [(f.line, f.column, f.code) for f in findings] == [
        (2, 3, "CF401"),
        (3, 3, "CF101"),
        (3, 3, "CF306"),
        (4, 5, "CF302"),
        (4, 32, "CF201"),
        (7, 3, "CF602"),
        (9, 3, "CF201"),
    ], described(findings)
    assert findings == sorted(findings)


MULTI_LINE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- <Gather numDigits="9"> in a comment is not an element -->
<Response>
  <Say><![CDATA[<Gather numDigits="1"> is said, not run]]></Say>
  <Meta name="address">1 Main Street
Springfield</Meta>
  <Gather
      numDigits="2"
      timeout="5000">
    <Say>Enter two digits.</Say>
  </Gather>
  <Tone
    v="-6"
  />
</Response>
"""


def test_multi_line_document_findings_are_at_the_start_tags() -> None:
    findings = lint(MULTI_LINE)
    assert [(f.code, f.line, f.column, f.path) for f in findings] == [
        ("CF101", 7, 3, "/Response/Gather"),
        ("CF101", 12, 3, "/Response/Tone"),
    ], described(findings)


def test_every_kind_of_source_gives_the_same_findings(tmp_path: Path) -> None:
    file = tmp_path / "flow.xml"
    file.write_bytes(SEVERAL)
    expected = lint(SEVERAL)
    assert expected
    assert lint(SEVERAL.decode()) == expected
    assert lint(file) == expected
    assert lint(str(file)) == expected


def test_findings_serialise_every_field() -> None:
    [finding] = lint(b"<Response><Hangup/><Say>Bye.</Say></Response>")
    assert finding.to_dict() == {
        "line": 1,
        "column": 20,
        "code": "CF201",
        "path": "/Response/Say",
        "message": finding.message,
        "hint": finding.hint,
        "severity": "warning",
    }


# -- CF302: what a Gather can collect ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "value", "length", "is_default"),
    [
        pytest.param("", "12", 1, True, id="no-length-defaults-to-1"),
        pytest.param('numDigits="2"', "123", 2, False, id="legacy-numDigits"),
        pytest.param('length="3"', "1234", 3, False, id="legacy-length"),
        pytest.param('dtmf_length="2"', "123", 2, False, id="canonical-dtmf-length"),
        pytest.param('dtmf_stop="#"', "1*", 1, True, id="stop-key-alone-keeps-default"),
    ],
)
def test_cf302_uses_the_gathers_length_or_the_default(
    attributes: str, value: str, length: int, is_default: bool
) -> None:
    document = (
        f'<Response><Gather {attributes}><Say>Enter.</Say><DTMF value="{value}"/>'
        "<Default/></Gather></Response>"
    )
    [finding] = [f for f in lint(document.encode()) if f.code == "CF302"]
    assert finding.path == "/Response/Gather/DTMF"
    assert f"dtmf_length {length}" in finding.message
    assert ("default" in finding.message) == is_default
    assert f'dtmf_length="{len(value)}"' in finding.hint


@pytest.mark.parametrize(
    ("attributes", "value"),
    [
        pytest.param("", "1", id="one-key-with-the-default"),
        pytest.param("", "#", id="hash-key-with-the-default"),
        pytest.param('numDigits="2"', "12", id="legacy-numDigits"),
        pytest.param('dtmf_length="4"', "1234", id="canonical-exact-length"),
        pytest.param('dtmf_length="4"', "12", id="canonical-shorter"),
    ],
)
def test_cf302_not_for_a_value_that_can_be_collected(attributes: str, value: str) -> None:
    document = (
        f'<Response><Gather {attributes}><Say>Enter.</Say><DTMF value="{value}"/>'
        "<Default/></Gather></Response>"
    )
    assert [f.code for f in lint(document.encode()) if f.code in ("CF302", "CF303")] == []


def test_cf302_for_a_case_of_a_switch() -> None:
    document = xml(
        """
        <Response>
          <Gather>
            <Say>Enter.</Say>
            <Switch><Case dtmf="12"/><Default/></Switch>
          </Gather>
        </Response>
        """
    )
    findings = [f for f in lint(document) if f.code == "CF302"]
    assert [(f.line, f.column, f.path) for f in findings] == [
        (4, 13, "/Response/Gather/Switch/Case")
    ]


def test_cf303_with_the_legacy_stop_key_and_a_case() -> None:
    document = xml(
        """
        <Response>
          <Gather dtmf_length="2" finishOnKey="*">
            <Say>Enter.</Say>
            <Switch><Case dtmf="*1"/><Default/></Switch>
          </Gather>
        </Response>
        """
    )
    findings = [f for f in lint(document) if f.code == "CF303"]
    assert [(f.line, f.column, f.path) for f in findings] == [
        (4, 13, "/Response/Gather/Switch/Case")
    ]
    assert "'*'" in findings[0].message


def test_nested_gather_uses_its_own_length() -> None:
    document = xml(
        """
        <Response>
          <Gather dtmf_length="3">
            <Say>Enter.</Say>
            <DTMF value="123">
              <Gather><Say>Again.</Say><DTMF value="45"/><Default/></Gather>
            </DTMF>
            <Default/>
          </Gather>
        </Response>
        """
    )
    findings = [f for f in lint(document) if f.code == "CF302"]
    assert [(f.line, f.path) for f in findings] == [(5, "/Response/Gather/DTMF/Gather/DTMF")]


# -- CF2xx: what can never run -----------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            "<Response><Hangup/><Error say='true'/></Response>", id="sibling-error-after-hangup"
        ),
        pytest.param(
            "<Response><Callback url='https://a.example.com/n'/><Error/></Response>",
            id="sibling-error-after-callback",
        ),
        pytest.param(
            "<Response><Gather dtmf_length='1'><Say>x</Say><DTMF value='1'><Hangup/>"
            "<Error/></DTMF><Default/></Gather></Response>",
            id="sibling-error-after-hangup-in-a-branch",
        ),
        pytest.param("<Response><Hangup><Error/></Hangup></Response>", id="error-child"),
        pytest.param(
            "<Response><Schedule dow='sun'><Hangup/></Schedule><Say>Open.</Say></Response>",
            id="hangup-in-a-filter-ends-only-the-filter-level",
        ),
        pytest.param(
            "<Response><Say>Bye.</Say><Hangup/><!-- the end --></Response>",
            id="comment-after-hangup",
        ),
    ],
)
def test_no_unreachable_finding(document: str) -> None:
    codes_found = [f.code for f in lint(document)]
    assert not {"CF201", "CF202", "CF203"} & set(codes_found), codes_found


def test_command_after_a_sibling_error_handler_is_unreachable() -> None:
    document = xml(
        """
        <Response>
          <Hangup/>
          <Error say="true"/>
          <Say>Never said.</Say>
          <Say>Nor this.</Say>
        </Response>
        """
    )
    findings = [f for f in lint(document) if f.code == "CF201"]
    assert [(f.line, f.column, f.path) for f in findings] == [(4, 3, "/Response/Say[1]")]


def test_unreachable_inside_an_error_handler() -> None:
    document = xml(
        """
        <Response>
          <Dial>
            <To>15550100200</To>
            <Error><Hangup/><Say>Too late.</Say></Error>
          </Dial>
        </Response>
        """
    )
    findings = lint(document)
    assert [(f.code, f.line, f.column, f.path) for f in findings] == [
        ("CF201", 4, 21, "/Response/Dial/Error/Say")
    ]


def test_after_a_lower_case_callback_is_unreachable() -> None:
    document = xml(
        """
        <Response>
          <callback>https://ivr.example.com/next</callback>
          <Say>Never said.</Say>
        </Response>
        """
    )
    assert [(f.code, f.line) for f in lint(document)] == [("CF104", 2), ("CF202", 3)]


def test_after_a_legacy_callback_gather_is_unreachable() -> None:
    document = xml(
        """
        <Response>
          <Gather callback="https://ivr.example.com/digits"><Say>Enter.</Say></Gather>
          <Hangup/>
        </Response>
        """
    )
    assert [(f.code, f.line) for f in lint(document)] == [("CF101", 2), ("CF203", 3)]


# -- bugs --------------------------------------------------------------------------------------


def test_cf402_repeat_with_another_block_in_between() -> None:
    document = xml(
        """
        <Response>
          <Meta name="lang" value="en"/>
          <Schedule dow="sun"><Meta name="lang" value="es"/></Schedule>
          <Meta name="lang" value="fr"/>
        </Response>
        """
    )
    findings = lint(document)
    assert [(f.code, f.line, f.path) for f in findings] == [("CF402", 4, "/Response/Meta[2]")], (
        described(findings)
    )


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(
            b'<Response><Say text="Hello."><Error><Say>Sorry.</Say></Error></Say></Response>',
            id="say",
        ),
        pytest.param(
            b'<Response><Play url="https://cdn.example.com/a.mp3"><Error><Say>Sorry.</Say>'
            b"</Error></Play></Response>",
            id="play",
        ),
    ],
)
def test_cf109_not_for_text_inside_the_error_handler(document: bytes) -> None:
    # The canonical form: strict-valid, and exactly what the DSL renders.
    assert validate(document, strict=True) == []
    assert render(parse(document)).endswith(document)
    assert lint(document) == []


def test_cf603_for_a_path_only_play_text() -> None:
    document = b"<Response><Play>/media/beep.wav</Play></Response>"
    assert validate(document, strict=True) == []
    findings = lint(document)
    assert [(f.code, f.line, f.column, f.severity) for f in findings] == [("CF603", 1, 11, "info")]
    assert "'/media/beep.wav'" in findings[0].message


def test_cf108_hint_is_the_documents_canonical_hz() -> None:
    [finding] = lint(b'<Response><Tone hz="425x3"/></Response>')
    assert finding.code == "CF108"
    assert 'hz="425,425,425"' in finding.hint
