"""``callflow simulate`` in interactive mode: the user at the terminal is the caller, typing
the keys at each Gather attempt, and says how each Dial target answers.

Ctrl-D hangs up (the simulator's :class:`~callflow.simulator.inputs.HangUp`: the call ends as
it stands and returns its trace); Ctrl-C ends the simulation (exit 130).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from callflow.cli.command import EXIT_INTERRUPTED
from callflow.cli.output import Output
from callflow.simulator.inputs import (
    DIAL_OUTCOMES,
    KEYS,
    AskedDial,
    DialScript,
    GatherPrompt,
    HangUp,
    Keys,
)
from callflow.simulator.trace import HangupEvent, Trace, TraceEvent

BANNER = (
    "Interactive call: type the keys at each Gather and the outcome of each Dial; "
    "Ctrl-D hangs up, Ctrl-C ends the simulation."
)
HUNG_UP = "Hangup: the caller hung up (end of input)"


class HungUp(HangUp):
    """The caller hung up: end of input (Ctrl-D) at an interactive prompt."""

    def __init__(self) -> None:
        super().__init__("end of input")


class Terminal:
    """Asks the user at a terminal: keys at each Gather attempt, each Dial target's outcome.

    On the real terminal (stdin and stdout of the process) ``input()`` reads the line, with
    readline's line editing and in-memory history when the module is there; otherwise (a
    test's fake terminal) the prompt is written to ``out`` and a line read from ``stdin``.
    """

    def __init__(self, output: Output, stdin: TextIO) -> None:
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
        """One line typed by the user; :class:`HungUp` at the end of input (Ctrl-D)."""
        if self.real:
            try:
                return input(self._prompt(prompt))
            except EOFError:
                self.output.line("")
                raise HungUp from None
        self.output.out.write(self._prompt(prompt))
        self.output.out.flush()
        line = self.stdin.readline()
        if not line:
            self.output.line("")
            raise HungUp
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


def call_interactively(
    place: Callable[..., Trace],
    output: Output,
    stdin: TextIO,
    *,
    dial: Sequence[DialScript],
    most_dials: int,
) -> int:
    """Place the call with ``place`` (``Simulator.call`` with the options of the command
    line), the user at ``stdin`` as the caller, printing each event as it happens. The Dials
    that ``dial`` does not cover, up to ``most_dials``, are asked for. Return the exit code."""
    seen = Trace()  # the call so far: whether it failed, for the colour of each line

    def on_event(event: TraceEvent) -> None:
        seen.add(event)
        if isinstance(event, HangupEvent) and event.ended_by == "caller":  # Ctrl-D
            output.line(output.paint(HUNG_UP, "1"))
        else:
            output.line(output.event(event, failed=seen.failed))

    terminal = Terminal(output, stdin)
    output.line(output.paint(BANNER, "2"))
    asked = [AskedDial(terminal.dial) for _ in range(most_dials)]
    try:
        trace = place(dial=[*dial, *asked], input=terminal.keys, on_event=on_event)
    except KeyboardInterrupt:
        output.line("")
        output.line(output.paint("(interrupted: the simulated call ends here)", "1;31"))
        return EXIT_INTERRUPTED
    return trace.exit_code
