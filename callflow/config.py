"""Server settings, from keyword arguments or ``CALLFLOW_*`` environment variables."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .exceptions import ConfigurationError

Mode = Literal["development", "production"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

OPENTACT_WEBHOOK_SOURCE = "72.21.26.35"
"""The address Opentact's webhooks come from (spec §2.6), for ``allowed_ips``."""

logger = logging.getLogger("callflow")


def _networks(values: Sequence[str], name: str) -> tuple[Network, ...]:
    result = []
    for value in values:
        try:
            result.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {value!r} is not an IP address or network") from exc
    return tuple(result)


def _split(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server can be configured with; see ``docs/configuration.md``.

    Build with keyword arguments, or :meth:`from_env` to read ``CALLFLOW_*`` variables.
    """

    mode: Mode = "development"
    secret: str | None = None
    """Key for signing ``state`` tokens (``CALLFLOW_SECRET``)."""
    old_secrets: tuple[str, ...] = ()
    """Earlier keys still accepted when verifying, for rotation (``CALLFLOW_OLD_SECRETS``)."""
    state_ttl_s: int = 3600
    base_url: str | None = None
    """Public base URL (``https://ivr.example.com``); otherwise taken from each request."""
    trusted_proxies: tuple[Network, ...] = ()
    webhook_path: str = "/"
    events_path: str = "/events"
    flow_timeout_ms: int = 3000
    validate_responses: bool | None = None
    """Validate outgoing documents; default on in development, off in production."""
    max_body_bytes: int = 65536
    session_ttl_s: int = 3600
    default_region: str = "US"
    """Region for numbers that carry no country code."""
    access_key: str | None = None
    """Shared key required in the ``access_key_param`` query parameter (off when None)."""
    access_key_param: str = "token"
    basic_auth: tuple[str, str] | None = None
    allowed_ips: tuple[Network, ...] = ()
    """When set, only these sources may call (reads X-Forwarded-For from trusted proxies)."""
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        for name in ("trusted_proxies", "allowed_ips"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = _split(value)
            if any(isinstance(item, str) for item in value):
                value = _networks([str(item) for item in value], name)
            object.__setattr__(self, name, tuple(value))
        if self.mode not in ("development", "production"):
            raise ConfigurationError(f"mode must be development or production, not {self.mode!r}")
        if self.flow_timeout_ms <= 0:
            raise ConfigurationError("flow_timeout_ms must be > 0")
        if self.max_body_bytes <= 0:
            raise ConfigurationError("max_body_bytes must be > 0")
        for path in (self.webhook_path, self.events_path):
            if not path.startswith("/"):
                raise ConfigurationError(f"paths must start with '/': {path!r}")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must be an http(s) URL: {self.base_url!r}")

    @property
    def validating(self) -> bool:
        """Whether outgoing documents are validated."""
        if self.validate_responses is None:
            return self.mode == "development"
        return self.validate_responses

    def with_secret(self) -> Settings:
        """Return settings that have a secret, or raise in production mode.

        In development a temporary secret is generated (state tokens then do not survive a
        restart) and a warning is logged.
        """
        if self.secret:
            return self
        if self.mode == "production":
            raise ConfigurationError(
                "no secret configured: set CALLFLOW_SECRET (or Settings(secret=...)); "
                "callflow will not start in production mode without one"
            )
        logger.warning(
            "no CALLFLOW_SECRET set: using a temporary secret (development mode); "
            "state tokens will not survive a restart"
        )
        return replace(self, secret=secrets.token_urlsafe(32))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``CALLFLOW_*`` variables from ``env`` (default ``os.environ``)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}

        def text(name: str, key: str) -> None:
            if env.get(name):
                values[key] = env[name]

        def number(name: str, key: str) -> None:
            if env.get(name):
                try:
                    values[key] = int(env[name])
                except ValueError as exc:
                    raise ConfigurationError(f"{name} must be an integer: {env[name]!r}") from exc

        text("CALLFLOW_MODE", "mode")
        text("CALLFLOW_SECRET", "secret")
        text("CALLFLOW_BASE_URL", "base_url")
        text("CALLFLOW_WEBHOOK_PATH", "webhook_path")
        text("CALLFLOW_EVENTS_PATH", "events_path")
        text("CALLFLOW_ACCESS_KEY", "access_key")
        text("CALLFLOW_DEFAULT_REGION", "default_region")
        text("CALLFLOW_TIME_ZONE", "time_zone")
        number("CALLFLOW_FLOW_TIMEOUT_MS", "flow_timeout_ms")
        number("CALLFLOW_STATE_TTL_S", "state_ttl_s")
        number("CALLFLOW_SESSION_TTL_S", "session_ttl_s")
        number("CALLFLOW_MAX_BODY_BYTES", "max_body_bytes")
        if env.get("CALLFLOW_OLD_SECRETS"):
            values["old_secrets"] = tuple(_split(env["CALLFLOW_OLD_SECRETS"]))
        if env.get("CALLFLOW_TRUSTED_PROXIES"):
            proxies = _split(env["CALLFLOW_TRUSTED_PROXIES"])
            values["trusted_proxies"] = _networks(proxies, "CALLFLOW_TRUSTED_PROXIES")
        if env.get("CALLFLOW_ALLOWED_IPS"):
            allowed = _split(env["CALLFLOW_ALLOWED_IPS"])
            values["allowed_ips"] = _networks(allowed, "CALLFLOW_ALLOWED_IPS")
        if env.get("CALLFLOW_BASIC_AUTH"):
            user, sep, password = env["CALLFLOW_BASIC_AUTH"].partition(":")
            if not sep or not user:
                raise ConfigurationError("CALLFLOW_BASIC_AUTH must be user:password")
            values["basic_auth"] = (user, password)
        if env.get("CALLFLOW_VALIDATE_RESPONSES"):
            flag = env["CALLFLOW_VALIDATE_RESPONSES"].lower()
            if flag not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ConfigurationError("CALLFLOW_VALIDATE_RESPONSES must be true or false")
            values["validate_responses"] = flag in ("1", "true", "yes", "on")
        values.update(overrides)
        for key in ("trusted_proxies", "allowed_ips"):
            raw = values.get(key)
            if isinstance(raw, list | tuple) and raw and isinstance(raw[0], str):
                values[key] = _networks([str(item) for item in raw], key)
        return cls(**values)  # type: ignore[arg-type]


def networks(values: Sequence[str]) -> tuple[Network, ...]:
    """Parse addresses or CIDR networks, e.g. ``networks(["10.0.0.0/8", "127.0.0.1"])``."""
    return _networks(values, "networks")
