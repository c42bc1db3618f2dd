"""Who is calling and which host they asked for: the one rule for proxy headers.

``X-Forwarded-For``, ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and RFC 7239 ``Forwarded``
count only when the direct peer is one of ``trusted_proxies``. Behind trusted proxies the
client is the right-most address of the chain that is not itself a trusted proxy: the
left-most entries are whatever the caller wrote. The host a request names (``Host`` or a
trusted forwarded host) must be well formed, and one of ``allowed_hosts`` when that is set.

The same :class:`Origin` feeds the IP allow-list, the access log's client field and
``url_for``; ``callflow serve`` turns the HTTP server's own proxy-header handling off, so
nothing rewrites the client before this rule runs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Scope

from callflow.exceptions import BadRequest
from callflow.server.settings import Network, Settings, host_allowed

# A Host value: a DNS name or IPv4 address (RFC 3986 reg-name, narrowed to what DNS allows),
# or a bracketed IPv6 address, and an optional port. No nested quantifiers: linear.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")
# One RFC 7239 forwarded-pair: token "=" ( token / quoted-string ).
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)=("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*')

ORIGIN = "callflow.origin"
"""Key of the request's checked :class:`Origin` in ``scope["state"]``."""

_HEAD_FIELDS = (
    b"host",
    b"forwarded",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request comes from and which public URL it was sent to."""

    client: str
    """The client's address ("" when unknown)."""
    scheme: str
    """``http`` or ``https``, as the client used it."""
    host: str
    """The host, with its port when one was given (``ivr.example.com:8443``)."""


def header_bytes(scope: Scope) -> int:
    """Size of the request line's target and the header fields, as sent."""
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4
    return size


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    """Whether ``address`` (an IP address as text) is in one of ``networks``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _node_address(node: str) -> str:
    """The address of an RFC 7239 node or an X-Forwarded-For entry, without a port."""
    node = node.strip()
    if node.startswith("["):
        end = node.find("]")
        return node[1:end] if end != -1 else node
    if node.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        return node.partition(":")[0]
    return node


def _parse_forwarded(values: Sequence[str]) -> list[dict[str, str]]:
    """Split ``Forwarded`` header values into their elements (one per hop), lower-case keys.

    Raises :class:`BadRequest` for text that is not RFC 7239 syntax.
    """
    elements: list[dict[str, str]] = []
    for value in values:
        position, end = 0, len(value)
        element: dict[str, str] = {}
        while position < end:
            match = _PAIR.match(value, position)
            if match is None:
                raise BadRequest(400, "malformed Forwarded header")
            raw = match.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            element[match.group(1).lower()] = raw
            position = match.end()
            if position < end:
                separator = value[position]
                position += 1
                if separator == ",":
                    elements.append(element)
                    element = {}
                    # Empty list elements (`a, , b`, a trailing comma) are ignored (RFC 9110).
                    while position < end and value[position] in ", \t":
                        position += 1
                elif separator != ";":
                    raise BadRequest(400, "malformed Forwarded header")
        elements.append(element)
    return [element for element in elements if element]


def _split_list(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _pick(values: list[str], index: int, count: int) -> str | None:
    """The X-Forwarded-Proto/Host entry of the client's hop: the one at the client's index
    when each proxy appended one, else the right-most (written by the nearest proxy)."""
    if not values:
        return None
    return values[index] if len(values) == count else values[-1]


def resolve(scope: Scope, settings: Settings) -> Origin:
    """Return the :class:`Origin` of an HTTP ``scope``, or raise :class:`BadRequest` (400)
    for a malformed or not-allowed host, or malformed forwarded headers."""
    fields: dict[bytes, list[str]] = {}
    for name, value in scope.get("headers", ()):
        if name in _HEAD_FIELDS:
            fields.setdefault(name, []).append(value.decode("latin-1"))
    client_pair = scope.get("client")
    peer = str(client_pair[0]) if client_pair else ""
    scheme = str(scope.get("scheme", "http"))
    hosts = fields.get(b"host", [])
    if len(hosts) > 1:
        raise BadRequest(400, "malformed Host header: sent more than once")
    host: str | None = hosts[0].strip() if hosts else None
    client = peer
    trusted = settings.trusted_proxies
    if trusted and in_networks(peer, trusted):
        forwarded = fields.get(b"forwarded")
        if forwarded:
            elements = _parse_forwarded(forwarded)
            chosen = elements[0]
            for element in reversed(elements):
                chosen = element
                if not in_networks(_node_address(element.get("for", "")), trusted):
                    break
            client = _node_address(chosen.get("for", "")) or peer
            scheme = chosen.get("proto", scheme).lower()
            host = chosen.get("host", host)
        elif (
            b"x-forwarded-for" in fields
            or b"x-forwarded-proto" in fields
            or (b"x-forwarded-host" in fields)
        ):
            chain = _split_list(fields.get(b"x-forwarded-for", []))
            index = 0
            for position in range(len(chain) - 1, -1, -1):
                index = position
                if not in_networks(_node_address(chain[position]), trusted):
                    break
            if chain:
                client = _node_address(chain[index])
            protos = _split_list(fields.get(b"x-forwarded-proto", []))
            forwarded_hosts = _split_list(fields.get(b"x-forwarded-host", []))
            scheme = (_pick(protos, index, len(chain)) or scheme).lower()
            host = _pick(forwarded_hosts, index, len(chain)) or host
    if scheme not in ("http", "https"):
        raise BadRequest(400, "malformed forwarded scheme: expected http or https")
    if host is None:
        if settings.allowed_hosts:
            raise BadRequest(400, "missing Host header")
        host = _server_host(scope.get("server"))
    elif not _HOST.fullmatch(host) or _port_out_of_range(host):
        raise BadRequest(400, "malformed Host header")
    if settings.allowed_hosts:
        name = host.rpartition(":")[0] if _has_port(host) else host
        if not host_allowed(name.lower(), settings.allowed_hosts):
            raise BadRequest(400, f"host {name!r} is not allowed (see CALLFLOW_ALLOWED_HOSTS)")
    return Origin(client, scheme, host)


def _server_host(server: object) -> str:
    """The host of the listening socket, for a request without ``Host`` (HTTP/1.0)."""
    if not isinstance(server, tuple | list) or len(server) != 2 or server[1] is None:
        return "localhost"  # no server address, or a Unix socket
    address, port = str(server[0]), int(server[1])
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _has_port(host: str) -> bool:
    return host.rfind(":") > host.rfind("]")


def _port_out_of_range(host: str) -> bool:
    return _has_port(host) and int(host.rpartition(":")[2]) > 65535


def base_url(origin: Origin, scope: Scope, configured: str | None) -> str:
    """The public base URL (no trailing ``/``): ``configured`` when set, else built from the
    request's (checked) origin and the ASGI ``root_path``."""
    if configured:
        return configured.rstrip("/")
    root = str(scope.get("root_path", "")).rstrip("/")
    return f"{origin.scheme}://{origin.host}{root}"
