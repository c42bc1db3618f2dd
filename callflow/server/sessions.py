"""Per-call session data kept between steps, behind a small async store interface.

Every store keeps a session as its compact JSON encoding, so all behave alike: what ``load``
gives back is what JSON gives (tuples come back as lists, keys as strings), a value that JSON
cannot hold is refused with ``TypeError``, and an encoding longer than ``max_session_bytes``
raises :class:`~callflow.exceptions.SessionTooLarge`. In both cases nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from callflow.exceptions import ConfigurationError, SessionStoreError, SessionTooLarge

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEFAULT_MAX_SESSION_BYTES = 16384
"""The default bound of one session's JSON encoding, in bytes."""

_SETTING = "session_url (CALLFLOW_SESSION_URL)"
_REDIS_SCHEMES = ("redis", "rediss", "unix")


class SessionStore(Protocol):
    """Where ``call.session`` lives between requests; keys are call ids.

    Implement these five coroutines to keep sessions elsewhere. ``load`` returns ``{}`` for a
    key that is absent or expired; a store that cannot reach its backend raises
    :class:`~callflow.exceptions.SessionStoreError` (``ping`` returns False instead).
    """

    async def load(self, key: str) -> dict[str, Any]:
        """Return the session of ``key`` (an empty dict when there is none or it expired)."""
        ...

    async def save(self, key: str, data: Mapping[str, Any], ttl_s: int) -> None:
        """Store ``data`` for ``key`` for ``ttl_s`` seconds, replacing what was there."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is absent)."""
        ...

    async def ping(self) -> bool:
        """Return whether the store is reachable (for ``/healthz``)."""
        ...

    async def close(self) -> None:
        """Release connections; the store may be used again afterwards."""
        ...


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"'{name}' must be an integer >= 1 (got {value!r})")


def _encode(data: Mapping[str, Any], max_session_bytes: int) -> bytes:
    """The compact UTF-8 JSON of ``data``; refuse what JSON cannot hold or what is too big."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a session must be a mapping, not {type(data).__name__}")
    try:
        text = json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        encoded = text.encode()  # a lone surrogate fails here: it has no UTF-8 form
    except (TypeError, ValueError) as exc:
        raise TypeError(f"session is not JSON-serialisable: {exc}") from exc
    if len(encoded) > max_session_bytes:
        raise SessionTooLarge(len(encoded), max_session_bytes)
    return encoded


def _decode(raw: bytes | str) -> dict[str, Any]:
    """The session in ``raw``; ValueError when it is not the JSON of an object."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, found {type(value).__name__}")
    return value


class MemoryStore:
    """An in-process :class:`SessionStore`, bounded to ``max_entries`` sessions.

    Right for one worker: each process has its own memory, so several workers or hosts need a
    shared store (:class:`RedisSessionStore`). Entries are kept in the order of their last
    save, which is their expiry order when every save uses the same TTL (the server always
    passes ``session_ttl_s``): expired entries are dropped from the front, and when the store is
    full the oldest entry makes room. Every operation is O(1) (amortised) at any fill level.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_positive("max_entries", max_entries)
        _check_positive("max_session_bytes", max_session_bytes)
        self.max_entries = max_entries
        self.max_session_bytes = max_session_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __repr__(self) -> str:
        return f"MemoryStore(max_entries={self.max_entries}, entries={len(self._entries)})"

    def __len__(self) -> int:
        """The number of entries held (an expired one may linger until loaded or pushed out)."""
        self._drop_expired(self._clock())
        return len(self._entries)

    async def load(self, key: str) -> dict[str, Any]:
        """Return the session of ``key``, or ``{}``."""
        now = self._clock()
        self._drop_expired(now)
        entry = self._entries.get(key)
        if entry is None:
            return {}
        expires, raw = entry
        if expires <= now:  # saved with a shorter TTL than an entry before it
            del self._entries[key]
            return {}
        return _decode(raw)

    async def save(self, key: str, data: Mapping[str, Any], ttl_s: int) -> None:
        """Store ``data`` for ``key`` for ``ttl_s`` seconds; evict the oldest entry when full."""
        _check_positive("ttl_s", ttl_s)
        raw = _encode(data, self.max_session_bytes)
        now = self._clock()
        self._entries.pop(key, None)  # re-inserted at the end: the newest expiry
        self._drop_expired(now)
        while len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)
        self._entries[key] = (now + ttl_s, raw)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._entries.pop(key, None)

    async def ping(self) -> bool:
        """Return True: memory is always reachable."""
        return True

    async def close(self) -> None:
        """Do nothing: there is no connection, and the sessions stay."""

    def _drop_expired(self, now: float) -> None:
        # OrderedDict, not dict: finding the first key of a dict after many deletions at its
        # front scans the holes they leave, an OrderedDict follows its linked list.
        entries = self._entries
        while entries:
            key, (expires, _) = next(iter(entries.items()))
            if expires > now:
                return
            del entries[key]


class RedisSessionStore:
    """A :class:`SessionStore` in Redis, shared by every worker and host that uses it.

    Each session is one key, ``prefix + call id``, set with ``SET key json EX ttl`` so that
    Redis expires it. Every Redis error is raised as
    :class:`~callflow.exceptions.SessionStoreError`. A command that fails on a broken
    connection is retried once on a fresh one, and each attempt is bounded by ``timeout_s``.

    The client is created lazily, one per event loop (a client cannot be shared between loops),
    so the store may be built at import time. Await :meth:`close` in each loop that used it
    (the app does so at shutdown).
    """

    def __init__(
        self,
        url: str,
        *,
        max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES,
        prefix: str = "callflow:session:",
        timeout_s: float = 1.0,
    ) -> None:
        _require_redis()
        _check_redis_url(url)
        _check_positive("max_session_bytes", max_session_bytes)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise ConfigurationError(f"'timeout_s' must be > 0 (got {timeout_s!r})")
        self.max_session_bytes = max_session_bytes
        self.prefix = prefix
        self.timeout_s = float(timeout_s)
        self.location = _redact_url(url)  # the URL without its password, for messages
        self._url = url
        self._secrets = _secrets(url)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"RedisSessionStore({self.location!r}, prefix={self.prefix!r})"

    async def load(self, key: str) -> dict[str, Any]:
        """Return the session of ``key``, or ``{}``."""
        from redis.exceptions import RedisError

        try:
            raw = await self._client().get(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise self._error("load", key, exc) from exc
        if raw is None:
            return {}
        try:
            return _decode(raw)
        except ValueError as exc:  # written by something else than callflow
            raise self._error("load", key, exc) from exc

    async def save(self, key: str, data: Mapping[str, Any], ttl_s: int) -> None:
        """Store ``data`` for ``key``; Redis expires it after ``ttl_s`` seconds."""
        from redis.exceptions import RedisError

        _check_positive("ttl_s", ttl_s)
        raw = _encode(data, self.max_session_bytes)
        try:
            await self._client().set(self.prefix + key, raw, ex=ttl_s)
        except (RedisError, OSError) as exc:
            raise self._error("save", key, exc) from exc

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        from redis.exceptions import RedisError

        try:
            await self._client().delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise self._error("delete", key, exc) from exc

    async def ping(self) -> bool:
        """Return whether Redis answers ``PING``."""
        from redis.exceptions import RedisError

        try:
            return bool(await self._client().ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        """Close the client of the running loop, if there is one."""
        from redis.exceptions import RedisError

        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is None:
            return
        try:
            await client.aclose(close_connection_pool=True)
        except (RedisError, OSError) as exc:
            raise self._error("close", None, exc) from exc

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            client = Redis.from_url(
                self._url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                # One immediate retry on a new connection (the pooled one may predate a Redis
                # restart), not redis-py's ten with backoff: a call is waiting for the reply.
                retry=Retry(NoBackoff(), 1),
            )
            self._clients[loop] = client
        return client

    def _error(self, operation: str, key: str | None, exc: Exception) -> SessionStoreError:
        reason = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            reason = reason.replace(secret, "***")
        return SessionStoreError(f"redis {self.location}", operation, reason, key)


def _require_redis() -> None:
    try:
        import redis.asyncio  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "the Redis session store needs the redis package: pip install 'callflow[redis]'"
        ) from exc


def _check_redis_url(url: str) -> None:
    from redis.asyncio.connection import parse_url

    try:
        parts = urlsplit(url)
        parse_url(url)
    except ValueError as exc:
        raise ConfigurationError(
            f"{_SETTING} is not a valid Redis URL ({_redact_url(url)}): {exc}"
        ) from exc
    database = parts.path.strip("/")
    if parts.scheme in ("redis", "rediss") and database and not database.isdigit():
        # redis-py would silently use database 0
        raise ConfigurationError(
            f"{_SETTING}: the database of a Redis URL is a number, as in "
            f"redis://host:6379/0 (got {_redact_url(url)})"
        )


def _secrets(url: str) -> tuple[str, ...]:
    """The password of ``url`` as written and as decoded, to blank out of error messages."""
    try:
        parts = urlsplit(url)
        password = parts.password or dict(parse_qsl(parts.query)).get("password")
    except ValueError:
        return ()
    return tuple({password, unquote(password)}) if password else ()


def _redact_url(url: str) -> str:
    """Return ``url`` with its password (user info or ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(name.lower() == "password" for name, _ in pairs):
        query = urlencode(
            [(name, "***" if name.lower() == "password" else value) for name, value in pairs],
            safe="*",
        )
    if netloc == parts.netloc and query == parts.query:
        return url
    if "://" not in url:
        return urlunsplit(parts._replace(query=query))
    # By hand: urlunsplit drops the "//" of an empty host (unix:///run/redis.sock).
    rebuilt = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        rebuilt += f"?{query}"
    if parts.fragment:
        rebuilt += f"#{parts.fragment}"
    return rebuilt


def open_store(url: str, *, max_session_bytes: int = DEFAULT_MAX_SESSION_BYTES) -> SessionStore:
    """Return the store that ``url`` names: ``memory://``, or ``redis://``, ``rediss://``,
    ``unix://`` (a Redis URL as redis-py reads it, for example ``redis://host:6379/0``)."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "memory" and url.lower() == "memory://":
        return MemoryStore(max_session_bytes=max_session_bytes)
    if scheme in _REDIS_SCHEMES:
        return RedisSessionStore(url, max_session_bytes=max_session_bytes)
    raise ConfigurationError(
        f"{_SETTING} must be memory://, or a redis://, rediss:// or unix:// URL "
        f"(got {_redact_url(url)!r})"
    )
