"""Signed state (callflow.server.state), the secret (callflow.server.settings) and access control
(callflow.server.access): shared key, HTTP Basic, IP allow-list with trusted proxies."""

from __future__ import annotations

import base64
import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2
import itsdangerous
import pytest
from lxml import etree
from replies import FALLBACK_TAG, said

from callflow import App, Callback, CallContext, ConfigurationError, Hangup, Response, Say, validate
from callflow.exceptions import InvalidState
from callflow.server.settings import OPENTACT_WEBHOOK_SOURCE, Settings
from callflow.server.state import STATE_PARAM, StateSigner

if TYPE_CHECKING:
    from conftest import ClientFactory, XmlReply


def callback_url(root: etree._Element) -> str:
    callback = root.find("Callback")
    assert callback is not None
    return str(callback.get("url"))


def state_app(
    secret: str = "test-secret", state: Any = None, **options: Any
) -> tuple[App, list[Any]]:
    """``/`` hands out a signed state for ``/step``; ``/step`` and ``/other`` say theirs."""
    app = App(secret=secret, **options)
    seen: list[Any] = []

    @app.flow("/")
    def start(call: CallContext) -> Response:
        given = state if state is not None else {"attempt": 1, "account": "0042"}
        return Response(Callback(url=call.url_for("step", state=given)))

    @app.flow("/step")
    def step(call: CallContext) -> Response:
        seen.append(call.state)
        return Response(Say(f"state {call.state!r}"), Hangup())

    @app.flow("/other")
    def other(call: CallContext) -> Response:
        seen.append(call.state)
        return Response(Say(f"other {call.state!r}"), Hangup())

    return app, seen


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)[STATE_PARAM][0]


@pytest.fixture
def security_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger="callflow")
    return caplog


# -- signed state ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({"attempt": 1, "account": "0042"}, id="object"),
        pytest.param(["a", 1, True, None], id="list"),
        pytest.param("text with spaces & <xml>", id="string"),
        pytest.param(0, id="zero"),
        pytest.param({"nested": {"deep": [1.5, "é"]}}, id="nested-unicode"),
    ],
)
def test_signed_state_round_trips(
    client_for: ClientFactory, xml_reply: XmlReply, state: Any
) -> None:
    app, seen = state_app(state=state)
    client = client_for(app)
    url = callback_url(xml_reply(client.get("/", params={"call": "c-1"})))
    xml_reply(client.get(url + "&from=%2B15550100999&call=c-1"))
    assert seen == [state]


def test_the_signed_state_is_not_readable_meta(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret")
    metas: list[dict[str, str]] = []

    @app.flow("/")
    def start(call: CallContext) -> Response:
        metas.append(call.meta)
        return Response(Callback(url=call.url_for("start", state=1)))

    client = client_for(app)
    url = callback_url(xml_reply(client.get("/?call=c")))
    xml_reply(client.get(url + "&call=c"))  # Opentact appends the call uuid (D9)
    assert metas == [{}, {}]


def tamper_signature(token: str) -> str:
    # The first character of the signature: every one of its bits counts (the last one of
    # a base64 text may only carry padding bits, which decoders ignore).
    head, _, signature = token.rpartition(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{head}.{first}{signature[1:]}"


def tamper_payload(token: str) -> str:
    payload, _, rest = token.partition(".")
    forged = base64.urlsafe_b64encode(b'{"p":"/step","s":{"attempt":9}}').rstrip(b"=").decode()
    assert forged != payload
    return forged + "." + rest


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(tamper_signature, id="signature-changed"),
        pytest.param(tamper_payload, id="payload-changed"),
        pytest.param(lambda token: token + "x", id="appended"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
        pytest.param(lambda token: "", id="empty"),
        pytest.param(
            lambda token: StateSigner("another-secret").sign({"attempt": 9}, "/step"),
            id="signed-with-another-secret",
        ),
    ],
)
def test_a_tampered_state_token_gets_403(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    security_logs: pytest.LogCaptureFixture,
    tamper: Any,
) -> None:
    app, seen = state_app()
    client = client_for(app)
    token = token_of(callback_url(xml_reply(client.get("/"))))
    reply = client.get(f"/step?{STATE_PARAM}={quote(tamper(token))}&call=c-5")
    assert reply.status_code == 403
    assert reply.text == "forbidden: state token signature is invalid"
    assert seen == []
    messages = [r.getMessage() for r in security_logs.records]
    assert any("/step" in m and "signature is invalid" in m and "c-5" in m for m in messages)


class FrozenTime:
    """Stands in for itsdangerous' clock (whole seconds since the epoch)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_700_000_000
        monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda signer: self.now)


def test_an_expired_state_token_gets_403(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    security_logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FrozenTime(monkeypatch)
    app, seen = state_app(state_ttl_s=60)
    client = client_for(app)
    url = callback_url(xml_reply(client.get("/")))
    clock.now += 60
    xml_reply(client.get(url))  # still valid at exactly the ttl
    clock.now += 1
    reply = client.get(url)
    assert reply.status_code == 403
    assert reply.text == "forbidden: state token expired"
    assert len(seen) == 1
    assert any("state token expired" in r.getMessage() for r in security_logs.records)


def test_a_state_token_from_the_future_gets_403(
    client_for: ClientFactory, xml_reply: XmlReply, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenTime(monkeypatch)
    app, _ = state_app()
    client = client_for(app)
    url = callback_url(xml_reply(client.get("/")))
    clock.now -= 10
    assert client.get(url).status_code == 403


def test_a_state_token_for_another_path_gets_403(
    client_for: ClientFactory, xml_reply: XmlReply, security_logs: pytest.LogCaptureFixture
) -> None:
    app, seen = state_app()
    client = client_for(app)
    token = token_of(callback_url(xml_reply(client.get("/"))))
    reply = client.get(f"/other?{STATE_PARAM}={token}")
    assert reply.status_code == 403
    assert reply.text == "forbidden: state token was issued for another path"
    assert seen == []
    assert any("another path" in r.getMessage() for r in security_logs.records)


@pytest.mark.parametrize(
    "appended",
    [
        pytest.param("&call=c-B", id="another-call"),
        pytest.param("", id="no-call"),
    ],
)
def test_a_state_token_for_another_call_gets_403(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    security_logs: pytest.LogCaptureFixture,
    appended: str,
) -> None:
    app, seen = state_app()
    client = client_for(app)
    url = callback_url(xml_reply(client.get("/", params={"call": "c-A"})))
    reply = client.get(url + appended)
    assert reply.status_code == 403
    assert reply.text == "forbidden: state token was issued for another call"
    assert seen == []
    assert any("another call" in r.getMessage() for r in security_logs.records)
    # The call it was issued for gets its state.
    xml_reply(client.get(url + "&call=c-A"))
    assert seen == [{"attempt": 1, "account": "0042"}]


def test_a_state_token_issued_without_a_call_uuid_is_bound_to_no_call(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app, seen = state_app()
    client = client_for(app)
    url = callback_url(xml_reply(client.get("/")))
    xml_reply(client.get(url + "&call=c-later"))
    assert seen == [{"attempt": 1, "account": "0042"}]


def test_an_old_secret_still_verifies_after_rotation(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    before, _ = state_app(secret="old-secret")
    url = callback_url(xml_reply(client_for(before).get("/")))
    path_and_query = url.removeprefix("http://testserver")

    rotated, seen = state_app(secret="new-secret", old_secrets=("older-secret", "old-secret"))
    xml_reply(client_for(rotated).get(path_and_query))
    assert seen == [{"attempt": 1, "account": "0042"}]

    # New tokens are signed with the new secret: an app knowing only that one accepts them.
    new_url = callback_url(xml_reply(client_for(rotated).get("/")))
    only_new, seen_new = state_app(secret="new-secret")
    xml_reply(client_for(only_new).get(new_url.removeprefix("http://testserver")))
    assert len(seen_new) == 1

    forgotten, _ = state_app(secret="new-secret")
    assert client_for(forgotten).get(path_and_query).status_code == 403


def test_old_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFLOW_SECRET", "new")
    monkeypatch.setenv("CALLFLOW_OLD_SECRETS", "a, b,,")
    settings = Settings.from_env()
    assert (settings.secret, settings.old_secrets) == ("new", ("a", "b"))
    token = StateSigner("a").sign([1], "/x")
    assert StateSigner("new", settings.old_secrets).verify(token, "/x") == [1]


@pytest.mark.callflow_expect_fallback
def test_state_that_is_not_json_gets_the_fallback(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app, _ = state_app(state={1, 2})
    root = xml_reply(client_for(app).get("/"))
    hangup = root.find("Hangup")
    assert hangup is not None and hangup.get("tag") == FALLBACK_TAG


def test_state_signer_unit() -> None:
    signer = StateSigner("k", max_age_s=10)
    token = signer.sign({"a": [1, 2]}, "/p")
    assert signer.verify(token, "/p") == {"a": [1, 2]}
    with pytest.raises(InvalidState, match="another path") as raised:
        signer.verify(token, "/q")
    assert raised.value.reason == "state token was issued for another path"
    with pytest.raises(InvalidState, match="signature is invalid"):
        StateSigner("other").verify(token, "/p")
    bound = signer.sign("s", "/p", "call-1")
    assert signer.verify(bound, "/p", "call-1") == "s"
    for other in ("call-2", None):
        with pytest.raises(InvalidState) as raised:
            signer.verify(bound, "/p", other)
        assert raised.value.reason == "state token was issued for another call"


# -- the secret --------------------------------------------------------------------------------


def test_production_without_a_secret_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="no secret configured"):
        App(mode="production")
    with pytest.raises(ConfigurationError, match="CALLFLOW_SECRET"):
        App(Settings(mode="production", secret=""))


def test_production_with_a_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFLOW_MODE", "production")
    monkeypatch.setenv("CALLFLOW_SECRET", PRODUCTION_SECRET)
    monkeypatch.setenv("CALLFLOW_ALLOWED_HOSTS", "ivr.example.com")
    app = App()
    assert (app.settings.mode, app.settings.secret) == ("production", PRODUCTION_SECRET)
    assert app.settings.allowed_hosts == ("ivr.example.com",)


PRODUCTION_SECRET = "s" * 32


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        pytest.param("s" * 31, "secret is 31 bytes: production mode needs at least 32", id="short"),
        pytest.param("   ", "secret must be a non-blank string", id="blank"),
    ],
)
def test_production_refuses_a_weak_secret(secret: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        App(mode="production", secret=secret, allowed_hosts=["ivr.example.com"])


def test_production_refuses_a_weak_old_secret() -> None:
    with pytest.raises(ConfigurationError, match="old_secrets is 5 bytes"):
        App(
            mode="production",
            secret=PRODUCTION_SECRET,
            old_secrets=["short"],
            base_url="https://ivr.example.com",
        )


def test_development_accepts_a_short_secret() -> None:
    assert App(secret="t").settings.secret == "t"


@pytest.mark.parametrize(
    "hosts",
    [
        pytest.param({}, id="neither"),
        pytest.param({"allowed_hosts": []}, id="empty-list"),
    ],
)
def test_production_needs_base_url_or_allowed_hosts(hosts: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="CALLFLOW_BASE_URL or CALLFLOW_ALLOWED_HOSTS"):
        App(mode="production", secret=PRODUCTION_SECRET, **hosts)


def test_production_starts_with_base_url_or_allowed_hosts() -> None:
    by_url = App(mode="production", secret=PRODUCTION_SECRET, base_url="https://ivr.example.com")
    by_host = App(mode="production", secret=PRODUCTION_SECRET, allowed_hosts=["*.example.com"])
    assert by_url.settings.base_url == "https://ivr.example.com"
    assert by_host.settings.allowed_hosts == ("*.example.com",)


def test_development_generates_a_secret_with_a_warning(
    caplog: pytest.LogCaptureFixture, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    caplog.set_level(logging.WARNING, logger="callflow")
    first, _ = state_app(secret="")
    second, seen = state_app(secret="")
    warnings = [
        r
        for r in caplog.records
        if r.name == "callflow" and r.levelno == logging.WARNING and "CALLFLOW_SECRET" in r.message
    ]
    assert len(warnings) == 2
    assert "temporary secret" in warnings[0].getMessage()
    assert first.settings.secret and second.settings.secret
    assert len(first.settings.secret) >= 32
    assert first.settings.secret != second.settings.secret
    # A token of one generated secret means nothing to an app with another (a restart).
    url = callback_url(xml_reply(client_for(first).get("/")))
    assert client_for(second).get(url.removeprefix("http://testserver")).status_code == 403
    assert seen == []


def test_a_configured_secret_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="callflow")
    App(secret="test-secret")
    assert caplog.records == []


# -- access control ----------------------------------------------------------------------------


def guarded_app(**options: Any) -> App:
    app = App(secret="test-secret", **options)

    @app.flow("/")
    def start(call: CallContext) -> Response:
        return Response(Callback(url=call.url_for("step", state=1)))

    @app.flow("/step")
    def step(call: CallContext) -> Response:
        return Response(Say(f"step meta {sorted(call.meta)}"), Hangup())

    @app.on_event("*")
    def event(event: object) -> None:
        return None

    return app


def test_everything_is_open_by_default(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    client = client_for(guarded_app(), client=("203.0.113.9", 1))
    xml_reply(client.get("/"))
    assert client.post("/events", json={"type": "call_state"}).status_code == 204


def test_access_key(
    client_for: ClientFactory, xml_reply: XmlReply, security_logs: pytest.LogCaptureFixture
) -> None:
    client = client_for(guarded_app(access_key="k-123"))
    missing = client.get("/")
    assert missing.status_code == 401
    assert missing.text == "unauthorized: the 'token' key is missing"
    wrong = client.get("/?token=k-12")
    assert wrong.status_code == 403
    assert wrong.text == "forbidden: wrong access key"
    url = callback_url(xml_reply(client.get("/?token=k-123")))
    # url_for carries the key, so Opentact's next request is let in too.
    assert parse_qs(urlsplit(url).query)["token"] == ["k-123"]
    assert said(xml_reply(client.get(url))) == ["step meta []"]
    messages = [r.getMessage() for r in security_logs.records if r.name == "callflow.server.access"]
    assert messages == [
        "rejected GET /: missing access key",
        "rejected GET /: wrong access key",
    ]


def test_access_key_guards_events_and_hosted_documents(
    tmp_path: Path, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    (tmp_path / "hours.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup/></Response>'
    )
    app = guarded_app(access_key="k-123", access_key_param="key")
    app.documents(tmp_path)
    client = client_for(app)
    assert client.post("/events", json={"type": "call_state"}).status_code == 401
    assert client.post("/events?key=k-123", json={"type": "call_state"}).status_code == 204
    assert client.get("/events?key=nope").status_code == 403
    assert client.get("/hours.xml").status_code == 401
    xml_reply(client.get("/hours.xml?key=k-123"))
    assert client.get("/healthz").status_code == 200  # health checks need no key


def test_path_only_urls_carry_the_access_key(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    app = App(secret="test-secret", access_key="k-123")

    @app.flow("/")
    def start(call: CallContext) -> Response:
        return Response(Callback(url="/step"))

    @app.flow("/step")
    def step(call: CallContext) -> Response:
        return Response(Hangup())

    client = client_for(app)
    for query in ("", "&call=c-1"):
        url = callback_url(xml_reply(client.get(f"/?token=k-123{query}")))
        assert url == "http://testserver/step?token=k-123"
        xml_reply(client.get(url + query))
    # A session key callflow did not issue is dropped; the access key goes on.
    url = callback_url(xml_reply(client.get("/?token=k-123&cf_session=s-1")))
    assert url == "http://testserver/step?token=k-123"
    xml_reply(client.get(url))
    assert client.get("/step").status_code == 401


def test_path_only_urls_in_hosted_documents_carry_the_access_key(
    tmp_path: Path, client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    (tmp_path / "next.xml").write_bytes(
        b'<Response><Play>/media/a.mp3</Play><Callback url="/step?x=1"/></Response>'
    )
    app = App(secret="test-secret", access_key="k-123")
    app.documents(tmp_path)
    root = xml_reply(client_for(app).get("/next.xml?token=k-123"))
    assert [play.text for play in root.iter("Play")] == [
        "http://testserver/media/a.mp3?token=k-123"
    ]
    assert callback_url(root) == "http://testserver/step?x=1&token=k-123"


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {encoded}"}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param(basic("opentact", "wrong"), id="wrong-password"),
        pytest.param(basic("someone", "s3:cret"), id="wrong-user"),
        pytest.param({"authorization": "Bearer abc"}, id="other-scheme"),
        pytest.param({"authorization": "Basic"}, id="no-credentials"),
        pytest.param({"authorization": "Basic !!!"}, id="not-base64"),
        pytest.param(
            {"authorization": "Basic " + base64.b64encode(b"no-colon").decode()}, id="no-colon"
        ),
        pytest.param(
            {"authorization": "Basic " + base64.b64encode(b"\xff:\xfe").decode()},
            id="not-utf8",
        ),
    ],
)
def test_basic_auth_refuses_with_a_challenge(
    client_for: ClientFactory, headers: dict[str, str]
) -> None:
    client = client_for(guarded_app(basic_auth=("opentact", "s3:cret")))
    reply = client.get("/", headers=headers)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == 'Basic realm="callflow"'
    assert reply.text.startswith("unauthorized: ")


def test_basic_auth_lets_the_right_credentials_in(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    client = client_for(guarded_app(basic_auth=("opentact", "s3:cret")))
    xml_reply(client.get("/", headers=basic("opentact", "s3:cret")))
    xml_reply(client.get("/", auth=("opentact", "s3:cret")))
    assert client.post("/events", json={}).status_code == 401
    assert client.post("/events", json={}, auth=("opentact", "s3:cret")).status_code == 204


def test_basic_auth_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLFLOW_BASIC_AUTH", "opentact:s3:cret")
    assert Settings.from_env().basic_auth == ("opentact", "s3:cret")
    monkeypatch.setenv("CALLFLOW_BASIC_AUTH", "no-password-separator")
    with pytest.raises(ConfigurationError, match="user:password"):
        Settings.from_env()


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "status"),
    [
        pytest.param(OPENTACT_WEBHOOK_SOURCE, None, (), 200, id="allowed-peer"),
        pytest.param("203.0.113.9", None, (), 403, id="other-peer"),
        pytest.param("testclient", None, (), 403, id="peer-not-an-address"),
        pytest.param(
            "203.0.113.9", OPENTACT_WEBHOOK_SOURCE, (), 403, id="forwarded-for-ignored-untrusted"
        ),
        pytest.param(
            "10.0.0.5", OPENTACT_WEBHOOK_SOURCE, ("10.0.0.0/8",), 200, id="via-trusted-proxy"
        ),
        pytest.param(
            "10.0.0.5",
            f"198.51.100.7, {OPENTACT_WEBHOOK_SOURCE}, 10.0.0.9",
            ("10.0.0.0/8",),
            200,
            id="rightmost-untrusted-hop",
        ),
        pytest.param(
            "10.0.0.5",
            f"{OPENTACT_WEBHOOK_SOURCE}, 198.51.100.7",
            ("10.0.0.0/8",),
            403,
            id="forged-leftmost-hop",
        ),
        pytest.param("10.0.0.5", None, ("10.0.0.0/8",), 403, id="trusted-proxy-without-header"),
        pytest.param("10.0.0.5", "10.0.0.9", ("10.0.0.0/8",), 403, id="only-trusted-hops"),
        pytest.param(
            "203.0.113.9",
            OPENTACT_WEBHOOK_SOURCE,
            ("10.0.0.0/8",),
            403,
            id="forwarded-for-from-untrusted-peer",
        ),
    ],
)
def test_allowed_ips(
    client_for: ClientFactory,
    xml_reply: XmlReply,
    security_logs: pytest.LogCaptureFixture,
    peer: str,
    forwarded_for: str | None,
    trusted: tuple[str, ...],
    status: int,
) -> None:
    app = guarded_app(allowed_ips=[OPENTACT_WEBHOOK_SOURCE], trusted_proxies=list(trusted))
    client = client_for(app, client=(peer, 5060))
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for is not None else {}
    reply = client.get("/", headers=headers)
    assert reply.status_code == status
    if status == 200:
        xml_reply(reply)
    else:
        assert reply.text == "forbidden: source address not allowed"
        assert any("not allowed" in r.getMessage() for r in security_logs.records)
    events = client.post("/events", json={"type": "call_state"}, headers=headers)
    assert events.status_code == (204 if status == 200 else 403)


def test_settings_built_directly_accept_address_strings(
    client_for: ClientFactory, xml_reply: XmlReply
) -> None:
    settings = Settings(
        secret="test-secret",
        allowed_ips=[OPENTACT_WEBHOOK_SOURCE],  # type: ignore[arg-type]
        trusted_proxies=["10.0.0.0/8"],  # type: ignore[arg-type]
    )
    assert settings.allowed_ips == (ipaddress.ip_network(OPENTACT_WEBHOOK_SOURCE),)
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"),)
    app = App(settings)
    app.flow("/", name="start")(lambda call: Response(Hangup()))
    client = client_for(app, client=(OPENTACT_WEBHOOK_SOURCE, 1), raise_server_exceptions=False)
    xml_reply(client.get("/"))
    other = client_for(app, client=("192.0.2.1", 1), raise_server_exceptions=False)
    assert other.get("/").status_code == 403


def test_settings_built_directly_refuse_a_malformed_address() -> None:
    with pytest.raises(ConfigurationError, match="allowed_ips: 'nope' is not an IP address"):
        Settings(secret="test-secret", allowed_ips=["nope"])  # type: ignore[arg-type]


def test_allowed_networks(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = guarded_app(allowed_ips=["192.0.2.0/24", "2001:db8::/32"])
    xml_reply(client_for(app, client=("192.0.2.77", 1)).get("/"))
    xml_reply(client_for(app, client=("2001:db8::1", 1)).get("/"))
    assert client_for(app, client=("192.0.3.1", 1)).get("/").status_code == 403


def test_all_checks_together(client_for: ClientFactory, xml_reply: XmlReply) -> None:
    app = guarded_app(
        allowed_ips=[OPENTACT_WEBHOOK_SOURCE], access_key="k-123", basic_auth=("u", "p")
    )
    outsider = client_for(app, client=("203.0.113.9", 1))
    assert outsider.get("/?token=k-123", auth=("u", "p")).status_code == 403
    opentact = client_for(app, client=(OPENTACT_WEBHOOK_SOURCE, 1))
    assert opentact.get("/", auth=("u", "p")).status_code == 401
    assert opentact.get("/?token=k-123").status_code == 401
    url = callback_url(xml_reply(opentact.get("/?token=k-123", auth=("u", "p"))))
    xml_reply(opentact.get(url, auth=("u", "p")))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_allowed_ips_over_an_asgi_transport() -> None:
    app = guarded_app(allowed_ips=[OPENTACT_WEBHOOK_SOURCE])
    for peer, status in ((OPENTACT_WEBHOOK_SOURCE, 200), ("198.51.100.1", 403)):
        transport = httpx2.ASGITransport(app=app, client=(peer, 5060))
        async with httpx2.AsyncClient(transport=transport, base_url="https://ivr.test") as client:
            reply = await client.get("/", params={"from": "15550100999"})
        assert reply.status_code == status
        if status == 200:
            assert validate(reply.content, strict=True) == []
            url = callback_url(etree.fromstring(reply.content))
            assert url.startswith("https://ivr.test/step?")
