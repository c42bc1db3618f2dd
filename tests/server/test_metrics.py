"""Prometheus metrics: what is counted shows in the exposition, per process or summed over
the workers of multiprocess mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from callflow.exceptions import ConfigurationError
from callflow.server.metrics import (
    CONTENT_TYPE,
    DURATION_BUCKETS,
    FALLBACK_CAUSES,
    MULTIPROC_DIR,
    REJECTION_CAUSES,
    Metrics,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
"""Every sample of an exposition: (name, sorted labels) -> value."""


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a ``PROMETHEUS_MULTIPROC_DIR`` of the developer's shell out of these tests."""
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)


def parse(body: bytes) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def samples(metrics: Metrics) -> Samples:
    body, _ = metrics.exposition()
    return parse(body)


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


# -- one process -------------------------------------------------------------------------------


def test_requests_are_counted_by_flow_and_status() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.request("main", 200)
    metrics.request("main", 500)
    metrics.request("-", 404)
    found = samples(metrics)
    assert value(found, "callflow_requests_total", flow="main", status="200") == 3
    assert value(found, "callflow_requests_total", flow="main", status="500") == 1
    assert value(found, "callflow_requests_total", flow="-", status="404") == 1
    assert value(found, "callflow_requests_total", flow="-", status="200") is None


def test_exposition_is_prometheus_text() -> None:
    metrics = Metrics()
    metrics.request("main", 200)
    body, content_type = metrics.exposition()
    assert content_type == CONTENT_TYPE
    assert content_type.startswith("text/plain; version=0.0.4")
    assert b"# TYPE callflow_requests_total counter\n" in body
    assert b"# TYPE callflow_flow_duration_seconds histogram\n" in body


def test_two_metrics_are_independent() -> None:
    first, second = Metrics(), Metrics()
    first.request("main", 200)
    first.fallback("error")
    first.store_error()
    second.request("main", 200)
    second.request("main", 200)
    assert value(samples(first), "callflow_requests_total", flow="main", status="200") == 1
    assert value(samples(second), "callflow_requests_total", flow="main", status="200") == 2
    assert value(samples(second), "callflow_fallbacks_total", cause="error") == 0
    assert value(samples(second), "callflow_session_store_errors_total") == 0


def test_namespace_prefixes_every_name() -> None:
    metrics = Metrics(namespace="ivr")
    metrics.request("main", 200)
    names = {name for name, _ in samples(metrics)}
    assert "ivr_requests_total" in names
    assert all(name.startswith("ivr_") for name in names)


@pytest.mark.parametrize("cause", FALLBACK_CAUSES)
def test_fallbacks_are_counted_by_cause(cause: str) -> None:
    metrics = Metrics()
    metrics.fallback(cause)
    metrics.fallback(cause)
    found = samples(metrics)
    for other in FALLBACK_CAUSES:
        expected = 2 if other == cause else 0  # every cause is exported from zero
        assert value(found, "callflow_fallbacks_total", cause=other) == expected


@pytest.mark.parametrize("cause", REJECTION_CAUSES)
def test_rejections_are_counted_by_cause(cause: str) -> None:
    metrics = Metrics()
    metrics.rejected(cause)
    found = samples(metrics)
    for other in REJECTION_CAUSES:
        expected = 1 if other == cause else 0
        assert value(found, "callflow_rejected_requests_total", cause=other) == expected


def test_session_store_errors_are_counted() -> None:
    metrics = Metrics()
    assert value(samples(metrics), "callflow_session_store_errors_total") == 0
    metrics.store_error()
    metrics.store_error()
    assert value(samples(metrics), "callflow_session_store_errors_total") == 2


@pytest.mark.parametrize(
    ("count", "cause"),
    [
        pytest.param("fallback", "limit", id="fallback-rejection-cause"),
        pytest.param("fallback", "", id="fallback-empty"),
        pytest.param("fallback", "Error", id="fallback-case"),
        pytest.param("rejected", "timeout", id="rejected-fallback-cause"),
        pytest.param("rejected", "csrf", id="rejected-unknown"),
    ],
)
def test_unknown_cause_raises(count: str, cause: str) -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match=rf"unknown \w+ cause {re.escape(repr(cause))}"):
        getattr(metrics, count)(cause)
    family = {
        "fallback": "callflow_fallbacks_total",
        "rejected": "callflow_rejected_requests_total",
    }
    assert value(samples(metrics), family[count], cause=cause) is None


@pytest.mark.parametrize(
    ("flow", "status"),
    [
        pytest.param("main", 42, id="status-out-of-range"),
        pytest.param("main", 600, id="status-too-high"),
        pytest.param("main", True, id="status-bool"),
        pytest.param("main", "200", id="status-text"),
        pytest.param("", 200, id="flow-empty"),
        pytest.param(None, 200, id="flow-none"),
    ],
)
def test_bad_request_labels_raise(flow: object, status: object) -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="must be"):
        metrics.request(flow, status)  # type: ignore[arg-type]
    assert not any(name == "callflow_requests_total" for name, _ in samples(metrics))


def test_flow_duration_histogram_buckets_and_counts() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.001, 0.003, 0.2, 0.2, 7.0, 30.0):
        metrics.flow_duration("main", seconds)
    metrics.flow_duration("other", 0.05)
    found = samples(metrics)
    buckets = {
        labels[0][1]: count
        for (name, labels), count in found.items()
        if name == "callflow_flow_duration_seconds_bucket" and ("flow", "main") in labels
        for labels in [tuple(label for label in labels if label[0] == "le")]
    }
    assert [float(le) for le in buckets] == [*DURATION_BUCKETS, float("inf")]
    assert DURATION_BUCKETS[0] == 0.001 and DURATION_BUCKETS[-1] == 10.0
    assert buckets["0.001"] == 2  # le is inclusive
    assert buckets["0.0025"] == 2
    assert buckets["0.005"] == 3
    assert buckets["0.1"] == 3
    assert buckets["0.25"] == 5
    assert buckets["5.0"] == 5
    assert buckets["10.0"] == 6
    assert buckets["+Inf"] == 7
    assert value(found, "callflow_flow_duration_seconds_count", flow="main") == 7
    total = value(found, "callflow_flow_duration_seconds_sum", flow="main")
    assert total == pytest.approx(0.0004 + 0.001 + 0.003 + 0.2 + 0.2 + 7.0 + 30.0)
    assert value(found, "callflow_flow_duration_seconds_count", flow="other") == 1


def test_missing_directory_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MULTIPROC_DIR, str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match=MULTIPROC_DIR):
        Metrics()


# -- multiprocess mode (each process is a subprocess, so the variable is set before import) ---

COUNT = """
import os, sys
{before}
from callflow.server.metrics import Metrics
{after}
metrics = Metrics()
assert metrics.directory == sys.argv[1]
for _ in range({requests}):
    metrics.request("main", 200)
    metrics.flow_duration("main", 0.003)
metrics.request("-", 404)
metrics.fallback("timeout")
metrics.rejected("access")
metrics.store_error()
print(os.getpid())
"""


def python(code: str, *args: str, directory: Path | None) -> str:
    """Run ``code`` in a new interpreter, with ``PROMETHEUS_MULTIPROC_DIR`` set from the
    start when ``directory`` is given; return its output."""
    env = {name: text for name, text in os.environ.items() if name != MULTIPROC_DIR}
    if directory is not None:
        env[MULTIPROC_DIR] = str(directory)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


AGGREGATE = """
import sys
from callflow.server.metrics import Metrics
body, _ = Metrics().exposition()
sys.stdout.write(body.decode("utf-8"))
"""


def test_workers_counts_are_summed(tmp_path: Path) -> None:
    # A worker started with the variable set, as `callflow serve --workers N` starts them.
    first = python(COUNT.format(before="", after="", requests=3), str(tmp_path), directory=tmp_path)
    # One where prometheus_client was imported before the variable was set: its own value
    # class is then in memory, and the Metrics must write files all the same.
    late = """
        import prometheus_client.values
        assert not prometheus_client.values.ValueClass._multiprocess
    """
    second = python(
        COUNT.format(
            before=textwrap.dedent(late),
            after="os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]",
            requests=2,
        ),
        str(tmp_path),
        directory=None,
    )
    pids = {first.strip(), second.strip()}
    assert len(pids) == 2
    written = {path.name for path in tmp_path.iterdir()}
    assert {f"counter_{pid}.db" for pid in pids} <= written
    assert {f"histogram_{pid}.db" for pid in pids} <= written

    found = parse(python(AGGREGATE, directory=tmp_path).encode("utf-8"))
    assert value(found, "callflow_requests_total", flow="main", status="200") == 5
    assert value(found, "callflow_requests_total", flow="-", status="404") == 2
    assert value(found, "callflow_flow_duration_seconds_count", flow="main") == 5
    assert value(found, "callflow_flow_duration_seconds_bucket", flow="main", le="0.005") == 5
    assert value(found, "callflow_flow_duration_seconds_bucket", flow="main", le="0.0025") == 0
    total = value(found, "callflow_flow_duration_seconds_sum", flow="main")
    assert total == pytest.approx(5 * 0.003)
    assert value(found, "callflow_fallbacks_total", cause="timeout") == 2
    assert value(found, "callflow_fallbacks_total", cause="error") == 0
    assert value(found, "callflow_rejected_requests_total", cause="access") == 2
    assert value(found, "callflow_session_store_errors_total") == 2


def test_metrics_of_one_process_share_its_value_files(tmp_path: Path) -> None:
    # Two writers of one process's file would each keep their own running total and
    # overwrite the other's: the second Metrics must count into the first one's values.
    code = """
        import sys
        from callflow.server.metrics import Metrics
        first, second = Metrics(), Metrics()
        for metrics in (first, second, first, second, second):
            metrics.request("main", 200)
            metrics.fallback("error")
        body, _ = first.exposition()
        sys.stdout.write(body.decode("utf-8"))
    """
    found = parse(python(code, directory=tmp_path).encode("utf-8"))
    assert value(found, "callflow_requests_total", flow="main", status="200") == 5
    assert value(found, "callflow_fallbacks_total", cause="error") == 5


def test_a_metrics_made_after_the_variable_is_unset_counts_in_memory(tmp_path: Path) -> None:
    # prometheus_client chose its file-backed values at import; this Metrics must not.
    code = """
        import os, sys
        import prometheus_client.values
        assert prometheus_client.values.ValueClass._multiprocess
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        from callflow.server.metrics import Metrics
        metrics = Metrics()
        assert metrics.directory is None
        metrics.request("main", 200)
        metrics.flow_duration("main", 0.5)
        body, _ = metrics.exposition()
        sys.stdout.write(body.decode("utf-8"))
    """
    found = parse(python(code, directory=tmp_path).encode("utf-8"))
    assert value(found, "callflow_requests_total", flow="main", status="200") == 1
    assert value(found, "callflow_flow_duration_seconds_count", flow="main") == 1
    assert not any(path.name.startswith("counter_") for path in tmp_path.iterdir())
