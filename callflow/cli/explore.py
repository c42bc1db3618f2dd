"""``callflow explore``: map every path of an App with simulated calls, and check it.

Prints the map (a tree of steps, JSON, Mermaid, dot or SVG) and the findings; exits 1 when
there are findings.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from callflow.cli.command import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    HelpFormatter,
    describe,
    exit_codes,
)
from callflow.exceptions import TargetError, UsageError
from callflow.simulator.explore import MAX_DOCUMENTS, MAX_STEPS, explore
from callflow.simulator.explore.exploration import FORMATS
from callflow.simulator.explore.formats import GraphvizMissing
from callflow.simulator.inputs import KEYS


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``explore`` on the ``callflow`` command line."""
    cmd = commands.add_parser(
        "explore",
        formatter_class=HelpFormatter,
        help="map every path of an App with simulated calls and report what is wrong",
        description=describe(
            "Explore APP: starting from its entry flow and every registered number, place "
            "simulated calls down every branch, breadth first (each key of each Gather, a key "
            "no branch matches, no input until the attempts run out, each Dial outcome, "
            "Schedule and Geo inside and outside), and print the map of steps and the "
            "findings (CF7xx codes, listed in docs/validation.md).",
            "A finding on a path comes with the callflow simulate command line that places "
            "that call. Inputs exploration cannot guess (a PIN, the numbers a flow knows) are "
            "given with --code, --from and --to.",
        ),
        epilog=exit_codes(
            (EXIT_OK, "clean: every path explored, no finding"),
            (EXIT_PROBLEMS, "findings (or a limit stopped the exploration: CF707)"),
            (
                EXIT_USAGE,
                "usage error: a bad option, an unusable APP, a configuration error, or no "
                "Graphviz dot program for --format svg",
            ),
        ),
    )
    cmd.add_argument(
        "target",
        metavar="APP",
        help="module:attribute of an App (looked up from the current directory), or an "
        "http(s):// URL or an XML file as callflow simulate takes",
    )
    cmd.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: the tree of steps, then the findings; json: {clean, complete, calls, "
        "nodes, edges, findings}; mermaid or dot: the map as a graph; svg: drawn by "
        "Graphviz (default: %(default)s)",
    )
    cmd.add_argument(
        "--max-steps",
        type=_positive,
        default=MAX_STEPS,
        metavar="N",
        help="the most simulated calls to place, one per branch (default: %(default)s)",
    )
    cmd.add_argument(
        "--max-documents",
        type=_positive,
        default=MAX_DOCUMENTS,
        metavar="N",
        help="the most distinct documents to explore (default: %(default)s)",
    )
    cmd.add_argument(
        "--to",
        dest="numbers",
        action="append",
        metavar="NUM",
        help="a called number to start from, instead of the entry flow's and the registered "
        "ones (repeatable; default: +15550100200 when there is an entry flow, and every "
        "registered number)",
    )
    cmd.add_argument(
        "--from",
        dest="callers",
        action="append",
        metavar="NUM",
        help="a caller's number (repeatable; default: +15550100999)",
    )
    cmd.add_argument(
        "--code",
        dest="codes",
        action="append",
        default=[],
        type=_code,
        metavar="DIGITS",
        help="digits also tried at every Gather that collects several, such as a PIN "
        "(repeatable; default: none)",
    )
    cmd.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the map to FILE instead of stdout (default: stdout)",
    )
    cmd.set_defaults(handler=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 (got {text!r})")
    return int(text)


def _code(text: str) -> str:
    if not text or not KEYS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected keys 0-9, * or #, like 2468 (got {text!r})")
    return text


def run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Explore; exit 0 when clean, 1 with findings."""
    try:
        exploration = explore(
            args.target,
            max_steps=args.max_steps,
            max_documents=args.max_documents,
            numbers=args.numbers,
            callers=args.callers,
            codes=args.codes,
        )
    except TargetError as exc:
        raise UsageError(str(exc)) from exc
    try:
        text = exploration.render(args.format)
    except GraphvizMissing as exc:
        raise UsageError(str(exc)) from exc
    if args.output is not None:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    else:
        out.write(text + "\n")
    return EXIT_OK if exploration.clean else EXIT_PROBLEMS
