"""``callflow serve``: run an App with uvicorn."""

from __future__ import annotations

import argparse
import atexit
import importlib
import logging
import os
import secrets
import shutil
import sys
import tempfile
from typing import Any

from callflow.exceptions import UsageError
from callflow.server.logs import configure, logging_config
from callflow.server.metrics import MULTIPROC_DIR
from callflow.server.protocol import BoundedHttpToolsProtocol
from callflow.server.sessions import MemoryStore

DEFAULT_APP = "flows:app"
"""The repository's demo flows, so ``callflow serve`` works out of the box."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` on the ``callflow`` command line."""
    from callflow.cli.command import HelpFormatter, describe, exit_codes

    serve = commands.add_parser(
        "serve",
        formatter_class=HelpFormatter,
        help="serve an App (module:attribute) with uvicorn",
        description=describe(
            "Serve a callflow App over HTTP with uvicorn, for Opentact's webhooks. The App "
            "is imported first, so a configuration error is one line, not a traceback. "
            "Settings come from the App and the CALLFLOW_* variables (CALLFLOW_SECRET, "
            "CALLFLOW_MODE, CALLFLOW_SESSION_URL...).",
            "Ctrl-C (SIGINT) or SIGTERM stops it gracefully: requests in flight are "
            "finished first.",
        ),
        epilog=exit_codes(
            (
                0,
                "stopped with Ctrl-C (SIGINT); after SIGTERM, once shut down, it ends by that "
                "signal as uvicorn does (a shell reports 143)",
            ),
            (1, "the App raised an error while it was imported (its traceback is printed)"),
            (
                2,
                "usage or configuration error, in one line: a bad APP or option, --workers "
                "with the in-memory session store, a setting the App refuses, --console "
                "in production mode...",
            ),
            (3, "uvicorn could not start: the port is taken, the address cannot be bound..."),
        ),
    )
    serve.add_argument(
        "app",
        nargs="?",
        default=DEFAULT_APP,
        metavar="APP",
        help="module:attribute of a callflow App, looked up from the current directory "
        f"(default: {DEFAULT_APP}, the repository's demo flows)",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for every IPv4 interface (default: %(default)s)",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="TCP port to listen on, 0-65535 (default: %(default)s)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart when code changes, for development; not with --workers (default: off)",
    )
    serve.add_argument(
        "--workers",
        type=_count,
        default=None,
        metavar="N",
        help="run N worker processes; needs a shared session store (CALLFLOW_SESSION_URL) "
        "(default: one process)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="log level; at info, one access line per request (default: %(default)s)",
    )
    serve.add_argument(
        "--log-format",
        default=None,
        choices=("text", "json"),
        help="log lines as text or one JSON object each (default: the App's log_format "
        "setting, CALLFLOW_LOG_FORMAT, else text)",
    )
    serve.add_argument(
        "--console",
        action="store_true",
        help="also serve /_console, a softphone in the browser that places simulated calls "
        "against the App (development mode only; one process) (default: off)",
    )
    serve.set_defaults(handler=run)


def _port(text: str) -> int:
    """An ``argparse`` type: a TCP port number."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535 (got {text!r})")
    return port


def _count(text: str) -> int:
    """An ``argparse`` type: a whole number (``run`` checks that it is at least 1)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of processes, like 4 (got {text!r})"
        ) from None


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
    if args.console and args.workers and args.workers > 1:
        raise UsageError(
            f"--console and --workers {args.workers} cannot be combined: a console call "
            "lives in one process"
        )
    # Like `uvicorn`'s --app-dir default: the app module is looked up from the cwd.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    log_format = args.log_format or os.environ.get("CALLFLOW_LOG_FORMAT") or "text"
    if log_format not in ("text", "json"):
        raise UsageError(f"CALLFLOW_LOG_FORMAT must be text or json, not {log_format!r}")
    level = getattr(logging, args.log_level.upper())
    configure(level, log_format)
    one_process = not args.reload and (args.workers is None or args.workers == 1)
    several = args.workers is not None and args.workers > 1
    if not one_process:
        _share_development_secret()
    if several:
        _share_metrics()
    app = _load(args.app)
    if several and isinstance(getattr(app, "store", None), MemoryStore):
        raise UsageError(
            f"--workers {args.workers} with the in-memory session store: a session written "
            "by one worker would be missing on the others; set CALLFLOW_SESSION_URL="
            "redis://HOST:6379/0 (or pass App(store=...) a shared store)"
        )
    served: Any = app if one_process else args.app
    if args.console:
        served = _with_console(app, args)
    wanted = getattr(getattr(app, "settings", None), "log_format", log_format)
    if args.log_format is None and wanted != log_format:
        log_format = wanted  # the App's own log_format= setting
        configure(level, log_format)
    uvicorn.run(
        served,
        factory=args.console and not one_process,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        http=BoundedHttpToolsProtocol,
        proxy_headers=False,  # callflow's trusted_proxies decides, nobody before it
        server_header=False,
        access_log=False,  # callflow logs one structured line per request itself
        # Applied again in each worker process, so every worker logs as one does.
        log_config=logging_config(level, log_format),
        log_level=level,
    )
    return 0


def _with_console(app: Any, args: argparse.Namespace) -> Any:
    """What uvicorn serves under ``--console``: the App with its console around it, or under
    ``--reload`` the factory that builds that in the reloading process."""
    from callflow.server.app import App
    from callflow.simulator.console.app import APP_VARIABLE, Console

    if not isinstance(app, App):
        raise UsageError(f"--console needs a callflow App, and {args.app} is not one")
    if app.settings.mode == "production":
        raise UsageError(
            "--console is for development only, and this App is in production mode "
            "(CALLFLOW_MODE=production)"
        )
    if args.reload:
        os.environ[APP_VARIABLE] = args.app
        return "callflow.simulator.console.app:from_environment"
    return Console(app)


def _share_development_secret() -> None:
    """With several processes (``--workers``, ``--reload``) and no ``CALLFLOW_SECRET``, make
    one development secret for all of them: a state token or session signed by one worker
    must verify on every other. Production mode still refuses to start without a secret."""
    if os.environ.get("CALLFLOW_SECRET"):
        return
    if os.environ.get("CALLFLOW_MODE", "development") == "production":
        return  # App() refuses with its own one-line message
    os.environ["CALLFLOW_SECRET"] = secrets.token_urlsafe(32)
    logging.getLogger("callflow").warning(
        "no CALLFLOW_SECRET set: the worker processes share a temporary secret (development "
        "mode); state tokens will not survive a restart"
    )


def _share_metrics() -> None:
    """Prometheus counts of every worker go to one fresh directory (prometheus-client's
    multiprocess mode), so ``/metrics`` on any worker reports them all."""
    if os.environ.get(MULTIPROC_DIR):
        return  # the operator's own directory (they empty it at each start)
    directory = tempfile.mkdtemp(prefix="callflow-metrics-")
    os.environ[MULTIPROC_DIR] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


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
