"""Reading a request's query (callflow.server.request): decoded and split once, remembered
by the raw query string, with the same answers as splitting it anew."""

from __future__ import annotations

import pytest
from asgi import get

from callflow import App, CallContext, Hangup, Response, Say
from callflow.exceptions import BadRequest
from callflow.server import request
from callflow.server.request import QUERY_MEMO, Query, split_query


def echo(call: CallContext) -> Response:
    return Response(Say(f"{call.meta.get('a', '-')} {call.from_raw}"), Hangup())


def test_the_same_raw_query_is_split_once() -> None:
    raw = b"from=%2B15550100999&to=15550100200&probe=split-once"
    first = split_query(raw)
    assert split_query(bytes(raw)) is first
    assert first.values() == {"from": "+15550100999", "to": "15550100200", "probe": "split-once"}


def test_values_are_a_fresh_dict_each_time() -> None:
    query = split_query(b"a=1&probe=fresh")
    values = query.values()
    values["a"] = "changed"
    values.pop("probe")
    assert query.values() == {"a": "1", "probe": "fresh"}


def test_a_later_value_wins_as_before() -> None:
    assert split_query(b"a=1&a=2&probe=later").values() == {"a": "2", "probe": "later"}
    assert split_query(b"a=1&a=2&probe=later").get("a") == "2"


def test_the_memo_is_bounded() -> None:
    for index in range(QUERY_MEMO + 50):
        split_query(f"from=%2B1555010{index:04d}&probe=bounded".encode())
    assert len(request._QUERIES) <= QUERY_MEMO


def test_a_query_that_is_not_utf8_is_not_remembered() -> None:
    raw = b"a=\xff&probe=not-utf8"
    assert split_query(raw) == Query(None)
    assert raw not in request._QUERIES


def test_a_malformed_query_raises_on_every_read_and_reads_like_starlette() -> None:
    query = split_query(b"a=%ff&key=k1&probe=malformed")
    for _ in range(2):
        with pytest.raises(BadRequest, match="malformed query string"):
            query.values()
    assert query.get("key") == "k1"  # what an access check reads of it, as before


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_malformed_query_gets_400_every_time(attempt: int) -> None:
    app = App(secret="test-secret")
    app.flow("/", name="main")(echo)
    reply = get(app, "/", b"a=%ff&probe=400-every-time")
    assert reply.status == 400
    assert b"malformed query string" in reply.body


def test_a_remembered_query_gives_each_request_its_own_parameters() -> None:
    app = App(secret="test-secret")
    app.flow("/", name="main")(echo)
    raw = b"a=first&from=15550100999&probe=own"
    assert b"<Say>first 15550100999</Say>" in get(app, "/", raw).body
    assert b"<Say>first 15550100999</Say>" in get(app, "/", raw).body
