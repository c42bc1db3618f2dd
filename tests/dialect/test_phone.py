"""Phone numbers as Opentact sends them and as people write them (issue 8, spec D9, §3.12, §7):
``to_e164`` and ``dial_text``, ``<To>`` targets, flow numbers and the routing table, and
``callflow simulate --to``."""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import phonenumbers
import pytest
from hypothesis import given
from lxml import etree
from strategies import numbers

from callflow import (
    App,
    CallContext,
    Dial,
    Hangup,
    InvalidAttributeError,
    RegistrationError,
    Response,
    Router,
    Say,
    To,
    parse,
    render,
    validate,
)
from callflow.cli.command import main
from callflow.dialect import phone_numbers as phone
from callflow.dialect.phone_numbers import MAX_INPUT_LENGTH, dial_text, same_number, to_e164
from callflow.simulator.facade import Simulator

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply

SALES = "+15550100300"

# -- to_e164 ---------------------------------------------------------------------------------

E164 = [
    # Issue 8: digits without "+" are read in the default region first.
    pytest.param("US", "5550100300", SALES, id="us-national"),
    pytest.param("US", "15550100300", SALES, id="us-with-country-code"),
    pytest.param("US", "2015550123", "+12015550123", id="us-not-egypt"),
    pytest.param("US", "18382049000", "+18382049000", id="us-valid-with-country-code"),
    pytest.param("US", "442071838750", "+442071838750", id="us-impossible-so-international"),
    pytest.param("US", "+442071838750", "+442071838750", id="plus-kept"),
    pytest.param("US", "+5550100300", "+5550100300", id="plus-is-never-read-in-the-region"),
    pytest.param("US", "alice", None, id="sip-user"),
    pytest.param("US", "1@x", None, id="sip-address"),
    # Spellings.
    pytest.param("US", "+1 555 010 0300", SALES, id="spaces"),
    pytest.param("US", "555-010-0300", SALES, id="dashes"),
    pytest.param("US", "(555) 010-0300", SALES, id="parentheses"),
    pytest.param("US", "+1 (555) 010-0300", SALES, id="plus-and-parentheses"),
    pytest.param("US", "1.555.010.0300", SALES, id="dots"),
    pytest.param("US", "  5550100300 ", SALES, id="outer-spaces"),
    pytest.param("US", "\t+15550100300\n", SALES, id="outer-whitespace"),
    pytest.param("US", "tel:+1-555-010-0300", SALES, id="tel-uri"),
    pytest.param("US", "TEL:5550100300", SALES, id="tel-upper-case-national"),
    pytest.param("US", "011 44 20 7183 8750", "+442071838750", id="us-exit-code"),
    pytest.param("US", "+44 (0)20 7183 8750", "+442071838750", id="trunk-zero-in-parentheses"),
    pytest.param(
        "US",
        "\u0665\u0665\u0665\u0660\u0661\u0660\u0660\u0663\u0660\u0660",
        SALES,
        id="arabic-indic-digits",
    ),
    pytest.param(
        "US",
        "\uff15\uff15\uff15\uff10\uff11\uff10\uff10\uff13\uff10\uff10",
        SALES,
        id="fullwidth-digits",
    ),
    # Not numbers.
    pytest.param("US", "555010030\u00b3", None, id="superscript-is-no-digit"),
    pytest.param("US", "5550100", None, id="no-area-code"),
    pytest.param("US", "1555", None, id="too-short"),
    pytest.param("US", "2001", None, id="extension"),
    pytest.param("US", "1", None, id="one-digit"),
    pytest.param("US", "+1", None, id="country-code-only"),
    pytest.param("US", "", None, id="empty"),
    pytest.param("US", "   ", None, id="blank"),
    pytest.param("US", "+", None, id="plus-only"),
    pytest.param("US", "++15550100300", None, id="two-plus-signs"),
    pytest.param("US", "+1 555 010 0300 +", None, id="trailing-plus"),
    pytest.param("US", "1-800-FLOWERS", None, id="letters"),
    pytest.param("US", "5550100300 ext. 12", None, id="extension-suffix"),
    pytest.param("US", "sip:ann@acme.example", None, id="sip-uri"),
    pytest.param("US", "1" * 16, None, id="sixteen-digits"),
    pytest.param("US", "+353 00 5676531", None, id="reads-back-differently"),
    pytest.param("US", "5" * MAX_INPUT_LENGTH, None, id="longest-read"),
    pytest.param("US", "5" * (MAX_INPUT_LENGTH + 1), None, id="too-long-to-read"),
    pytest.param("US", "5550100300" + " " * 1000, None, id="too-long-with-spaces"),
    # Other default regions.
    pytest.param("GB", "02071838750", "+442071838750", id="gb-national"),
    pytest.param("GB", "020 7183 8750", "+442071838750", id="gb-national-spaces"),
    pytest.param("GB", "2071838750", "+442071838750", id="gb-national-without-trunk-zero"),
    pytest.param("GB", "442071838750", "+442071838750", id="gb-with-country-code"),
    pytest.param("GB", "15550100300", SALES, id="gb-impossible-so-international"),
    pytest.param("GB", "00 1 555 010 0300", SALES, id="gb-exit-code"),
    pytest.param("GB", "+15550100300", SALES, id="gb-plus"),
    pytest.param("gb", "02071838750", "+442071838750", id="region-lower-case"),
    pytest.param("DE", "030 123456", "+4930123456", id="de-national"),
    pytest.param("DE", "15550100200", "+4915550100200", id="de-possible-there-so-german"),
    pytest.param("US", "15550100200", "+15550100200", id="same-digits-in-us"),
    pytest.param("ZZ", "442071838750", "+442071838750", id="unknown-region-international"),
    pytest.param("ZZ", "02071838750", None, id="unknown-region-national"),
]


@pytest.mark.parametrize(("region", "raw", "expected"), E164)
def test_to_e164(region: str, raw: str, expected: str | None) -> None:
    assert to_e164(raw, region) == expected


def test_the_default_region_is_us() -> None:
    assert to_e164("2015550123") == "+12015550123"


def test_a_long_input_is_refused_before_libphonenumber_reads_it_or_the_cache_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read: list[str] = []
    real_parse = phonenumbers.parse

    def spy(number: str, region: str | None = None) -> phonenumbers.PhoneNumber:
        read.append(number)
        return real_parse(number, region)

    monkeypatch.setattr(phonenumbers, "parse", spy)
    phone._read.cache_clear()
    assert to_e164("1" * 5_000_000) is None
    assert to_e164("+" + "1" * (MAX_INPUT_LENGTH + 1)) is None
    assert (read, phone._read.cache_info().currsize) == ([], 0)
    assert to_e164("+1 555 010 0400") == "+15550100400"  # the spy does see a number
    assert read == ["+1 555 010 0400", "+15550100400"]  # read, then read back


@given(numbers)
def test_an_e164_number_reads_back_as_itself(raw: str) -> None:
    number = to_e164(raw)
    assert number is not None and number.startswith("+")
    assert to_e164(number) == number
    assert to_e164(number, "GB") == number


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("5550100300", "+1 555 010 0300", True, id="spellings"),
        pytest.param("5550100300", "5550100301", False, id="other-number"),
        pytest.param("alice", "alice", True, id="sip-users-compare-as-text"),
        pytest.param("alice", "bob", False, id="other-sip-user"),
        pytest.param(None, None, True, id="both-absent"),
        pytest.param(None, "5550100300", False, id="one-absent"),
    ],
)
def test_same_number(a: str | None, b: str | None, same: bool) -> None:
    assert same_number(a, b) is same


def test_same_number_reads_in_the_region() -> None:
    assert same_number("020 7183 8750", "+442071838750", "GB")
    assert not same_number("020 7183 8750", "+442071838750")


# -- dial_text and <To> ----------------------------------------------------------------------

TO_TARGETS = [
    pytest.param("15550100200", "15550100200", id="as-opentact-writes-it"),
    pytest.param("+15550100200", "15550100200", id="plus"),
    pytest.param("5550100200", "15550100200", id="national"),
    pytest.param("+1 555 010 0400", "15550100400", id="spaces"),
    pytest.param("(555) 010-0200", "15550100200", id="parentheses-and-dash"),
    pytest.param(" 1-555-010-0200 ", "15550100200", id="outer-spaces"),
    pytest.param("tel:+15550100200", "15550100200", id="tel-uri"),
    pytest.param("+44 20 7183 8750", "+442071838750", id="international-keeps-plus"),
    pytest.param("442071838750", "+442071838750", id="international-digits"),
    pytest.param("+45 12 34 56 78", "+4512345678", id="international-ten-digits"),
    pytest.param("ann@acme.sip.opentact.org", "ann@acme.sip.opentact.org", id="sip-address"),
    pytest.param("2001@10.0.0.5", "2001@10.0.0.5", id="sip-digits-user"),
]


@pytest.mark.parametrize(("raw", "stored"), TO_TARGETS)
def test_to_stores_the_target_as_opentact_writes_it(raw: str, stored: str) -> None:
    to = To(raw)
    assert to.target == stored
    assert to == To(stored)
    assert hash(to) == hash(To(stored))
    doc = Response(Dial(to))
    data = render(doc)
    assert etree.fromstring(data).findtext("Dial/To") == stored
    assert validate(data, strict=True) == []
    assert parse(data) == doc


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("1555", id="too-short"),
        pytest.param("555 0100", id="no-area-code"),
        pytest.param("911", id="service-code"),
        pytest.param("alice", id="sip-user-without-host"),
        pytest.param("1-800-FLOWERS", id="letters"),
        pytest.param("", id="empty"),
        pytest.param("+", id="plus-only"),
        pytest.param("1" * 16, id="sixteen-digits"),
        pytest.param("1" * 10_000, id="very-long"),
        pytest.param("sip:ann@acme.example", id="sip-prefix"),
        pytest.param("ann@acme@example", id="two-at-signs"),
        pytest.param("ann smith@acme.example", id="space-in-user"),
    ],
)
def test_to_refuses_what_is_not_a_dial_target(raw: str) -> None:
    with pytest.raises(InvalidAttributeError) as info:
        To(raw)
    assert (info.value.element, info.value.attribute, info.value.value) == ("To", "target", raw)
    assert "must be a phone number" in str(info.value)
    assert "user@host" in str(info.value)


def test_to_refuses_a_sip_address_xml_cannot_hold() -> None:
    with pytest.raises(InvalidAttributeError, match="U\\+0001"):
        To("ann\x01@acme.example")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("+1 555 010 0200", "15550100200", id="north-american-without-plus"),
        pytest.param("5550100200", "15550100200", id="national-read-in-the-us"),
        pytest.param("+44 20 7183 8750", "+442071838750", id="other-country-with-plus"),
        pytest.param("4512345678", "14512345678", id="ten-digits-read-in-the-us"),
        pytest.param("+4512345678", "+4512345678", id="ten-digits-with-plus-stay-danish"),
        pytest.param("alice", None, id="not-a-number"),
    ],
)
def test_dial_text(raw: str, expected: str | None) -> None:
    assert dial_text(raw) == expected


@given(numbers)
def test_dial_text_is_the_same_number_and_reads_back_as_itself(raw: str) -> None:
    text = dial_text(raw)
    assert text is not None
    assert dial_text(text) == text
    assert to_e164(text) == to_e164(raw)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        pytest.param("+15550100200", "15550100200", id="plus"),
        pytest.param("5550100200", "15550100200", id="national"),
        pytest.param("+4512345678", "+4512345678", id="international"),
    ],
)
def test_a_read_document_holds_the_stored_target(written: str, stored: str) -> None:
    data = f"<Response><Dial><To>{written}</To></Dial></Response>".encode()
    assert validate(data, strict=True) == []
    assert parse(data) == Response(Dial(To(stored)))


def test_a_read_document_with_a_to_that_is_no_number_is_invalid() -> None:
    problems = validate(b"<Response><Dial><To>1555</To></Dial></Response>")
    assert [("must be a phone number" in p.message, p.line) for p in problems] == [(True, 1)]


# -- flow numbers and the routing table ------------------------------------------------------

SPELLINGS = [
    pytest.param("+15550100300", id="e164"),
    pytest.param("15550100300", id="country-code"),
    pytest.param("5550100300", id="national"),
    pytest.param("+1 (555) 010-0300", id="spelt"),
]


def two_flows(numbers: list[str], region: str = "US") -> App:
    app = App(secret="x" * 32, default_region=region)

    @app.flow("/")
    def main(call: CallContext) -> Response:
        return Response(Say(f"main for {call.to or call.tn}"), Hangup())

    @app.flow("/sales", numbers=numbers)
    def sales(call: CallContext) -> Response:
        return Response(Say(f"sales for {call.to or call.tn}"), Hangup())

    return app


def hang_up(call: CallContext) -> Response:
    return Response(Hangup())


def said(root: etree._Element) -> list[str]:
    return [str(element.text) for element in root.iter("Say")]


@pytest.mark.parametrize("registered", SPELLINGS)
@pytest.mark.parametrize("called", SPELLINGS)
def test_a_flow_number_routes_whatever_the_spellings(
    client_for: ClientFactory, xml_reply: XmlReply, registered: str, called: str
) -> None:
    app = two_flows([registered])
    assert app.flows[1].numbers == (SALES,)
    client = client_for(app)
    assert said(xml_reply(client.get("/", params={"to": called}))) == [f"sales for {SALES}"]
    assert said(xml_reply(client.get("/", params={"tn": called}))) == [f"sales for {SALES}"]


@pytest.mark.parametrize(
    "called",
    [
        pytest.param("5550100301", id="other-number"),
        pytest.param("+5550100300", id="same-digits-in-brazil"),
        pytest.param("alice", id="sip-user"),
    ],
)
def test_other_numbers_reach_the_default_flow(
    client_for: ClientFactory, xml_reply: XmlReply, called: str
) -> None:
    client = client_for(two_flows(["+1 555 010 0300"]))
    assert said(xml_reply(client.get("/", params={"to": called}))) != [f"sales for {SALES}"]
    assert said(xml_reply(client.get("/", params={"to": called})))[0].startswith("main for ")


@pytest.mark.parametrize(
    "called",
    [
        pytest.param("02071838750", id="national"),
        pytest.param("2071838750", id="national-without-trunk-zero"),
        pytest.param("442071838750", id="country-code"),
        pytest.param("+442071838750", id="e164"),
    ],
)
def test_numbers_are_read_in_the_apps_default_region(
    client_for: ClientFactory, xml_reply: XmlReply, called: str
) -> None:
    app = two_flows(["020 7183 8750"], region="GB")
    assert app.flows[1].numbers == ("+442071838750",)
    client = client_for(app)
    reply = said(xml_reply(client.get("/", params={"to": called})))
    assert reply == ["sales for +442071838750"]
    # 15550100300 is no possible number in GB: it is read as international digits.
    reply = said(xml_reply(client.get("/", params={"to": "15550100300"})))
    assert reply == [f"main for {SALES}"]


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("1555", id="too-short"),
        pytest.param("555 0100", id="no-area-code"),
        pytest.param("alice", id="sip-user"),
        pytest.param("1-800-FLOWERS", id="letters"),
        pytest.param("", id="empty"),
    ],
)
def test_a_flow_number_that_is_no_phone_number_is_refused(number: str) -> None:
    app = App(secret="x" * 32)
    with pytest.raises(RegistrationError, match=f"^{number!r} is not a phone number"):
        app.flow("/sales", numbers=[number])(hang_up)
    assert app.flows == []


def test_one_number_in_two_spellings_is_listed_twice() -> None:
    router = Router()
    with pytest.raises(RegistrationError, match=r"listed twice: \+15550100300 \(as '5550100300'"):
        router.flow("/sales", numbers=["5550100300", "+1 555 010 0300"])(hang_up)


def test_a_router_reads_numbers_in_its_region_and_an_app_keeps_them() -> None:
    router = Router(region="GB")
    router.flow("/sales", numbers=["020 7183 8750"])(hang_up)
    assert router.flows[0].numbers == ("+442071838750",)
    app = App(secret="x" * 32)  # US: the router's E.164 numbers are the same in any region
    app.include(router, prefix="/uk")
    assert app.flows[0].numbers == ("+442071838750",)


# -- callflow simulate --to ------------------------------------------------------------------


@pytest.fixture
def two_flow_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``module:app`` for a US App with a default flow and one for ``+15550100300``."""
    name = f"sales_flow_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(
        "from callflow import App, Hangup, Response, Say\n"
        "app = App(secret='x' * 32)\n"
        "@app.flow('/')\n"
        "def main(call):\n"
        "    return Response(Say('Main.'), Hangup())\n"
        "@app.flow('/sales', numbers=['+15550100300'])\n"
        "def sales(call):\n"
        "    return Response(Say('Sales.'), Hangup())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield f"{name}:app"
    sys.modules.pop(name, None)


def simulate(*argv: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["simulate", *argv], stdout=out, stdin=io.StringIO())
    return code, out.getvalue().splitlines()


@pytest.mark.parametrize(
    ("to", "heard"),
    [
        pytest.param("5550100300", "Sales.", id="national"),
        pytest.param("15550100300", "Sales.", id="country-code"),
        pytest.param("+1 (555) 010-0300", "Sales.", id="spelt"),
        pytest.param("5550100301", "Main.", id="other-number"),
    ],
)
def test_simulate_to_reaches_the_flow_of_the_number(
    two_flow_module: str, to: str, heard: str
) -> None:
    code, lines = simulate(two_flow_module, "--to", to)
    assert code == 0
    said_lines = [line for line in lines if line.startswith("Say")]
    assert said_lines and all(heard in line for line in said_lines)


def _gb_app() -> App:
    return two_flows(["020 7183 8750"], region="GB")


def test_the_simulator_reads_numbers_in_the_apps_default_region() -> None:
    with Simulator(_gb_app()) as simulator:
        trace = simulator.call(to="2071838750")
    assert f"sales for {'+442071838750'}" in trace.transcript()


def test_the_simulator_reaches_a_gb_flow_by_its_e164_number() -> None:
    with Simulator(_gb_app()) as simulator:
        trace = simulator.call(to="+44 20 7183 8750")
    assert "sales for +442071838750" in trace.transcript()
