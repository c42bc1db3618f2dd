"""``callflow simulate``: place a simulated call from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit
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
from callflow.exceptions import UsageError
from callflow.simulator.engine import (
    DIAL_OUTCOMES,
    DialScript,
    GatherPrompt,
    Keys,
    Location,
    Simulator,
)
from callflow.simulator.trace import HangupEvent, Trace, TraceEvent
from callflow.simulator.transport import TargetError

KEYS = re.compile(r"[0-9*#]*")
"""What a phone keypad can send (DTMF): ``--press`` and interactive input allow nothing else."""
URL_WIDTH = 60
"""Interactive output shortens longer URLs (the full ones are in ``--json``)."""

_URL = re.compile(r"https?://[^\s]+")
_STYLES = {
    "answer": "32",  # green
    "filter": "34",  # blue
    "say": "1",  # what the caller hears: bold
    "play": "1",
    "gather": "36",  # cyan
    "dial": "35",  # magenta
    "request": "2",  # dim
    "callback": "2",
    "error": "31",  # red
    "fetch-failed": "31",
    "fallback": "1;31",
    "warning": "33",  # yellow
}


class _HungUp(Exception):
    """The caller hung up: end of input (Ctrl-D) at an interactive prompt."""


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


def _at(text: str) -> datetime:
    """An ``argparse`` type: an ISO 8601 date and time."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-12-07T10:00:00 (got {text!r})"
        ) from None


def _zone(text: str) -> str:
    """An ``argparse`` type: an IANA time zone name."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r}: expected an IANA name like Europe/Paris"
        ) from None
    return text


def _location(text: str) -> Location:
    """An ``argparse`` type: ``STATE[,COUNTY]``."""
    try:
        return Location.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected STATE[,COUNTY] with a two-letter state, like NJ,ESSEX (got {text!r})"
        ) from None


def _number(text: str) -> str:
    """An ``argparse`` type: a caller or called number (or SIP user): anything but blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a number like +15550100999 (got {text!r})")
    return text


# -- output ------------------------------------------------------------------------------------


def colour_wanted(stream: TextIO) -> bool:
    """Whether to colour ``stream``: a terminal, and neither ``NO_COLOR`` nor ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def shorten_url(url: str, width: int = URL_WIDTH) -> str:
    """``url`` in at most ``width`` characters: the query is cut first, then the middle of
    the path, keeping the origin and the path's end (a file name, say).

    >>> shorten_url("https://media.example.com/prompts/en/welcome.wav?sig=0123456789", 45)
    'https://media.example.com...n/welcome.wav?...'
    """
    if len(url) <= width:
        return url
    base, mark, _ = url.partition("?")
    if len(base) + 4 <= width:  # the whole path and what fits of the query
        return url[: width - 3] + "..."
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    room = width - len(origin) - 3 - (4 if mark else 0)
    if room < 8:  # a long host: no room for a useful end of the path
        return url[: width - 3] + "..."
    return origin + "..." + base[-room:] + ("?..." if mark else "")


class _Output:
    """Lines of the transcript on ``out``: coloured on a terminal, URLs shortened on demand."""

    def __init__(self, out: TextIO, *, colour: bool, short_urls: bool) -> None:
        self.out = out
        self.colour = colour
        self.short_urls = short_urls

    def paint(self, text: str, style: str | None) -> str:
        return f"\x1b[{style}m{text}\x1b[0m" if self.colour and style else text

    def event(self, event: TraceEvent, *, failed: bool = False) -> str:
        """One event's line; a Hangup is green, or red when the call ``failed``."""
        text = event.describe()
        if self.short_urls:
            text = _URL.sub(lambda match: shorten_url(match.group()), text)
        style = _STYLES.get(event.type)
        if isinstance(event, HangupEvent):
            normal = event.ended_by in ("hangup", "end-of-document") and not failed
            style = "1;32" if normal else "1;31"
        return self.paint(text, style)

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


# -- interactive input -------------------------------------------------------------------------


class _Terminal:
    """Asks the user at a terminal: keys at each Gather attempt, each Dial target's outcome.

    On the real terminal (stdin and stdout of the process) ``input()`` reads the line, with
    readline's line editing and in-memory history when the module is there; otherwise (a
    test's fake terminal) the prompt is written to ``out`` and a line read from ``stdin``.
    """

    def __init__(self, output: _Output, stdin: TextIO) -> None:
        self.output = output
        self.stdin = stdin
        self.readline = False
        self.real = stdin is sys.stdin and output.out is sys.stdout and output.out.isatty()
        if self.real:
            try:
                import readline  # noqa: F401  (importing it is what enables line editing)
            except ImportError:  # pragma: no cover - Windows, or Python built without it
                pass
            else:
                self.readline = True

    def _prompt(self, text: str) -> str:
        """The prompt, bold on a colour terminal; readline is told the escapes take no room."""
        if not self.output.colour:
            return text
        start, end = ("\001", "\002") if self.readline else ("", "")
        return f"{start}\x1b[1m{end}{text}{start}\x1b[0m{end}"

    def ask_line(self, prompt: str) -> str:
        """One line typed by the user; :class:`_HungUp` at the end of input (Ctrl-D)."""
        if self.real:
            try:
                return input(self._prompt(prompt))
            except EOFError:
                self.output.line("")
                raise _HungUp from None
        self.output.out.write(self._prompt(prompt))
        self.output.out.flush()
        line = self.stdin.readline()
        if not line:
            self.output.line("")
            raise _HungUp
        return line.rstrip("\r\n")

    def keys(self, prompt: GatherPrompt) -> Keys:
        if prompt.command == "Pause":
            question = f"keys during the pause? ({prompt.dtmf_stop} ends it; empty = none) > "
        else:
            stop = f", then {prompt.dtmf_stop}" if prompt.dtmf_stop else ""
            question = f"keys? (up to {prompt.dtmf_length}{stop}; empty = no input) > "
        while True:
            typed = self.ask_line(question).strip()
            if KEYS.fullmatch(typed):
                return typed or None
            self.output.line(f"keys must be 0-9, * or # (got {typed!r}); try again")

    def dial(self, target: str) -> str:
        choices = ", ".join(DIAL_OUTCOMES[:-1]) + f" or {DIAL_OUTCOMES[-1]}"
        question = f"Dial {target}: {choices}? (empty = answer) > "
        while True:
            typed = self.ask_line(question).strip().lower()
            matches = [o for o in DIAL_OUTCOMES if o.startswith(typed)] if typed else ["answer"]
            if len(matches) == 1:
                return matches[0]
            self.output.line(f"the outcome must be one of {choices} (got {typed!r}); try again")


class _AskedDial(Mapping[str, str]):
    """One Dial's outcome per target, asked for when the simulator reads it (targets in
    order; once one answers, the others are not asked: the first to answer wins)."""

    def __init__(self, terminal: _Terminal) -> None:
        self.terminal = terminal
        self.answers: dict[str, str] = {}

    def __getitem__(self, target: str) -> str:
        if target not in self.answers:
            answered = "answer" in self.answers.values()
            self.answers[target] = "no-answer" if answered else self.terminal.dial(target)
        return self.answers[target]

    def __iter__(self) -> Iterator[str]:
        return iter(())  # nothing is known before the Dial runs

    def __len__(self) -> int:
        return 0


# -- running -----------------------------------------------------------------------------------


def _simulator(args: argparse.Namespace, stdin: TextIO) -> Simulator:
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
    output = _Output(out, colour=colour_wanted(out), short_urls=interactive)
    simulator = _simulator(args, stdin)
    seen = Trace()  # what happened so far, should the call not return (Ctrl-D, Ctrl-C)

    def on_event(event: TraceEvent) -> None:
        seen.add(event)
        if interactive:
            output.line(output.event(event, failed=seen.failed))

    dial: list[DialScript] = list(args.dial)
    terminal = _Terminal(output, stdin) if interactive else None
    if terminal is not None:
        output.line(
            output.paint(
                "Interactive call: type the keys at each Gather and the outcome of each Dial; "
                "Ctrl-D hangs up, Ctrl-C ends the simulation.",
                "2",
            )
        )
        # One entry per Dial the call may reach: a call runs at most max_commands commands.
        dial += [_AskedDial(terminal) for _ in range(simulator.max_commands)]
    try:
        with _closing(simulator):
            trace = simulator.call(
                from_=args.from_,
                to=args.to,
                keys=args.keys or (),
                dial=dial,
                at=args.at,
                location=args.location,
                input=terminal.keys if terminal is not None else None,
                on_event=on_event,
            )
    except _HungUp:
        output.line(output.paint("Hangup: the caller hung up (end of input)", "1"))
        return EXIT_PROBLEMS if seen.failed else EXIT_OK
    except KeyboardInterrupt:
        if interactive:
            output.line("")
            output.line(output.paint("(interrupted: the simulated call ends here)", "1;31"))
            return EXIT_INTERRUPTED
        if not args.json and seen.events:
            output.line("\n".join(output.event(event) for event in seen.events))
        print("callflow: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.json:
        out.write(json.dumps(trace.to_dict(), indent=2, ensure_ascii=False) + "\n")
    elif not interactive:
        text = trace.transcript()
        if output.colour:
            text = "\n".join(output.event(e, failed=trace.failed) for e in trace.events)
        out.write(text + "\n")
    return EXIT_OK if trace.ended_normally and not trace.failed else EXIT_PROBLEMS
