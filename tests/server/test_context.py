"""What a flow reads about the call (callflow.server.context, parsed by callflow.server.request):
the D9 parameters of every request form, numbers in E.164 with the raw strings kept, and the call
object of a JSON POST."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import flows
from callflow import App, CallContext, Gather, Hangup, Response, Say
from flows.support import account_prompt

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply


@dataclass
class Captured:
    """An App whose flows keep every CallContext they are called with."""

    app: App
    calls: list[CallContext] = field(default_factory=list)

    @property
    def last(self) -> CallContext:
        assert self.calls, "no flow was called"
        return self.calls[-1]


def capturing(**options: Any) -> Captured:
    app = App(secret="test-secret", **options)
    captured = Captured(app)

    def record(call: CallContext) -> Response:
        captured.calls.append(call)
        return Response(Say("ok"), Hangup())

    app.flow("/", name="main")(record)
    app.flow("/step", name="step")(record)
    return captured


@pytest.fixture
def captured() -> Captured:
    return capturing()


def test_gather_url_parameters_of_d9(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    query = "key=k1&dtmf=1234&from=%2B15550100999&tn=15550100200&state=live&sca=sca-1&call=c-1"
    xml_reply(client_for(captured.app).get("/step?" + query))
    call = captured.last
    assert (call.from_, call.from_raw) == ("+15550100999", "+15550100999")
    assert (call.tn, call.tn_raw) == ("+15550100200", "15550100200")
    assert (call.to, call.to_raw) == (None, None)
    assert call.called == "+15550100200"
    assert call.digits == "1234"
    assert call.code is None
    assert call.uuid == "c-1"
    assert call.sca == "sca-1"
    assert call.call_state == "live"
    assert call.state is None  # the signed state of url_for, not Opentact's call state
    assert call.meta == {"key": "k1"}
    assert call.call_object is None
    assert call.flow == "step"
    assert call.request is not None
    assert call.request.url.path == "/step"


def test_initial_webhook_parameters(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).get("/?from=%2B15550100999&to=15550100200"))
    call = captured.last
    assert (call.from_, call.to, call.tn) == ("+15550100999", "+15550100200", None)
    assert (call.from_raw, call.to_raw) == ("+15550100999", "15550100200")
    assert call.called == "+15550100200"
    assert (call.digits, call.uuid, call.success, call.attempts) == (None, None, None, None)
    assert call.meta == {}


def test_legacy_gather_callback_parameters(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).get("/step?code=42&success=true&attempts=2"))
    call = captured.last
    assert call.code == "42"
    assert call.digits == "42"  # digits come from the legacy code when there is no dtmf
    assert call.success is True
    assert call.attempts == 2


def test_dtmf_wins_over_the_legacy_code(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).get("/step?code=1&dtmf=2"))
    assert (captured.last.digits, captured.last.code) == ("2", "1")


def test_callback_parameters_tag_and_meta(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    query = "from=15550100999&tn=15550100200&state=live&sca=s&call=c&tag=s2&lang=fr&entry=main"
    xml_reply(client_for(captured.app).get("/step?" + query))
    call = captured.last
    assert call.tag == "s2"
    assert call.meta == {"lang": "fr", "entry": "main"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("12*#", "12*#", id="star-and-pound"),
        pytest.param("", "", id="empty"),
        pytest.param(" 5 ", "5", id="padded"),
    ],
)
def test_dtmf_keys(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply, raw: str, expected: str
) -> None:
    xml_reply(client_for(captured.app).get("/step", params={"dtmf": raw}))
    assert captured.last.digits == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("TRUE", True, id="upper"),
        pytest.param("1", True, id="one"),
        pytest.param("yes", True, id="yes"),
        pytest.param("false", False, id="false"),
        pytest.param("0", False, id="zero"),
        pytest.param(" no ", False, id="no"),
    ],
)
def test_success_values(
    captured: Captured,
    client_for: ClientFactory,
    xml_reply: XmlReply,
    raw: str,
    expected: bool,
) -> None:
    xml_reply(client_for(captured.app).get("/step", params={"success": raw}))
    assert captured.last.success is expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param(
            {"dtmf": "12x"}, "'dtmf' must hold only the keys 0-9 * #, not '12x'", id="dtmf"
        ),
        pytest.param({"code": "+1"}, "'code' must hold only the keys", id="code"),
        pytest.param(
            {"attempts": "abc"}, "'attempts' must be an integer, not 'abc'", id="attempts"
        ),
        pytest.param({"attempts": "1.5"}, "'attempts' must be an integer", id="attempts-float"),
        pytest.param(
            {"success": "maybe"}, "'success' must be true or false, not 'maybe'", id="success"
        ),
    ],
)
def test_wrongly_typed_parameters_get_400_and_no_flow_runs(
    captured: Captured, client_for: ClientFactory, params: dict[str, str], message: str
) -> None:
    reply = client_for(captured.app).get("/step", params=params)
    assert reply.status_code == 400
    assert message in reply.text
    assert captured.calls == []


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        pytest.param("+15550100999", "US", "+15550100999", id="e164"),
        pytest.param("15550100999", "US", "+15550100999", id="without-plus"),
        pytest.param(" 15550100999", "US", "+15550100999", id="plus-decoded-as-space"),
        pytest.param("+1 (212) 555-0100", "US", "+12125550100", id="formatted"),
        pytest.param("2125550100", "US", "+12125550100", id="national"),
        pytest.param("442079460000", "US", "+442079460000", id="foreign-without-plus"),
        pytest.param("02079460000", "GB", "+442079460000", id="national-in-region"),
        pytest.param("alice", "US", "alice", id="sip-user"),
        pytest.param("desk@acme.sip.opentact.org", "US", "desk@acme.sip.opentact.org", id="sip"),
        pytest.param(" bob ", "US", "bob", id="sip-user-padded"),
    ],
)
def test_numbers_are_normalised_to_e164_and_the_raw_strings_kept(
    client_for: ClientFactory, xml_reply: XmlReply, number: str, region: str, expected: str
) -> None:
    captured = capturing(default_region=region)
    params = {"from": number, "to": number, "tn": number}
    xml_reply(client_for(captured.app).get("/step", params=params))
    call = captured.last
    assert (call.from_, call.to, call.tn) == (expected, expected, expected)
    assert (call.from_raw, call.to_raw, call.tn_raw) == (number, number, number)


CALL_OBJECT: dict[str, Any] = {
    "uuid": "c-42",
    "type": "CallSCA",
    "direction": "in",
    "from": "+15550100999",
    "to": "15550100200",
    "state": "live",
    "tn": {"tn": 15550100200, "created_on": "2024-01-01T00:00:00Z"},
    "sip_control_app": {"uuid": "sca-7", "name": "support", "auto_answer": False},
    "account": {"uuid": "acc-1", "time_zone": "UTC"},
}


def test_a_json_post_carries_the_call_object(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).post("/step?lang=fr", json=CALL_OBJECT))
    call = captured.last
    assert call.call_object == CALL_OBJECT
    assert call.uuid == "c-42"
    assert (call.from_, call.to, call.tn) == ("+15550100999", "+15550100200", "+15550100200")
    assert (call.from_raw, call.to_raw, call.tn_raw) == (
        "+15550100999",
        "15550100200",
        "15550100200",
    )
    assert call.sca == "sca-7"
    assert call.call_state == "live"
    assert call.direction == "in"
    assert call.meta == {"lang": "fr"}


def test_the_payload_first_spelling_sipcontrol_app(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    body = {"uuid": "c-1", "from": "15550100999", "sipcontrol_app": {"uuid": "sca-8"}}
    xml_reply(client_for(captured.app).post("/step", json=body))
    assert captured.last.sca == "sca-8"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("sca-9", "sca-9", id="string"),
        pytest.param(9, "9", id="number"),
        pytest.param({"name": "no uuid"}, None, id="object-without-uuid"),
    ],
)
def test_sip_control_app_given_directly(
    captured: Captured,
    client_for: ClientFactory,
    xml_reply: XmlReply,
    value: object,
    expected: str | None,
) -> None:
    body = {"uuid": "c-1", "sip_control_app": value}
    xml_reply(client_for(captured.app).post("/step", json=body))
    assert captured.last.sca == expected


def test_tn_as_a_plain_number(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).post("/step", json={"uuid": "c-1", "tn": 12125550100}))
    assert (captured.last.tn, captured.last.tn_raw) == ("+12125550100", "12125550100")


def test_the_query_wins_over_the_call_object(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    # Opentact appends `from`/`to` to the query and sends the same call in the body; the
    # query of the request is what it meant for this step.
    url = "/step?from=%2B15550100111&call=c-query&state=ringing"
    xml_reply(client_for(captured.app).post(url, json=CALL_OBJECT))
    call = captured.last
    assert (call.from_, call.uuid, call.call_state) == ("+15550100111", "c-query", "ringing")
    assert call.to == "+15550100200"


def test_an_event_shaped_body_gives_its_call_object(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    body = {"type": "call_state", "payload": {"state": "live"}, "call": CALL_OBJECT}
    xml_reply(client_for(captured.app).post("/step", json=body))
    assert captured.last.call_object == CALL_OBJECT
    assert captured.last.uuid == "c-42"


def test_a_form_post_carries_the_d9_parameters(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    form = {
        "from": "+15550100999",
        "tn": "15550100200",
        "call": "c-1",
        "dtmf": "77",
        "attempts": "1",
        "note": "hi",
    }
    xml_reply(client_for(captured.app).post("/step?lang=fr", data=form))
    call = captured.last
    assert (call.from_, call.tn, call.uuid, call.digits, call.attempts) == (
        "+15550100999",
        "+15550100200",
        "c-1",
        "77",
        1,
    )
    assert call.meta == {"lang": "fr", "note": "hi"}
    assert call.call_object is None


def test_server_parameters_are_not_part_of_meta(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    captured = capturing(access_key="k-123")
    app = captured.app
    client = client_for(app)
    xml_reply(client.get("/?token=k-123&cf_session=s-1&cf_flow=main&direction=in&lang=fr"))
    call = captured.last
    assert call.meta == {"lang": "fr"}
    assert call.direction == "in"


def test_a_token_parameter_is_meta_when_access_control_is_off(
    captured: Captured, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    xml_reply(client_for(captured.app).get("/step?token=abc&lang=fr"))
    assert captured.last.meta == {"token": "abc", "lang": "fr"}


# -- CallContext by hand -----------------------------------------------------------------------


def test_make_builds_a_context_for_unit_tests() -> None:
    call = CallContext.make(
        from_="15550100999",
        to="+15550100200",
        digits="12",
        uuid="c-1",
        state={"attempt": 2},
        session={"seen": True},
        meta={"lang": "fr"},
        attempts="3",
    )
    assert (call.from_, call.from_raw, call.to) == ("+15550100999", "15550100999", "+15550100200")
    assert (call.digits, call.uuid, call.attempts) == ("12", "c-1", 3)
    assert call.state == {"attempt": 2}
    assert call.session == {"seen": True}
    assert call.meta == {"lang": "fr"}
    assert repr(call) == (
        "CallContext(from_='+15550100999', to='+15550100200', uuid='c-1', flow='', digits='12')"
    )


def test_make_without_arguments() -> None:
    call = CallContext.make()
    assert (call.from_, call.to, call.tn, call.called, call.digits) == (None,) * 5
    assert call.session == {}
    assert call.meta == {}


def test_url_for_and_templates_need_an_app() -> None:
    call = CallContext.make()
    with pytest.raises(RuntimeError, match="url_for needs a CallContext created by"):
        call.url_for("main")
    with pytest.raises(RuntimeError, match="render_template needs a CallContext"):
        call.render_template("menu.xml")


def linking_app(**options: Any) -> App:
    """An App whose main flow links to ``next`` with a signed state."""
    app = App(secret="test-secret", templates=TEMPLATES, **options)

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Gather(Say("Press."), url=call.url_for("next", state={"step": 2})))

    @app.flow("/next", name="next")
    def after(call: CallContext) -> Response:
        return Response(Say(f"Step {call.state['step']}."), Hangup())

    return app


def test_make_with_an_app_builds_the_apps_links(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = linking_app()
    call = CallContext.make(from_="+15550100999", to="+15550100200", uuid="c-1", app=app)
    (gather,) = main_of(app)(call).children
    assert isinstance(gather, Gather)
    url = gather.url or ""
    assert url.startswith("http://testserver/next?cf_state=")
    # The link is the one the App itself would build: the App accepts its state.
    root = xml_reply(client_for(app).get(url + "&from=%2B15550100999&tn=15550100200&call=c-1"))
    assert [el.text for el in root.iter("Say")] == ["Step 2."]


def test_make_with_an_app_uses_its_base_url_access_key_and_region() -> None:
    app = linking_app(
        base_url="https://ivr.example.com/voice/", access_key="k-1", default_region="GB"
    )
    call = CallContext.make(to="02071838750", app=app)
    assert call.to == "+442071838750"
    url = call.url_for("next", lang="fr")
    assert url.startswith("https://ivr.example.com/voice/next?lang=fr&cf_session=")
    assert url.endswith("&token=k-1")
    with pytest.raises(KeyError, match="no flow named 'nope'"):
        call.url_for("nope")


def test_make_with_an_app_renders_its_templates() -> None:
    call = CallContext.make(app=linking_app(), name="Ann")
    rendered = call.render_template("greeting.xml", next_url="https://ivr.example.com/next")
    assert b"Hello Ann" in rendered.body


def test_make_with_an_app_without_templates() -> None:
    call = CallContext.make(app=App(secret="test-secret"))
    with pytest.raises(RuntimeError, match="render_template needs a CallContext"):
        call.render_template("greeting.xml")


def main_of(app: App) -> Any:
    (main,) = [flow.function for flow in app.flows if flow.name == "main"]
    return main


def test_the_unit_test_example_of_testing_md() -> None:
    """docs/testing.md, "Unit-testing a flow function"."""
    call = CallContext.make(from_="+15550100999", to="+15550100200", app=flows.app)
    (gather,) = asyncio.run(account_prompt(call)).children
    assert isinstance(gather, Gather)
    assert (gather.url or "").startswith("http://testserver/account?cf_state=")
