"""Running a flow (callflow.server.running): the fallback document for a flow that raises,
overruns its time budget or returns an invalid document, the checks of what it returns, and
the header that marks a fallback."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from lxml import etree
from replies import FALLBACK_TAG, hangup_tag, said

from callflow import App, CallContext, Hangup, Response, Say, Slot, prepare, render, validate
from callflow.dialect import validation
from callflow.dialect.rendering import CheckedXML
from callflow.server import running
from callflow.server.running import FALLBACK_HEADER

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply


def hello(call: CallContext) -> Response:
    return Response(Say("Hello"), Hangup())


@pytest.fixture
def callflow_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="callflow")
    return caplog


# -- flows that fail ---------------------------------------------------------------------------


@pytest.mark.callflow_expect_fallback
def test_a_flow_that_raises_gets_the_fallback_and_a_logged_traceback(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def broken(call: CallContext) -> Response:
        raise ZeroDivisionError("boom")

    reply = client_for(app).get("/", params={"call": "call-7", "from": "15550100999"})
    root = xml_reply(reply)
    assert hangup_tag(root) == FALLBACK_TAG
    errors = [r for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "'broken'" in errors[0].getMessage()
    assert "call-7" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert errors[0].exc_info[0] is ZeroDivisionError


@pytest.mark.callflow_expect_fallback
def test_a_custom_fallback_document(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = App(secret="test-secret", fallback=Response(Say("Oops."), Hangup(tag="mine")))

    @app.flow("/")
    def broken(call: CallContext) -> Response:
        raise RuntimeError("boom")

    root = xml_reply(client_for(app).get("/"))
    assert said(root) == ["Oops."]
    assert hangup_tag(root) == "mine"


@pytest.mark.callflow_expect_fallback
def test_a_sync_flow_beyond_the_timeout_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret", flow_timeout_ms=100)

    @app.flow("/")
    def slow(call: CallContext) -> Response:
        time.sleep(0.5)
        return Response(Say("Too late"), Hangup())

    root = xml_reply(client_for(app).get("/", params={"call": "call-8"}))
    assert hangup_tag(root) == FALLBACK_TAG
    messages = [r.getMessage() for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert any("'slow'" in m and "flow_timeout_ms=100" in m and "call-8" in m for m in messages)


@pytest.mark.callflow_expect_fallback
def test_an_async_flow_beyond_the_timeout_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply, callflow_logs: pytest.LogCaptureFixture
) -> None:
    app = App(secret="test-secret", flow_timeout_ms=100)

    @app.flow("/")
    async def slow(call: CallContext) -> Response:
        await anyio.sleep(30)
        return Response(Say("Too late"), Hangup())

    root = xml_reply(client_for(app).get("/"))
    assert hangup_tag(root) == FALLBACK_TAG
    messages = [r.getMessage() for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert any("'slow'" in m and "flow_timeout_ms=100" in m for m in messages)


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.callflow_expect_fallback
def test_a_flow_raising_timeout_error_is_logged_with_its_traceback(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    callflow_logs: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    app = App(secret="test-secret")

    def backend_down(call: CallContext) -> Response:
        raise TimeoutError("the CRM did not answer")

    async def backend_down_async(call: CallContext) -> Response:
        await anyio.sleep(0)
        raise TimeoutError("the CRM did not answer")

    app.flow("/", name="backend_down")(backend_down if kind == "sync" else backend_down_async)

    assert hangup_tag(xml_reply(client_for(app).get("/"))) == FALLBACK_TAG
    errors = [r for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "flow_timeout_ms" not in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is TimeoutError


def test_an_async_flow_is_awaited(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    async def greet(call: CallContext) -> Response:
        await anyio.sleep(0)
        return Response(Say(f"Hello {call.from_}"), Hangup())

    assert said(xml_reply(client_for(app).get("/?from=15550100999"))) == ["Hello +15550100999"]


def test_a_sync_flow_returning_an_awaitable_is_awaited(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")

    async def later() -> Response:
        return Response(Say("Later"), Hangup())

    @app.flow("/")
    def deferred(call: CallContext) -> Any:
        return later()

    assert said(xml_reply(client_for(app).get("/"))) == ["Later"]


@pytest.mark.parametrize(
    "result",
    [
        pytest.param("<Response><Gather><Hangup/></Gather></Response>", id="invalid-string"),
        pytest.param(b"<Response><Say/></Response>", id="invalid-bytes"),
        pytest.param("<Response><Say>unclosed</Response>", id="unparsable"),
        pytest.param("", id="empty"),
        pytest.param("<Reply><Hangup/></Reply>", id="wrong-root"),
        pytest.param(42, id="not-a-document"),
        pytest.param(None, id="none"),
    ],
)
@pytest.mark.callflow_expect_fallback
def test_a_flow_returning_an_invalid_document_gets_the_fallback(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    callflow_logs: pytest.LogCaptureFixture,
    result: object,
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def wrong(call: CallContext) -> Any:
        return result

    root = xml_reply(client_for(app).get("/", params={"call": "call-9"}))
    assert hangup_tag(root) == FALLBACK_TAG
    errors = [r.getMessage() for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "'wrong'" in errors[0]
    assert "call-9" in errors[0]


@pytest.mark.parametrize(
    "result",
    [
        pytest.param("<Response><Say>Hi</Say><Hangup/></Response>", id="string"),
        pytest.param(b"<Response><Say>Hi</Say><Hangup/></Response>", id="bytes"),
        pytest.param(
            '<?xml version="1.0" encoding="UTF-8"?>\n<!-- hi -->\n'
            "<Response><Say>Hi</Say><Hangup/></Response>",
            id="declaration-and-comment",
        ),
    ],
)
def test_a_flow_may_return_xml_text(client_for: ClientFactory, result: str | bytes) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def text(call: CallContext) -> str | bytes:
        return result

    reply = client_for(app).get("/")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/xml")
    assert validate(reply.content) == []
    assert said(etree.fromstring(reply.content)) == ["Hi"]


@pytest.mark.parametrize(
    "source",
    ["flow", "hosted"],
)
def test_xml_text_is_sent_with_the_declaration(
    tmp_path: Path, client_for: ClientFactory, xml_reply: XmlReply, source: str
) -> None:
    document = "<Response><Say>Hi</Say><Hangup/></Response>"
    app = App(secret="test-secret")
    (tmp_path / "hi.xml").write_text(document)
    app.documents(tmp_path)

    @app.flow("/")
    def text(call: CallContext) -> str:
        return document

    path = "/" if source == "flow" else "/hi.xml"
    assert said(xml_reply(client_for(app).get(path))) == ["Hi"]


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
@pytest.mark.callflow_expect_fallback
def test_xml_declaring_another_encoding_is_never_garbled(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    callflow_logs: pytest.LogCaptureFixture,
    as_bytes: bool,
) -> None:
    """§2.5 asks for UTF-8: such a document is refused (fallback), so its text is never
    decoded twice ('café' -> 'cafÃ©')."""
    document = '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Say>café</Say></Response>'
    app = App(secret="test-secret")

    @app.flow("/")
    def text(call: CallContext) -> str | bytes:
        return document.encode("iso-8859-1") if as_bytes else document

    root = xml_reply(client_for(app).get("/"))
    assert hangup_tag(root) == FALLBACK_TAG
    (error,) = [r.getMessage() for r in callflow_logs.records if r.levelno == logging.ERROR]
    assert "returned an invalid document" in error
    expected = "not valid UTF-8 (byte 0xe9)" if as_bytes else "declares encoding 'ISO-8859-1'"
    assert expected in error


@pytest.mark.callflow_expect_fallback
def test_production_mode_skips_validation_of_dsl_documents_only(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="s" * 32, mode="production", allowed_hosts=["testserver"])
    assert not app.settings.validating

    @app.flow("/")
    def text(call: CallContext) -> str:
        return "<Response><Gather><Hangup/></Gather></Response>"

    assert hangup_tag(xml_reply(client_for(app).get("/"))) == FALLBACK_TAG


# -- outgoing documents are checked once ----------------------------------------------------


def test_each_distinct_outgoing_document_is_checked_once(
    client_for: ClientFactory, xml_reply: XmlReply, monkeypatch: pytest.MonkeyPatch
) -> None:
    import callflow.server.running as running_module
    from callflow.dialect.validation import schema_problems as real

    checked: list[bytes] = []

    def counting(body: bytes, *, strict: bool = False) -> list[Any]:
        checked.append(body)
        return real(body, strict=strict)

    monkeypatch.setattr(running_module, "schema_problems", counting)
    app = App(secret="test-secret", validate_responses=True)

    @app.flow("/")
    def greet(call: CallContext) -> Response:
        return Response(Say(f"Hello {call.meta.get('name', 'you')}"), Hangup())

    client = client_for(app)
    for name in ("ann", "ann", "bob", "ann"):
        xml_reply(client.get(f"/?name={name}"))
    assert len(checked) == 2  # one per distinct document
    assert len(set(checked)) == 2


# -- the fallback is marked ---------------------------------------------------------------------


def _raising(call: CallContext) -> Response:
    raise RuntimeError("the CRM is down")


def _slow(call: CallContext) -> Response:
    time.sleep(0.5)
    return Response(Hangup())


def _invalid(call: CallContext) -> str:
    return "<Response><Gather><Hangup/></Gather></Response>"


@pytest.mark.parametrize(
    ("flow", "cause"),
    [
        pytest.param(_raising, "error", id="raised"),
        pytest.param(_slow, "timeout", id="timed-out"),
        pytest.param(_invalid, "invalid", id="invalid-output"),
    ],
)
@pytest.mark.callflow_expect_fallback
def test_a_fallback_reply_names_its_cause_in_a_header(
    client_for: ClientFactory, xml_reply: XmlReply, flow: Any, cause: str
) -> None:
    app = App(secret="test-secret", flow_timeout_ms=100)
    app.flow("/")(flow)
    reply = client_for(app).get("/")
    assert hangup_tag(xml_reply(reply)) == FALLBACK_TAG
    assert reply.headers["x-callflow-fallback"] == cause


def test_a_reply_that_ran_as_written_has_no_fallback_header(client_for: ClientFactory) -> None:
    app = App(secret="test-secret")
    app.flow("/")(hello)
    assert "x-callflow-fallback" not in client_for(app).get("/").headers


# -- what is trusted as it is, and what is checked ---------------------------------------------

GREETING = prepare(Response(Say(Slot("greeting")), Hangup()))


def counting_check(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Count the documents the runner parses and checks (``running.check``)."""
    seen: list[bytes] = []

    def check(data: bytes, **options: Any) -> Any:
        seen.append(data)
        return validation.check(data, **options)

    monkeypatch.setattr(running, "check", check)
    return seen


def refuse_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse, schema check or rebuild of an outgoing document fail the test."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise AssertionError("an outgoing document was checked")

    for name in ("check", "schema_problems", "_canonical"):
        monkeypatch.setattr(running, name, refuse)


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_prepared_bytes_are_sent_as_they_are(
    kind: str, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(secret="test-secret", validate_responses=True)
    if kind == "async":

        @app.flow("/")
        async def greet(call: CallContext) -> bytes:
            return GREETING.render(greeting=f"Hi {call.meta['name']}")
    else:

        @app.flow("/")
        def greet_sync(call: CallContext) -> bytes:
            return GREETING.render(greeting=f"Hi {call.meta['name']}")

    refuse_checks(monkeypatch)
    client = client_for(app)
    for name in ("Bob & <Co>", "Ann"):
        reply = client.get("/", params={"name": name})
        assert reply.status_code == 200
        assert FALLBACK_HEADER not in reply.headers
        assert reply.content == bytes(GREETING.render(greeting=f"Hi {name}"))
        assert validate(reply.content, strict=True) == []


def test_foreign_bytes_are_still_checked_every_time(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(secret="test-secret")
    body = bytes(GREETING.render(greeting="Hi"))  # the same text, but not the DSL's object

    @app.flow("/")
    def foreign(call: CallContext) -> bytes:
        return body

    seen = counting_check(monkeypatch)
    client = client_for(app)
    for _ in range(2):
        reply = client.get("/")
        assert reply.status_code == 200 and FALLBACK_HEADER not in reply.headers
    assert seen == [body, body]


@pytest.mark.callflow_expect_fallback
def test_foreign_bytes_that_fail_the_check_get_the_fallback(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(secret="test-secret")

    @app.flow("/")
    def foreign(call: CallContext) -> bytes:
        return b"<Response><Dial/></Response>"

    seen = counting_check(monkeypatch)
    reply = client_for(app).get("/")
    assert reply.headers[FALLBACK_HEADER] == "invalid"
    assert seen == [b"<Response><Dial/></Response>"]


def test_rendered_bytes_are_sent_as_they_are(
    client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = App(secret="test-secret", validate_responses=True)

    @app.flow("/")
    def greet(call: CallContext) -> bytes:
        return render(Response(Say(f"Hi {call.meta['name']}"), Hangup()))

    refuse_checks(monkeypatch)
    reply = client_for(app).get("/", params={"name": "Bob & <Co>"})
    assert reply.status_code == 200 and FALLBACK_HEADER not in reply.headers
    assert reply.content == render(Response(Say("Hi Bob & <Co>"), Hangup()))


@pytest.mark.parametrize("make", ["prepared", "render"])
def test_dsl_output_is_bytes_marked_as_the_dsls(make: str) -> None:
    if make == "prepared":
        rendered = GREETING.render(greeting="Hi")
    else:
        rendered = render(Response(Say("Hi"), Hangup()))
    assert isinstance(rendered, CheckedXML) and isinstance(rendered, bytes)
    assert bytes(rendered) == rendered
    # Bytes made from it elsewhere (a copy, a slice, a join) are foreign again.
    assert type(bytes(rendered)) is bytes and type(rendered + b"") is bytes
