"""``callflow simulate``: place a simulated call from the command line.

Scripted by default (``--press``, ``--no-input``, ``--dial``), printing the transcript or
the trace as JSON; interactive on a terminal (:mod:`callflow.cli.interactive`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callflow.cli.command import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    HelpFormatter,
    describe,
    exit_codes,
    read_stdin,
)
from callflow.cli.interactive import call_interactively
from callflow.cli.output import Output, colour_wanted
from callflow.exceptions import LocationError, TargetError, UsageError
from callflow.simulator.facade import Simulator
from callflow.simulator.geography import Location
from callflow.simulator.inputs import DIAL_OUTCOMES, KEYS, DialScript, InputProvider, Keys
from callflow.simulator.trace import Trace, TraceEvent

T = TypeVar("T")

# -- the command line --------------------------------------------------------------------------


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``simulate`` on the ``callflow`` command line."""
    sim = commands.add_parser(
        "simulate",
        formatter_class=HelpFormatter,
        help="place a simulated call against a flow and print what the caller hears",
        description=describe(
            "Place a simulated call against TARGET, run the documents it returns as Opentact "
            "would and print what happens, one line per event.",
            "Each --press answers the next Gather attempt, each --no-input lets it time out; "
            "when they run out, further Gathers get no input. Each --dial gives the next "
            "Dial's outcome (then answer).",
            "With neither --press nor --no-input, no --json and a terminal on stdin, the call "
            "is interactive: it asks for the keys at each Gather attempt (empty = no input) "
            "and for the outcome of each Dial target the --dial options do not cover "
            "(empty = answer). Ctrl-D hangs up; Ctrl-C ends the simulation (exit 130). "
            "Line editing and history come from readline when it is available.",
        ),
        epilog=exit_codes(
            (
                EXIT_OK,
                "the call ran as written: it ended with a Hangup or at the end of a document, "
                "no fallback document, no failed fetch without an <Error> for it (in "
                "interactive mode, also when the caller hung up with Ctrl-D)",
            ),
            (
                EXIT_PROBLEMS,
                "the call failed: a fallback document, a failed fetch that no <Error> "
                "handled, a failed webhook, an invalid document or a limit",
            ),
            (EXIT_USAGE, "usage error: a bad option, an unusable TARGET, a configuration error"),
            (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
        ),
    )
    sim.add_argument(
        "target",
        metavar="TARGET",
        help="module:attribute of an App (looked up from the current directory), an "
        "http(s):// URL of any server, an XML file, or - for an XML document on stdin",
    )
    sim.add_argument(
        "--from",
        dest="from_",
        type=_number,
        default="+15550100999",
        metavar="NUM",
        help="the caller's number, E.164 or as Opentact sends it (default: %(default)s)",
    )
    sim.add_argument(
        "--to",
        type=_number,
        default="+15550100200",
        metavar="NUM",
        help="the number called (default: %(default)s)",
    )
    sim.add_argument(
        "--press",
        dest="keys",
        action="append",
        type=_keys,
        metavar="KEYS",
        help="keys for the next Gather attempt, 0-9 * #: 1 or 1234# (repeatable; default: "
        "none, so no input, or interactive on a terminal)",
    )
    sim.add_argument(
        "--no-input",
        dest="keys",
        action="append_const",
        const=None,
        help="let the next Gather attempt time out (repeatable; by default, a Gather with "
        "no --press left gets no input)",
    )
    sim.add_argument(
        "--dial",
        action="append",
        default=[],
        type=str.lower,
        choices=DIAL_OUTCOMES,
        metavar="OUTCOME",
        help="outcome of the next Dial, for all its targets: "
        + ", ".join(DIAL_OUTCOMES)
        + " (repeatable; default: answer, or asked for in interactive mode)",
    )
    sim.add_argument(
        "--at",
        type=_at,
        metavar="ISO-DATETIME",
        help="when the call starts, for Schedule: 2026-12-07T10:00:00 (in --tz) or with an "
        "offset, 2026-12-07T10:00:00+01:00 (default: now)",
    )
    sim.add_argument(
        "--tz",
        type=_zone,
        default=None,
        metavar="ZONE",
        help="the app's time zone, an IANA name like Europe/Paris (default: the App's "
        "time_zone, else UTC)",
    )
    sim.add_argument(
        "--location",
        type=_location,
        metavar="STATE[,COUNTY]",
        help="the caller's location for Geo: NJ or NJ,ESSEX (default: from the caller's number)",
    )
    sim.add_argument(
        "--method",
        type=str.upper,
        choices=("GET", "POST"),
        default="GET",
        help="method of the initial webhook request: GET with from and to in the query, POST "
        "with the call object as JSON (default: %(default)s)",
    )
    sim.add_argument(
        "--json",
        action="store_true",
        help='print the trace as JSON, {"events", "hangup_reason", "ended_by"}, and nothing '
        "else (default: a transcript)",
    )
    sim.set_defaults(handler=run)


def _keys(text: str) -> str:
    """An ``argparse`` type: keys a phone can send."""
    if not text or not KEYS.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected keys 0-9, * or #, like 1 or 1234# (got {text!r})"
        )
    return text


def _argument_type(
    parse: Callable[[str], T], errors: tuple[type[Exception], ...], message: str
) -> Callable[[str], T]:
    """An ``argparse`` type: ``parse(text)``, or ``message`` (a format string of ``text``)
    when it raises one of ``errors``."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except errors:
            raise argparse.ArgumentTypeError(message.format(text=text)) from None

    return convert


def _zone_name(text: str) -> str:
    ZoneInfo(text)  # raises for a name zoneinfo does not know
    return text


_at = _argument_type(
    datetime.fromisoformat,
    (ValueError,),
    "expected an ISO time like 2026-12-07T10:00:00 (got {text!r})",
)
_zone = _argument_type(
    _zone_name,
    (ZoneInfoNotFoundError, ValueError, OSError),
    "unknown time zone {text!r}: expected an IANA name like Europe/Paris",
)
_location = _argument_type(
    Location.parse,
    (LocationError,),
    "expected STATE[,COUNTY] with a two-letter state, like NJ,ESSEX (got {text!r})",
)


def _number(text: str) -> str:
    """An ``argparse`` type: a caller or called number (or SIP user): anything but blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a number like +15550100999 (got {text!r})")
    return text


# -- running -----------------------------------------------------------------------------------


def _make_simulator(args: argparse.Namespace, stdin: TextIO) -> Simulator:
    try:
        if args.target != "-":
            return Simulator(args.target, tz=args.tz, method=args.method)
        # The XML-file target reads its document when it is made: a file of a moment.
        with tempfile.TemporaryDirectory(prefix="callflow-simulate-") as folder:
            path = Path(folder) / "stdin.xml"
            path.write_bytes(read_stdin(stdin))
            return Simulator(path, tz=args.tz, method=args.method)
    except TargetError as exc:
        raise UsageError(str(exc)) from exc


@contextlib.contextmanager
def _closing(simulator: Simulator) -> Iterator[Simulator]:
    """Close ``simulator`` after the call, however it ends."""
    try:
        yield simulator
    except KeyboardInterrupt:
        # Ctrl-C during a request leaves the simulator's event loop mid-task; closing it
        # then logs that on asyncio's logger, tracebacks nobody needs on the way out.
        logging.getLogger("asyncio").disabled = True
        raise
    finally:
        simulator.close()


def run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Run the simulated call; exit 0 when it ran as written, 1 when it failed, 130 when
    interrupted."""
    interactive = args.keys is None and not args.json and args.target != "-" and stdin.isatty()
    output = Output(out, colour=colour_wanted(out), short_urls=interactive)
    simulator = _make_simulator(args, stdin)

    def place(
        *,
        dial: Iterable[DialScript],
        on_event: Callable[[TraceEvent], None],
        keys: Iterable[Keys] = (),
        input: InputProvider | None = None,
    ) -> Trace:
        with _closing(simulator):
            return simulator.call(
                from_=args.from_,
                to=args.to,
                keys=keys,
                dial=dial,
                at=args.at,
                location=args.location,
                input=input,
                on_event=on_event,
            )

    if interactive:
        # One asked-for outcome per Dial the call may reach: at most max_commands.
        return call_interactively(
            place, output, stdin, dial=args.dial, most_dials=simulator.max_commands
        )
    seen = Trace()  # what happened so far, should the call not return (Ctrl-C)
    try:
        trace = place(keys=args.keys or (), dial=args.dial, on_event=seen.add)
    except KeyboardInterrupt:
        if not args.json and seen.events:
            output.line("\n".join(output.event(event) for event in seen.events))
        print("callflow: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        out.write(trace.to_json() + "\n")
    elif output.colour:
        out.write("\n".join(output.event(e, failed=trace.failed) for e in trace.events) + "\n")
    else:
        out.write(trace.transcript() + "\n")
    return trace.exit_code
