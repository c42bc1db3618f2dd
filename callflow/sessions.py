"""Per-call session data kept between steps, behind a small store interface."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class SessionStore(Protocol):
    """Where ``call.session`` lives between requests; keys are call ids.

    Implement ``load`` and ``save`` (and ``delete``) to keep sessions elsewhere (Redis, say).
    """

    def load(self, key: str) -> dict[str, Any]:
        """Return the session of ``key`` (an empty dict when there is none or it expired)."""
        ...

    def save(self, key: str, data: dict[str, Any], ttl_s: int) -> None:
        """Store ``data`` for ``key`` for ``ttl_s`` seconds."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...


class MemoryStore:
    """An in-process :class:`SessionStore` with expiry; fine for one worker.

    With several workers (``--workers N``) each has its own memory: use a shared store.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000):
        self._clock = clock
        self._max_entries = max_entries
        self._data: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def load(self, key: str) -> dict[str, Any]:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return {}
            expires, data = entry
            if expires <= self._clock():
                del self._data[key]
                return {}
            return dict(data)

    def save(self, key: str, data: dict[str, Any], ttl_s: int) -> None:
        with self._lock:
            now = self._clock()
            if len(self._data) >= self._max_entries and key not in self._data:
                self._evict(now)
            self._data[key] = (now + ttl_s, dict(data))

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)

    def _evict(self, now: float) -> None:
        expired = [key for key, (expires, _) in self._data.items() if expires <= now]
        for key in expired:
            del self._data[key]
        while len(self._data) >= self._max_entries:  # still full: drop the oldest entries
            del self._data[next(iter(self._data))]
