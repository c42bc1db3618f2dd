"""What the simulated world does: the keys a caller presses, the outcome of each Dial.

Both are scripted (keys per listening command, an outcome per Dial) or asked for while the
call runs (an :data:`InputProvider`, a mapping that asks per Dial target). Whatever asks may
also hang up instead of answering: it raises :class:`HangUp`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from callflow.exceptions import DialScriptError

KEYS: Final = re.compile(r"[0-9*#]*")
"""What a phone keypad can send (DTMF)."""
DIAL_OUTCOMES: Final = ("answer", "busy", "no-answer", "fail")
"""What a dialled target does; ``answer`` is the default."""

Keys = str | None
"""What the caller does at one listening command (a Gather attempt, a Pause with
``dtmf_stop``): keys pressed (``"1234#"``) or no input."""
DialScript = str | Mapping[str, str]
"""One Dial's outcome: for every target, or per target (``{"15550100200": "busy"}``)."""


@dataclass(frozen=True, slots=True)
class GatherPrompt:
    """What an input provider is told when a command listens for keys: a Gather attempt,
    or (``command="Pause"``) a Pause that a ``dtmf_stop`` key ends early."""

    prompt: list[str]
    attempt: int
    attempts: int
    dtmf_length: int
    dtmf_stop: str | None
    command: Literal["Gather", "Pause"] = "Gather"


InputProvider = Callable[[GatherPrompt], Keys]
"""Asked for the caller's keys each time a command listens (it may raise :class:`HangUp`)."""


class HangUp(Exception):
    """The caller hangs up: raise it from an input provider, from a Dial outcome asked for
    while the call runs (a mapping's ``__getitem__``), or from an ``on_event`` or
    ``on_document`` callback of ``Simulator.call``, to end the call there.

    The call does not raise: it returns its trace, which ends with a ``HangupEvent`` of
    reason ``caller hung up`` (``ended_by="caller"``, ``detail`` is ``detail``). That is a
    normal end, exit code 0, unless the call had failed already (a fallback, a failed fetch no
    ``<Error>`` handled). Any other exception raised there propagates out of the call.

    >>> def caller(prompt: GatherPrompt) -> Keys:
    ...     if prompt.attempt > 1:
    ...         raise HangUp("bored of the menu")
    ...     return None
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or "the caller hung up")
        self.detail = detail


def scripted_keys(keys: Iterable[Keys]) -> InputProvider:
    """An input provider that answers with ``keys`` in order, then with no input."""
    remaining = iter(list(keys))

    def provide(prompt: GatherPrompt) -> Keys:
        return next(remaining, None)

    return provide


def check_dial_script(script: DialScript) -> DialScript:
    """Return ``script``; raise :class:`DialScriptError` for an outcome that does not exist
    (a usage error, caught before the call starts)."""
    if isinstance(script, Mapping):
        for target, outcome in script.items():
            if outcome not in DIAL_OUTCOMES:
                raise DialScriptError(outcome, DIAL_OUTCOMES, target)
    elif script not in DIAL_OUTCOMES:
        raise DialScriptError(script, DIAL_OUTCOMES)
    return script


class AskedDial(Mapping[str, str]):
    """One Dial's outcome per target, asked for (``ask(target)``) when the simulator reads it,
    targets in order; once one answers, the others are not asked and get ``no-answer`` (the
    first to answer wins). What the terminal's interactive mode and the console pass as
    ``dial=``."""

    def __init__(self, ask: Callable[[str], str]) -> None:
        self.ask = ask
        self.answers: dict[str, str] = {}

    def __getitem__(self, target: str) -> str:
        if target not in self.answers:
            answered = "answer" in self.answers.values()
            self.answers[target] = "no-answer" if answered else self.ask(target)
        return self.answers[target]

    def __iter__(self) -> Iterator[str]:
        return iter(())  # nothing is known before the Dial runs

    def __len__(self) -> int:
        return 0
