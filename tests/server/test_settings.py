"""Checks of ``Settings`` and ``App(...)`` (callflow.server.settings): a bad value stops the
start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callflow import App, ConfigurationError, Settings
from callflow.server.settings import MIN_PRODUCTION_SECRET_BYTES, host_allowed

LONG_SECRET = "s" * MIN_PRODUCTION_SECRET_BYTES


# -- allowed_hosts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param(("ivr.example.com",), ("ivr.example.com",), id="name"),
        pytest.param(("*.example.com",), ("*.example.com",), id="wildcard"),
        pytest.param(("*",), ("*",), id="star"),
        pytest.param((" IVR.Example.COM. ",), ("ivr.example.com",), id="normalised"),
        pytest.param(("localhost",), ("localhost",), id="single-label"),
        pytest.param(("127.0.0.1",), ("127.0.0.1",), id="ipv4"),
        pytest.param(("[::1]",), ("[::1]",), id="ipv6"),
        pytest.param(("a-b_c.example.com",), ("a-b_c.example.com",), id="hyphen-underscore"),
        pytest.param(("a.test", "*.b.test"), ("a.test", "*.b.test"), id="several"),
        pytest.param((), (), id="none"),
    ],
)
def test_allowed_hosts_patterns_are_accepted(
    given: tuple[str, ...], stored: tuple[str, ...]
) -> None:
    assert Settings(allowed_hosts=given).allowed_hosts == stored


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("bad host", id="space"),
        pytest.param("*.", id="wildcard-without-domain"),
        pytest.param("a*b", id="star-inside"),
        pytest.param("*example.com", id="star-without-dot"),
        pytest.param("a.*.example.com", id="star-in-the-middle"),
        pytest.param("**", id="two-stars"),
        pytest.param("", id="empty"),
        pytest.param("-a.example.com", id="leading-hyphen"),
        pytest.param("a..example.com", id="empty-label"),
        pytest.param("https://ivr.example.com", id="url"),
        pytest.param("ivr.example.com/menu", id="path"),
        pytest.param("ivr.example.com:8443", id="port"),
    ],
)
def test_a_bad_allowed_hosts_pattern_is_a_configuration_error(pattern: str) -> None:
    with pytest.raises(ConfigurationError, match="allowed_hosts"):
        Settings(allowed_hosts=(pattern,))


def test_allowed_hosts_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"CALLFLOW_ALLOWED_HOSTS": "ivr.example.com, *.Example.org,"})
    assert settings.allowed_hosts == ("ivr.example.com", "*.example.org")


def test_a_bad_allowed_host_in_the_environment_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="allowed_hosts"):
        Settings.from_env({"CALLFLOW_ALLOWED_HOSTS": "ivr.example.com, bad host"})


@pytest.mark.parametrize(
    ("host", "patterns", "allowed"),
    [
        pytest.param("a.example.com", ["*.example.com"], True, id="subdomain"),
        pytest.param("a.b.example.com", ["*.example.com"], True, id="deeper-subdomain"),
        pytest.param("example.com", ["*.example.com"], False, id="not-the-domain"),
        pytest.param("badexample.com", ["*.example.com"], False, id="not-a-suffix"),
        pytest.param("anything", ["*"], True, id="star"),
        pytest.param("ivr.example.com", ["ivr.example.com"], True, id="exact"),
        pytest.param("ivr.example.com.", ["ivr.example.com"], True, id="trailing-dot"),
        pytest.param("a.example.com.", ["*.example.com"], True, id="wildcard-trailing-dot"),
        pytest.param("ivr.example.com", ["other.test"], False, id="other"),
        pytest.param("ivr.example.com", [], False, id="no-patterns"),
    ],
)
def test_host_allowed(host: str, patterns: list[str], allowed: bool) -> None:
    assert host_allowed(host, patterns) is allowed


# -- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("", id="empty"),
        pytest.param("../etc/passwd", id="path"),
        pytest.param("utc ", id="trailing-space"),
    ],
)
def test_an_unknown_time_zone_is_a_configuration_error(name: str) -> None:
    with pytest.raises(ConfigurationError, match="time_zone"):
        Settings(time_zone=name)


@pytest.mark.parametrize(
    "name", [pytest.param("UTC", id="utc"), pytest.param("America/New_York", id="new-york")]
)
def test_a_known_time_zone_is_accepted(name: str) -> None:
    assert Settings(time_zone=name).time_zone == name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("max_header_bytes", 0, id="max-header-bytes-zero"),
        pytest.param("max_header_bytes", -1, id="max-header-bytes-negative"),
        pytest.param("max_header_bytes", True, id="max-header-bytes-bool"),
        pytest.param("max_header_bytes", "16384", id="max-header-bytes-text"),
        pytest.param("body_timeout", 0, id="body-timeout-zero"),
        pytest.param("body_timeout", 0.0, id="body-timeout-zero-float"),
        pytest.param("body_timeout", -0.5, id="body-timeout-negative"),
        pytest.param("body_timeout", float("-inf"), id="body-timeout-minus-infinity"),
        pytest.param("body_timeout", float("nan"), id="body-timeout-nan"),
        pytest.param("sync_flow_threads", 0, id="sync-flow-threads-zero"),
        pytest.param("sync_flow_threads", -4, id="sync-flow-threads-negative"),
        pytest.param("sync_flow_threads", 2.5, id="sync-flow-threads-fraction"),
        pytest.param("sync_flow_threads", None, id="sync-flow-threads-none"),
    ],
)
def test_a_bad_number_is_a_configuration_error(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("max_header_bytes", 1, id="max-header-bytes-one"),
        pytest.param("body_timeout", 0.25, id="body-timeout-fraction"),
        pytest.param("body_timeout", 30, id="body-timeout-int"),
        pytest.param("sync_flow_threads", 1, id="sync-flow-threads-one"),
    ],
)
def test_a_positive_number_is_accepted(name: str, value: Any) -> None:
    assert getattr(Settings(**{name: value}), name) == value


@pytest.mark.parametrize(
    "log_format",
    [
        pytest.param("xml", id="xml"),
        pytest.param("JSON", id="upper-case"),
        pytest.param("", id="empty"),
    ],
)
def test_a_log_format_other_than_text_or_json_is_a_configuration_error(
    log_format: str,
) -> None:
    options: dict[str, Any] = {"log_format": log_format}
    with pytest.raises(ConfigurationError, match="log_format"):
        Settings(**options)


# -- the environment ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "name", "value"),
    [
        pytest.param({"CALLFLOW_BODY_TIMEOUT": "2.5"}, "body_timeout", 2.5, id="body-timeout"),
        pytest.param({"CALLFLOW_BODY_TIMEOUT": "30"}, "body_timeout", 30.0, id="body-timeout-int"),
        pytest.param(
            {"CALLFLOW_MAX_HEADER_BYTES": "8192"}, "max_header_bytes", 8192, id="max-header-bytes"
        ),
        pytest.param(
            {"CALLFLOW_SYNC_FLOW_THREADS": "4"}, "sync_flow_threads", 4, id="sync-flow-threads"
        ),
        pytest.param({"CALLFLOW_LOG_FORMAT": "json"}, "log_format", "json", id="log-format-json"),
        pytest.param({"CALLFLOW_LOG_FORMAT": "text"}, "log_format", "text", id="log-format-text"),
        pytest.param({}, "log_format", "text", id="log-format-default"),
        pytest.param({}, "sync_flow_threads", 32, id="sync-flow-threads-default"),
    ],
)
def test_values_are_read_from_the_environment(
    env: dict[str, str], name: str, value: object
) -> None:
    assert getattr(Settings.from_env(env), name) == value


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({"CALLFLOW_BODY_TIMEOUT": "abc"}, "CALLFLOW_BODY_TIMEOUT", id="timeout-text"),
        pytest.param({"CALLFLOW_BODY_TIMEOUT": "-1"}, "body_timeout", id="timeout-negative"),
        pytest.param({"CALLFLOW_BODY_TIMEOUT": "nan"}, "body_timeout", id="timeout-nan"),
        pytest.param(
            {"CALLFLOW_MAX_HEADER_BYTES": "16k"}, "CALLFLOW_MAX_HEADER_BYTES", id="header-bytes-16k"
        ),
        pytest.param(
            {"CALLFLOW_MAX_HEADER_BYTES": "0"}, "max_header_bytes", id="header-bytes-zero"
        ),
        pytest.param(
            {"CALLFLOW_SYNC_FLOW_THREADS": "2.5"},
            "CALLFLOW_SYNC_FLOW_THREADS",
            id="threads-fraction",
        ),
        pytest.param({"CALLFLOW_SYNC_FLOW_THREADS": "0"}, "sync_flow_threads", id="threads-zero"),
        pytest.param({"CALLFLOW_LOG_FORMAT": "xml"}, "log_format", id="log-format-xml"),
    ],
)
def test_a_bad_environment_value_is_a_configuration_error(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env(env)


# -- secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"secret": "s" * 31}, id="secret-31-bytes"),
        pytest.param({"secret": "short"}, id="secret-short"),
        pytest.param({"secret": "\xe9" * 15}, id="secret-30-utf8-bytes"),
        pytest.param({"secret": LONG_SECRET, "old_secrets": ("s" * 31,)}, id="old-secret-short"),
        pytest.param(
            {"secret": LONG_SECRET, "old_secrets": (LONG_SECRET, "short")},
            id="second-old-secret-short",
        ),
    ],
)
def test_a_short_secret_is_a_configuration_error_in_production(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="production mode needs at least 32"):
        Settings(mode="production", **options)
    Settings(mode="development", **options)  # accepted while developing


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"secret": LONG_SECRET}, id="secret-32-bytes"),
        pytest.param({"secret": "\xe9" * 16}, id="secret-32-utf8-bytes"),
        pytest.param({"secret": LONG_SECRET, "old_secrets": (LONG_SECRET,)}, id="old-secret"),
    ],
)
def test_a_long_enough_secret_is_accepted_in_production(options: dict[str, Any]) -> None:
    assert Settings(mode="production", **options).secret == options["secret"]


@pytest.mark.parametrize(
    ("mode", "options", "named"),
    [
        pytest.param("development", {"secret": "   "}, "secret", id="blank-secret"),
        pytest.param("production", {"secret": " " * 40}, "secret", id="blank-secret-production"),
        pytest.param("development", {"secret": "\t\n"}, "secret", id="whitespace-secret"),
        pytest.param(
            "development",
            {"secret": LONG_SECRET, "old_secrets": ("  ",)},
            "old_secrets",
            id="blank-old-secret",
        ),
        pytest.param(
            "development",
            {"secret": LONG_SECRET, "old_secrets": ("",)},
            "old_secrets",
            id="empty-old-secret",
        ),
        pytest.param(
            "production",
            {"secret": LONG_SECRET, "old_secrets": (" " * 40,)},
            "old_secrets",
            id="blank-old-secret-production",
        ),
    ],
)
def test_a_blank_secret_is_a_configuration_error(
    mode: str, options: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=f"{named} must be a non-blank string"):
        Settings(mode=mode, **options)  # type: ignore[arg-type]


def test_an_empty_secret_is_no_secret() -> None:
    assert Settings(secret="").secret is None
    assert Settings.from_env({"CALLFLOW_SECRET": ""}).secret is None


def test_a_short_old_secret_from_the_environment_is_a_configuration_error() -> None:
    env = {"CALLFLOW_MODE": "production", "CALLFLOW_SECRET": LONG_SECRET}
    with pytest.raises(ConfigurationError, match="old_secrets"):
        Settings.from_env({**env, "CALLFLOW_OLD_SECRETS": f"{LONG_SECRET},short"})
    assert Settings.from_env({**env, "CALLFLOW_OLD_SECRETS": f"{LONG_SECRET},"}).old_secrets == (
        LONG_SECRET,
    )


# -- App(...) -----------------------------------------------------------------------------------


def test_templates_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="templates"):
        App(templates=tmp_path / "missing")
    file = tmp_path / "menu.xml"
    file.write_text("<Response/>")
    with pytest.raises(ConfigurationError, match="templates"):
        App(templates=file)
    with pytest.raises(ConfigurationError, match="templates"):
        App(templates=str(tmp_path / "missing"))
    assert App(templates=tmp_path).templates is not None


def test_production_needs_a_base_url_or_allowed_hosts() -> None:
    with pytest.raises(ConfigurationError, match="production mode needs CALLFLOW_BASE_URL"):
        App(mode="production", secret=LONG_SECRET)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"base_url": "https://ivr.example.com"}, id="base-url"),
        pytest.param({"allowed_hosts": ["ivr.example.com"]}, id="allowed-hosts"),
        pytest.param({"allowed_hosts": ["*"]}, id="any-host"),
    ],
)
def test_production_starts_with_a_base_url_or_allowed_hosts(options: dict[str, Any]) -> None:
    app = App(mode="production", secret=LONG_SECRET, **options)
    assert app.settings.mode == "production"


def test_production_settings_from_the_environment_need_a_host_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLFLOW_MODE", "production")
    monkeypatch.setenv("CALLFLOW_SECRET", LONG_SECRET)
    with pytest.raises(ConfigurationError, match="production mode needs"):
        App()
    monkeypatch.setenv("CALLFLOW_ALLOWED_HOSTS", "ivr.example.com")
    assert App().settings.allowed_hosts == ("ivr.example.com",)


def test_app_checks_allowed_hosts_patterns() -> None:
    with pytest.raises(ConfigurationError, match="allowed_hosts"):
        App(allowed_hosts=["bad host"])
