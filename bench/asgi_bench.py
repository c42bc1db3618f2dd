"""Benchmark (c2): the webhook's costs measured in process, through direct ASGI calls.

* the access line: the pre-formatted line ``callflow serve`` writes against the logging
  path it replaced (a ``LogRecord`` made and handled through the same handler and formatter),
  text and JSON, each to ``/dev/null`` through callflow's ``BatchingHandler``;
* a flow returning a prepared document's bytes against one returning ``Rendered`` (the same
  document), with foreign bytes (checked on every request) for scale;
* the demo webhook against a raw ASGI constant endpoint, at the default log level and with
  the access line off.

Figures are medians of interleaved rounds, as ratios to the first contender of each table.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .timing import Contender, Figure, compare, figures_of

SECRET = "bench-secret-of-at-least-32-bytes!"
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"from=%2B15550100999&to=15550100200",
    "root_path": "",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 5000),
    "server": ("127.0.0.1", 8000),
}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, Any]) -> None:
    if message["type"] == "http.response.start" and message["status"] != 200:
        raise RuntimeError(f"status {message['status']}")


async def _drive(app: Any, scope: dict[str, Any], number: int) -> None:
    for _ in range(number):
        await app(dict(scope), _receive, _send)


Setup = Callable[[], Any]


def _compare_asgi(
    contenders: dict[str, tuple[Any, dict[str, Any], Setup | None]],
    *,
    rounds: int,
    number: int,
) -> list[Figure]:
    """Time ``number`` requests per contender (app, scope, set-up returning an undo
    function), ``rounds`` times interleaved; ratios to the first contender."""
    loop = asyncio.new_event_loop()
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    try:
        for app, scope, setup in contenders.values():  # warm up: first renders, memos
            undo = setup() if setup else None
            loop.run_until_complete(_drive(app, scope, 50))
            if undo:
                undo()
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                app, scope, setup = contenders[name]
                undo = setup() if setup else None
                start = time.perf_counter()
                loop.run_until_complete(_drive(app, scope, number))
                samples[name].append((time.perf_counter() - start) / number)
                if undo:
                    undo()
    finally:
        loop.close()
    return figures_of({name: samples[name] for name in names}, names[0])


@contextmanager
def _serve_logging(log_format: str, *, before: bool = False) -> Iterator[None]:
    """Logging as ``callflow serve`` configures it, to /dev/null written through as stderr
    is (``before``: straight to it, as the handler wrote before it batched its writes);
    restored afterwards."""
    from callflow.server.logs import LineChunks, handler

    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    made = handler(log_format)
    if not isinstance(made, logging.StreamHandler):
        raise TypeError(f"expected a StreamHandler, not {made!r}")
    # Never closed: the handler's flush thread outlives the run.
    made.setStream(_null() if before else LineChunks(_null()))
    root.handlers[:] = [made]
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


_NULL: list[Any] = []


def _null() -> Any:
    if not _NULL:  # written through, as sys.stderr is: a system call per write
        _NULL.append(open(os.devnull, "w", encoding="utf-8", buffering=1))  # noqa: SIM115
    return _NULL[0]


def _old_access_log(
    scope: dict[str, Any], status: int, info: dict[str, str], started: float
) -> None:
    """The access logging callflow did before the pre-formatted line (a copy)."""
    from callflow.server.logs import printable

    access_logger = logging.getLogger("callflow.access")
    elapsed = (time.perf_counter() - started) * 1000
    call = printable(info.get("call") or "-")
    flow = info.get("flow") or "-"
    client = printable(info.get("client") or "-")
    method, path = printable(str(scope.get("method"))), printable(str(scope.get("path")))
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "call": call,
        "flow": flow,
        "client": client,
        "duration_ms": round(elapsed, 3),
    }
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        0,
        "method=%s path=%s status=%d call=%s flow=%s client=%s duration_ms=%.1f",
        (method, path, status, call, flow, client, elapsed),
        None,
        extra=fields,
    )
    access_logger.handle(record)


def access_log(*, rounds: int, number: int) -> list[Figure]:
    """The access line: the logging path it replaced against the pre-formatted line."""
    from callflow.server import access_log

    info = {"call": "c-1", "flow": "main", "client": "127.0.0.1"}

    def contender(log_format: str, write: Callable[..., None]) -> Contender:
        before = write is _old_access_log

        def make(_: int) -> Callable[[], None]:
            def operation() -> None:
                with _serve_logging(log_format, before=before):
                    for _ in range(number):
                        write(SCOPE, 200, info, time.perf_counter())

            return operation

        return make

    # Each operation writes `number` lines (the handler set up once per operation).
    figures = compare(
        {
            "LogRecord + Formatter (before)": contender("text", _old_access_log),
            "pre-formatted line, text": contender("text", access_log.log_request),
            "LogRecord + JSONFormatter (before)": contender("json", _old_access_log),
            "pre-formatted line, json": contender("json", access_log.log_request),
        },
        "LogRecord + Formatter (before)",
        rounds=rounds,
        number=1,
    )
    return [
        Figure(f.name, f.median_us / number, f.ratio_median, f.ratio_min, f.ratio_max)
        for f in figures
    ]


def prepared(*, rounds: int, number: int) -> list[Figure]:
    """A flow returning prepared bytes against one returning ``Rendered``."""
    from callflow import App, CallContext, Hangup, Rendered, Response, Say, Slot, prepare

    document = prepare(Response(Say(Slot("greeting")), Say("Goodbye."), Hangup()))
    once = document.render(greeting="Hello Bob")
    rendered = Rendered(bytes(once), "bench")
    foreign = bytes(once)
    app = App(secret=SECRET, allowed_hosts=["127.0.0.1"], validate_responses=True)

    @app.flow("/rendered")
    async def as_rendered(call: CallContext) -> Rendered:
        return rendered

    @app.flow("/prepared")
    async def as_prepared(call: CallContext) -> bytes:
        return once

    @app.flow("/prepared-per-call")
    async def per_call(call: CallContext) -> bytes:
        return document.render(greeting="Hello Bob")

    @app.flow("/foreign")
    async def as_foreign(call: CallContext) -> bytes:
        return foreign

    def at(path: str) -> dict[str, Any]:
        return {**SCOPE, "path": path, "raw_path": path.encode()}

    with _serve_logging("text"):
        return _compare_asgi(
            {
                "flow returns Rendered": (app, at("/rendered"), None),
                "flow returns prepared bytes": (app, at("/prepared"), None),
                "flow renders prepared per call": (app, at("/prepared-per-call"), None),
                "flow returns foreign bytes (checked)": (app, at("/foreign"), None),
            },
            rounds=rounds,
            number=number,
        )


def webhook(*, rounds: int, number: int) -> list[Figure]:
    """The demo webhook in process against the HTTP contenders (:mod:`bench.contenders`)."""
    from callflow import App
    from flows import HERE
    from flows.support import router

    # The demo app as benchmark (c) serves it: production mode, every edge limit on.
    demo = App(
        mode="production",
        secret=SECRET,
        allowed_hosts=["127.0.0.1"],
        templates=HERE.parent / "templates",
    )
    demo.include(router)
    demo.documents(HERE / "documents", prefix="/documents")

    from .contenders import bare, handwritten, raw

    access = logging.getLogger("callflow.access")

    def quiet() -> Callable[[], None]:
        access.setLevel(logging.WARNING)
        return lambda: access.setLevel(logging.NOTSET)

    with _serve_logging("text"):
        return _compare_asgi(
            {
                "raw ASGI constant": (raw, SCOPE, None),
                "bare Starlette constant": (bare, SCOPE, None),
                "hand-written Starlette": (handwritten, SCOPE, None),
                "demo webhook (access line)": (demo, SCOPE, None),
                "demo webhook (no access line)": (demo, SCOPE, quiet),
            },
            rounds=rounds,
            number=number,
        )


def run(*, rounds: int, number: int) -> dict[str, list[Figure]]:
    """Every table of this benchmark."""
    return {
        "access line": access_log(rounds=rounds, number=number),
        "prepared bytes vs Rendered": prepared(rounds=rounds, number=number),
        "demo webhook in process": webhook(rounds=rounds, number=number),
    }
