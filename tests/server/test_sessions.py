"""Session stores (callflow/sessions.py): one suite for MemoryStore and RedisSessionStore, then
what is particular to each, and ``open_store``.

Redis is a real ``redis-server`` (tests/redis_server.py), never a mock. The tests are plain
functions that drive coroutines with ``asyncio.run``; each closes its store in the loop that
used it.
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio
import redis.exceptions
from redis_server import RedisServer

from callflow import (
    CallflowError,
    ConfigurationError,
    MemoryStore,
    RedisSessionStore,
    SessionStore,
    SessionStoreError,
    SessionTooLarge,
    open_store,
)

T = TypeVar("T")

StoreFactory = Callable[..., SessionStore]
"""``make_store(max_session_bytes=...)``: a new store of the kind under test."""

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-Pa55word"


def drive(store: SessionStore, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario()`` in a new event loop, then close ``store`` in that same loop."""

    async def main() -> T:
        try:
            return await scenario()
        finally:
            await store.close()

    return asyncio.run(main())


def unique_prefix() -> str:
    """Keys of this test only, on the Redis server that the session shares."""
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> StoreFactory:
    """Stores of each kind, so that one test covers both."""
    if request.param == "memory":
        return MemoryStore
    url: str = request.getfixturevalue("redis_url")
    prefix = unique_prefix()

    def make(**options: Any) -> SessionStore:
        return RedisSessionStore(url, prefix=prefix, **options)

    return make


class Clock:
    """A clock that the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- both stores -------------------------------------------------------------------------------

JSON_VALUES = {
    "text": "héllo ☎ 😀",
    "int": 42,
    "big": 2**62,
    "float": 1.25,
    "true": True,
    "false": False,
    "none": None,
    "list": [1, "two", [3.5, None]],
    "nested": {"a": {"b": []}, "empty": {}},
    "blank": "",
}


def test_round_trip_of_json_values(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", JSON_VALUES, ttl_s=60)
        assert await store.load("call-1") == JSON_VALUES

    drive(store, scenario)


def test_what_comes_back_is_what_json_gives(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        data: dict[Any, Any] = {"digits": ("1", "2"), 7: "seven", "n": {1.5: True}}
        await store.save("call-1", data, 60)
        assert await store.load("call-1") == {
            "digits": ["1", "2"],
            "7": "seven",
            "n": {"1.5": True},
        }

    drive(store, scenario)


def test_a_loaded_session_is_a_copy(make_store: StoreFactory) -> None:
    store = make_store()
    data: dict[str, Any] = {"items": [1]}

    async def scenario() -> None:
        await store.save("call-1", data, ttl_s=60)
        data["items"].append(2)  # changing the saved dict afterwards changes nothing
        loaded = await store.load("call-1")
        loaded["items"].append(3)
        assert await store.load("call-1") == {"items": [1]}

    drive(store, scenario)


def test_an_absent_key_loads_as_empty(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        assert await store.load("call-2") == {}
        assert await store.load("") == {}

    drive(store, scenario)


def test_save_replaces_the_session(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", {"a": 1, "b": 2}, ttl_s=60)
        await store.save("call-1", {"c": 3}, ttl_s=60)
        assert await store.load("call-1") == {"c": 3}

    drive(store, scenario)


def test_delete_forgets_only_that_key(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        await store.save("call-2", {"b": 2}, ttl_s=60)
        await store.delete("call-1")
        await store.delete("call-1")  # absent: nothing happens
        await store.delete("never-saved")
        assert await store.load("call-1") == {}
        assert await store.load("call-2") == {"b": 2}

    drive(store, scenario)


def test_sessions_of_different_keys_are_separate(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        for n in range(20):
            await store.save(f"call-{n}", {"n": n}, ttl_s=60)
        assert [await store.load(f"call-{n}") for n in range(20)] == [{"n": n} for n in range(20)]

    drive(store, scenario)


def _payload(size: int) -> dict[str, str]:
    """A session whose compact JSON is ``size`` bytes: ``{"v":"xx...x"}``."""
    return {"v": "x" * (size - len('{"v":""}'))}


def test_a_session_exactly_at_the_limit_is_stored(make_store: StoreFactory) -> None:
    store = make_store(max_session_bytes=64)

    async def scenario() -> None:
        await store.save("call-1", _payload(64), ttl_s=60)
        assert await store.load("call-1") == _payload(64)

    drive(store, scenario)


def test_one_byte_over_the_limit_raises_and_stores_nothing(make_store: StoreFactory) -> None:
    store = make_store(max_session_bytes=64)

    async def scenario() -> None:
        with pytest.raises(SessionTooLarge) as raised:
            await store.save("call-1", _payload(65), ttl_s=60)
        assert (raised.value.size, raised.value.limit) == (65, 64)
        assert str(raised.value) == "session is 65 bytes, more than max_session_bytes=64"
        assert await store.load("call-1") == {}
        # an existing session keeps what it had
        await store.save("call-2", {"kept": True}, ttl_s=60)
        with pytest.raises(SessionTooLarge):
            await store.save("call-2", _payload(1000), ttl_s=60)
        assert await store.load("call-2") == {"kept": True}

    drive(store, scenario)


def test_the_limit_counts_utf8_bytes(make_store: StoreFactory) -> None:
    store = make_store(max_session_bytes=64)
    two_byte = {"v": "é" * 28}  # {"v":""} is 8 bytes, plus 28 x 2
    three_byte = {"v": "☎" * 19}  # 8 + 57

    async def scenario() -> None:
        await store.save("call-1", two_byte, ttl_s=60)
        assert await store.load("call-1") == two_byte
        with pytest.raises(SessionTooLarge, match="session is 65 bytes"):
            await store.save("call-2", three_byte, ttl_s=60)

    drive(store, scenario)


def test_the_default_limit_is_16384_bytes(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", _payload(16384), ttl_s=60)
        with pytest.raises(SessionTooLarge) as raised:
            await store.save("call-1", _payload(16385), ttl_s=60)
        assert str(raised.value) == "session is 16385 bytes, more than max_session_bytes=16384"
        assert await store.load("call-1") == _payload(16384)

    drive(store, scenario)


def _circular() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return {"loop": loop}


NOT_JSON = [
    pytest.param({"s": {1, 2}}, "set", id="set"),
    pytest.param({"b": b"bytes"}, "bytes", id="bytes"),
    pytest.param({"o": object()}, "object", id="object"),
    pytest.param({"nan": float("nan")}, "Out of range float", id="nan"),
    pytest.param({"inf": float("inf")}, "Out of range float", id="infinity"),
    pytest.param({"k": {(1, 2): "tuple key"}}, "keys must be", id="tuple-key"),
    pytest.param(_circular(), "Circular reference", id="circular"),
    pytest.param({"s": "\ud800"}, "surrogate", id="lone-surrogate"),
]


@pytest.mark.parametrize(("data", "detail"), NOT_JSON)
def test_a_value_json_cannot_hold_raises_and_stores_nothing(
    make_store: StoreFactory, data: dict[str, Any], detail: str
) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", {"before": 1}, ttl_s=60)
        with pytest.raises(TypeError, match=f"session is not JSON-serialisable: .*{detail}"):
            await store.save("call-1", data, ttl_s=60)
        assert await store.load("call-1") == {"before": 1}

    drive(store, scenario)


def test_a_session_must_be_a_mapping(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        with pytest.raises(TypeError, match="a session must be a mapping, not list"):
            await store.save("call-1", [1, 2], ttl_s=60)  # type: ignore[arg-type]

    drive(store, scenario)


@pytest.mark.parametrize("ttl_s", [0, -1, 1.5, True])
def test_a_ttl_must_be_a_positive_integer(make_store: StoreFactory, ttl_s: Any) -> None:
    store = make_store()

    async def scenario() -> None:
        with pytest.raises(ConfigurationError, match=r"'ttl_s' must be an integer >= 1"):
            await store.save("call-1", {"a": 1}, ttl_s=ttl_s)
        assert await store.load("call-1") == {}

    drive(store, scenario)


def test_ping_answers_true_when_the_store_is_up(make_store: StoreFactory) -> None:
    store = make_store()
    assert drive(store, store.ping) is True


def test_a_closed_store_can_be_used_again(make_store: StoreFactory) -> None:
    store = make_store()

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        await store.close()
        await store.close()  # twice is fine
        assert await store.load("call-1") == {"a": 1}

    drive(store, scenario)


def test_both_stores_are_session_stores(make_store: StoreFactory) -> None:
    store: SessionStore = make_store()  # mypy checks the protocol here
    for name in ("load", "save", "delete", "ping", "close"):
        assert asyncio.iscoroutinefunction(getattr(store, name)), name


# -- expiry ------------------------------------------------------------------------------------


def test_memory_sessions_expire_at_their_ttl() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=10)
        clock.now += 9.999
        assert await store.load("call-1") == {"a": 1}
        clock.now += 0.001
        assert await store.load("call-1") == {}
        assert len(store) == 0

    drive(store, scenario)


def test_memory_save_restarts_the_ttl() -> None:
    clock = Clock()
    store = MemoryStore(clock=clock)

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=10)
        clock.now += 8
        await store.save("call-1", {"a": 2}, ttl_s=10)
        clock.now += 8
        assert await store.load("call-1") == {"a": 2}
        clock.now += 2
        assert await store.load("call-1") == {}

    drive(store, scenario)


def test_memory_never_returns_an_expired_entry_behind_a_live_one() -> None:
    """With different TTLs, save order is not expiry order: an entry that expired behind a
    live one stays in memory until loaded or pushed out, but is never returned."""
    clock = Clock()
    store = MemoryStore(clock=clock)

    async def scenario() -> None:
        await store.save("long", {"a": 1}, ttl_s=100)
        await store.save("short", {"b": 2}, ttl_s=1)
        clock.now += 5
        assert await store.load("short") == {}
        assert await store.load("long") == {"a": 1}
        assert len(store) == 1

    drive(store, scenario)


def test_memory_expired_entries_are_dropped_and_do_not_count_against_the_bound() -> None:
    clock = Clock()
    store = MemoryStore(max_entries=3, clock=clock)

    async def scenario() -> None:
        for key in ("a", "b", "c"):
            await store.save(key, {"k": key}, ttl_s=10)
        clock.now += 10
        await store.save("d", {"k": "d"}, ttl_s=10)
        assert len(store) == 1  # a, b and c were dropped, not evicted one by one
        await store.save("e", {"k": "e"}, ttl_s=10)
        await store.save("f", {"k": "f"}, ttl_s=10)
        assert [await store.load(key) for key in "def"] == [{"k": "d"}, {"k": "e"}, {"k": "f"}]

    drive(store, scenario)


def test_redis_sessions_expire_by_redis_ttl(redis_url: str) -> None:
    prefix = unique_prefix()
    store = RedisSessionStore(redis_url, prefix=prefix)

    async def scenario() -> None:
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            await store.save("call-1", {"a": 1}, ttl_s=1)
            assert await store.load("call-1") == {"a": 1}
            # Poll until Redis has expired the key (PTTL -2: no such key), bounded.
            for _ in range(100):
                if await raw.pttl(f"{prefix}call-1") == -2:
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("redis did not expire the session within 5 s")
            assert await store.load("call-1") == {}
        finally:
            await raw.aclose()

    drive(store, scenario)


# -- MemoryStore -------------------------------------------------------------------------------


def test_memory_store_evicts_the_oldest_entry_when_full() -> None:
    store = MemoryStore(max_entries=3)

    async def scenario() -> None:
        for key in ("a", "b", "c"):
            await store.save(key, {"k": key}, ttl_s=60)
        await store.save("b", {"k": "b2"}, ttl_s=60)  # b becomes the newest
        await store.save("d", {"k": "d"}, ttl_s=60)  # evicts a
        await store.save("e", {"k": "e"}, ttl_s=60)  # evicts c, not b
        assert len(store) == 3
        assert await store.load("a") == {}
        assert await store.load("c") == {}
        assert await store.load("b") == {"k": "b2"}
        assert await store.load("d") == {"k": "d"}
        assert await store.load("e") == {"k": "e"}

    drive(store, scenario)


def test_memory_store_replacing_a_key_when_full_evicts_nothing() -> None:
    store = MemoryStore(max_entries=2)

    async def scenario() -> None:
        await store.save("a", {"n": 1}, ttl_s=60)
        await store.save("b", {"n": 1}, ttl_s=60)
        await store.save("a", {"n": 2}, ttl_s=60)
        assert await store.load("a") == {"n": 2}
        assert await store.load("b") == {"n": 1}

    drive(store, scenario)


class CountingTime(float):
    """A clock reading that counts the comparisons made with it (one per entry inspected)."""

    comparisons = 0

    def __add__(self, other: object) -> CountingTime:
        return CountingTime(float(self) + float(other))  # type: ignore[arg-type]

    def _count(self) -> None:
        CountingTime.comparisons += 1

    def __lt__(self, other: float) -> bool:
        self._count()
        return float(self) < float(other)

    def __le__(self, other: float) -> bool:
        self._count()
        return float(self) <= float(other)

    def __gt__(self, other: float) -> bool:
        self._count()
        return float(self) > float(other)

    def __ge__(self, other: float) -> bool:
        self._count()
        return float(self) >= float(other)


def test_memory_store_insert_cost_does_not_depend_on_fill() -> None:
    """Fill a store of 100 000 entries, then insert 10 000 more: each save inspects a bounded
    number of entries (counted through the clock readings they are compared with), never all
    of them (the former store scanned every entry on each insert once full)."""
    store = MemoryStore(max_entries=100_000, clock=lambda: CountingTime(1000.0))

    async def save_all(prefix: str, count: int) -> None:
        for n in range(count):
            before = CountingTime.comparisons
            await store.save(f"{prefix}-{n}", {"n": n}, ttl_s=60)
            made = CountingTime.comparisons - before
            if made > 10:
                pytest.fail(f"saving {prefix}-{n} compared {made} expiry times (a scan)")

    async def scenario() -> None:
        await save_all("fill", 100_000)
        assert len(store) == 100_000
        await save_all("more", 10_000)
        assert len(store) == 100_000
        assert await store.load("fill-9999") == {}
        assert await store.load("fill-10000") == {"n": 10000}
        assert await store.load("more-9999") == {"n": 9999}

    CountingTime.comparisons = 0
    drive(store, scenario)
    assert CountingTime.comparisons > 0  # the count does see the store's comparisons


def test_memory_store_ping_and_close() -> None:
    store = MemoryStore()

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        assert await store.ping() is True
        await store.close()
        assert await store.load("call-1") == {"a": 1}  # close keeps the sessions

    drive(store, scenario)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"max_entries": 0}, "'max_entries' must be an integer >= 1 (got 0)", id="n0"),
        pytest.param({"max_entries": 1.5}, "'max_entries' must be an integer", id="n-float"),
        pytest.param({"max_session_bytes": 0}, "'max_session_bytes' must be", id="bytes0"),
        pytest.param({"max_session_bytes": -5}, "'max_session_bytes' must be", id="bytes-neg"),
    ],
)
def test_memory_store_rejects_bad_bounds(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        MemoryStore(**options)


# -- RedisSessionStore -------------------------------------------------------------------------


def test_redis_keys_have_the_prefix_compact_json_and_a_ttl(redis_url: str) -> None:
    prefix = unique_prefix()
    store = RedisSessionStore(redis_url, prefix=prefix)

    async def scenario() -> None:
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            await store.save("call-1", {"a": [1, 2], "b": "é"}, ttl_s=120)
            assert await raw.keys(f"{prefix}*") == [f"{prefix}call-1".encode()]
            assert await raw.get(f"{prefix}call-1") == '{"a":[1,2],"b":"é"}'.encode()
            assert 0 < await raw.ttl(f"{prefix}call-1") <= 120
            await store.delete("call-1")
            assert await raw.exists(f"{prefix}call-1") == 0
        finally:
            await raw.aclose()

    drive(store, scenario)


def test_redis_default_prefix(redis_url: str) -> None:
    store = RedisSessionStore(redis_url)
    key = f"call-{uuid.uuid4().hex}"

    async def scenario() -> None:
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            await store.save(key, {"a": 1}, ttl_s=60)
            assert await raw.get(f"callflow:session:{key}") == b'{"a":1}'
            await store.delete(key)
        finally:
            await raw.aclose()

    drive(store, scenario)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1,2]", id="a-list"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_redis_value_written_by_someone_else_raises_store_error(
    redis_url: str, value: bytes
) -> None:
    prefix = unique_prefix()
    store = RedisSessionStore(redis_url, prefix=prefix)

    async def scenario() -> None:
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            await raw.set(f"{prefix}call-1", value, ex=60)
            with pytest.raises(SessionStoreError, match="could not load 'call-1'"):
                await store.load("call-1")
        finally:
            await raw.aclose()

    drive(store, scenario)


def test_redis_down_raises_store_error_naming_store_and_operation(
    redis_server: RedisServer,
) -> None:
    store = RedisSessionStore(redis_server.url, prefix=unique_prefix())
    redis_server.stop()

    async def scenario() -> None:
        operations: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("load 'call-1'", lambda: store.load("call-1")),
            ("save 'call-1'", lambda: store.save("call-1", {"a": 1}, ttl_s=60)),
            ("delete 'call-1'", lambda: store.delete("call-1")),
        ]
        for what, operation in operations:
            with pytest.raises(SessionStoreError) as raised:
                await operation()
            error = raised.value
            assert str(error).startswith(
                f"session store redis {redis_server.url} could not {what}: ConnectionError: "
            )
            assert isinstance(error, RuntimeError)
            assert isinstance(error, CallflowError)
            assert isinstance(error.__cause__, redis.exceptions.ConnectionError)
            assert error.store == f"redis {redis_server.url}"
            assert error.operation == what.split()[0]
            assert error.key == "call-1"
        assert await store.ping() is False

    drive(store, scenario)


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        pytest.param(
            "redis://:{pw}@127.0.0.1:{port}/0", "redis://:***@127.0.0.1:{port}/0", id="userinfo"
        ),
        pytest.param(
            "redis://default:{pw}@127.0.0.1:{port}/0",
            "redis://default:***@127.0.0.1:{port}/0",
            id="user-and-password",
        ),
        pytest.param(
            "redis://127.0.0.1:{port}/0?password={pw}",
            "redis://127.0.0.1:{port}/0?password=***",
            id="query",
        ),
    ],
)
@pytest.mark.parametrize("server_state", ["down", "up"])
def test_redis_errors_never_show_the_password(
    redis_server: RedisServer, template: str, shown: str, server_state: str
) -> None:
    """Down: the connection is refused. Up: the server wants another password (WRONGPASS)."""
    url = template.format(pw=PASSWORD, port=redis_server.port)
    store = RedisSessionStore(url, prefix=unique_prefix())
    assert store.location == shown.format(port=redis_server.port)
    assert PASSWORD not in repr(store)
    if server_state == "down":
        redis_server.stop()

    async def scenario() -> None:
        if server_state == "up":
            admin = redis.asyncio.Redis.from_url(redis_server.url)
            await admin.config_set("requirepass", "another-password")
            await admin.aclose()
        with pytest.raises(SessionStoreError) as raised:
            await store.save("call-1", {"a": 1}, ttl_s=60)
        assert PASSWORD not in str(raised.value)
        assert PASSWORD not in repr(raised.value)
        assert shown.format(port=redis_server.port) in str(raised.value)
        assert await store.ping() is False

    drive(store, scenario)


def test_redis_store_recovers_after_a_restart(redis_server: RedisServer) -> None:
    """One store and one loop throughout: its pooled connection dies with the server, and the
    store reconnects once the server is back (which starts empty: no persistence)."""
    store = RedisSessionStore(redis_server.url, prefix=unique_prefix())

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        assert await store.ping() is True
        redis_server.stop()
        assert await store.ping() is False
        with pytest.raises(SessionStoreError):
            await store.load("call-1")
        with pytest.raises(SessionStoreError):
            await store.save("call-2", {"b": 2}, ttl_s=60)
        redis_server.restart()
        assert await store.ping() is True
        assert await store.load("call-1") == {}
        await store.save("call-2", {"b": 2}, ttl_s=60)
        assert await store.load("call-2") == {"b": 2}

    drive(store, scenario)


def test_redis_store_survives_a_restart_between_commands(redis_server: RedisServer) -> None:
    """A pooled connection that the restarted server no longer knows is replaced on the
    first command: no error reaches the caller."""
    store = RedisSessionStore(redis_server.url, prefix=unique_prefix())

    async def scenario() -> None:
        await store.save("call-1", {"a": 1}, ttl_s=60)
        redis_server.restart()
        await store.save("call-1", {"a": 2}, ttl_s=60)
        assert await store.load("call-1") == {"a": 2}

    drive(store, scenario)


def test_redis_store_is_built_outside_a_loop_and_used_in_several(redis_url: str) -> None:
    """A client belongs to the loop it was made in; the store keeps one per loop. Two live
    loops take turns, and each closes its own client."""
    store = RedisSessionStore(redis_url, prefix=unique_prefix())  # no running loop here
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(store.save("call-1", {"loop": 1}, ttl_s=60))

        async def in_second_loop() -> None:
            assert await store.load("call-1") == {"loop": 1}
            await store.save("call-1", {"loop": 2}, ttl_s=60)

        drive(store, in_second_loop)
        assert first.run_until_complete(store.load("call-1")) == {"loop": 2}
        first.run_until_complete(store.close())
    finally:
        first.close()
    assert drive(store, lambda: store.load("call-1")) == {"loop": 2}  # a third loop


def test_redis_store_makes_no_connection_until_used() -> None:
    """Nothing listens on this port; building the store (at import time, say) is fine."""
    store = RedisSessionStore("redis://127.0.0.1:9/0")
    assert store.location == "redis://127.0.0.1:9/0"
    assert drive(store, store.ping) is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"timeout_s": 0}, "'timeout_s' must be > 0 (got 0)", id="timeout0"),
        pytest.param({"timeout_s": -1.0}, "'timeout_s' must be > 0", id="timeout-neg"),
        pytest.param({"max_session_bytes": 0}, "'max_session_bytes' must be", id="bytes0"),
    ],
)
def test_redis_store_rejects_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        RedisSessionStore("redis://127.0.0.1:6379/0", **options)


# -- open_store --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "location"),
    [
        pytest.param("memory://", MemoryStore, None, id="memory"),
        pytest.param("MEMORY://", MemoryStore, None, id="memory-upper-case"),
        pytest.param("redis://127.0.0.1:6379/0", RedisSessionStore, None, id="redis"),
        pytest.param("redis://cache.internal", RedisSessionStore, None, id="redis-no-port"),
        pytest.param("rediss://cache.internal:6380/2", RedisSessionStore, None, id="rediss"),
        pytest.param("unix:///run/redis.sock?db=1", RedisSessionStore, None, id="unix"),
        pytest.param(
            f"redis://:{PASSWORD}@cache.internal:6379/0",
            RedisSessionStore,
            "redis://:***@cache.internal:6379/0",
            id="redis-password",
        ),
    ],
)
def test_open_store(url: str, kind: type[SessionStore], location: str | None) -> None:
    store = open_store(url, max_session_bytes=1234)
    assert type(store) is kind
    assert isinstance(store, MemoryStore | RedisSessionStore)
    assert store.max_session_bytes == 1234
    if isinstance(store, RedisSessionStore):
        assert store.location == (location or url)
        assert store.prefix == "callflow:session:"
    assert open_store(url).max_session_bytes == 16384  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        pytest.param("", "must be memory://", id="empty"),
        pytest.param("memory", "must be memory://", id="no-slashes"),
        pytest.param("memory://somewhere", "must be memory://", id="memory-with-host"),
        pytest.param("http://cache.internal", "must be memory://", id="http"),
        pytest.param("redis:/cache.internal", "must be memory://", id="one-slash"),
        pytest.param(
            f"postgres://app:{PASSWORD}@db/sessions", "must be memory://", id="other-with-password"
        ),
        pytest.param("redis://cache.internal:abc/0", "not a valid Redis URL", id="bad-port"),
        pytest.param(
            f"redis://:{PASSWORD}@cache.internal:abc/0", "not a valid Redis URL", id="bad-port-pw"
        ),
        pytest.param("redis://cache.internal/zero", "database of a Redis URL", id="bad-db"),
        pytest.param("redis://[::1", "not a valid Redis URL", id="unparseable"),
    ],
)
def test_open_store_rejects_other_urls(url: str, detail: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        open_store(url)
    message = str(raised.value)
    assert "session_url (CALLFLOW_SESSION_URL)" in message
    assert detail in message
    assert PASSWORD not in message


def test_the_redis_store_needs_the_redis_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the package (simulated: a None entry in sys.modules makes its import fail)."""
    for name in [name for name in sys.modules if name == "redis" or name.startswith("redis.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError):
        import redis.asyncio as missing  # noqa: F401
    for url in ("redis://127.0.0.1:6379/0", "rediss://h", "unix:///run/redis.sock"):
        with pytest.raises(ConfigurationError, match=re.escape("pip install 'callflow[redis]'")):
            open_store(url)
    with pytest.raises(ConfigurationError, match=re.escape("pip install 'callflow[redis]'")):
        RedisSessionStore("redis://127.0.0.1:6379/0")
    assert isinstance(open_store("memory://"), MemoryStore)  # the memory store needs nothing


# -- the errors --------------------------------------------------------------------------------


def test_session_too_large_is_a_value_error_with_fields() -> None:
    error = SessionTooLarge(20000, 16384)
    assert isinstance(error, ValueError)
    assert isinstance(error, CallflowError)
    assert (error.size, error.limit) == (20000, 16384)
    assert str(error) == "session is 20000 bytes, more than max_session_bytes=16384"


def test_session_store_error_is_a_runtime_error_with_fields() -> None:
    error = SessionStoreError("redis redis://h:6379/0", "save", "ConnectionError: refused", "k")
    assert isinstance(error, RuntimeError)
    assert isinstance(error, CallflowError)
    assert (error.store, error.operation, error.reason, error.key) == (
        "redis redis://h:6379/0",
        "save",
        "ConnectionError: refused",
        "k",
    )
    assert str(error) == (
        "session store redis redis://h:6379/0 could not save 'k': ConnectionError: refused"
    )
    assert str(SessionStoreError("memory", "close", "gone")) == (
        "session store memory could not close: gone"
    )


# -- the docs ----------------------------------------------------------------------------------


def _store_example() -> str:
    text = (ROOT / "docs" / "round-trips.md").read_text()
    section = text[text.index("### How to add another store") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no python example under 'How to add another store'"
    return match.group(1)


def test_the_store_example_of_the_docs_runs() -> None:
    namespace: dict[str, Any] = {"__name__": "docs_store_example"}
    exec(compile(_store_example(), "docs/round-trips.md", "exec"), namespace)
    store = namespace["DictStore"]()

    async def scenario() -> None:
        await store.save("k", {"a": (1,)}, ttl_s=60)
        assert await store.load("k") == {"a": [1]}

    drive(store, scenario)


@pytest.mark.parametrize(
    ("url", "spellings"),
    [
        pytest.param(f"redis://:{PASSWORD}@127.0.0.1:6379/0", [PASSWORD], id="userinfo"),
        pytest.param(
            "redis://:s3cret%2FPa55@127.0.0.1:6379/0",
            ["s3cret%2FPa55", "s3cret/Pa55"],
            id="percent-encoded",
        ),
        pytest.param(f"unix:///run/redis.sock?password={PASSWORD}", [PASSWORD], id="query"),
    ],
)
def test_a_password_in_a_lower_level_message_is_blanked(url: str, spellings: list[str]) -> None:
    """Defence in depth: redis-py does not put passwords in its messages today, but if one
    ever does, the store's error does not repeat it (in either spelling)."""
    store = RedisSessionStore(url)
    for secret in spellings:
        error = store._error("save", "k", redis.exceptions.ConnectionError(f"auth {secret} ko"))
        assert "s3cret" not in str(error)
        assert "auth *** ko" in str(error)
