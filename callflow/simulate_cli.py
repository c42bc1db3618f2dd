"""``callflow simulate``: place a simulated call from the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .exceptions import UsageError
from .simulator import DIAL_OUTCOMES, GatherPrompt, Keys, Location, Simulator
from .trace import TraceEvent
from .transport import TargetError


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``simulate`` on the ``callflow`` command line."""
    sim = commands.add_parser(
        "simulate",
        help="place a simulated call against a flow and print what the caller hears",
        description="TARGET is module:attribute, an http(s) URL or an XML file. Each --press "
        "answers the next Gather attempt, each --no-input lets it time out; when they run "
        "out, further Gathers get no input. With neither and a terminal, it asks for keys.",
    )
    sim.add_argument("target", metavar="TARGET")
    sim.add_argument("--from", dest="from_", default="+15550100999", metavar="NUM")
    sim.add_argument("--to", default="+15550100200", metavar="NUM")
    sim.add_argument(
        "--press",
        dest="keys",
        action="append",
        metavar="KEYS",
        help="keys for the next Gather attempt, e.g. 1 or 1234#",
    )
    sim.add_argument(
        "--no-input",
        dest="keys",
        action="append_const",
        const=None,
        help="let the next Gather attempt time out",
    )
    sim.add_argument(
        "--dial",
        action="append",
        default=[],
        choices=DIAL_OUTCOMES,
        metavar="OUTCOME",
        help="outcome of the next Dial: " + ", ".join(DIAL_OUTCOMES),
    )
    sim.add_argument("--at", metavar="ISO-DATETIME", help="when the call starts (for Schedule)")
    sim.add_argument(
        "--tz", default=None, metavar="ZONE", help="app time zone (default: the App's, else UTC)"
    )
    sim.add_argument("--location", metavar="STATE[,COUNTY]", help="caller location for Geo")
    sim.add_argument(
        "--method",
        choices=("GET", "POST"),
        default="GET",
        help="method of the initial webhook request",
    )
    sim.add_argument("--json", action="store_true", help="print the trace as JSON")
    sim.set_defaults(handler=run)


def _interactive(
    out: TextIO, stdin: TextIO
) -> tuple[Callable[[TraceEvent], None], Callable[[GatherPrompt], Keys]]:
    def show(event: TraceEvent) -> None:
        out.write(event.describe() + "\n")
        out.flush()

    def ask(prompt: GatherPrompt) -> Keys:
        stop = f", then {prompt.dtmf_stop}" if prompt.dtmf_stop else ""
        out.write(f"keys? (up to {prompt.dtmf_length}{stop}; empty = no input) > ")
        out.flush()
        line = stdin.readline()
        return line.strip() or None

    return show, ask


def run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Run the simulated call; exit 0 when it ended normally, 1 otherwise."""
    if args.tz:
        try:
            ZoneInfo(args.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise UsageError(f"unknown time zone {args.tz!r}") from exc
    try:
        at = datetime.fromisoformat(args.at) if args.at else None
        location = Location.parse(args.location) if args.location else None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    interactive = args.keys is None and stdin.isatty() and not args.json
    show, ask = _interactive(out, stdin) if interactive else (None, None)
    try:
        simulator = Simulator(args.target, tz=args.tz, method=args.method)
    except TargetError as exc:
        raise UsageError(str(exc)) from exc
    with simulator:
        trace = simulator.call(
            from_=args.from_,
            to=args.to,
            keys=args.keys or (),
            dial=args.dial,
            at=at,
            location=location,
            input=ask,
            on_event=show,
        )
    if args.json:
        out.write(json.dumps(trace.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif not interactive:
        out.write(trace.transcript() + "\n")
    return 0 if trace.ended_normally else 1
