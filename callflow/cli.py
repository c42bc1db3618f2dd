"""The ``callflow`` command: validate, lint, serve, simulate.

Exit codes: 0 success, 1 the documents (or the simulated call) have problems, 2 usage errors
or unreadable files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .exceptions import ConfigurationError, UsageError
from .lint import lint
from .problems import Finding, Problem
from .validate import validate

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def _documents(paths: Sequence[str], stdin: TextIO) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for files, ``*.xml`` under directories, and ``-`` (stdin)."""
    for raw in paths:
        if raw == "-":
            yield "-", stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.xml") if p.is_file())
            if not found:
                raise UsageError(f"no *.xml files under {raw}")
            for file in found:
                yield str(file), _read(file)
        else:
            yield raw, _read(path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _report(
    args: argparse.Namespace,
    out: TextIO,
    stdin: TextIO,
    check: Callable[[bytes], Sequence[Problem | Finding]],
    line: Callable[[str, Problem | Finding], str],
) -> int:
    files: list[dict[str, object]] = []
    failed = False
    for name, data in _documents(args.paths, stdin):
        items = check(data)
        failed = failed or bool(items)
        files.append({"path": name, "items": items})
        if args.format == "text":
            for item in items:
                out.write(line(name, item) + "\n")
    if args.format == "json":
        key = "problems" if args.command == "validate" else "findings"
        payload = {
            "ok": not failed,
            "files": [
                {
                    "path": f["path"],
                    "ok": not f["items"],
                    key: [item.to_dict() for item in f["items"]],  # type: ignore[attr-defined]
                }
                for f in files
            ],
        }
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return EXIT_PROBLEMS if failed else EXIT_OK


def _cmd_validate(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    return _report(
        args,
        out,
        stdin,
        lambda data: validate(data, strict=args.strict),
        lambda name, p: f"{name}:{p.line}:{p.column}: {p.message}",
    )


def _cmd_lint(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    def line(name: str, item: Problem | Finding) -> str:
        code = item.code if isinstance(item, Finding) else ""
        return f"{name}:{item.line}:{item.column}: {code} {item.message}"

    return _report(args, out, stdin, lint, line)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``callflow`` command."""
    parser = argparse.ArgumentParser(
        prog="callflow", description="Opentact XML call flows: validate, lint, serve, simulate."
    )
    parser.add_argument("--version", action="version", version=f"callflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    formats = ("text", "json")
    validate_cmd = commands.add_parser(
        "validate", help="validate documents against the Opentact XML schema and rules"
    )
    validate_cmd.add_argument(
        "--strict", action="store_true", help="accept the canonical form only"
    )
    validate_cmd.add_argument("--format", choices=formats, default="text")
    validate_cmd.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or -")
    validate_cmd.set_defaults(handler=_cmd_validate)

    lint_cmd = commands.add_parser("lint", help="report what is valid but likely wrong")
    lint_cmd.add_argument("--format", choices=formats, default="text")
    lint_cmd.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or -")
    lint_cmd.set_defaults(handler=_cmd_lint)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list[
    Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
]:
    from . import serve, simulate_cli

    return [serve.add_command, simulate_cli.add_command]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; return the exit code."""
    out = stdout or sys.stdout
    source = stdin or sys.stdin
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        code: int = args.handler(args, out, source)
    except UsageError as exc:
        print(f"callflow: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigurationError as exc:
        # A settings problem is the user's to fix: one line, no traceback.
        text = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"callflow: configuration error: {text}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # Output piped into `head` and closed: lines were being written, so there were
        # problems. No traceback; the exit code still says so.
        sys.stderr.close()
        return EXIT_PROBLEMS
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
