"""``callflow serve``: run an App with uvicorn."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from .exceptions import UsageError
from .logs import configure
from .protocol import BoundedHttpToolsProtocol

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
    serve.add_argument(
        "--log-format",
        default=None,
        choices=("text", "json"),
        help="log lines as text or one JSON object each (default: CALLFLOW_LOG_FORMAT, else text)",
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace, out: object, stdin: object) -> int:
    """Start uvicorn; returns when the server stops.

    The App is imported here first, so a :class:`ConfigurationError` (or an APP that does
    not import) is one line and exit 2, not a traceback from inside uvicorn. The server's
    own proxy-header handling is off: callflow's ``trusted_proxies`` is the one rule.
    """
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
    log_format = args.log_format or os.environ.get("CALLFLOW_LOG_FORMAT") or "text"
    if log_format not in ("text", "json"):
        raise UsageError(f"CALLFLOW_LOG_FORMAT must be text or json, not {log_format!r}")
    level = getattr(logging, args.log_level.upper())
    configure(level, log_format)
    app = _load(args.app)
    wanted = getattr(getattr(app, "settings", None), "log_format", log_format)
    if args.log_format is None and wanted != log_format:
        configure(level, wanted)  # the App's own log_format= setting
    one_process = not args.reload and (args.workers is None or args.workers == 1)
    uvicorn.run(
        app if one_process else args.app,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,  # callflow's trusted_proxies decides, nobody before it
        server_header=False,
        access_log=False,  # callflow logs one structured line per request itself
        log_config=None,
    )
    return 0


def _load(spec: str) -> Any:
    """Import the App of ``module:attribute``; a module that is missing is a usage error."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.partition(".")[0] and exc.name != module_name:
            raise  # the app imports something that is missing: its own error
        if spec == DEFAULT_APP:
            raise UsageError(
                "no APP given and no flows package in this folder: pass module:attribute "
                "of your App, e.g. callflow serve myivr:app"
            ) from exc
        raise UsageError(f"cannot import {module_name!r}: no such module") from exc
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from exc
