"""The access line of every request: one structured line on the ``callflow.access`` logger,
written pre-formatted when it goes only to ``callflow serve``'s own handlers."""

from __future__ import annotations

import logging
import time

from starlette.types import Scope

from callflow.server.logs import ACCESS_MESSAGE, CONTROL, access_sinks, printable

access_logger = logging.getLogger("callflow.access")


def log_request(scope: Scope, status: int, info: dict[str, str], started: float) -> None:
    """Log the access line of the request of ``scope`` (answered with ``status``, its fields
    in ``info``, started at ``perf_counter()`` ``started``), when the logger takes INFO;
    the fields are also ``extra`` attributes of the record.

    Every value the caller controls is escaped (:func:`printable`), so a request cannot
    write a second line. When the line goes only to ``callflow serve``'s own handlers
    (:func:`~callflow.server.logs.access_sinks`), it is written pre-formatted, the very
    line their formatter would write for the record; otherwise (a test's capture, an
    application's own handlers) the record is made and handled as any other.
    """
    if not access_logger.isEnabledFor(logging.INFO):
        return
    elapsed = (time.perf_counter() - started) * 1000
    method, path = scope["method"], scope["path"]
    call, client = info.get("call") or "-", info.get("client") or "-"
    if CONTROL.search(f"{method}{path}{call}{client}") is not None:  # rare: one search
        method, path, call, client = map(printable, (method, path, call, client))
    fields = (method, path, status, call, info.get("flow") or "-", client, elapsed)
    sinks = access_sinks(access_logger)
    if sinks is None:
        access_logger.handle(access_record(fields))
        return
    created = time.time()
    for handler, formatter in sinks:
        handler.access(formatter, created, fields)


def access_record(
    fields: tuple[str, str, int, str, str, str, float], created: float | None = None
) -> logging.LogRecord:
    """The access-log record of ``fields`` (method, path, status, call, flow, client,
    duration in ms), made directly: ``Logger.info`` would walk the stack to find the caller,
    which costs a third of the logging and says nothing useful here."""
    method, path, status, call, flow, client, elapsed = fields
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        0,
        ACCESS_MESSAGE,
        fields,
        None,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "call": call,
            "flow": flow,
            "client": client,
            "duration_ms": round(elapsed, 3),
        },
    )
    if created is not None:  # a record of a given moment (tests compare the lines)
        record.created = created
        record.msecs = int((created - int(created)) * 1000) + 0.0
    return record
