"""``callflow serve``: run an App with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .exceptions import UsageError
from .logs import configure

DEFAULT_APP = "flows:app"
"""The repository's demo flows, so ``callflow serve`` works out of the box."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` on the ``callflow`` command line."""
    serve = commands.add_parser("serve", help="serve an App (module:attribute) with uvicorn")
    serve.add_argument(
        "app",
        nargs="?",
        default=DEFAULT_APP,
        metavar="APP",
        help=f"module:attribute of a callflow App (default {DEFAULT_APP})",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart when code changes")
    serve.add_argument("--workers", type=int, default=None, metavar="N")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level; at info, one access line per request",
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace, out: object, stdin: object) -> int:
    """Start uvicorn; returns when the server stops."""
    import uvicorn

    if ":" not in args.app:
        raise UsageError(f"APP must be module:attribute, not {args.app!r}")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be >= 1")
    if args.reload and args.workers and args.workers > 1:
        raise UsageError("--reload and --workers cannot be combined")
    # Like `uvicorn`'s --app-dir default: the app module is looked up from the cwd.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    configure(getattr(logging, args.log_level.upper()))
    uvicorn.run(
        args.app,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        http="httptools",
        access_log=False,  # callflow logs one structured line per request itself
        log_config=None,
    )
    return 0
