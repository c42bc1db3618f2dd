"""Prometheus metrics of an App: :class:`Metrics` counts what the server does and renders it
in the Prometheus text format for ``/metrics``.

One process keeps its counts in its own :class:`~prometheus_client.CollectorRegistry`, so
several Apps in one process (tests) do not collide. Under ``callflow serve --workers N``
every worker counts only its own requests, and a scrape reaches one worker at random: there
``PROMETHEUS_MULTIPROC_DIR`` names a directory that all workers share, each writes its counts
to value files in it, and :meth:`Metrics.exposition` sums every worker's files.

prometheus_client picks its value class (in memory, or file-backed) once, when it is first
imported and from the variable as it is then. callflow may be imported before the variable
is set, so each :class:`Metrics` decides for itself, from the variable as it is when the
Metrics is made, and builds its metrics with that class.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from callflow.exceptions import ConfigurationError

MULTIPROC_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
"""Environment variable that turns multiprocess mode on: the workers' shared directory."""
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of :meth:`Metrics.exposition`: the text format every Prometheus reads."""
DURATION_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the flow duration histogram, 1 ms to 10 s (and ``+Inf``)."""
FALLBACK_CAUSES: Final = ("error", "timeout", "invalid")
"""Why the fallback document was sent: the flow raised, overran, or returned invalid XML."""
REJECTION_CAUSES: Final = ("access", "token", "limit", "host", "method")
"""Why a request was refused: access control, state token, a size or time limit, the Host,
the method."""
NO_FLOW: Final = "-"
"""The ``flow`` label of a request that no flow answered."""

_building = threading.RLock()
"""Held while metrics are built (prometheus_client's value class swapped) or shared."""
_file_values: Any = None
"""This process's file-backed value class, when prometheus_client's own is in memory."""
_shared: dict[tuple[str, str], _Instruments] = {}
"""Multiprocess mode: the instruments of each (namespace, directory) in this process."""


class Metrics:
    """The counters and histogram of one App.

    >>> metrics = Metrics()
    >>> metrics.request("main", 200)
    >>> metrics.flow_duration("main", 0.004)
    >>> body, content_type = metrics.exposition()
    >>> b'callflow_requests_total{flow="main",status="200"} 1.0' in body
    True
    """

    def __init__(self, *, namespace: str = "callflow") -> None:
        """Create the metrics; in multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set.

        In multiprocess mode every Metrics of one process with the same ``namespace`` shares
        its counts (they all land in the same value files anyway, and two writers of one
        file would lose updates), and :meth:`exposition` shows every process's.
        """
        directory = os.environ.get(MULTIPROC_DIR) or None
        if directory is not None and not os.path.isdir(directory):
            raise ConfigurationError(f"{MULTIPROC_DIR}={directory!r} is not a directory")
        self.namespace = namespace
        self.directory = directory
        """The shared directory in multiprocess mode, else None."""
        if directory is None:
            instruments = _Instruments(namespace, CollectorRegistry(), values.MutexValue)
        else:
            key = (namespace, os.path.realpath(directory))
            with _building:
                shared = _shared.get(key)
                if shared is None:
                    shared = _Instruments(namespace, CollectorRegistry(), _file_value_class())
                    _shared[key] = shared
            instruments = shared
        self._registry = instruments.registry
        self._instruments = instruments
        # The hot path's lookups, bound once: the dicts are the instruments' own.
        self._requests = instruments.requests
        self._durations = instruments.durations
        self._fallbacks = instruments.fallbacks
        self._rejections = instruments.rejections
        self._store_errors = instruments.store_errors

    def request(self, flow: str, status: int) -> None:
        """Count a request answered with ``status``; ``flow`` is a flow name or ``-``."""
        count = self._requests.get((flow, status))
        if count is None:
            count = self._instruments.request_counter(flow, status)
        count()

    def flow_duration(self, flow: str, seconds: float) -> None:
        """Record how long ``flow`` took to answer, in seconds."""
        observe = self._durations.get(flow)
        if observe is None:
            observe = self._instruments.duration_histogram(flow)
        observe(seconds)

    def fallback(self, cause: str) -> None:
        """Count a fallback document; ``cause`` is ``error``, ``timeout`` or ``invalid``."""
        try:
            count = self._fallbacks[cause]
        except KeyError:
            raise _unknown("fallback", cause, FALLBACK_CAUSES) from None
        count()

    def rejected(self, cause: str) -> None:
        """Count a refused request; ``cause`` is one of :data:`REJECTION_CAUSES`."""
        try:
            count = self._rejections[cause]
        except KeyError:
            raise _unknown("rejection", cause, REJECTION_CAUSES) from None
        count()

    def store_error(self) -> None:
        """Count a failed session store operation."""
        self._store_errors()

    def exposition(self) -> tuple[bytes, str]:
        """The body and content type of a ``/metrics`` reply: this process's counts, or in
        multiprocess mode the sums over every process that wrote to the directory."""
        if self.directory is None:
            return generate_latest(self._registry), CONTENT_TYPE
        # A registry of the collector alone: one holding the live metrics too would show
        # this process's series twice.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE


class _Instruments:
    """The prometheus_client metrics behind a :class:`Metrics`, with their labelled
    children remembered as bound ``inc``/``observe`` methods (``labels()`` is slow)."""

    def __init__(self, namespace: str, registry: CollectorRegistry, value_class: Any) -> None:
        self.registry = registry
        self.value_class = value_class
        self.requests: dict[tuple[str, int], Callable[[], None]] = {}
        self.durations: dict[str, Callable[[float], None]] = {}
        with _value_class(value_class):
            self._requests = Counter(
                "requests",
                "Requests answered, by flow (- for none) and HTTP status.",
                ("flow", "status"),
                namespace=namespace,
                registry=registry,
            )
            self._durations = Histogram(
                "flow_duration_seconds",
                "Seconds a flow took to produce its reply.",
                ("flow",),
                namespace=namespace,
                registry=registry,
                buckets=DURATION_BUCKETS,
            )
            fallbacks = Counter(
                "fallbacks",
                "Fallback documents sent, by cause (error, timeout, invalid).",
                ("cause",),
                namespace=namespace,
                registry=registry,
            )
            rejections = Counter(
                "rejected_requests",
                "Requests refused, by cause (access, token, limit, host, method).",
                ("cause",),
                namespace=namespace,
                registry=registry,
            )
            errors = Counter(
                "session_store_errors",
                "Session store operations that failed.",
                namespace=namespace,
                registry=registry,
            )
            # Made now, so every cause is exported from zero and rate() sees its first one.
            self.fallbacks = {c: fallbacks.labels(c).inc for c in FALLBACK_CAUSES}
            self.rejections = {c: rejections.labels(c).inc for c in REJECTION_CAUSES}
        self.store_errors: Callable[[], None] = errors.inc

    def request_counter(self, flow: str, status: int) -> Callable[[], None]:
        """The counter of (``flow``, ``status``), made on its first request."""
        if not isinstance(flow, str) or not flow:
            raise ValueError(f"'flow' must be a flow name or {NO_FLOW!r} (got {flow!r})")
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"'status' must be an HTTP status 100..599 (got {status!r})")
        with _value_class(self.value_class):
            count = self._requests.labels(flow, str(status)).inc
        self.requests[(flow, status)] = count
        return count

    def duration_histogram(self, flow: str) -> Callable[[float], None]:
        """The histogram of ``flow``, made on its first observation."""
        if not isinstance(flow, str) or not flow:
            raise ValueError(f"'flow' must be a flow name or {NO_FLOW!r} (got {flow!r})")
        with _value_class(self.value_class):
            observe = self._durations.labels(flow).observe
        self.durations[flow] = observe
        return observe


@contextmanager
def _value_class(value_class: Any) -> Iterator[None]:
    """Make the metrics built inside use ``value_class``.

    prometheus_client's metrics read ``values.ValueClass`` when a metric or labelled child
    is made (never when it counts), so swapping it for that moment is enough. The lock keeps
    two Metrics of different modes from building at once.
    """
    with _building:
        saved = values.ValueClass
        values.ValueClass = value_class
        try:
            yield
        finally:
            values.ValueClass = saved


def _file_value_class() -> Any:
    """The file-backed value class of this process.

    The one prometheus_client chose at import when the variable was set then (other
    libraries' metrics may already write through it, and a second class would open the same
    files twice); else one made now, once per process.
    """
    global _file_values
    if getattr(values.ValueClass, "_multiprocess", False):
        return values.ValueClass
    if _file_values is None:
        _file_values = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return _file_values


def _unknown(kind: str, cause: str, causes: tuple[str, ...]) -> ValueError:
    return ValueError(f"unknown {kind} cause {cause!r} (expected one of {', '.join(causes)})")
