"""Proxy headers and the request's host (callflow.server.forwarded): who calls, and which URL."""

from __future__ import annotations

from typing import Any

import pytest

from callflow.exceptions import BadRequest
from callflow.server.forwarded import Origin, base_url, header_bytes, resolve
from callflow.server.settings import Settings, networks

PROXY = "10.0.0.1"
"""The direct peer of most requests here: inside ``trusted_proxies``."""
HOST = "ivr.example.com"

BEHIND_PROXIES = Settings(trusted_proxies=networks(["10.0.0.0/8", "2001:db8:ffff::/48"]))
DIRECT = Settings()

Header = tuple[str, str]


def scope(
    *headers: Header,
    host: str | None = HOST,
    client: tuple[str, int] | None = (PROXY, 5000),
    server: tuple[str, int | None] | None = ("127.0.0.1", 8000),
    **extra: Any,
) -> dict[str, Any]:
    """An HTTP scope as an ASGI server builds it; ``host=None`` sends no Host header."""
    fields = [(b"host", host.encode("latin-1"))] if host is not None else []
    fields += [(name.lower().encode(), value.encode("latin-1")) for name, value in headers]
    made: dict[str, Any] = {
        "type": "http",
        "headers": fields,
        "client": client,
        "scheme": "http",
        "server": server,
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
    }
    made.update(extra)
    return made


def rejected(request: dict[str, Any], settings: Settings) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        resolve(request, settings)
    assert caught.value.status == 400
    return caught.value


# -- who may speak for the client ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("x-forwarded-for", "6.6.6.6")], id="x-forwarded-for"),
        pytest.param([("x-forwarded-proto", "https")], id="x-forwarded-proto"),
        pytest.param([("x-forwarded-host", "evil.example.com")], id="x-forwarded-host"),
        pytest.param(
            [("forwarded", "for=6.6.6.6;proto=https;host=evil.example.com")], id="forwarded"
        ),
        pytest.param([("forwarded", 'for="unterminated')], id="malformed-forwarded"),
        pytest.param([("x-forwarded-proto", "ftp")], id="bad-forwarded-scheme"),
        pytest.param([("x-forwarded-host", "a b")], id="bad-forwarded-host"),
    ],
)
@pytest.mark.parametrize(
    ("peer", "settings"),
    [
        pytest.param("203.0.113.9", BEHIND_PROXIES, id="peer-not-a-trusted-proxy"),
        pytest.param(PROXY, DIRECT, id="no-trusted-proxies"),
        pytest.param("testclient", BEHIND_PROXIES, id="peer-not-an-address"),
    ],
)
def test_proxy_headers_from_an_untrusted_peer_are_ignored(
    headers: list[Header], peer: str, settings: Settings
) -> None:
    origin = resolve(scope(*headers, client=(peer, 5000)), settings)
    assert origin == Origin(peer, "http", HOST)


def test_a_request_without_a_peer_has_no_client_and_trusts_no_header() -> None:
    origin = resolve(scope(("x-forwarded-for", "1.2.3.4"), client=None), BEHIND_PROXIES)
    assert origin == Origin("", "http", HOST)


def test_without_proxy_headers_a_trusted_peer_is_the_client() -> None:
    assert resolve(scope(), BEHIND_PROXIES) == Origin(PROXY, "http", HOST)


# -- X-Forwarded-For ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "client"),
    [
        pytest.param([("x-forwarded-for", "1.2.3.4")], "1.2.3.4", id="one-hop"),
        pytest.param(
            [("x-forwarded-for", "6.6.6.6, 1.2.3.4")], "1.2.3.4", id="left-most-is-spoofable"
        ),
        pytest.param(
            [("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.3, 10.0.0.2")],
            "1.2.3.4",
            id="several-trusted-hops",
        ),
        pytest.param(
            [("x-forwarded-for", "10.0.0.4, 10.0.0.3, 10.0.0.2")],
            "10.0.0.4",
            id="all-hops-trusted-left-most",
        ),
        pytest.param([("x-forwarded-for", "2001:db8::7")], "2001:db8::7", id="ipv6"),
        pytest.param(
            [("x-forwarded-for", "6.6.6.6, 2001:db8::7, 2001:db8:ffff::1")],
            "2001:db8::7",
            id="ipv6-trusted-hop",
        ),
        pytest.param(
            [("x-forwarded-for", "[2001:db8::7]:4711")], "2001:db8::7", id="ipv6-with-port"
        ),
        pytest.param([("x-forwarded-for", "1.2.3.4:5678")], "1.2.3.4", id="ipv4-with-port"),
        pytest.param(
            [("x-forwarded-for", "1.2.3.4, 10.0.0.2:80")],
            "1.2.3.4",
            id="trusted-hop-with-port",
        ),
        pytest.param(
            [("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "1.2.3.4, 10.0.0.2")],
            "1.2.3.4",
            id="two-header-lines",
        ),
        pytest.param(
            [("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", "10.0.0.2")],
            "1.2.3.4",
            id="second-line-is-nearer",
        ),
        pytest.param([("x-forwarded-for", "1.2.3.4, , 10.0.0.2,")], "1.2.3.4", id="empty-entries"),
        pytest.param([("x-forwarded-for", "  1.2.3.4  ")], "1.2.3.4", id="spaces"),
        pytest.param(
            [("x-forwarded-for", "6.6.6.6, garbage")],
            "garbage",
            id="garbage-right-most-stops-the-walk",
        ),
        pytest.param(
            [("x-forwarded-for", "garbage, 1.2.3.4, 10.0.0.2")],
            "1.2.3.4",
            id="garbage-left-is-ignored",
        ),
        pytest.param([("x-forwarded-for", "")], PROXY, id="empty-header-is-the-peer"),
    ],
)
def test_x_forwarded_for_gives_the_right_most_untrusted_hop(
    headers: list[Header], client: str
) -> None:
    origin = resolve(scope(*headers), BEHIND_PROXIES)
    assert origin == Origin(client, "http", HOST)


@pytest.mark.parametrize(
    ("headers", "scheme", "host"),
    [
        pytest.param(
            [("x-forwarded-for", "1.2.3.4, 10.0.0.2"), ("x-forwarded-proto", "https, http")],
            "https",
            HOST,
            id="proto-same-count-same-index",
        ),
        pytest.param(
            [
                ("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.0.0.2"),
                ("x-forwarded-proto", "http, https, http"),
            ],
            "https",
            HOST,
            id="proto-same-count-middle-index",
        ),
        pytest.param(
            [
                ("x-forwarded-for", "1.2.3.4, 10.0.0.2"),
                ("x-forwarded-host", "public.example.com, internal.local"),
            ],
            "http",
            "public.example.com",
            id="host-same-count-same-index",
        ),
        pytest.param(
            [("x-forwarded-for", "1.2.3.4, 10.0.0.2"), ("x-forwarded-proto", "https")],
            "https",
            HOST,
            id="proto-fewer-right-most",
        ),
        pytest.param(
            [
                ("x-forwarded-for", "1.2.3.4, 10.0.0.2"),
                ("x-forwarded-proto", "http, http, https"),
            ],
            "https",
            HOST,
            id="proto-more-right-most",
        ),
        pytest.param(
            [
                ("x-forwarded-for", "1.2.3.4, 10.0.0.2"),
                ("x-forwarded-host", "internal.local, internal.local, public.example.com"),
            ],
            "http",
            "public.example.com",
            id="host-more-right-most",
        ),
        pytest.param([("x-forwarded-proto", "https")], "https", HOST, id="proto-without-for"),
        pytest.param(
            [("x-forwarded-host", "public.example.com:8443")],
            "http",
            "public.example.com:8443",
            id="host-without-for-with-port",
        ),
        pytest.param([("x-forwarded-proto", "HTTPS")], "https", HOST, id="proto-upper-case"),
        pytest.param(
            [("x-forwarded-proto", "http"), ("x-forwarded-proto", "https")],
            "https",
            HOST,
            id="proto-two-header-lines",
        ),
        pytest.param([("x-forwarded-proto", "")], "http", HOST, id="empty-proto-is-ignored"),
    ],
)
def test_x_forwarded_proto_and_host_follow_the_clients_hop(
    headers: list[Header], scheme: str, host: str
) -> None:
    origin = resolve(scope(*headers), BEHIND_PROXIES)
    assert (origin.scheme, origin.host) == (scheme, host)


# -- RFC 7239 Forwarded -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        pytest.param([("forwarded", "for=1.2.3.4")], Origin("1.2.3.4", "http", HOST), id="for"),
        pytest.param(
            [("forwarded", 'for="1.2.3.4"')], Origin("1.2.3.4", "http", HOST), id="quoted"
        ),
        pytest.param(
            [("forwarded", 'for="1.2.3.4:4711"')],
            Origin("1.2.3.4", "http", HOST),
            id="ipv4-with-port",
        ),
        pytest.param(
            [("forwarded", 'for="[2001:db8::1]:4711"')],
            Origin("2001:db8::1", "http", HOST),
            id="ipv6-with-port",
        ),
        pytest.param(
            [("forwarded", 'for="[2001:db8::1]"')],
            Origin("2001:db8::1", "http", HOST),
            id="ipv6",
        ),
        pytest.param(
            [("forwarded", "for=1.2.3.4;proto=https")],
            Origin("1.2.3.4", "https", HOST),
            id="proto",
        ),
        pytest.param(
            [("forwarded", "for=1.2.3.4;host=public.example.com")],
            Origin("1.2.3.4", "http", "public.example.com"),
            id="host",
        ),
        pytest.param(
            [("forwarded", 'for=1.2.3.4;host="public.example.com:8443"')],
            Origin("1.2.3.4", "http", "public.example.com:8443"),
            id="quoted-host-with-port",
        ),
        pytest.param(
            [("forwarded", "for=6.6.6.6, for=1.2.3.4, for=10.0.0.2")],
            Origin("1.2.3.4", "http", HOST),
            id="several-elements",
        ),
        pytest.param(
            [("forwarded", "for=10.0.0.4, for=10.0.0.3")],
            Origin("10.0.0.4", "http", HOST),
            id="all-hops-trusted-left-most",
        ),
        pytest.param(
            [("forwarded", "for=6.6.6.6"), ("forwarded", "for=1.2.3.4;proto=https")],
            Origin("1.2.3.4", "https", HOST),
            id="several-header-lines",
        ),
        pytest.param(
            [
                (
                    "forwarded",
                    "for=1.2.3.4;proto=https;host=public.example.com, "
                    "for=10.0.0.2;proto=http;host=internal.local",
                )
            ],
            Origin("1.2.3.4", "https", "public.example.com"),
            id="proto-and-host-of-the-clients-element",
        ),
        pytest.param(
            [("forwarded", "For=1.2.3.4;PROTO=HTTPS;Host=public.example.com")],
            Origin("1.2.3.4", "https", "public.example.com"),
            id="case-of-keys",
        ),
        pytest.param(
            [("forwarded", "for=unknown")], Origin("unknown", "http", HOST), id="for-unknown"
        ),
        pytest.param(
            [("forwarded", "for=6.6.6.6, for=unknown")],
            Origin("unknown", "http", HOST),
            id="unknown-stops-the-walk",
        ),
        pytest.param(
            [("forwarded", "for=_hidden")], Origin("_hidden", "http", HOST), id="obfuscated"
        ),
        pytest.param(
            [("forwarded", 'for="_SEVKISEK"')],
            Origin("_SEVKISEK", "http", HOST),
            id="quoted-obfuscated",
        ),
        pytest.param(
            [("forwarded", r'for="_a\"b"')],
            Origin('_a"b', "http", HOST),
            id="quoted-pair",
        ),
        pytest.param(
            [("forwarded", "proto=https")],
            Origin(PROXY, "https", HOST),
            id="no-for-is-the-peer",
        ),
    ],
)
def test_forwarded_gives_the_right_most_untrusted_element(
    headers: list[Header], origin: Origin
) -> None:
    assert resolve(scope(*headers), BEHIND_PROXIES) == origin


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("for=1.2.3.4,", id="trailing-comma"),
        pytest.param("for=1.2.3.4, ", id="trailing-comma-and-space"),
    ],
)
def test_forwarded_ignores_an_empty_list_element(value: str) -> None:
    # RFC 7230 section 7: a recipient must accept and ignore empty list elements; an empty
    # element must not stand for a hop (it would make the trusted proxy the client).
    assert resolve(scope(("forwarded", value)), BEHIND_PROXIES).client == "1.2.3.4"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("for", id="no-equals"),
        pytest.param("=1.2.3.4", id="no-key"),
        pytest.param('for="1.2.3.4', id="unterminated-quote"),
        pytest.param('for=1.2.3.4"', id="stray-quote"),
        pytest.param('for="1.2.3.4"x', id="text-after-quote"),
        pytest.param("for=1.2.3.4 proto=https", id="space-separator"),
        pytest.param("for=1.2.3.4;;proto=https", id="empty-pair"),
        pytest.param("fo r=1.2.3.4", id="space-in-key"),
        pytest.param("(for)=1.2.3.4", id="key-not-a-token"),
    ],
)
def test_malformed_forwarded_from_a_trusted_proxy_is_a_bad_request(value: str) -> None:
    error = rejected(scope(("forwarded", value)), BEHIND_PROXIES)
    assert "Forwarded" in error.message


def test_forwarded_wins_over_x_forwarded_headers() -> None:
    request = scope(
        ("x-forwarded-for", "6.6.6.6"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example.com"),
        ("forwarded", "for=1.2.3.4"),
    )
    assert resolve(request, BEHIND_PROXIES) == Origin("1.2.3.4", "http", HOST)


def test_malformed_forwarded_is_rejected_even_beside_x_forwarded_for() -> None:
    request = scope(("x-forwarded-for", "1.2.3.4"), ("forwarded", "for"))
    rejected(request, BEHIND_PROXIES)


# -- the scheme ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("x-forwarded-proto", "ftp")], id="x-forwarded-proto-ftp"),
        pytest.param([("x-forwarded-proto", "javascript")], id="x-forwarded-proto-javascript"),
        pytest.param([("x-forwarded-proto", "https:")], id="x-forwarded-proto-colon"),
        pytest.param([("forwarded", "for=1.2.3.4;proto=ws")], id="forwarded-proto-ws"),
        pytest.param([("forwarded", "for=1.2.3.4;proto=")], id="forwarded-proto-empty"),
    ],
)
def test_a_forwarded_scheme_other_than_http_or_https_is_a_bad_request(
    headers: list[Header],
) -> None:
    error = rejected(scope(*headers), BEHIND_PROXIES)
    assert "scheme" in error.message


def test_the_scope_scheme_is_kept_without_forwarded_headers() -> None:
    assert resolve(scope(scheme="https"), DIRECT).scheme == "https"


# -- the host -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kept"),
    [
        pytest.param("ivr.example.com", "ivr.example.com", id="name"),
        pytest.param("localhost", "localhost", id="single-label"),
        pytest.param("IVR.Example.COM", "IVR.Example.COM", id="case-kept"),
        pytest.param("ivr.example.com:8443", "ivr.example.com:8443", id="name-and-port"),
        pytest.param("ivr.example.com.", "ivr.example.com.", id="trailing-dot"),
        pytest.param("my_host-1.example.com", "my_host-1.example.com", id="underscore-hyphen"),
        pytest.param("127.0.0.1", "127.0.0.1", id="ipv4"),
        pytest.param("127.0.0.1:8000", "127.0.0.1:8000", id="ipv4-and-port"),
        pytest.param("[::1]", "[::1]", id="ipv6"),
        pytest.param("[::1]:8080", "[::1]:8080", id="ipv6-and-port"),
        pytest.param("[2001:db8::1]:443", "[2001:db8::1]:443", id="ipv6-long"),
        pytest.param("h:65535", "h:65535", id="highest-port"),
        pytest.param(" ivr.example.com ", "ivr.example.com", id="spaces-stripped"),
    ],
)
def test_a_well_formed_host_is_kept(host: str, kept: str) -> None:
    assert resolve(scope(host=host), DIRECT).host == kept


BAD_HOSTS = [
    pytest.param("a b", id="space"),
    pytest.param("host:port:x", id="two-colons"),
    pytest.param("::1", id="unbracketed-ipv6"),
    pytest.param("[::1", id="unclosed-bracket"),
    pytest.param("[::1]x", id="text-after-bracket"),
    pytest.param("h:99999", id="port-too-large"),
    pytest.param("h:65536", id="port-just-too-large"),
    pytest.param("h:", id="empty-port"),
    pytest.param("h:-1", id="negative-port"),
    pytest.param("h:123456", id="six-digit-port"),
    pytest.param(":8080", id="port-only"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\x1bb", id="escape"),
    pytest.param("a\x7fb", id="del"),
    pytest.param("a\x85b", id="c1"),
    pytest.param("a/b", id="slash"),
    pytest.param("user@host", id="userinfo"),
    pytest.param("h?x", id="query"),
    pytest.param("\xe9.example.com", id="non-ascii"),
]


@pytest.mark.parametrize(
    "host", [*BAD_HOSTS, pytest.param("", id="empty"), pytest.param("   ", id="blank")]
)
def test_a_malformed_host_header_is_a_bad_request(host: str) -> None:
    error = rejected(scope(host=host), DIRECT)
    assert "Host" in error.message


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_a_malformed_forwarded_host_is_a_bad_request(host: str) -> None:
    rejected(scope(("x-forwarded-host", host)), BEHIND_PROXIES)
    quoted = host.replace("\\", "\\\\").replace('"', '\\"')
    rejected(scope(("forwarded", f'for=1.2.3.4;host="{quoted}"')), BEHIND_PROXIES)


def test_an_empty_forwarded_host_is_a_bad_request() -> None:
    rejected(scope(("forwarded", 'for=1.2.3.4;host=""')), BEHIND_PROXIES)


@pytest.mark.parametrize(
    "second",
    [pytest.param(HOST, id="same-value"), pytest.param("other.example.com", id="other-value")],
)
def test_two_host_headers_are_a_bad_request(second: str) -> None:
    error = rejected(scope(("host", second)), DIRECT)
    assert "more than once" in error.message


@pytest.mark.parametrize(
    ("patterns", "host"),
    [
        pytest.param(("*.example.com",), "a.example.com", id="wildcard-subdomain"),
        pytest.param(("*.example.com",), "a.b.example.com", id="wildcard-deeper"),
        pytest.param(("*.example.com",), "A.Example.COM", id="wildcard-case"),
        pytest.param(("*.EXAMPLE.com",), "a.example.com", id="pattern-case"),
        pytest.param(("*",), "anything.test", id="star-any-name"),
        pytest.param(("*",), "127.0.0.1:8000", id="star-any-address"),
        pytest.param(("ivr.example.com",), "IVR.example.com", id="exact-case-insensitive"),
        pytest.param(("ivr.example.com",), "ivr.example.com:8443", id="port-ignored"),
        pytest.param(("ivr.example.com",), "ivr.example.com.", id="trailing-dot-host"),
        pytest.param(("ivr.example.com.",), "ivr.example.com", id="trailing-dot-pattern"),
        pytest.param(("ivr.example.com",), "ivr.example.com.:8443", id="trailing-dot-and-port"),
        pytest.param(("127.0.0.1",), "127.0.0.1:8000", id="ipv4"),
        pytest.param(("[::1]",), "[::1]:8080", id="ipv6"),
        pytest.param(("other.test", "ivr.example.com"), "ivr.example.com", id="second-pattern"),
    ],
)
def test_an_allowed_host_is_kept(patterns: tuple[str, ...], host: str) -> None:
    settings = Settings(allowed_hosts=patterns)
    assert resolve(scope(host=host), settings).host == host


@pytest.mark.parametrize(
    ("patterns", "host"),
    [
        pytest.param(("*.example.com",), "example.com", id="wildcard-not-the-domain"),
        pytest.param(("*.example.com",), "badexample.com", id="wildcard-not-a-suffix"),
        pytest.param(("*.example.com",), "a.example.com.evil.test", id="wildcard-not-a-prefix"),
        pytest.param(("ivr.example.com",), "other.example.com", id="exact-other-name"),
        pytest.param(("ivr.example.com",), "a.ivr.example.com", id="exact-no-subdomain"),
        pytest.param(("ivr.example.com",), "127.0.0.1", id="exact-not-an-address"),
        pytest.param(("[::1]",), "[::2]:8080", id="other-ipv6"),
    ],
)
def test_a_host_outside_allowed_hosts_is_a_bad_request(
    patterns: tuple[str, ...], host: str
) -> None:
    error = rejected(scope(host=host), Settings(allowed_hosts=patterns))
    assert "not allowed" in error.message


def test_allowed_hosts_check_the_forwarded_host_not_the_host_header() -> None:
    settings = Settings(
        trusted_proxies=networks(["10.0.0.0/8"]), allowed_hosts=("public.example.com",)
    )
    good = scope(("x-forwarded-host", "public.example.com"), host="internal.local")
    assert resolve(good, settings).host == "public.example.com"
    rejected(scope(("x-forwarded-host", "evil.example.com"), host="public.example.com"), settings)
    rejected(scope(("forwarded", "for=1.2.3.4;host=evil.example.com")), settings)


@pytest.mark.parametrize(
    ("server", "host"),
    [
        pytest.param(("127.0.0.1", 8000), "127.0.0.1:8000", id="server-address"),
        pytest.param(None, "localhost", id="no-server"),
        # Bugs: the server's IPv6 address is not bracketed, a Unix socket has no port.
        pytest.param(("::1", 8000), "[::1]:8000", id="ipv6-server-bracketed"),
        pytest.param(("/run/callflow.sock", None), "localhost", id="unix-socket"),
    ],
)
def test_a_missing_host_is_the_servers_address(
    server: tuple[str, int | None] | None, host: str
) -> None:
    assert resolve(scope(host=None, server=server), DIRECT).host == host


def test_a_missing_host_is_a_bad_request_with_allowed_hosts() -> None:
    error = rejected(scope(host=None), Settings(allowed_hosts=("*",)))
    assert "missing Host" in error.message


def test_a_trusted_forwarded_host_stands_in_for_a_missing_host() -> None:
    request = scope(("x-forwarded-host", "public.example.com"), host=None)
    assert resolve(request, BEHIND_PROXIES).host == "public.example.com"


# -- sizes and URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_scope", "size"),
    [
        pytest.param(
            {"raw_path": b"/menu", "query_string": b"a=1", "headers": [(b"host", b"x")]},
            5 + 3 + (4 + 1 + 4),
            id="path-query-header",
        ),
        pytest.param(
            {
                "raw_path": b"/",
                "query_string": b"",
                "headers": [(b"host", b"ivr.example.com"), (b"x-a", b"")],
            },
            1 + (4 + 15 + 4) + (3 + 0 + 4),
            id="two-headers",
        ),
        pytest.param({"raw_path": None, "query_string": None, "headers": []}, 0, id="none"),
        pytest.param({}, 0, id="empty-scope"),
    ],
)
def test_header_bytes_counts_target_and_fields(request_scope: dict[str, Any], size: int) -> None:
    assert header_bytes(request_scope) == size


ORIGIN = Origin("1.2.3.4", "https", "ivr.example.com:8443")


@pytest.mark.parametrize(
    ("configured", "extra", "url"),
    [
        pytest.param("https://ivr.example.com", {}, "https://ivr.example.com", id="configured"),
        pytest.param(
            "https://ivr.example.com/", {}, "https://ivr.example.com", id="configured-slash"
        ),
        pytest.param(
            "https://ivr.example.com/app//",
            {"root_path": "/ignored"},
            "https://ivr.example.com/app",
            id="configured-wins-over-root-path",
        ),
        pytest.param(None, {}, "https://ivr.example.com:8443", id="from-origin"),
        pytest.param("", {}, "https://ivr.example.com:8443", id="empty-configured"),
        pytest.param(
            None, {"root_path": "/app"}, "https://ivr.example.com:8443/app", id="root-path"
        ),
        pytest.param(
            None,
            {"root_path": "/app/"},
            "https://ivr.example.com:8443/app",
            id="root-path-slash",
        ),
        pytest.param(None, {"root_path": ""}, "https://ivr.example.com:8443", id="root-empty"),
    ],
)
def test_base_url(configured: str | None, extra: dict[str, Any], url: str) -> None:
    assert base_url(ORIGIN, scope(**extra), configured) == url


def test_base_url_of_a_request_through_a_proxy() -> None:
    request = scope(
        ("forwarded", "for=1.2.3.4;proto=https;host=public.example.com"), root_path="/ivr"
    )
    origin = resolve(request, BEHIND_PROXIES)
    assert base_url(origin, request, None) == "https://public.example.com/ivr"
