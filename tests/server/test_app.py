"""The HTTP server (callflow.server.app, callflow.server.dispatch): registration, request forms,
routing, request limits, round trips and base URLs, sessions, hosted documents and the access
log. Flows that fail are in test_running.py."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
import pytest
from lxml import etree
from replies import FALLBACK_TAG, hangup_tag, said
from starlette.testclient import TestClient

from callflow import (
    App,
    Callback,
    CallContext,
    ConfigurationError,
    Curl,
    Error,
    Gather,
    Hangup,
    Play,
    RegistrationError,
    Response,
    Router,
    Say,
    Settings,
    parse,
    render,
    validate,
)

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply

ROOT = Path(__file__).resolve().parents[2]
NOT_IN_SERVICE_TAG = "callflow-not-in-service"


def hello(call: CallContext) -> Response:
    return Response(Say("Hello"), Hangup())


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


@pytest.fixture
def callflow_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="callflow")
    return caplog


# -- registration ------------------------------------------------------------------------------


def test_flow_decorator_returns_the_function_unchanged() -> None:
    app = App(secret="test-secret")
    registered = app.flow("/hello")(hello)
    assert registered is hello
    assert [(f.path, f.name, f.numbers) for f in app.flows] == [("/hello", "hello", ())]


def test_flow_numbers_are_stored_in_e164() -> None:
    app = App(secret="test-secret")
    app.flow("/sales", numbers=["15550100200", "+1 (212) 555-0100"])(hello)
    assert app.flows[0].numbers == ("+15550100200", "+12125550100")


def test_a_single_number_may_be_given_as_a_string() -> None:
    app = App(secret="test-secret")
    app.flow("/sales", numbers="15550100200")(hello)
    assert app.flows[0].numbers == ("+15550100200",)


def other(call: CallContext) -> Response:
    return Response(Hangup())


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        pytest.param(
            {"path": "/a"}, {"path": "/a", "name": "b"}, "path '/a' is already taken", id="path"
        ),
        pytest.param(
            {"path": "/a", "name": "x"},
            {"path": "/b", "name": "x"},
            "flow name 'x' is already registered",
            id="name",
        ),
        pytest.param(
            {"path": "/a", "numbers": ["15550100200"]},
            {"path": "/b", "numbers": ["+1 555 010 0200"]},
            re.escape("number +15550100200 is already routed to flow 'hello'"),
            id="number-in-another-format",
        ),
    ],
)
def test_duplicate_registration_is_refused(
    first: dict[str, Any], second: dict[str, Any], message: str
) -> None:
    app = App(secret="test-secret")
    app.flow(**first)(hello)
    with pytest.raises(RegistrationError, match=message):
        app.flow(**second)(other)


@pytest.mark.parametrize(
    ("path", "numbers", "message"),
    [
        pytest.param("menu", (), "must start with '/'", id="relative-path"),
        pytest.param("", (), "must start with '/'", id="empty-path"),
        pytest.param("/a?b=1", (), "plain path", id="query-in-path"),
        pytest.param("/a#top", (), "plain path", id="fragment-in-path"),
        pytest.param("/a b", (), "plain path", id="space-in-path"),
        pytest.param("/a", ("alice",), "'alice' is not a phone number", id="not-a-number"),
        pytest.param(
            "/a", ("15550100200", "+15550100200"), "a number is listed twice", id="number-twice"
        ),
    ],
)
def test_malformed_registration_is_refused(
    path: str, numbers: tuple[str, ...], message: str
) -> None:
    app = App(secret="test-secret")
    with pytest.raises(RegistrationError, match=message):
        app.flow(path, numbers=numbers)(hello)


def test_a_lambda_needs_a_name() -> None:
    router = Router()
    with pytest.raises(RegistrationError, match="needs a name="):
        router.add_flow("/x", lambda call: Response(Hangup()))
    router.add_flow("/x", lambda call: Response(Hangup()), name="x")
    assert [f.name for f in router.flows] == ["x"]


def test_a_flow_must_be_callable() -> None:
    router = Router()
    with pytest.raises(RegistrationError, match="must be callable"):
        router.add_flow("/x", "not a function", name="x")  # type: ignore[arg-type]


def test_add_flow_registers_without_the_decorator(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")
    flow = app.add_flow("/sales", hello, name="sales", numbers=["15550100200"])
    assert (flow.path, flow.name, flow.numbers, flow.function) == (
        "/sales",
        "sales",
        ("+15550100200",),
        hello,
    )
    assert app.flows == [flow]
    client = client_for(app)
    assert said(xml_reply(client.get("/sales"))) == ["Hello"]
    assert said(xml_reply(client.get("/?to=15550100200"))) == ["Hello"]  # routed by number


@pytest.mark.parametrize(
    ("path", "name", "message"),
    [
        pytest.param("/hello", "again", "path '/hello' is already taken", id="same-path"),
        pytest.param("/other", "hello", "flow name 'hello' is already registered", id="same-name"),
        pytest.param("/healthz", "health", "is reserved", id="reserved-path"),
        pytest.param("/doc.xml", "doc", "already taken by a hosted document", id="hosted-path"),
        pytest.param("menu", "menu", "must start with '/'", id="relative-path"),
    ],
)
def test_add_flow_and_the_decorator_make_the_same_checks(
    tmp_path: Path, path: str, name: str, message: str
) -> None:
    (tmp_path / "doc.xml").write_text("<Response><Hangup/></Response>")
    for register in ("decorator", "add_flow"):
        app = App(secret="test-secret")
        app.documents(tmp_path)
        app.flow("/hello")(hello)
        with pytest.raises(RegistrationError, match=message):
            if register == "decorator":
                app.flow(path, name=name)(other)
            else:
                app.add_flow(path, other, name=name)
        assert [f.name for f in app.flows] == ["hello"], register


def test_registration_after_the_app_started_is_refused(client_for: ClientFactory) -> None:
    app = App(secret="test-secret")
    app.flow("/")(hello)
    client_for(app).get("/healthz")
    with pytest.raises(RegistrationError, match="after the app has started"):
        app.flow("/late")(other)
    with pytest.raises(RegistrationError, match="after the app has started"):
        app.add_flow("/late", other)
    with pytest.raises(RegistrationError, match="after the app has started"):
        app.include(Router())


def test_include_mounts_a_router_under_a_prefix(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    router = Router()

    @router.flow("/", name="ivr_root")
    def root(call: CallContext) -> Response:
        return Response(Say(f"root {call.flow}"), Hangup())

    @router.flow("/menu")
    def menu(call: CallContext) -> Response:
        return Response(Say(f"menu {call.flow}"), Hangup())

    app = App(secret="test-secret")
    app.include(router, prefix="/ivr")
    assert sorted(f.path for f in app.flows) == ["/ivr", "/ivr/menu"]
    client = client_for(app)
    assert said(xml_reply(client.get("/ivr"))) == ["root ivr_root"]
    assert said(xml_reply(client.get("/ivr/menu"))) == ["menu menu"]


@pytest.mark.parametrize("prefix", ["ivr", "/ivr/"])
def test_include_refuses_a_malformed_prefix(prefix: str) -> None:
    app = App(secret="test-secret")
    with pytest.raises(RegistrationError, match="prefix must start with '/'"):
        app.include(Router(), prefix=prefix)


def test_include_refuses_a_router_clashing_with_the_app() -> None:
    router = Router()
    router.flow("/hello")(hello)
    app = App(secret="test-secret")
    app.flow("/hello", name="mine")(other)
    with pytest.raises(RegistrationError, match="already taken"):
        app.include(router)


def test_settings_and_keyword_options_cannot_be_mixed() -> None:
    with pytest.raises(ConfigurationError, match="either settings= or keyword options"):
        App(Settings(secret="test-secret"), flow_timeout_ms=10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"flow_timeout_ms": 0}, "flow_timeout_ms must be an integer > 0", id="timeout"
        ),
        pytest.param(
            {"max_body_bytes": 0}, "max_body_bytes must be an integer > 0", id="body-limit"
        ),
        pytest.param({"webhook_path": "flow"}, "paths must start with '/'", id="webhook-path"),
        pytest.param({"base_url": "ivr.example.com"}, "base_url must be an http", id="base-url"),
        pytest.param({"mode": "staging"}, "mode must be development or production", id="mode"),
        pytest.param({"allowed_ips": ["10.0.0.300"]}, "is not an IP address", id="allowed-ips"),
    ],
)
def test_bad_settings_raise_configuration_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        App(secret="test-secret", **options)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFLOW_SECRET", "from-env")
    monkeypatch.setenv("CALLFLOW_FLOW_TIMEOUT_MS", "250")
    monkeypatch.setenv("CALLFLOW_ALLOWED_IPS", "10.0.0.0/8, 192.0.2.1")
    app = App(max_body_bytes=100)
    assert app.settings.secret == "from-env"
    assert app.settings.flow_timeout_ms == 250
    assert app.settings.max_body_bytes == 100
    assert [str(n) for n in app.settings.allowed_ips] == ["10.0.0.0/8", "192.0.2.1/32"]


@pytest.mark.parametrize(
    "package",
    [
        "starlette",
        "uvicorn",
        "lxml",
        "jinja2",
        "phonenumbers",
        "python-multipart",
        "itsdangerous",
    ],
)
def test_runtime_dependencies_are_declared(package: str) -> None:
    """Every third-party package the server imports is declared, so that a fresh install
    (`make test`, CI on a new machine) can import it."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[\[<>=!~; ]", entry, maxsplit=1)[0].lower() for entry in declared}
    assert package in names


# -- request forms and routing -----------------------------------------------------------------


def numbered_app(**options: Any) -> App:
    """A default flow at '/' and two flows reached by the called number."""
    app = App(secret="test-secret", **options)

    def make(name: str) -> Any:
        def flow(call: CallContext) -> Response:
            return Response(Say(f"{call.flow} for {call.called}"), Hangup())

        return flow

    app.flow("/", name="main")(make("main"))
    app.flow("/sales", name="sales", numbers=["15550100200"])(make("sales"))
    app.flow("/support", name="support", numbers=["+1 212 555 0100"])(make("support"))
    return app


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            {"from": "+15550100999", "to": "15550100200"},
            "sales for +15550100200",
            id="to-without-plus",
        ),
        pytest.param({"to": "+15550100200"}, "sales for +15550100200", id="to-with-plus"),
        pytest.param({"to": "+1 (555) 010-0200"}, "sales for +15550100200", id="to-formatted"),
        pytest.param({"to": "2125550100"}, "support for +12125550100", id="to-national"),
        pytest.param({"tn": "12125550100"}, "support for +12125550100", id="tn"),
        pytest.param({"to": "15550100999"}, "main for +15550100999", id="unknown-number"),
        pytest.param({"to": "alice"}, "main for alice", id="sip-user"),
        pytest.param({"from": "15550100999"}, "main for None", id="no-called-number"),
    ],
)
def test_the_webhook_routes_by_called_number(
    client_for: ClientFactory, xml_reply: XmlReply, query: dict[str, str], expected: str
) -> None:
    client = client_for(numbered_app())
    assert said(xml_reply(client.get("/", params=query))) == [expected]


def test_to_wins_over_tn_when_both_route(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(numbered_app())
    reply = client.get("/", params={"to": "15550100200", "tn": "12125550100"})
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_url_for_reaches_the_default_flow_from_a_numbered_flow(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Say(f"main menu {call.state}"), Hangup())

    @app.flow("/sales", name="sales", numbers=["15550100200"])
    def sales(call: CallContext) -> Response:
        return Response(Callback(url=call.url_for("main", state="back")))

    client = client_for(app)
    first = xml_reply(client.get("/", params={"to": "15550100200", "call": "c-1"}))
    callback = first.find("Callback")
    assert callback is not None
    url = str(callback.get("url"))
    # Opentact appends tn= (D9): cf_flow keeps the round trip on the flow url_for named.
    assert url.startswith("http://testserver/?")
    assert query_of(url)["cf_flow"] == ["main"]
    appended = "&from=%2B15550100999&tn=15550100200&state=live&sca=s&call=c-1"
    assert said(xml_reply(client.get(url + appended))) == ["main menu back"]
    # Without cf_flow the same request is routed by number, back to the numbered flow.
    plain = xml_reply(client.get("/?" + appended[1:]))
    assert said(plain) == [] and plain.find("Callback") is not None


def test_a_flow_path_is_served_whatever_the_number(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    reply = client.get("/support", params={"to": "15550100200"})
    assert said(xml_reply(reply)) == ["support for +15550100200"]


def test_the_url_keeps_its_own_query_and_appended_parameters_win(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    # Opentact appends its parameters after the URL's own query (D9): the last value wins.
    reply = client.get("/?key=k1&to=15550100999&from=%2B15550100999&to=15550100200")
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_post_json_call_object_routes_by_its_numbers(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    call_object = {
        "uuid": "c-1",
        "direction": "in",
        "from": "+15550100999",
        "to": "12125550100",
        "state": "init",
        "tn": {"tn": 12125550100},
        "sip_control_app": {"uuid": "sca-1", "auto_answer": False},
        "account": {"uuid": "acc-1"},
    }
    reply = client.post("/?from=%2B15550100999&to=12125550100", json=call_object)
    assert said(xml_reply(reply)) == ["support for +12125550100"]


def test_post_json_with_only_the_call_object(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    reply = client.post("/", json={"uuid": "c-1", "to": "15550100200", "from": "15550100999"})
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_post_json_with_a_vendor_content_type(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    reply = client.post(
        "/",
        content=json.dumps({"uuid": "c-1", "to": "15550100200"}),
        headers={"content-type": "application/vnd.opentact+json; charset=utf-8"},
    )
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_post_form_body(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(numbered_app())
    reply = client.post("/", data={"from": "+15550100999", "to": "15550100200"})
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_post_multipart_form_body(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(numbered_app())
    reply = client.post("/", files={"to": (None, "15550100200"), "from": (None, "15550100999")})
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_post_without_a_body_reads_the_query(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(numbered_app())
    reply = client.post("/?to=15550100200")
    assert said(xml_reply(reply)) == ["sales for +15550100200"]


def test_no_flow_for_the_number_answers_not_in_service(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret")
    app.flow("/sales", numbers=["15550100200"])(hello)
    reply = client_for(app).get("/", params={"from": "15550100999", "to": "15550100300"})
    root = xml_reply(reply)
    assert hangup_tag(root) == NOT_IN_SERVICE_TAG
    assert said(root) == ["The number you have called is not in service."]
    warnings = [r for r in callflow_logs.records if r.levelno == logging.WARNING]
    assert any(
        "not in service" in r.getMessage() and "15550100300" in r.getMessage() for r in warnings
    )


def test_a_custom_not_in_service_document(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = App(secret="test-secret", not_in_service=Response(Say("Wrong number."), Hangup()))
    assert said(xml_reply(client_for(app).get("/", params={"to": "1"}))) == ["Wrong number."]


def test_a_custom_webhook_path(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = App(secret="test-secret", webhook_path="/opentact/flow")
    app.flow("/opentact/flow", name="default")(hello)
    app.flow("/sales", numbers=["15550100200"])(other)
    client = client_for(app)
    assert said(xml_reply(client.get("/opentact/flow", params={"to": "1"}))) == ["Hello"]
    root = xml_reply(client.get("/opentact/flow", params={"to": "15550100200"}))
    assert [child.tag for child in root] == ["Hangup"]
    assert client.get("/").status_code == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_unsupported_methods_get_405(client_for: ClientFactory, method: str) -> None:
    app = App(secret="test-secret")
    app.flow("/")(hello)
    app.flow("/next")(other)
    client = client_for(app)
    for path in ("/", "/next"):
        reply = client.request(method, path)
        assert reply.status_code == 405
        assert "GET" in reply.headers["allow"]


def test_an_unknown_path_gets_404(client_for: ClientFactory) -> None:
    app = App(secret="test-secret")
    app.flow("/")(hello)
    assert client_for(app).get("/nowhere").status_code == 404


def test_healthz(client_for: ClientFactory) -> None:
    reply = client_for(App(secret="test-secret")).get("/healthz")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "session_store": "ok"}


# -- malformed requests ------------------------------------------------------------------------


def echo_app(**options: Any) -> App:
    app = App(secret="test-secret", **options)

    @app.flow("/")
    def echo(call: CallContext) -> Response:
        return Response(Say(f"digits {call.digits}"), Hangup())

    return app


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        pytest.param(b"{not json", "application/json", 400, "not valid JSON", id="bad-json"),
        pytest.param(b"\xff\xfe{}", "application/json", 400, "not valid JSON", id="not-utf8"),
        pytest.param(b"[1, 2]", "application/json", 400, "must be an object", id="json-array"),
        pytest.param(b'"call"', "application/json", 400, "must be an object", id="json-string"),
        pytest.param(b"null", "application/json", 400, "must be an object", id="json-null"),
        pytest.param(b"[" * 100_000, "application/json", 400, "", id="json-too-deep"),
        pytest.param(
            b'{"uuid": "c", "from": ["1", "2"]}',
            "application/json",
            400,
            "'from' must be a string or a number",
            id="from-list",
        ),
        pytest.param(
            b'{"uuid": "c", "to": true}',
            "application/json",
            400,
            "'to' must be a string or a number",
            id="to-bool",
        ),
        pytest.param(
            b'{"uuid": {"a": 1}}',
            "application/json",
            400,
            "'uuid' must be a string or a number",
            id="uuid-object",
        ),
        pytest.param(
            b'{"uuid": "c", "tn": {"tn": [1]}}',
            "application/json",
            400,
            "'tn' must be a string or a number",
            id="tn-list",
        ),
        pytest.param(
            b'{"uuid": "c", "sipcontrol_app": {"uuid": null}, "sip_control_app": [1]}',
            "application/json",
            400,
            "'sip_control_app' must be a string or a number",
            id="sca-list",
        ),
        pytest.param(
            b"dtmf=%ff",
            "application/x-www-form-urlencoded",
            400,
            "malformed form",
            id="form-not-utf8",
        ),
        pytest.param(
            b"--xx\r\n",
            "multipart/form-data",
            400,
            "malformed multipart body: Missing boundary",
            id="multipart-without-boundary",
        ),
        pytest.param(
            b"--xx\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xx--\r\n",
            "multipart/form-data; boundary=xx",
            400,
            "malformed multipart body",
            id="multipart-without-name",
        ),
        pytest.param(
            b"<Response/>", "text/xml", 415, "unsupported Content-Type 'text/xml'", id="xml"
        ),
        pytest.param(
            b"dtmf=1",
            "application/octet-stream",
            415,
            "unsupported Content-Type 'application/octet-stream'",
            id="octet-stream",
        ),
        pytest.param(b"dtmf=1", "", 415, "unsupported Content-Type 'none'", id="none"),
    ],
)
def test_malformed_bodies_get_a_precise_4xx(
    client_for: ClientFactory, content: bytes, content_type: str, status: int, message: str
) -> None:
    client = client_for(echo_app(max_body_bytes=1_000_000))
    headers = {"content-type": content_type} if content_type else {}
    reply = client.post("/", content=content, headers=headers)
    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("text/plain")
    assert message in reply.text


def test_a_json_integer_too_long_to_convert_gets_400(client_for: ClientFactory) -> None:
    client = client_for(echo_app(), raise_server_exceptions=False)
    reply = client.post(
        "/", content=b'{"uuid": ' + b"9" * 5000 + b"}", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400


def test_a_text_body_is_ignored_and_the_query_read(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    """A <Curl> request may carry a text body (D18); its parameters are in the query."""
    client = client_for(echo_app())
    reply = client.post(
        "/?dtmf=42", content=b"dtmf=99 free text", headers={"content-type": "text/plain"}
    )
    assert said(xml_reply(reply)) == ["digits 42"]


def test_a_multipart_file_upload_is_refused(client_for: ClientFactory) -> None:
    client = client_for(echo_app())
    reply = client.post("/", files={"recording": ("a.wav", b"RIFF", "audio/wav")})
    assert reply.status_code == 400
    assert "malformed multipart body" in reply.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("dtmf=12x", "'dtmf' must hold only the keys 0-9 * #", id="dtmf"),
        pytest.param("code=1a", "'code' must hold only the keys 0-9 * #", id="code"),
        pytest.param("attempts=abc", "'attempts' must be an integer, not 'abc'", id="attempts"),
        pytest.param("success=maybe", "'success' must be true or false", id="success"),
        pytest.param("to=%ff", "malformed query string", id="query-not-utf8"),
        pytest.param("&".join(f"k{i}=v" for i in range(1001)), "malformed query", id="too-many"),
    ],
)
def test_wrongly_typed_parameters_get_400(
    client_for: ClientFactory, query: str, message: str
) -> None:
    reply = client_for(echo_app()).get("/?" + query)
    assert reply.status_code == 400
    assert message in reply.text


def test_an_oversized_body_gets_413(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(echo_app(max_body_bytes=64))
    reply = client.post("/", json={"uuid": "c-1", "padding": "x" * 100})
    assert reply.status_code == 413
    assert "larger than 64 bytes" in reply.text
    xml_reply(client.post("/", json={"uuid": "c-1"}))


def test_an_oversized_chunked_body_gets_413(client_for: ClientFactory) -> None:
    """Without Content-Length the limit holds while the body streams in."""

    def chunks() -> Iterator[bytes]:
        yield b'{"uuid": "c-1", "padding": "'
        for _ in range(10):
            yield b"x" * 20
        yield b'"}'

    client = client_for(echo_app(max_body_bytes=64))
    reply = client.post("/", content=chunks(), headers={"content-type": "application/json"})
    assert reply.status_code == 413


# -- url_for and absolute URLs -----------------------------------------------------------------


def round_trip_app(**options: Any) -> App:
    app = App(secret="test-secret", **options)

    @app.flow("/")
    def menu(call: CallContext) -> Response:
        return Response(
            Gather(
                Say("Enter your code"),
                url=call.url_for("collect", state={"step": 1}, lang="fr", n=2),
                dtmf_length=4,
            )
        )

    @app.flow("/collect")
    def collect(call: CallContext) -> Response:
        return Response(
            Say(f"state {call.state} digits {call.digits} lang {call.meta.get('lang')}"),
            Hangup(),
        )

    return app


def gather_url(root: etree._Element) -> str:
    gather = root.find("Gather")
    assert gather is not None
    url = gather.get("url")
    assert url is not None
    return url


def test_url_for_builds_an_absolute_url_from_the_request_host(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(round_trip_app(), base_url="http://ivr.local:8080")
    url = gather_url(xml_reply(client.get("/", params={"call": "c-1"})))
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "ivr.local:8080", "/collect")
    query = query_of(url)
    assert query["lang"] == ["fr"]
    assert query["n"] == ["2"]
    assert "cf_state" in query
    assert "cf_session" in query  # the session travels signed, never keyed by the uuid


def test_url_for_uses_the_configured_base_url(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(round_trip_app(base_url="https://ivr.example.com/"))
    url = gather_url(xml_reply(client.get("/", headers={"host": "internal:9000"})))
    assert url.startswith("https://ivr.example.com/collect?")


def test_url_for_honours_forwarded_headers_from_a_trusted_proxy(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(round_trip_app(trusted_proxies=["10.0.0.0/8"]), client=("10.1.2.3", 4000))
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "ivr.example.com"}
    url = gather_url(xml_reply(client.get("/", headers=headers)))
    assert url.startswith("https://ivr.example.com/collect?")


@pytest.mark.parametrize(
    ("trusted", "peer"),
    [
        pytest.param((), "10.1.2.3", id="no-trusted-proxies"),
        pytest.param(("10.0.0.0/8",), "203.0.113.9", id="untrusted-peer"),
    ],
)
def test_url_for_ignores_forwarded_headers_from_anyone_else(
    client_for: ClientFactory, xml_reply: XmlReply, trusted: tuple[str, ...], peer: str
) -> None:
    client = client_for(round_trip_app(trusted_proxies=list(trusted)), client=(peer, 4000))
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "evil.example.com"}
    url = gather_url(xml_reply(client.get("/", headers=headers)))
    assert url.startswith("http://testserver/collect?")


def test_a_gather_url_round_trip(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(round_trip_app())
    url = gather_url(xml_reply(client.get("/", params={"call": "c-1"})))
    # Opentact appends its parameters to the url of the Gather (§2.2).
    appended = "&dtmf=1234&from=%2B15550100999&tn=15550100200&state=live&sca=s-1&call=c-1"
    root = xml_reply(client.get(url + appended))
    assert said(root) == ["state {'step': 1} digits 1234 lang fr"]


@pytest.mark.callflow_expect_fallback
def test_url_for_an_unknown_flow_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def menu(call: CallContext) -> Response:
        return Response(Callback(url=call.url_for("nowhere")))

    assert hangup_tag(xml_reply(client_for(app).get("/"))) == FALLBACK_TAG
    assert any(r.exc_info is not None and r.exc_info[0] is KeyError for r in callflow_logs.records)


def test_path_only_urls_in_returned_documents_are_made_absolute(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def menu(call: CallContext) -> Response:
        return Response(
            Play("/media/hello.mp3"),
            Play("/media/attr.mp3", Error(Say("No audio"))),
            Play("https://cdn.example.com/abs.mp3"),
            Curl(url="/crm?x=1&y=2", method="POST"),
            Gather(Say("Press a key"), url="/collect", dtmf_length=1),
            Callback(url="/next"),
        )

    root = xml_reply(client_for(app).get("/"))
    plays = root.findall("Play")
    assert plays[0].text == "http://testserver/media/hello.mp3"
    assert plays[1].get("url") == "http://testserver/media/attr.mp3"
    assert plays[2].text == "https://cdn.example.com/abs.mp3"
    curl, gather, callback = root.find("Curl"), root.find("Gather"), root.find("Callback")
    assert curl is not None and gather is not None and callback is not None
    assert curl.get("url") == "http://testserver/crm?x=1&y=2"
    assert gather.get("url") == "http://testserver/collect"
    assert callback.get("url") == "http://testserver/next"


def test_text_that_looks_like_a_url_is_left_alone(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def menu(call: CallContext) -> Response:
        return Response(Say('/etc <Callback url="/x"/>'), Hangup())

    assert said(xml_reply(client_for(app).get("/"))) == ['/etc <Callback url="/x"/>']


@pytest.mark.parametrize(
    ("document", "xpath"),
    [
        pytest.param(
            "<Response><Callback url='/next'/></Response>", "Callback", id="single-quotes"
        ),
        pytest.param(
            '<Response><Gather callback="/next"><Say>Hi</Say></Gather></Response>',
            "Gather",
            id="legacy-gather-callback",
        ),
        pytest.param("<Response><callback>/next</callback></Response>", "Callback", id="legacy-d2"),
        pytest.param(
            '<Response><Curl tag="a>b" url="/next"/></Response>', "Curl", id="gt-in-an-attribute"
        ),
    ],
)
def test_path_only_urls_in_xml_text_are_made_absolute(
    client_for: ClientFactory, xml_reply: XmlReply, document: str, xpath: str
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def text(call: CallContext) -> str:
        return document

    element = xml_reply(client_for(app).get("/")).find(xpath)
    assert element is not None
    assert element.get("url") == "http://testserver/next"


# -- hosted documents --------------------------------------------------------------------------


def test_hosted_documents_are_served_and_made_absolute(
    tmp_path: Path, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "hours.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Say>Open</Say><Hangup/></Response>'
    )
    (tmp_path / "sub" / "next.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Callback url="/hours"/></Response>'
    )
    (tmp_path / "notes.txt").write_text("not a document")
    app = App(secret="test-secret")
    assert app.documents(tmp_path, prefix="/docs") == ["/docs/hours.xml", "/docs/sub/next.xml"]
    client = client_for(app)
    assert said(xml_reply(client.get("/docs/hours.xml"))) == ["Open"]
    callback = xml_reply(client.post("/docs/sub/next.xml")).find("Callback")
    assert callback is not None
    assert callback.get("url") == "http://testserver/hours"
    assert client.get("/docs/notes.txt").status_code == 404


def test_an_invalid_hosted_document_is_refused_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Gather>\n    <Hangup/>\n'
        b"  </Gather>\n</Response>\n"
    )
    (tmp_path / "good.xml").write_bytes(b"<Response><Hangup/></Response>")
    app = App(secret="test-secret")
    with pytest.raises(ConfigurationError) as raised:
        app.documents(tmp_path)
    message = str(raised.value)
    assert message.startswith("invalid hosted documents:")
    problems = validate(bad.read_bytes())
    assert problems
    for problem in problems:
        assert f"{bad}:{problem.line}: {problem.message}" in message
    assert f"{bad}:4: " in message  # the <Hangup/> that the Gather cannot hold
    assert "good.xml" not in message


def test_an_unparsable_hosted_document_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_bytes(b"<Response>\n<Say>unclosed\n</Response>")
    app = App(secret="test-secret")
    with pytest.raises(ConfigurationError, match=r"broken\.xml:\d+: "):
        app.documents(tmp_path)


def test_a_hosted_document_cannot_take_a_flow_path(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"<Response><Hangup/></Response>")
    app = App(secret="test-secret")
    app.flow("/a.xml", name="a")(hello)
    with pytest.raises(RegistrationError, match=re.escape("'/a.xml' is already taken")):
        app.documents(tmp_path)


def test_a_flow_cannot_take_a_hosted_document_path(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"<Response><Hangup/></Response>")
    app = App(secret="test-secret")
    app.documents(tmp_path)
    with pytest.raises(RegistrationError, match="already taken"):
        app.flow("/a.xml", name="a")(hello)


@pytest.mark.parametrize("path", ["/events", "/healthz"])
def test_a_flow_cannot_take_a_reserved_path(path: str) -> None:
    app = App(secret="test-secret")
    with pytest.raises(RegistrationError):
        app.flow(path)(hello)


HANGUP_DOCUMENT = b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup/></Response>'


@pytest.mark.parametrize("prefix", ["docs", "/docs/", "/"])
def test_a_malformed_documents_prefix_is_refused(tmp_path: Path, prefix: str) -> None:
    (tmp_path / "a.xml").write_bytes(HANGUP_DOCUMENT)
    app = App(secret="test-secret")
    message = f"prefix must start with '/' and not end with it: {prefix!r}"
    with pytest.raises(RegistrationError, match=re.escape(message)):
        app.documents(tmp_path, prefix=prefix)


def test_a_hosted_document_is_served_in_canonical_form(
    tmp_path: Path, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    legacy = (
        b"<Response>\n  <!-- the menu -->\n"
        b'  <Gather numDigits="1" finishOnKey="#"><Say>Press</Say>'
        b'<Switch><Case dtmf="1"><Hangup/></Case></Switch></Gather>\n'
        b"  <callback>/next</callback>\n</Response>\n"
    )
    (tmp_path / "menu.xml").write_bytes(legacy)
    app = App(secret="test-secret")
    app.documents(tmp_path)
    reply = client_for(app).get("/menu.xml")
    xml_reply(reply)  # strictly valid: the canonical form
    expected = render(parse(legacy)).replace(b'"/next"', b'"http://testserver/next"')
    assert reply.content == expected


def test_a_hosted_file_name_is_not_a_route_pattern(
    tmp_path: Path, client_for: ClientFactory
) -> None:
    (tmp_path / "{x}.xml").write_bytes(HANGUP_DOCUMENT)
    app = App(secret="test-secret")
    with pytest.raises(RegistrationError, match=r"plain path: '/\{x\}\.xml'"):
        app.documents(tmp_path)
    client = client_for(app, raise_server_exceptions=False)
    assert client.get("/other.xml").status_code == 404
    assert client.get("/{x}.xml").status_code == 404


def test_a_missing_documents_directory_is_refused(tmp_path: Path) -> None:
    app = App(secret="test-secret")
    missing = tmp_path / "no-such-directory"
    with pytest.raises(ConfigurationError, match=f"{re.escape(str(missing))} is not a directory"):
        app.documents(missing)
    (tmp_path / "a-file.xml").write_bytes(HANGUP_DOCUMENT)
    with pytest.raises(ConfigurationError, match="is not a directory"):
        app.documents(tmp_path / "a-file.xml")


def test_lifespan_startup_and_shutdown(xml_reply: XmlReply) -> None:
    app = App(secret="test-secret")
    app.flow("/")(hello)
    with TestClient(app) as client:
        xml_reply(client.get("/"))
        xml_reply(client.get("/"))


# -- the access log ----------------------------------------------------------------------------


def test_one_access_log_line_per_request(
    client_for: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callflow.access")
    app = App(secret="test-secret")
    app.flow("/", name="main")(hello)
    client = client_for(app)
    client.get("/", params={"call": "c-1", "to": "15550100200"})
    client.put("/")
    client.get("/?dtmf=x")
    client.get("/healthz")
    records = [r for r in caplog.records if r.name == "callflow.access"]
    fields = [
        (r.__dict__["method"], r.__dict__["path"], r.__dict__["status"], r.__dict__["flow"])
        for r in records
    ]
    assert fields == [
        ("GET", "/", 200, "main"),
        ("PUT", "/", 405, "-"),
        ("GET", "/", 400, "main"),
        ("GET", "/healthz", 200, "-"),
    ]
    assert records[0].__dict__["call"] == "c-1"
    line = records[0].getMessage()
    assert "method=GET path=/ status=200 call=c-1 flow=main client=testclient duration_ms=" in line
    assert all(isinstance(r.__dict__["duration_ms"], float) for r in records)


# -- the same over httpx2.AsyncClient ----------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_concurrent_calls_over_an_async_client() -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    async def greet(call: CallContext) -> Response:
        await anyio.sleep(0)
        return Response(Say(f"Hello {call.uuid}"), Hangup())

    transport = httpx2.ASGITransport(app=app, client=("72.21.26.35", 5060))
    async with httpx2.AsyncClient(transport=transport, base_url="http://ivr.test") as client:
        replies: dict[str, bytes] = {}

        async def call(uuid: str) -> None:
            reply = await client.get("/", params={"call": uuid})
            assert reply.status_code == 200
            replies[uuid] = reply.content

        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(call, f"c-{n}")
    for uuid, body in replies.items():
        assert validate(body, strict=True) == []
        assert said(etree.fromstring(body)) == [f"Hello {uuid}"]
    assert len(replies) == 10
