"""The demo flows in flows/ that ``callflow serve`` runs by default: the main menu, the
account round trip with signed state, and the hosted hours document."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
from lxml import etree
from replies import said

from callflow import App, CallContext, MemoryStore, Rendered, Response, render, validate

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
CALLER = "%2B15550100999"
APPENDED = f"from={CALLER}&tn=15550100200&state=live&sca=sca-1&call="


def requested(url: str, uuid: str, first: str = "") -> str:
    """``url`` as Opentact requests it: its own query kept, ``first`` (a Gather's ``dtmf=``)
    and the D9 parameters of call ``uuid`` appended."""
    return f"{url}{'&' if '?' in url else '?'}{first}{APPENDED}{uuid}"


@pytest.fixture(scope="module")
def flows() -> Iterator[ModuleType]:
    """The ``flows`` package of the repository (importable from its root, like uvicorn)."""
    added = str(ROOT) not in sys.path
    if added:
        sys.path.insert(0, str(ROOT))
    try:
        yield importlib.import_module("flows")
    finally:
        if added:
            sys.path.remove(str(ROOT))


@pytest.fixture
def client(flows: ModuleType, client_for: ClientFactory) -> TestClient:
    app = flows.app
    assert isinstance(app, App)
    return client_for(app)


def url_in(root: etree._Element, path: str) -> str:
    element = root.find(path)
    assert element is not None, path
    return str(element.get("url"))


def test_the_demo_app_serves_its_flows_and_documents(flows: ModuleType) -> None:
    app = flows.app
    assert isinstance(app, App)
    assert sorted((f.path, f.name) for f in app.flows) == [
        ("/", "main"),
        ("/account", "account"),
        ("/account/prompt", "account_prompt"),
    ]


def test_the_main_menu_renders_and_validates_strictly(
    client: TestClient, xml_reply: XmlReply
) -> None:
    root = xml_reply(client.get(f"/?from={CALLER}&to=15550100200&call=c-main"), strict=True)
    assert [child.tag for child in root] == [
        "Say",
        "Meta",
        "Schedule",
        "Schedule",
        "Gather",
        "Say",
        "Hangup",
    ]
    meta = root.find("Meta")
    assert meta is not None and (meta.get("name"), meta.get("value")) == ("entry", "main-menu")
    weekend, after_hours = root.findall("Schedule")
    assert weekend.get("dow") == "sat,sun"
    assert after_hours.get("time") == "18:00:00-08:59:59"
    gather = root.find("Gather")
    assert gather is not None
    assert (gather.get("dtmf_length"), gather.get("timeout"), gather.get("attempts")) == (
        "1",
        "6000",
        "2",
    )
    assert [d.get("value") for d in gather.findall("DTMF")] == ["1", "2", "3"]
    dial = gather.find("DTMF[@value='1']/Dial")
    assert dial is not None
    assert [(t.tag, t.text) for t in dial if t.tag in ("To", "Sip")] == [
        ("To", "15550100200"),
        ("Sip", "desk@acme.sip.opentact.org"),
    ]
    # The menu is the same for every caller (built once): its links are path-only URLs,
    # made absolute when sent; no session is in use yet, so no session token travels.
    assert url_in(gather, "DTMF[@value='2']/Callback") == "http://testserver/account/prompt"
    assert url_in(gather, "DTMF[@value='3']/Callback") == "http://testserver/documents/hours.xml"


def test_the_hosted_hours_document_is_served(client: TestClient, xml_reply: XmlReply) -> None:
    root = xml_reply(client.get("/documents/hours.xml"), strict=True)
    assert said(root) == [
        "We are open from nine in the morning to six in the evening, Monday to Friday.",
        "Goodbye.",
    ]
    assert [child.tag for child in root] == ["Say", "Say", "Hangup"]


def prompt_url(client: TestClient, xml_reply: XmlReply, uuid: str) -> str:
    """Press 2 in the main menu: the url Opentact fetches next."""
    menu = xml_reply(client.get(f"/?from={CALLER}&to=15550100200&call={uuid}"))
    return url_in(menu, "Gather/DTMF[@value='2']/Callback")


def account_url(client: TestClient, xml_reply: XmlReply, prompt: str, uuid: str) -> str:
    """Fetch the account prompt: the url its Gather sends the digits to."""
    root = xml_reply(client.get(requested(prompt, uuid)), strict=True)
    gather = root.find("Gather")
    assert gather is not None
    assert (gather.get("dtmf_length"), gather.get("dtmf_stop")) == ("6", "#")
    assert said(root)[0] == "Please enter your six digit account number, then press pound."
    url = str(gather.get("url"))
    assert urlsplit(url).path == "/account"
    return url


def test_the_account_round_trip_speaks_the_last_four_digits(
    flows: ModuleType, client: TestClient, xml_reply: XmlReply
) -> None:
    uuid = "c-account"
    store = flows.app.store
    assert isinstance(store, MemoryStore)
    before = len(store)
    url = account_url(client, xml_reply, prompt_url(client, xml_reply, uuid), uuid)
    assert "cf_state" in parse_qs(urlsplit(url).query)
    root = xml_reply(client.get(requested(url, uuid, "dtmf=123456&")), strict=True)
    assert said(root) == [
        "The balance of the account ending in 3 4 5 6 is twelve dollars and fifty cents.",
        "Goodbye.",
    ]
    hangup = root.find("Hangup")
    assert hangup is not None and hangup.get("tag") == "balance"
    assert len(store) == before + 1  # the account step kept the number in the session


@pytest.mark.parametrize("digits", ["12", "", "1234567"])
def test_short_input_retries_once_then_gives_up(
    client: TestClient, xml_reply: XmlReply, digits: str
) -> None:
    uuid = f"c-retry-{len(digits)}"
    url = account_url(client, xml_reply, prompt_url(client, xml_reply, uuid), uuid)
    retry = xml_reply(client.get(requested(url, uuid, f"dtmf={digits}&")), strict=True)
    assert said(retry) == ["That was not six digits."]
    second_prompt = url_in(retry, "Callback")
    assert urlsplit(second_prompt).path == "/account/prompt"
    second = account_url(client, xml_reply, second_prompt, uuid)
    final = xml_reply(client.get(requested(second, uuid, f"dtmf={digits}&")), strict=True)
    assert said(final) == ["Sorry, we could not find that account. Goodbye."]
    assert [child.tag for child in final] == ["Say", "Hangup"]


def test_the_account_step_refuses_a_tampered_state(client: TestClient, xml_reply: XmlReply) -> None:
    uuid = "c-tamper"
    url = account_url(client, xml_reply, prompt_url(client, xml_reply, uuid), uuid)
    forged = url.replace("cf_state=", "cf_state=x", 1)
    assert client.get(requested(forged, uuid, "dtmf=123456&")).status_code == 403
    other_path = url.replace("/account?", "/account/prompt?", 1)
    assert client.get(requested(other_path, uuid)).status_code == 403


def test_the_account_step_as_a_plain_function(flows: ModuleType) -> None:
    support = importlib.import_module("flows.support")
    call = CallContext.make(digits="987654", state={"attempt": 1}, uuid="c-unit", app=flows.app)
    document = anyio.run(support.account, call)  # an async flow
    # The balance comes from templates/balance.xml, rendered and validated by the App's
    # templates.
    assert isinstance(document, Rendered)
    assert document.template == "balance.xml"
    assert validate(document.body, strict=True) == []
    root = etree.fromstring(document.body)
    assert said(root) == [
        "The balance of the account ending in 7 6 5 4 is twelve dollars and fifty cents.",
        "Goodbye.",
    ]
    assert [(child.tag, child.get("tag")) for child in root] == [
        ("Say", None),
        ("Say", None),
        ("Hangup", "balance"),
    ]
    assert call.session == {"account": "987654"}


def test_a_short_account_number_as_a_plain_function(flows: ModuleType) -> None:
    support = importlib.import_module("flows.support")
    call = CallContext.make(digits="12", state={"attempt": 2}, uuid="c-unit", app=flows.app)
    document = anyio.run(support.account, call)
    assert isinstance(document, Response)
    assert said(etree.fromstring(render(document))) == [
        "Sorry, we could not find that account. Goodbye."
    ]


def test_every_demo_template_is_used() -> None:
    """templates/ holds what the demo flows and docs/templates.md render, and nothing else."""
    used = (ROOT / "flows" / "support.py").read_text() + (
        ROOT / "docs" / "templates.md"
    ).read_text()
    names = sorted(path.name for path in (ROOT / "templates").glob("*.xml"))
    assert names == ["balance.xml", "hello.xml"]
    assert all(f'"{name}"' in used for name in names)
