"""The ``callflow`` command: validate, lint, serve, simulate, explore.

Exit codes: 0 success, 1 the documents (or the simulated call) have problems, 2 usage errors
or unreadable files, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from rich_argparse import RawDescriptionRichHelpFormatter

from callflow import __version__
from callflow.dialect.linting import codes, lint
from callflow.dialect.problems import Finding, Problem
from callflow.dialect.validation import validate
from callflow.exceptions import ConfigurationError, UsageError

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a command ended by Ctrl-C."""

FAILING_SEVERITIES = frozenset(("error", "warning"))
"""Lint findings that make ``callflow lint`` exit 1; ``info`` alone exits 0."""


class HelpFormatter(RawDescriptionRichHelpFormatter):
    """``--help`` in colour on a terminal (rich honours ``NO_COLOR``); epilogs keep their
    line breaks, so exit-code tables stay tables."""

    # Help texts hold brackets (``STATE[,COUNTY]``) that are not rich markup.
    help_markup = False
    text_markup = False
    group_name_formatter = str  # "usage:", "options:" as argparse spells them


HELP_WIDTH = 79
"""Descriptions and epilogs are wrapped here (the formatter keeps their line breaks)."""


def describe(*paragraphs: str) -> str:
    """A ``--help`` description: each paragraph wrapped, a blank line between them."""
    return "\n\n".join(textwrap.fill(paragraph, HELP_WIDTH) for paragraph in paragraphs)


def exit_codes(*codes: tuple[int, str]) -> str:
    """An ``exit codes:`` epilog, one ``CODE  meaning`` entry each, wrapped and aligned."""
    width = max(len(str(code)) for code, _ in codes)
    lines = [
        textwrap.fill(
            meaning,
            HELP_WIDTH,
            initial_indent=f"  {code:<{width}}  ",
            subsequent_indent=" " * (width + 4),
        )
        for code, meaning in codes
    ]
    return "exit codes:\n" + "\n".join(lines)


def _documents(paths: Sequence[str], stdin: TextIO) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for files, ``*.xml`` under directories, and ``-`` (stdin)."""
    for raw in paths:
        if raw == "-":
            yield "-", read_stdin(stdin)
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


def read_stdin(stdin: TextIO) -> bytes:
    """All of stdin as bytes (a document's own encoding declaration decides, not the locale)."""
    return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()


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
    fails: Callable[[Problem | Finding], bool] = lambda item: True,
) -> int:
    files: list[dict[str, object]] = []
    failed = False
    for name, data in _documents(args.paths, stdin):
        items = check(data)
        file_failed = any(fails(item) for item in items)
        failed = failed or file_failed
        files.append({"path": name, "items": items, "ok": not file_failed})
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
                    "ok": f["ok"],
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
        lambda name, p: f"{name}:{p}",
    )


def lint_line(name: str, finding: Finding) -> str:
    """``PATH:LINE:COL: CODE severity message (hint: ...)``, the text form of a finding."""
    hint = f" (hint: {finding.hint})" if finding.hint else ""
    return (
        f"{name}:{finding.line}:{finding.column}: {finding.code} {finding.severity} "
        f"{finding.message}{hint}"
    )


def _cmd_lint(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    select: list[str] = args.select or []
    ignore: list[str] = args.ignore or []

    def wanted(finding: Finding) -> bool:
        if select and not finding.code.startswith(tuple(select)):
            return False
        return not finding.code.startswith(tuple(ignore))

    def check(data: bytes) -> list[Finding]:
        return [finding for finding in lint(data) if wanted(finding)]

    def line(name: str, item: Problem | Finding) -> str:
        return lint_line(name, item) if isinstance(item, Finding) else ""

    def fails(item: Problem | Finding) -> bool:
        return isinstance(item, Finding) and item.severity in FAILING_SEVERITIES

    return _report(args, out, stdin, check, line, fails)


def code_list(text: str) -> list[str]:
    """An ``argparse`` type: ``CF201,CF3`` -> ``["CF201", "CF3"]``, each a code or a prefix
    of one that ``lint`` reports."""
    known = list(codes())
    items = [item.strip().upper() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(
            f"expected codes or prefixes like CF201,CF3 (got {text!r})"
        )
    for item in items:
        if not any(code.startswith(item) for code in known):
            families = ", ".join(sorted({code[:3] for code in known}))
            raise argparse.ArgumentTypeError(
                f"{item!r} is no lint code nor the start of one (they start {families}; "
                "docs/validation.md lists them)"
            )
    return items


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``callflow`` command."""
    parser = argparse.ArgumentParser(
        prog="callflow",
        formatter_class=HelpFormatter,
        description=describe(
            "Opentact XML call flows: validate and lint documents, serve an App, simulate a "
            "call, explore every path of an App. `callflow COMMAND --help` explains each "
            "command, its options and its exit codes."
        ),
        epilog=exit_codes(
            (EXIT_OK, "success"),
            (
                EXIT_PROBLEMS,
                "problems: an invalid document, a lint warning or error, a simulated call "
                "that failed, an exploration with findings",
            ),
            (EXIT_USAGE, "usage error, unreadable input or a configuration error"),
            (3, "callflow serve could not start (the port is taken...)"),
            (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
        ),
    )
    parser.add_argument("--version", action="version", version=f"callflow {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )

    formats = ("text", "json")
    paths_help = "a file, a directory (every *.xml under it, recursively) or - for stdin"
    validate_cmd = commands.add_parser(
        "validate",
        formatter_class=HelpFormatter,
        help="validate documents against the Opentact XML schema and rules",
        description=describe(
            "Validate Opentact XML documents against the schema and the rules of the spec "
            "(docs/validation.md). Text output is one line per problem, "
            "PATH:LINE:COL: message; nothing is printed for a valid document."
        ),
        epilog=exit_codes(
            (EXIT_OK, "every document is valid"),
            (EXIT_PROBLEMS, "a document is invalid"),
            (EXIT_USAGE, "usage error or unreadable file"),
        ),
    )
    validate_cmd.add_argument(
        "--strict",
        action="store_true",
        help="accept the canonical form only, what the DSL emits (default: compat, which "
        "also accepts every documented legacy form)",
    )
    validate_cmd.add_argument(
        "--format",
        choices=formats,
        default="text",
        help='text: one line per problem; json: {"ok", "files": [{"path", "ok", "problems"}]} '
        "(default: %(default)s)",
    )
    validate_cmd.add_argument("paths", nargs="+", metavar="PATH", help=paths_help)
    validate_cmd.set_defaults(handler=_cmd_validate)

    lint_cmd = commands.add_parser(
        "lint",
        formatter_class=HelpFormatter,
        help="report what is valid but likely wrong, with a hint to fix it",
        description=describe(
            "Report what is valid but likely wrong. Text output is one line per finding, "
            "PATH:LINE:COL: CODE severity message (hint: how to fix it); severity is error, "
            "warning or info. An invalid document gives one CF001 error per problem. The "
            "codes are listed in docs/validation.md."
        ),
        epilog=exit_codes(
            (EXIT_OK, "no findings, or info findings only"),
            (EXIT_PROBLEMS, "a warning or an error"),
            (EXIT_USAGE, "usage error or unreadable file"),
        ),
    )
    lint_cmd.add_argument(
        "--format",
        choices=formats,
        default="text",
        help='text: one line per finding; json: {"ok", "files": [{"path", "ok", "findings": '
        '[{"line", "column", "code", "path", "message", "hint", "severity"}]}]} '
        "(default: %(default)s)",
    )
    lint_cmd.add_argument(
        "--select",
        type=code_list,
        action="extend",
        metavar="CODES",
        help="report only these codes, a comma list of codes or prefixes: CF201,CF3 "
        "(default: every code)",
    )
    lint_cmd.add_argument(
        "--ignore",
        type=code_list,
        action="extend",
        metavar="CODES",
        help="leave out these codes or prefixes, e.g. CF1 for the legacy forms; wins over "
        "--select (default: none)",
    )
    lint_cmd.add_argument("paths", nargs="+", metavar="PATH", help=paths_help)
    lint_cmd.set_defaults(handler=_cmd_lint)

    for register in _extra_commands():
        register(commands)
    return parser


def _extra_commands() -> list[
    Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
]:
    from callflow.cli import explore as explore_cli
    from callflow.cli import serve
    from callflow.cli import simulate as simulate_cli

    return [serve.add_command, simulate_cli.add_command, explore_cli.add_command]


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
    except KeyboardInterrupt:
        # Ctrl-C is how a user stops a long run: say so in one line, as a shell would.
        print("callflow: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
