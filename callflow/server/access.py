"""Access control for the webhooks: shared key, HTTP Basic, IP allow-list (off by default).

Each check fails closed: when it is configured and the request does not satisfy it, the
request is rejected with 401 or 403 and a log line, before any flow runs.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from dataclasses import dataclass

from starlette.types import Scope

from callflow.server.forwarded import in_networks
from callflow.server.logs import printable
from callflow.server.request import Query, header
from callflow.server.settings import Settings

logger = logging.getLogger("callflow.server.access")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request was refused: HTTP status, message for the client, extra headers."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


def check_access(scope: Scope, settings: Settings, client: str, query: Query) -> Rejection | None:
    """Return a :class:`Rejection` when the request of ``scope`` fails a configured check,
    else None.

    ``client`` is the caller's address as :func:`callflow.server.forwarded.resolve` found it (the
    proxy-header rule is applied there, once); ``query`` is the request's split query.
    """
    if not settings.allowed_ips and settings.access_key is None and settings.basic_auth is None:
        return None
    method = scope["method"]
    if settings.allowed_ips and not in_networks(client, settings.allowed_ips):
        logger.warning(
            "rejected %s %s: address %s not allowed",
            method,
            printable(scope["path"]),
            printable(client) or "unknown",
        )
        return Rejection(403, "forbidden: source address not allowed")
    if settings.access_key is not None:
        given = query.get(settings.access_key_param)
        if given is None:
            logger.warning(
                "rejected %s %s: missing access key",
                method,
                printable(scope["path"]),
            )
            return Rejection(401, f"unauthorized: the '{settings.access_key_param}' key is missing")
        if not hmac.compare_digest(given.encode(), settings.access_key.encode()):
            logger.warning("rejected %s %s: wrong access key", method, printable(scope["path"]))
            return Rejection(403, "forbidden: wrong access key")
    if settings.basic_auth is not None:
        challenge = (("www-authenticate", 'Basic realm="callflow"'),)
        credentials = _basic_credentials(header(scope, b"authorization"))
        if credentials is None:
            logger.warning(
                "rejected %s %s: no Basic credentials",
                method,
                printable(scope["path"]),
            )
            return Rejection(401, "unauthorized: HTTP Basic credentials required", challenge)
        user, password = credentials
        expected_user, expected_password = settings.basic_auth
        user_ok = hmac.compare_digest(user.encode(), expected_user.encode())
        password_ok = hmac.compare_digest(password.encode(), expected_password.encode())
        if not (user_ok and password_ok):
            logger.warning(
                "rejected %s %s: wrong Basic credentials",
                method,
                printable(scope["path"]),
            )
            return Rejection(401, "unauthorized: wrong credentials", challenge)
    return None


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
