"""Scale-out (issue 9) through real ``callflow serve`` processes on loopback ports and a real
``redis-server``: several workers, several servers sharing one Redis, a Redis outage, the
metrics summed over the workers, and the start-up errors of a setup that cannot scale.

Links are followed as Opentact follows them: the URL from the XML, with the call's
parameters appended. Every request goes to 127.0.0.1 on a connection of its own
(``Connection: close``), so the kernel hands the requests of one call to either worker.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx2
import pytest
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families
from redis_server import free_port
from replies import FALLBACK_TAG

from callflow import App, CallContext, Hangup, Response, Say
from callflow.server.metrics import MULTIPROC_DIR

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable

    from conftest import ClientFactory, Server, ServerFactory, ServeRunner, XmlReply
    from redis_server import RedisServer

SCALE_APP = "tests.scale_apps:app"
CLOSE = {"connection": "close"}
CALLS = 10
STEPS = 4
EXTRA_CALLS = 20
"""Calls added, at most, when one worker happened to take every request of a run."""
LOG_DEADLINE_S = 10.0
FLUSH_S = 0.3
"""Longer than logs.BatchingHandler's flush interval (0.2 s): lines batched are out."""
LOG_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \S"
)
"""Every line callflow serve writes: its text format, whichever process wrote it."""


@pytest.fixture(autouse=True)
def _no_metrics_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a ``PROMETHEUS_MULTIPROC_DIR`` of the developer's shell out of the servers (it
    would add an earlier run's counts) and out of the in-process Apps."""
    monkeypatch.delenv(MULTIPROC_DIR, raising=False)


# -- following links as Opentact does ------------------------------------------------------


def new_call() -> str:
    return f"c-{uuid.uuid4().hex}"


def opentact(call: str) -> str:
    """The query Opentact sends with every request of ``call``."""
    return f"from=%2B15550100999&tn=15550100200&state=live&call={call}"


def target(url: str) -> str:
    """The path and query of a link, to send to whichever server."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def with_session(link: str, token: str) -> str:
    """``link`` with its ``cf_session`` replaced by ``token``."""
    path, _, query = link.partition("?")
    pairs = [(k, token if k == "cf_session" else v) for k, v in parse_qsl(query)]
    return f"{path}?{urlencode(pairs)}"


def session_of(link: str) -> str:
    return dict(parse_qsl(link.partition("?")[2]))["cf_session"]


def get(server: Server, path: str) -> httpx2.Response:
    """GET on a connection of its own (the server closes it after the reply)."""
    return server.http.get(path, headers=CLOSE)


def start_call(server: Server, call: str, xml_reply: XmlReply, key: str = "") -> str:
    """Request the webhook for ``call`` (with the access key ``key``, as the webhook URL
    configured at Opentact has it); return the link of its Gather."""
    root = xml_reply(get(server, f"/?{f'token={key}&' if key else ''}{opentact(call)}"))
    gather = root.find("Gather")
    assert gather is not None, etree.tostring(root)
    return target(str(gather.get("url")))


@dataclass(frozen=True)
class Step:
    """What ``/step`` answered: what it said, the pid of the worker, and the next link."""

    said: str
    pid: int
    link: str


def read_step(reply: httpx2.Response) -> Step | str:
    """The ``/step`` reply, or what is wrong with it."""
    if reply.status_code != 200 or b"<Callback" not in reply.content:
        return f"{reply.status_code} {reply.text[:300]}"
    root = etree.fromstring(reply.content)
    say, meta, callback = root.find("Say"), root.find("Meta[@name='pid']"), root.find("Callback")
    if say is None or meta is None or callback is None:
        return f"unexpected document {reply.text[:300]}"
    return Step(str(say.text), int(str(meta.get("value"))), target(str(callback.get("url"))))


def follow(server: Server, link: str, call: str, xml_reply: XmlReply) -> Step:
    """Follow ``link`` for ``call`` (a digit pressed) and read the ``/step`` reply."""
    reply = get(server, f"{link}&{opentact(call)}&dtmf=1")
    xml_reply(reply)
    step = read_step(reply)
    assert isinstance(step, Step), step
    return step


@dataclass
class Walk:
    """The round trips of several calls through ``/step``."""

    steps: int = 0
    """``/step`` requests sent."""
    pids: Counter[int] = field(default_factory=Counter)
    """How many ``/step`` requests each worker answered."""
    handovers: int = 0
    """Steps answered by another worker than the call's step before: the link it followed
    (state and session tokens) was made by one worker and read by the other."""
    failures: list[str] = field(default_factory=list)


def walk(server: Server, calls: int, walked: Walk) -> None:
    """Start ``calls`` calls and follow each through ``STEPS`` steps; every step must say
    its state and the visit count of the call's session (the webhook was visit 1)."""
    for _ in range(calls):
        call = new_call()
        reply = get(server, "/?" + opentact(call))
        gather = etree.fromstring(reply.content).find("Gather") if reply.is_success else None
        if gather is None:
            walked.failures.append(f"{call} /: {reply.status_code} {reply.text[:300]}")
            continue
        link = target(str(gather.get("url")))
        previous: int | None = None
        for n in range(1, STEPS + 1):
            walked.steps += 1
            step = read_step(get(server, f"{link}&{opentact(call)}&dtmf=1"))
            if isinstance(step, str):
                walked.failures.append(f"{call} step {n}: {step}")
                break
            if step.said != f"state {n} visits {n + 1}":
                walked.failures.append(f"{call} step {n}: said {step.said!r}")
            walked.pids[step.pid] += 1
            walked.handovers += previous is not None and step.pid != previous
            previous, link = step.pid, step.link


def walk_both_workers(server: Server) -> Walk:
    """``CALLS`` calls, then more (bounded) until both workers have answered ``/step`` and
    one call has been handed from one to the other."""
    walked = Walk()
    walk(server, CALLS, walked)
    extra = 0
    while (
        (len(walked.pids) < 2 or not walked.handovers)
        and extra < EXTRA_CALLS
        and not walked.failures
    ):
        walk(server, 1, walked)
        extra += 1
    return walked


# -- the server's output -------------------------------------------------------------------


def lines_with(text: str, *needles: str) -> list[str]:
    return [line for line in text.splitlines() if all(n in line for n in needles)]


def wait_for_lines(
    server: Server, count: int, *needles: str, offset: int = 0, deadline_s: float = LOG_DEADLINE_S
) -> list[str]:
    """The lines after ``offset`` holding every one of ``needles``, once there are at least
    ``count`` of them (or at the deadline), and once lines batched for flushing are out."""
    deadline = time.monotonic() + deadline_s
    while len(lines_with(server.output()[offset:], *needles)) < count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(FLUSH_S)
    return lines_with(server.output()[offset:], *needles)


def wait_for_workers(server: Server, workers: int) -> None:
    """Wait until every worker has started its application (the health check needs one)."""
    started = wait_for_lines(server, workers, "Application startup complete.")
    assert len(started) == workers, server.output()


def assert_logged_as_one_worker(server: Server, workers: int, steps: int) -> None:
    """One access line per ``/step`` request, one start-up per worker, and every line in
    callflow's own text format, whichever process wrote it."""
    access = wait_for_lines(server, steps, "callflow.access", "path=/step")
    output = server.output()
    assert len(access) == steps, output
    assert len(lines_with(output, "Started server process")) == workers, output
    assert len(lines_with(output, "Started parent process")) == 1, output
    stray = [line for line in output.splitlines() if line and not LOG_LINE.match(line)]
    assert stray == [], output
    assert "Traceback" not in output, output


def redis_env(url: str, **more: str) -> dict[str, str]:
    return {"CALLFLOW_SESSION_URL": url, **more}


# -- 1, 2: several workers ---------------------------------------------------------------


def test_the_workers_share_the_sessions_of_every_call(
    start_server: ServerFactory, redis_url: str
) -> None:
    server = start_server("--workers", "2", app=SCALE_APP, env=redis_env(redis_url))
    wait_for_workers(server, 2)
    walked = walk_both_workers(server)
    assert walked.failures == []
    assert walked.steps >= CALLS * STEPS
    assert sum(walked.pids.values()) == walked.steps
    assert len(walked.pids) == 2, walked.pids  # both workers answered
    assert walked.handovers > 0
    assert server.process.pid not in walked.pids  # the parent only supervises
    assert_logged_as_one_worker(server, 2, walked.steps)


def test_the_workers_share_one_development_secret(
    start_server: ServerFactory, redis_url: str
) -> None:
    server = start_server(
        "--workers", "2", app=SCALE_APP, env=redis_env(redis_url, CALLFLOW_SECRET="")
    )
    wait_for_workers(server, 2)
    walked = walk_both_workers(server)
    # A token signed by one worker and checked by the other would be a 403 here.
    assert walked.failures == []
    assert len(walked.pids) == 2, walked.pids
    assert walked.handovers > 0
    assert_logged_as_one_worker(server, 2, walked.steps)
    output = server.output()
    warnings = lines_with(output, "no CALLFLOW_SECRET set")
    assert len(warnings) == 1, output  # the parent's, none from each worker's App
    assert " WARNING " in warnings[0]
    assert "share a temporary secret" in warnings[0]


def test_several_workers_with_the_memory_store_are_refused(run_serve: ServeRunner) -> None:
    ended = run_serve("--workers", "2", app=SCALE_APP)
    assert ended.code == 2, ended
    lines = ended.stderr.splitlines()
    assert len(lines) == 1, ended.stderr
    assert lines[0].startswith("callflow: "), ended.stderr
    assert "CALLFLOW_SESSION_URL" in lines[0]
    assert "Traceback" not in ended.stdout + ended.stderr


# -- 4: several servers, one Redis ---------------------------------------------------------


def test_two_servers_share_the_sessions_in_redis(
    start_server: ServerFactory, redis_url: str, xml_reply: XmlReply
) -> None:
    first = start_server(app=SCALE_APP, env=redis_env(redis_url))
    second = start_server(app=SCALE_APP, env=redis_env(redis_url))
    one = new_call()
    link = start_call(first, one, xml_reply)
    hop = follow(second, link, one, xml_reply)
    assert (hop.said, hop.pid) == ("state 1 visits 2", second.process.pid)
    hop = follow(first, hop.link, one, xml_reply)
    assert (hop.said, hop.pid) == ("state 2 visits 3", first.process.pid)
    hop = follow(second, hop.link, one, xml_reply)
    assert hop.said == "state 3 visits 4"
    stolen = session_of(hop.link)  # call one's session token, for its next step

    # Another call's link (its state token is good for it) carrying call one's session
    # token: the token is bound to call one, so it opens nothing on call two.
    two = new_call()
    own = start_call(first, two, xml_reply)
    offset = len(second.output())
    replayed = follow(second, with_session(own, stolen), two, xml_reply)
    assert replayed.said == "state 1 visits 1"
    ignored = wait_for_lines(second, 1, "ignored a cf_session token", offset=offset)
    assert len(ignored) == 1, second.output()
    # Call two's own session, and call one's, are where they were.
    assert follow(second, own, two, xml_reply).said == "state 1 visits 2"
    assert follow(first, hop.link, one, xml_reply).said == "state 4 visits 5"


# -- 5: a Redis outage -------------------------------------------------------------------


def health(server: Server) -> dict[str, Any]:
    reply = get(server, "/healthz")
    assert reply.status_code == 200, reply.text
    found: dict[str, Any] = json.loads(reply.content)
    return found


def test_a_redis_outage_fails_only_the_session_flows_and_is_logged_once(
    start_server: ServerFactory, redis_server: RedisServer, xml_reply: XmlReply
) -> None:
    server = start_server(app=SCALE_APP, env=redis_env(redis_server.url))
    call = new_call()
    hop = follow(server, start_call(server, call, xml_reply), call, xml_reply)
    assert hop.said == "state 1 visits 2"
    assert health(server) == {"status": "ok", "session_store": "ok"}

    redis_server.stop()
    offset = len(server.output())
    for _ in range(4):  # a burst of failing requests
        reply = get(server, f"{hop.link}&{opentact(call)}&dtmf=1")
        xml_reply(reply)
        assert FALLBACK_TAG in reply.text, reply.text
        plain = xml_reply(get(server, "/plain?" + opentact(new_call())))
        assert plain.findtext("Say") == "plain"
    opened = get(server, "/?" + opentact(new_call()))  # a session written, not saved
    xml_reply(opened)
    assert FALLBACK_TAG in opened.text, opened.text
    assert health(server) == {"status": "degraded", "session_store": "unreachable"}
    failed = wait_for_lines(server, 1, "session store", offset=offset)
    assert len(failed) == 1, server.output()[offset:]
    assert " ERROR " in failed[0]
    errors = lines_with(server.output()[offset:], " ERROR ")
    assert errors == failed, server.output()[offset:]

    redis_server.restart()  # empty: the sessions of before are gone
    offset = len(server.output())
    assert health(server) == {"status": "ok", "session_store": "ok"}
    again = new_call()
    hop = follow(server, start_call(server, again, xml_reply), again, xml_reply)
    assert hop.said == "state 1 visits 2"
    assert follow(server, hop.link, again, xml_reply).said == "state 2 visits 3"
    recovered = wait_for_lines(server, 1, "session store is reachable again", offset=offset)
    assert len(recovered) == 1, server.output()[offset:]
    assert "Traceback" not in server.output()


# -- 6: metrics ----------------------------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def scrape(server: Server, query: str = "?token=k") -> Samples:
    reply = get(server, "/metrics" + query)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(reply.text)


def test_metrics_are_summed_over_the_workers(
    start_server: ServerFactory, redis_url: str, xml_reply: XmlReply
) -> None:
    server = start_server(
        "--workers",
        "2",
        app=SCALE_APP,
        env=redis_env(redis_url, CALLFLOW_METRICS="true", CALLFLOW_ACCESS_KEY="k"),
    )
    wait_for_workers(server, 2)
    assert get(server, "/metrics").status_code == 401
    assert get(server, "/metrics?token=wrong").status_code == 403
    calls = 0
    pids: set[int] = set()
    while calls < CALLS or (len(pids) < 2 and calls < CALLS + EXTRA_CALLS):
        call = new_call()
        link = start_call(server, call, xml_reply, key="k")  # url_for adds it to the link
        pids.add(follow(server, link, call, xml_reply).pid)
        plain = xml_reply(get(server, f"/plain?{opentact(call)}&token=k"))
        assert plain.findtext("Say") == "plain"
        calls += 1
    assert len(pids) == 2, pids  # the counts below come from both workers
    assert server.http.head("/?token=k", headers=CLOSE).status_code == 405

    wanted = {
        ("callflow_requests_total", "main", "200"): calls,
        ("callflow_requests_total", "step", "200"): calls,
        ("callflow_requests_total", "plain", "200"): calls,
        ("callflow_requests_total", "-", "405"): 1,
    }

    def counts(found: Samples) -> dict[tuple[str, str, str], float | None]:
        return {
            (name, flow, status): value(found, name, flow=flow, status=status)
            for name, flow, status in wanted
        }

    # A request is counted just after its reply is sent: poll until the last one is in.
    deadline = time.monotonic() + LOG_DEADLINE_S
    found = scrape(server)
    while counts(found) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        found = scrape(server)
    assert counts(found) == wanted, found
    assert value(found, "callflow_rejected_requests_total", cause="method") == 1
    assert value(found, "callflow_rejected_requests_total", cause="access") == 2
    assert value(found, "callflow_fallbacks_total", cause="error") == 0
    # Every scrape, whichever worker answers it, has the totals of both.
    for _ in range(6):
        assert counts(scrape(server)) == wanted


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown: lets a sync flow that the App abandoned finish."""
    event = threading.Event()
    yield event
    event.set()


def metrics_app(release: threading.Event, **options: Any) -> App:
    app = App(secret="x", metrics=True, flow_timeout_ms=100, **options)

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Say("hello"), Hangup())

    @app.flow("/boom", name="boom")
    def boom(call: CallContext) -> Response:
        raise RuntimeError("boom")

    @app.flow("/slow", name="slow")
    def slow(call: CallContext) -> Response:
        release.wait(10)
        return Response(Hangup())

    @app.flow("/invalid", name="invalid")
    def invalid(call: CallContext) -> str:
        return "<Response><Nonsense/></Response>"

    return app


@pytest.mark.parametrize(
    ("path", "status", "name", "cause"),
    [
        pytest.param("/boom", 200, "callflow_fallbacks_total", "error", id="error"),
        pytest.param("/slow", 200, "callflow_fallbacks_total", "timeout", id="timeout"),
        pytest.param("/invalid", 200, "callflow_fallbacks_total", "invalid", id="invalid"),
        pytest.param(
            "/?cf_state=not.a.token", 403, "callflow_rejected_requests_total", "token", id="token"
        ),
    ],
)
@pytest.mark.callflow_expect_fallback
def test_what_went_wrong_is_counted_by_cause(
    client_for: ClientFactory,
    release: threading.Event,
    path: str,
    status: int,
    name: str,
    cause: str,
) -> None:
    client = client_for(metrics_app(release))
    before = parse(client.get("/metrics").text)
    assert value(before, name, cause=cause) == 0
    reply = client.get(f"{path}{'&' if '?' in path else '?'}call=c-1")
    assert reply.status_code == status, reply.text
    if status == 200:
        assert FALLBACK_TAG in reply.text
    after = parse(client.get("/metrics").text)
    assert value(after, name, cause=cause) == 1
    others = [
        key
        for key, count in after.items()
        if key[0] == name and count and key[1] != (("cause", cause),)
    ]
    assert others == []


@pytest.mark.parametrize(
    ("options", "status"),
    [
        pytest.param({"secret": "x", "metrics": False}, 404, id="off"),
        pytest.param({"secret": "x"}, 404, id="development-default-off"),
        pytest.param(
            {"mode": "production", "secret": "p" * 32, "allowed_hosts": ["testserver"]},
            200,
            id="production-default-on",
        ),
        pytest.param(
            {
                "mode": "production",
                "secret": "p" * 32,
                "allowed_hosts": ["testserver"],
                "metrics": False,
            },
            404,
            id="production-off",
        ),
    ],
)
def test_metrics_are_served_when_configured(
    client_for: ClientFactory, options: dict[str, Any], status: int
) -> None:
    app = App(**options)

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(Say("hello"), Hangup())

    client = client_for(app)
    assert client.get("/", params={"call": "c-1"}).status_code == 200
    reply = client.get("/metrics")
    assert reply.status_code == status, reply.text
    if status == 200:
        found = parse(reply.text)
        assert value(found, "callflow_requests_total", flow="main", status="200") == 1


# -- 7: no APP and no flows package ------------------------------------------------------


def test_serve_without_an_app_outside_the_repository_says_what_to_pass(
    run_callflow_in: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    port = str(free_port())
    ended = run_callflow_in(folder, "serve", "--host", "127.0.0.1", "--port", port)
    assert ended.returncode == 2, ended
    lines = ended.stderr.splitlines()
    assert len(lines) == 1, ended.stderr
    assert lines[0].startswith("callflow: "), ended.stderr
    assert "module:attribute" in lines[0]
    assert "Traceback" not in ended.stdout + ended.stderr
