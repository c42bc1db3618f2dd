"""Server settings, from keyword arguments or ``CALLFLOW_*`` environment variables."""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
import secrets
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import phonenumbers

from callflow.exceptions import ConfigurationError

Mode = Literal["development", "production"]
LogFormat = Literal["text", "json"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

OPENTACT_WEBHOOK_SOURCE = "72.21.26.35"
"""The address Opentact's webhooks come from (spec §2.6), for ``allowed_ips``."""

MIN_PRODUCTION_SECRET_BYTES = 32
"""Shortest signing secret accepted in production mode."""

# A host pattern: a DNS name or address, or `*.` and a name (any subdomain), or `*` (any).
_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_HOST_PATTERN = re.compile(rf"\*|(\*\.)?{_LABEL}(\.{_LABEL})*\.?|\[[0-9a-f:.]+\]")

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
    """IANA time zone of ``<Schedule>`` windows (``zoneinfo``)."""
    allowed_hosts: tuple[str, ...] = ()
    """Host names a request may name (``Host`` or a trusted forwarded host); ``*.example.com``
    allows any subdomain, ``*`` any host. Empty: any well-formed host."""
    max_header_bytes: int = 16384
    """Bound on a request's header section, in bytes (431 beyond it)."""
    body_timeout: float = 10.0
    """Seconds a request body may take to arrive (408 beyond it)."""
    sync_flow_threads: int = 32
    """Threads that run sync flows; more concurrent sync flows wait for one (within their
    timeout)."""
    log_format: LogFormat = "text"
    """``callflow serve``'s log lines: ``text`` or ``json`` (one object per line)."""
    session_url: str = "memory://"
    """Where sessions live: ``memory://`` (this process) or ``redis://host:6379/0``."""
    max_session_bytes: int = 16384
    """Bound on one session's JSON encoding; a larger write gets the fallback document."""
    metrics: bool | None = None
    """Serve Prometheus metrics at ``metrics_path``; default on in production."""
    metrics_path: str = "/metrics"

    def __post_init__(self) -> None:
        for name in ("trusted_proxies", "allowed_ips"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = _split(value)
            if any(isinstance(item, str) for item in value):
                value = _networks([str(item) for item in value], name)
            object.__setattr__(self, name, tuple(value))
        hosts = self.allowed_hosts
        if isinstance(hosts, str):
            hosts = tuple(_split(hosts))
        object.__setattr__(self, "allowed_hosts", tuple(_host_pattern(h) for h in hosts))
        if self.secret == "":
            object.__setattr__(self, "secret", None)  # an empty CALLFLOW_SECRET= is none
        if isinstance(self.old_secrets, str):
            object.__setattr__(self, "old_secrets", tuple(_split(self.old_secrets)))
        if self.mode not in ("development", "production"):
            raise ConfigurationError(f"mode must be development or production, not {self.mode!r}")
        if self.log_format not in ("text", "json"):
            raise ConfigurationError(f"log_format must be text or json, not {self.log_format!r}")
        for name in (
            "flow_timeout_ms",
            "max_body_bytes",
            "max_header_bytes",
            "sync_flow_threads",
            "max_session_bytes",
            "state_ttl_s",
            "session_ttl_s",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"{name} must be an integer > 0 (got {value!r})")
        timeout = self.body_timeout
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ConfigurationError(
                f"body_timeout must be a number of seconds > 0 (got {timeout!r})"
            )
        _check_time_zone(self.time_zone)
        if self.default_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigurationError(
                f"default_region must be a two-letter region known to libphonenumber, such as "
                f"US or GB (got {self.default_region!r})"
            )
        self._check_secrets()
        for path in (self.webhook_path, self.events_path, self.metrics_path):
            if not path.startswith("/"):
                raise ConfigurationError(f"paths must start with '/': {path!r}")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must be an http(s) URL: {self.base_url!r}")

    def _check_secrets(self) -> None:
        for name, value in (
            ("secret", self.secret),
            *(("old_secrets", v) for v in self.old_secrets),
        ):
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{name} must be a non-blank string")
            size = len(value.encode("utf-8"))
            if self.mode == "production" and size < MIN_PRODUCTION_SECRET_BYTES:
                raise ConfigurationError(
                    f"{name} is {size} bytes: production mode needs at least "
                    f"{MIN_PRODUCTION_SECRET_BYTES} (e.g. python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))')"
                )

    @property
    def serving_metrics(self) -> bool:
        """Whether ``metrics_path`` answers."""
        return self.mode == "production" if self.metrics is None else self.metrics

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
        if self.secret is not None:
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
        text("CALLFLOW_LOG_FORMAT", "log_format")
        text("CALLFLOW_ACCESS_KEY_PARAM", "access_key_param")
        text("CALLFLOW_SESSION_URL", "session_url")
        text("CALLFLOW_METRICS_PATH", "metrics_path")
        number("CALLFLOW_MAX_SESSION_BYTES", "max_session_bytes")
        number("CALLFLOW_FLOW_TIMEOUT_MS", "flow_timeout_ms")
        number("CALLFLOW_STATE_TTL_S", "state_ttl_s")
        number("CALLFLOW_SESSION_TTL_S", "session_ttl_s")
        number("CALLFLOW_MAX_BODY_BYTES", "max_body_bytes")
        number("CALLFLOW_MAX_HEADER_BYTES", "max_header_bytes")
        number("CALLFLOW_SYNC_FLOW_THREADS", "sync_flow_threads")
        if env.get("CALLFLOW_BODY_TIMEOUT"):
            try:
                values["body_timeout"] = float(env["CALLFLOW_BODY_TIMEOUT"])
            except ValueError as exc:
                raise ConfigurationError(
                    f"CALLFLOW_BODY_TIMEOUT must be a number of seconds: "
                    f"{env['CALLFLOW_BODY_TIMEOUT']!r}"
                ) from exc
        if env.get("CALLFLOW_ALLOWED_HOSTS"):
            values["allowed_hosts"] = tuple(_split(env["CALLFLOW_ALLOWED_HOSTS"]))
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
        for variable, key in (
            ("CALLFLOW_VALIDATE_RESPONSES", "validate_responses"),
            ("CALLFLOW_METRICS", "metrics"),
        ):
            if env.get(variable):
                flag = env[variable].lower()
                if flag not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ConfigurationError(f"{variable} must be true or false")
                values[key] = flag in ("1", "true", "yes", "on")
        values.update(overrides)
        for key in ("trusted_proxies", "allowed_ips"):
            raw = values.get(key)
            if isinstance(raw, list | tuple) and raw and isinstance(raw[0], str):
                values[key] = _networks([str(item) for item in raw], key)
        return cls(**values)  # type: ignore[arg-type]


def _host_pattern(value: object) -> str:
    text = str(value).strip().lower()
    if not isinstance(value, str) or not _HOST_PATTERN.fullmatch(text):
        raise ConfigurationError(
            f"allowed_hosts: {value!r} is not a host name, '*.' and a domain, or '*'"
        )
    return text.rstrip(".")


def _check_time_zone(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"time_zone must be an IANA time zone name (got {name!r})")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"time_zone {name!r} is not a time zone known to zoneinfo "
            "(use an IANA name such as 'America/New_York' or 'UTC')"
        ) from exc


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Whether ``host`` (lower case, no port) matches one of ``patterns``.

    >>> host_allowed("a.example.com", ["*.example.com"])
    True
    >>> host_allowed("example.com", ["*.example.com"])
    False
    """
    host = host.rstrip(".")
    for pattern in patterns:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
    return False


def networks(values: Sequence[str]) -> tuple[Network, ...]:
    """Parse addresses or CIDR networks, e.g. ``networks(["10.0.0.0/8", "127.0.0.1"])``."""
    return _networks(values, "networks")
