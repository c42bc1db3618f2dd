"""Jinja2 templates (callflow.server.templates): autoescaped, validated, served by flows."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lxml import etree
from replies import FALLBACK_TAG, said

from callflow import App, CallContext, Rendered, TemplateError, validate
from callflow.server.templates import Templates

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def template_app(template: str, **context: Any) -> App:
    app = App(secret="test-secret", templates=TEMPLATES)

    @app.flow("/", name="menu_flow")
    def menu(call: CallContext) -> Rendered:
        return call.render_template(template, next_url=call.url_for("after"), **context)

    @app.flow("/after")
    def after(call: CallContext) -> Rendered:
        return call.render_template("undefined.xml", not_given="after")

    return app


def test_a_flow_returns_a_rendered_template(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(template_app("greeting.xml"))
    root = xml_reply(client.get("/", params={"name": "Ann", "call": "c-1"}))
    assert said(root) == ["Hello Ann", "Press any key."]
    gather = root.find("Gather")
    assert gather is not None
    assert str(gather.get("url")).startswith("http://testserver/after?cf_session=")
    assert gather.get("tag") == "menu"
    assert said(xml_reply(client.get(str(gather.get("url"))))) == ["after"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("<Hangup/>", id="element"),
        pytest.param("Tom & Jerry", id="ampersand"),
        pytest.param("\"double\" and 'single' quotes", id="quotes"),
        pytest.param("]]> <![CDATA[ x", id="cdata"),
        pytest.param("<!-- comment -->", id="comment"),
        pytest.param("&amp; already escaped", id="entity"),
    ],
)
def test_template_variables_are_autoescaped(
    client_for: ClientFactory, xml_reply: XmlReply, text: str
) -> None:
    client = client_for(template_app("greeting.xml"))
    root = xml_reply(
        client.get("/", params={"call": "c-1", "name": text, "tag_value": f'{text}" url="/evil'})
    )
    assert said(root)[0] == f"Hello {text}"
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("tag") == f'{text}" url="/evil'
    assert str(gather.get("url")).startswith("http://testserver/after?cf_session=")
    assert [child.tag for child in root] == ["Say", "Gather", "Hangup"]


def test_a_legacy_template_is_sent_in_canonical_form(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(template_app("legacy.xml", digits=4))
    root = xml_reply(client.get("/?call=c-1"), strict=True)
    gather = root.find("Gather")
    assert gather is not None
    attributes = dict(gather.attrib)
    assert attributes.pop("url").startswith("http://testserver/after?cf_session=")
    assert attributes == {"dtmf_length": "4", "dtmf_stop": "#"}


@pytest.mark.parametrize(
    ("template", "detail"),
    [
        pytest.param("invalid.xml", "rendered an invalid document: 4:", id="invalid-output"),
        pytest.param("syntax_error.xml", "failed to render", id="syntax-error"),
        pytest.param("undefined.xml", "'not_given' is undefined", id="undefined-variable"),
        pytest.param("missing.xml", "not found", id="missing"),
    ],
)
@pytest.mark.callflow_expect_fallback
def test_a_failing_template_gets_the_fallback_and_an_error_naming_the_flow(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    caplog: pytest.LogCaptureFixture,
    template: str,
    detail: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="callflow")
    client = client_for(template_app(template))
    root = xml_reply(client.get("/", params={"call": "c-3"}))
    hangup = root.find("Hangup")
    assert hangup is not None and hangup.get("tag") == FALLBACK_TAG
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "'menu_flow'" in errors[0].getMessage()
    assert "c-3" in errors[0].getMessage()
    # The template and what went wrong are in the message or its traceback.
    assert f"template {template!r}" in caplog.text
    assert detail in caplog.text


@pytest.mark.callflow_expect_fallback
def test_render_template_without_templates_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="callflow")
    app = App(secret="test-secret")

    @app.flow("/")
    def menu(call: CallContext) -> Rendered:
        return call.render_template("greeting.xml")

    root = xml_reply(client_for(app).get("/"))
    hangup = root.find("Hangup")
    assert hangup is not None and hangup.get("tag") == FALLBACK_TAG
    assert "render_template needs a CallContext created by callflow.App" in caplog.text


# -- Templates without HTTP --------------------------------------------------------------------


def test_templates_render_validated_documents() -> None:
    templates = Templates(str(TEMPLATES))
    call = CallContext.make(meta={"name": "<b>"})
    rendered = templates.render("greeting.xml", call=call, next_url="/next")
    assert rendered.template == "greeting.xml"
    assert rendered.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert validate(rendered.body, strict=True) == []
    root = etree.fromstring(rendered.body)
    assert said(root) == ["Hello <b>", "Press any key."]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rendered.body = b""  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "context", "message"),
    [
        pytest.param("nope.xml", {}, r"template 'nope.xml' not found in .*templates", id="missing"),
        pytest.param(
            "invalid.xml",
            {},
            r"template 'invalid.xml' rendered an invalid document: 4:\d+: ",
            id="invalid",
        ),
        pytest.param("syntax_error.xml", {}, "'syntax_error.xml' failed to render", id="syntax"),
        pytest.param("undefined.xml", {}, "'not_given' is undefined", id="undefined"),
        pytest.param("undefined.xml", {"not_given": ""}, "invalid document", id="empty-say"),
    ],
)
def test_template_errors(name: str, context: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message) as raised:
        Templates(TEMPLATES).render(name, **context)
    assert isinstance(raised.value, ValueError)


def test_a_template_declaring_another_encoding_is_never_garbled() -> None:
    """The rendered text is UTF-8 whatever the template declares: it is either read right or
    refused, never decoded twice ('café' -> 'cafÃ©')."""
    try:
        rendered = Templates(TEMPLATES).render("declared_latin1.xml", word="café")
    except TemplateError as exc:
        assert "declared_latin1.xml" in str(exc)
    else:
        assert said(etree.fromstring(rendered.body)) == ["café"]
