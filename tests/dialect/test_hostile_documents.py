"""Hostile documents in linear time (issue 8 §5): crafted documents under the 1 MiB limit must
not make validate, lint or parse take minutes, and the DTD pre-scan refuses every real DTD but
no comment or CDATA section that merely mentions one.

No test measures time. They run the command line on the three reported documents with a
generous timeout (they took 35 s to minutes), count the work done for n and 4n elements, and
check that the windows libxml2 validates stay small and give exactly what validating the
whole document gives.
"""

from __future__ import annotations

import importlib
import random
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from lxml import etree

from callflow import Hangup, Problem, Response, SchemaValidationError, lint, parse, validate
from callflow.dialect import reader
from callflow.dialect.problems import MAX_PROBLEMS
from callflow.dialect.reader import (
    MAX_BYTES,
    Places,
    attribute_items,
    element_paths,
    load,
    node_layout,
    start_positions,
    valid_as_read,
)
from callflow.dialect.xsd import SchemaMode, schema_text, xml_schema
from callflow.simulator.facade import Simulator
from callflow.simulator.trace import WarningEvent

# The module, not the function ``callflow.dialect.validation`` that the package exports under its
# name.
validation = importlib.import_module("callflow.dialect.validation")

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data" / "xsd"
MODES = [pytest.param(False, id="compat"), pytest.param(True, id="strict")]
Make = Callable[[int], bytes]


# -- the documents -------------------------------------------------------------------------


def pauses(n: int) -> bytes:
    """n ``<Pause/>`` siblings: valid, and lint took 107 s on 130k."""
    return b"<Response>" + b"<Pause/>" * n + b"</Response>"


def distinct_names(n: int) -> bytes:
    """n siblings, each an unknown element of its own name: validate took over 300 s."""
    return b"<Response>" + b"".join(b"<A%d/>" % i for i in range(n)) + b"</Response>"


def attributes(n: int) -> bytes:
    """n attributes on one element: validate took 83 s."""
    names = b" ".join(b'a%x=""' % i for i in range(n))
    return b"<Response><Pause " + names + b"/></Response>"


def bad_pauses(n: int) -> bytes:
    """n siblings, each a schema problem."""
    return b"<Response>" + b'<Pause length="x"/>' * n + b"</Response>"


def deep_bad_pauses(n: int) -> bytes:
    """n schema problems 250 elements deep (libxml2 refuses more than 256 levels)."""
    return (
        b"<Response>"
        + b"<Record>" * 250
        + b'<Pause length="x"/>' * n
        + b"</Record>" * 250
        + (b"</Response>")
    )


def sibling_errors(n: int) -> bytes:
    """n ``<Error>`` siblings after one Say: every one after the first is a problem."""
    return b"<Response><Say>x</Say>" + b"<Error/>" * n + b"</Response>"


def dtmf_branches(n: int) -> bytes:
    return (
        b'<Response><Gather dtmf_length="9">'
        + b"".join(b'<DTMF value="%d"><Hangup/></DTMF>' % i for i in range(n))
        + b"</Gather></Response>"
    )


def duplicate_dtmf(n: int) -> bytes:
    return b"<Response><Gather>" + b'<DTMF value="1"/>' * n + b"</Gather></Response>"


def metas(n: int) -> bytes:
    return b"<Response>" + b'<Meta name="m">v</Meta>' * n + b"</Response>"


def text_nodes(n: int) -> bytes:
    """n text nodes in element-only content, each a schema problem of the same element."""
    return b"<Response>" + b"x<!---->" * n + b"</Response>"


def deep_units(n: int) -> bytes:
    """n times a 200-deep nest of Records, each with two bad attributes and a bad tail."""
    unit = b'<Record timeout="x" asr="x">' * 200 + b"</Record>t" * 200
    return b"<Response>" + unit * n + b"</Response>"


def long_text(n: int) -> bytes:
    return b"<Response><Say>" + b"x" * n + b"</Say></Response>"


def filled(make: Make, limit: int = MAX_BYTES) -> bytes:
    """The largest document ``make`` writes within ``limit`` bytes."""
    low, high = 1, 2
    while len(make(high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(make(middle)) <= limit else (low, middle)
    return make(low)


# -- the command line, as a guard ----------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "lint"])
def test_the_reported_documents_are_answered_in_seconds(tmp_path: Path, command: str) -> None:
    documents = {
        "pauses.xml": pauses,
        "names.xml": distinct_names,
        "attributes.xml": attributes,
        "deep.xml": deep_bad_pauses,
    }
    paths = []
    for name, make in documents.items():
        path = tmp_path / name
        path.write_bytes(filled(make))
        paths.append(str(path))
    completed = subprocess.run(
        [sys.executable, "-m", "callflow", command, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,  # minutes before the fix; a few seconds after
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    lines: dict[str, int] = {}
    for line in completed.stdout.splitlines():
        name = Path(line.split(":", 1)[0]).name
        lines[name] = lines.get(name, 0) + 1
    capped = MAX_PROBLEMS + 1
    assert lines.get("pauses.xml", 0) == 0
    assert lines["names.xml"] == capped
    assert lines["deep.xml"] == capped
    if command == "validate":
        assert lines.get("attributes.xml", 0) == 0
    else:  # each unknown attribute is a CF501 finding; lint reports every finding
        assert lines["attributes.xml"] > 100_000


# -- work grows linearly -------------------------------------------------------------------


def calls(action: Callable[[], object]) -> int:
    """How many Python and C functions ``action`` calls."""
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize(
    ("make", "n"),
    [
        pytest.param(pauses, 1_500, id="pauses"),
        pytest.param(distinct_names, 1_500, id="distinct-names"),
        pytest.param(attributes, 1_500, id="attributes"),
        pytest.param(bad_pauses, 1_500, id="problems"),
        pytest.param(deep_bad_pauses, 1_500, id="deep-problems"),
        pytest.param(sibling_errors, 1_500, id="sibling-errors"),
        pytest.param(dtmf_branches, 800, id="dtmf-branches"),
        pytest.param(duplicate_dtmf, 1_500, id="duplicate-dtmf"),
        pytest.param(metas, 1_500, id="metas"),
        pytest.param(text_nodes, 1_500, id="text-nodes"),
        pytest.param(deep_units, 4, id="deep-units"),
    ],
)
def test_work_grows_linearly_with_the_document(
    monkeypatch: pytest.MonkeyPatch, make: Make, n: int
) -> None:
    # Small documents are checked in windows too, as large ones are.
    monkeypatch.setattr(validation, "WHOLE_LIMIT", 100)

    def check(size: int) -> Callable[[], object]:
        data = make(size)
        return lambda: (validate(data, strict=True), lint(data))

    small, large = calls(check(n)), calls(check(4 * n))
    # Quadratic work would count about 16 times as many calls.
    assert large < 5 * small, (small, large)


def windows_seen(monkeypatch: pytest.MonkeyPatch, strict: bool = False) -> list[tuple[int, int]]:
    """(errors, work) of each window document libxml2 validates from now on. The work of its
    errors is what libxml2 spends writing their paths: at most their count times the window's
    nodes and depth (siblings are counted, and each level copies the path so far)."""
    seen: list[tuple[int, int]] = []
    parse_window = validation.parse_window
    schema = xml_schema("strict" if strict else "compat")

    def spy(data: bytes) -> etree._Element | None:
        window: etree._Element | None = parse_window(data)
        if window is not None:
            depth = max(len(list(el.iterancestors())) for el in window.iter()) + 1
            nodes = sum(1 for _ in window.iter())
            errors = 0 if schema.validate(window) else len(schema.error_log)
            seen.append((errors, errors * (nodes + depth * depth)))
        return window

    monkeypatch.setattr(validation, "parse_window", spy)
    return seen


@pytest.mark.parametrize(
    ("make", "n"),
    [
        pytest.param(distinct_names, 20_000, id="distinct-names"),
        pytest.param(bad_pauses, 20_000, id="problems"),
        pytest.param(deep_bad_pauses, 20_000, id="deep-problems"),
        pytest.param(text_nodes, 20_000, id="text-nodes"),
        pytest.param(deep_units, 20, id="deep-units"),
    ],
)
@pytest.mark.parametrize("strict", MODES)
def test_libxml2_validates_small_shallow_windows(
    monkeypatch: pytest.MonkeyPatch, make: Make, n: int, strict: bool
) -> None:
    # libxml2 writes the path of each error by walking its siblings and ancestors: in a
    # document of thousands of erroneous siblings or hundreds of levels that is quadratic.
    seen = windows_seen(monkeypatch, strict)
    problems = validate(make(n), strict=strict)
    assert len(problems) == MAX_PROBLEMS + 1
    assert len(seen) > 1
    errors = sum(count for count, _ in seen)
    work = sum(cost for _, cost in seen)
    # Whole, the document would cost thousands per error; in windows, a few hundred.
    assert work <= 1_000 * errors, (work, errors)


def test_a_valid_large_document_is_checked_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = windows_seen(monkeypatch)
    assert validate(pauses(20_000)) == []
    assert seen == []


# -- windows give what the whole document gives --------------------------------------------

NAMES = [
    *("Say", "Pause", "Gather", "DTMF", "Dial", "To", "Sip", "Meta", "Error", "Record"),
    *("Switch", "Case", "Default", "Hangup", "Play", "Curl", "Tone", "Callback", "callback"),
    *("Call", "Geo", "Schedule", "Q", "p:Say"),
]
ATTRIBUTES = [
    *('length="x"', 'length="5"', 'value="1"', 'value="z"', 'name="a"', 'url="/x"'),
    *('url="bad url"', 'tag="t"', 'foo="1"', 'dtmf="1"', 'xsi:type="DTMFType"'),
    *('xsi:nil="true"', 'hz="350x2"', 'timeout="x"'),
]
TEXTS = ["", "", "", " ", "\n", "x", "15550100", "a@b", "<!--c-->", "<?pi x?>", "y<!---->z"]
TEXTS += ["<![CDATA[q]]>", "é"]


def random_documents(seed: int, count: int, *, deep: bool) -> Iterator[bytes]:
    """Documents of every element, mostly invalid, some deep, some of many attributes."""
    rnd = random.Random(seed)
    blocks = ["Record", "Error", "Call", "DTMF", "Gather", "Geo", "Schedule", "Default"]

    def element(depth: int, out: list[str]) -> None:
        name = rnd.choice(blocks if deep and rnd.random() < 0.7 else NAMES)
        chosen = {a.split("=")[0]: a for a in rnd.sample(ATTRIBUTES, rnd.randint(0, 2))}
        if rnd.random() < 0.05:
            chosen.update({f"u{i}": f'u{i}="{i}"' for i in range(rnd.choice([3, 70]))})
        out.append(f"<{name}{''.join(' ' + a for a in chosen.values())}>{rnd.choice(TEXTS)}")
        limit = 14 if deep else 5
        for _ in range(rnd.choice([0, 1, 1, 2, 3] if deep else [0, 0, 1, 2, 3, 5])):
            if depth < limit:
                element(depth + 1, out)
        out.append(f"</{name}>{rnd.choice(TEXTS)}")

    for _ in range(count):
        out: list[str] = []
        for _ in range(rnd.randint(1, 4)):
            element(1, out)
        root = "Response" if rnd.random() < 0.9 else "Foo"
        namespaces = 'xmlns:p="urn:p" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        yield f"<{root} {namespaces}>{rnd.choice(TEXTS)}{''.join(out)}</{root}>".encode()


def corpus() -> Iterator[bytes]:
    for path in sorted(DATA.rglob("*.xml")):
        yield path.read_bytes()
    yield from random_documents(1, 80, deep=False)
    yield from random_documents(2, 80, deep=True)


def whole(tree: etree._ElementTree, schema: etree.XMLSchema) -> list[tuple[str, str]]:
    schema.validate(tree)
    return sorted(
        (e.path or "/", validation._in_dialect_words(e.message.strip().rstrip(".")))
        for e in schema.error_log
    )


@pytest.mark.parametrize("strict", MODES)
def test_windows_find_exactly_the_problems_of_the_whole_document(
    monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    mode: SchemaMode = "strict" if strict else "compat"
    schema = xml_schema(mode)
    shape = validation._shape(mode)

    def refuse(tree: etree._ElementTree, schema: etree.XMLSchema) -> list[Problem]:
        raise AssertionError("fell back to validating the whole document")

    checked = 0
    for data in corpus():
        tree = load(data).tree
        if tree is None:
            continue
        expected = whole(tree, schema)
        with monkeypatch.context() as patch:
            patch.setattr(validation, "_whole_errors", refuse)
            # Tiny windows, cut and shortened wherever they can be.
            for size, shallow in ((1, 1), (5, 3)):
                problems = validation._windowed_errors(
                    tree, schema, Places(tree, data), shape=shape, size=size, shallow=shallow
                )
                got = sorted((p.path, p.message) for p in problems)
                assert got == expected, (size, shallow, data.decode())
        assert valid_as_read(data, schema) is (not expected), data.decode()
        checked += 1
    assert checked > 200


def test_both_schemas_can_be_checked_in_windows() -> None:
    for mode in ("compat", "strict"):
        shape = validation._shape(mode)
        assert shape.windowable
        assert shape.names_fix_types
        assert shape.simple is not None
        assert {"To", "Sip", "Meta"} <= shape.simple


XSD_HEAD = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
XSD_ROOT = '<xs:element name="Response" type="T"/>'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            '<xs:complexType name="T"><xs:sequence><xs:element name="A" type="xs:string"/>'
            "</xs:sequence></xs:complexType>",
            id="sequence",
        ),
        pytest.param(
            '<xs:complexType name="T"><xs:choice maxOccurs="unbounded">'
            '<xs:element name="A" type="xs:string"/></xs:choice></xs:complexType>',
            id="choice-with-a-minimum",
        ),
        pytest.param(
            '<xs:complexType name="T"><xs:choice minOccurs="0" maxOccurs="3">'
            '<xs:element name="A" type="xs:string"/></xs:choice></xs:complexType>',
            id="bounded-choice",
        ),
        pytest.param(
            '<xs:complexType name="T"><xs:attribute name="id" type="xs:ID"/></xs:complexType>',
            id="id-attribute",
        ),
        pytest.param(
            '<xs:complexType name="T"><xs:choice minOccurs="0" maxOccurs="unbounded">'
            '<xs:any processContents="skip"/></xs:choice></xs:complexType>',
            id="element-wildcard",
        ),
        pytest.param(
            '<xs:complexType name="B"><xs:choice minOccurs="0" maxOccurs="unbounded">'
            '<xs:element name="A" type="xs:string"/></xs:choice></xs:complexType>'
            '<xs:complexType name="T"><xs:complexContent><xs:extension base="B">'
            '<xs:choice minOccurs="0" maxOccurs="unbounded"><xs:element name="C" '
            'type="xs:string"/></xs:choice></xs:extension></xs:complexContent>'
            "</xs:complexType>",
            id="extension-with-children",
        ),
    ],
)
def test_a_schema_whose_siblings_matter_is_not_checked_in_windows(body: str) -> None:
    xsd = f"{XSD_HEAD}{XSD_ROOT}{body}</xs:schema>".encode()
    etree.XMLSchema(etree.fromstring(xsd))  # a schema libxml2 accepts
    assert not validation.shape_of(xsd).windowable
    assert validation.shape_of(schema_text("compat")).windowable


def test_without_windows_a_large_document_is_validated_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = windows_seen(monkeypatch)
    shape = validation.shape_of(schema_text("compat"))
    not_windowable = validation._Shape(False, shape.names_fix_types, shape.simple)
    monkeypatch.setattr(validation, "_shape", lambda mode: not_windowable)
    problems = validate(bad_pauses(3_000))
    assert len(problems) == MAX_PROBLEMS + 1
    assert seen == []


# -- paths and places in one pass ----------------------------------------------------------


def test_element_paths_are_getpath_s() -> None:
    long = "A" * 300
    documents = [
        b"<Response><Say/><Say/><Pause/><Say/></Response>",
        f'<Response xmlns:p="u" xmlns:q="u"><p:A/><q:A/><p:A/><A/><{long}/><{long}/>'
        f'<p:{"B" * 200}/><x xmlns="v"><y/><y/><!--c--><?pi x?></x><B/><x xmlns="v"/>'
        "</Response>".encode(),
        b'<p:Response xmlns:p="u"><p:A/></p:Response>',
        b'<Response xmlns="d"><A/></Response>',
        *random_documents(3, 60, deep=False),
    ]
    for data in documents:
        tree = etree.fromstring(data).getroottree()
        paths = element_paths(tree)
        elements = [el for el in tree.iter() if isinstance(el.tag, str)]
        assert [paths[el] for el in elements] == [tree.getpath(el) for el in elements]


def naive_positions(tree: etree._ElementTree, data: bytes) -> dict[str, tuple[int, int]]:
    """Where each start tag begins, the slow way: the n-th ``<Name`` outside comments, CDATA
    and PIs, for the n-th element of that name."""

    def blank(match: re.Match[bytes]) -> bytes:
        return re.sub(rb"[^\n]", b" ", match.group())

    markup = re.sub(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", blank, data, flags=re.DOTALL)
    seen: dict[str, int] = {}
    result = {}
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        name = f"{el.prefix}:{etree.QName(el).localname}" if el.prefix else str(el.tag)
        index = seen[name] = seen.get(name, -1) + 1
        starts = [
            m.start() for m in re.finditer(rb"<" + re.escape(name.encode()) + rb"[\s/>]", markup)
        ]
        offset = starts[index]
        line = data.count(b"\n", 0, offset) + 1
        column = len(data[data.rfind(b"\n", 0, offset) + 1 : offset].decode()) + 1
        result[tree.getpath(el)] = (line, column)
    return result


def test_start_positions_are_where_each_start_tag_begins() -> None:
    documents = [
        "<Response>\n  <Say>é</Say><!-- <Say> -->\n<Say><![CDATA[<Say>]]></Say>\n</Response>",
        "<?xml version='1.0'?>\n<!-- <Response> -->\n<?pi <Say?><Response><Say/></Response>",
    ]
    for data in [*(d.encode() for d in documents), *random_documents(4, 30, deep=True)]:
        tree = load(data).tree
        assert tree is not None
        assert start_positions(tree, data) == naive_positions(tree, data), data.decode()


@pytest.mark.parametrize("strict", MODES)
def test_a_few_problems_are_placed_as_when_every_element_is(
    monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    # Up to reader.FEW elements are placed one by one (getpath, a scan of the markup up to
    # each): exactly where placing every element of the document puts them.
    documents = [
        b"<Response>\n  <Say>\xc3\xa9</Say><!-- <Say> -->\n<Say loop='0'>x</Say>\n</Response>",
        b"<?xml version='1.0'?>\n<!-- <Response> -->\n<?pi <Say?><Response><Say/></Response>",
        b"<Response><Say>x<![CDATA[<Say>]]></Say><Pause length='x'/><?p?><Play/></Response>",
        b'<Response xmlns:p="urn:p"><p:Say/><Say loop="0">x</Say><Gather><Hangup/></Gather>'
        b"</Response>",
        *random_documents(5, 60, deep=False),
        *random_documents(6, 30, deep=True),
    ]
    placed = [validate(data, strict=strict) for data in documents]
    assert sum(0 < len(problems) <= reader.FEW for problems in placed) > 40
    monkeypatch.setattr(reader, "FEW", 0)
    assert [validate(data, strict=strict) for data in documents] == placed


def test_the_markup_layout_matches_the_tree() -> None:
    data = b"<Response><!--a--><Say>x<![CDATA[<y>]]></Say><?pi z?><Pause/></Response><!--e-->"
    tree = load(data).tree
    assert tree is not None
    layout = node_layout(tree, data)
    assert layout is not None
    nodes = list(tree.getroot().iter())
    assert [data[offset : offset + 4] for offset in layout.starts] == [
        b"<Res",
        b"<!--",
        b"<Say",
        b"<?pi",
        b"<Pau",
    ]
    assert [data[offset : offset + 3] if offset >= 0 else b"" for offset in layout.ends] == [
        b"</R",
        b"",
        b"</S",
        b"",
        b"",
    ]
    assert len(nodes) == len(layout.starts)


def test_attributes_are_read_in_one_pass() -> None:
    el = etree.fromstring(
        b'<Pause xmlns:v="urn:v" '
        + b" ".join(b'a%d="%d"' % (i, i) for i in range(200))
        + b' v:x="&amp;1"/>'
    )
    assert attribute_items(el) == [(str(k), str(v)) for k, v in el.attrib.items()]
    # Reading them all still finds two names for one attribute among 5,000 unknown ones.
    unknown = b" ".join(b'u%d="1"' % i for i in range(5_000))
    data = b'<Response><Gather numDigits="1" ' + unknown + b' dtmf_length="1"/></Response>'
    assert [p.message for p in validate(data)] == [
        "<Gather> has both 'numDigits' and 'dtmf_length' (aliases)"
    ]


# -- many problems: the first ones and how many more ----------------------------------------


def test_problems_are_capped_with_a_count_of_the_rest() -> None:
    problems = validate(bad_pauses(MAX_PROBLEMS + 500))
    assert len(problems) == MAX_PROBLEMS + 1
    first, note = problems[:MAX_PROBLEMS], problems[MAX_PROBLEMS]
    assert first == sorted(first)
    assert first[0].path == "/Response/Pause[1]"
    assert first[-1].path == f"/Response/Pause[{MAX_PROBLEMS}]"
    assert note.path == "/"
    assert note.message == (
        f"500 more problems are not reported (at most {MAX_PROBLEMS} are, per document)"
    )
    assert (note.line, note.column) == (1, 11 + 19 * MAX_PROBLEMS)  # the first left out
    findings = lint(bad_pauses(MAX_PROBLEMS + 500))
    assert [f.code for f in findings] == ["CF001"] * (MAX_PROBLEMS + 1)
    assert findings[-1].message == note.message


def test_up_to_the_cap_every_problem_is_reported() -> None:
    problems = validate(bad_pauses(MAX_PROBLEMS))
    assert len(problems) == MAX_PROBLEMS
    assert "more problems" not in problems[-1].message


def test_parse_raises_with_the_capped_problems() -> None:
    with pytest.raises(SchemaValidationError) as caught:
        parse(duplicate_dtmf(3_000))
    assert len(caught.value.problems) == MAX_PROBLEMS + 1
    assert "1999 more problems" in caught.value.problems[-1].message


@pytest.mark.parametrize(
    ("make", "found", "messages"),
    [
        pytest.param(
            duplicate_dtmf,
            1_999,
            {"<DTMF> 'value' duplicates another branch of this Gather (D5) (got '1')"},
            id="duplicate-dtmf",
        ),
        pytest.param(
            sibling_errors,
            1_999,
            {
                "<Say> already has an <Error> handler",
                "<Error> must be inside the command it handles, or directly after it (D7)",
            },
            id="sibling-errors",
        ),
        pytest.param(
            text_nodes,
            2_000,
            {
                "Element 'Response': Character content other than whitespace is not allowed "
                "because the content type is 'element-only'"
            },
            id="text-nodes",
        ),
    ],
)
def test_each_of_many_problems_is_found(make: Make, found: int, messages: set[str]) -> None:
    problems = validate(make(2_000))
    assert len(problems) == MAX_PROBLEMS + 1
    assert {p.message for p in problems[:MAX_PROBLEMS]} <= messages
    assert problems[-1].message.startswith(f"{found - MAX_PROBLEMS} more problems")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(dtmf_branches, id="dtmf-branches"),
        pytest.param(metas, id="metas"),
        pytest.param(long_text, id="long-text"),
        pytest.param(pauses, id="pauses"),
    ],
)
def test_large_valid_documents_stay_valid(make: Make) -> None:
    data = filled(make, MAX_BYTES // 8)
    assert validate(data) == []
    assert validate(data, strict=True) == []


def test_the_simulator_refuses_a_hostile_document(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xml"
    path.write_bytes(distinct_names(20_000))
    with Simulator(path) as simulator:
        trace = simulator.call()
    assert trace.hangup_reason == "invalid document"
    (warning,) = trace.of(WarningEvent)
    assert "Element 'A0': This element is not expected" in warning.message


# -- the DTD pre-scan ----------------------------------------------------------------------

DTD = "DTD declarations are not allowed in Opentact XML (entities are never expanded or fetched)"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"<Response><!-- <!DOCTYPE x> --><Say><![CDATA[<!DOCTYPE y>]]></Say></Response>",
            id="comment-and-cdata",
        ),
        pytest.param(
            b'<!-- <!DOCTYPE x [<!ENTITY a "b">]> --><Response><Hangup/></Response>',
            id="prolog-comment",
        ),
        pytest.param(b"<?note <!DOCTYPE x>?><Response><Hangup/></Response>", id="prolog-pi"),
        pytest.param(
            b"<Response><Say><![CDATA[<!ENTITY a SYSTEM 'file:///etc/passwd'>]]></Say>"
            b"<!--<!doctype z>--></Response><!-- <!DOCTYPE after> -->",
            id="entity-in-cdata-and-comments-after",
        ),
    ],
)
@pytest.mark.parametrize("strict", MODES)
def test_a_dtd_mentioned_in_a_comment_or_cdata_is_no_dtd(data: bytes, strict: bool) -> None:
    assert validate(data, strict=strict) == []


BOMB = (
    '<!DOCTYPE Response [\n  <!ENTITY lol "lol">\n'
    '  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    '  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">\n]>\n'
)


@pytest.mark.parametrize(
    ("prolog", "line", "column"),
    [
        pytest.param('<!DOCTYPE Response [<!ENTITY a "b">]>', 1, 1, id="internal-subset"),
        pytest.param('<!DOCTYPE Response SYSTEM "file:///etc/passwd">', 1, 1, id="system-id"),
        pytest.param(
            '<!DOCTYPE Response PUBLIC "-//X//Y" "http://127.0.0.1:9/x.dtd">', 1, 1, id="public"
        ),
        pytest.param(BOMB, 1, 1, id="entity-bomb"),
        pytest.param("<!DOCTYPE Response>", 1, 1, id="no-entities"),
        pytest.param("<!doctype Response>", 1, 1, id="lower-case"),
        pytest.param("<!DocType Response>", 1, 1, id="mixed-case"),
        pytest.param('<!ENTITY a "b">', 1, 1, id="bare-entity"),
        pytest.param('<?xml version="1.0"?>\n<!DOCTYPE Response>', 2, 1, id="after-declaration"),
        pytest.param("<!-- a comment -->\n  <!DOCTYPE Response>", 2, 3, id="after-comment"),
        pytest.param("<?pi data?><!DOCTYPE Response>", 1, 12, id="after-pi"),
        pytest.param(
            '<?xml version="1.0"?><!--a--><?b?>\n<!--c-->\t<!DOCTYPE Response>',
            2,
            10,
            id="after-all-of-them",
        ),
        pytest.param("\ufeff<!DOCTYPE Response>", 1, 4, id="after-a-bom"),
    ],
)
def test_every_real_dtd_is_refused(prolog: str, line: int, column: int) -> None:
    data = f"{prolog}<Response><Say>&lol2;</Say></Response>".encode()
    assert validate(data) == [Problem(line, column, "/", DTD)]
    assert lint(data)[0].message == DTD


def test_a_dtd_after_the_root_start_tag_is_not_well_formed() -> None:
    data = b'<Response><!DOCTYPE x [<!ENTITY a "secret">]><Say>&a;</Say></Response>'
    problems = validate(data)
    assert problems
    assert load(data).tree is None
    assert "secret" not in " ".join(p.message for p in problems)


def test_the_prolog_scan_is_linear_in_its_comments() -> None:
    # Each step consumes what it matched: a million-byte prolog is one pass.
    comments = b"<!-- x -->" * 100_000
    assert validate(comments + b"<Response><Hangup/></Response>") == []
    problems = validate(comments + b"<!DOCTYPE Response><Response/>")
    assert problems == [Problem(1, len(comments) + 1, "/", DTD)]
    unterminated = b"<?pi " * 200_000 + b"<!DOCTYPE Response>"
    assert validate(unterminated)  # not well-formed: no DTD behind an unended PI


def test_a_response_built_with_the_dsl_still_validates() -> None:
    assert validate(Response(Hangup())) == []
