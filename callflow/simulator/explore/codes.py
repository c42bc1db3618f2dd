"""The codes of what exploring an App finds (``CF7xx``, beside lint's ``CF0xx``-``CF6xx``):
each with its name, what it means and how to fix it. ``docs/validation.md`` lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Code:
    """One kind of finding: ``name`` for humans and JSON, ``meaning``, ``fix``."""

    name: str
    meaning: str
    fix: str


MISSING_PATH: Final = "CF701"
FETCH_FAILED: Final = "CF702"
SILENCE: Final = "CF703"
TRAP: Final = "CF704"
UNREACHABLE: Final = "CF705"
FLOW_ERROR: Final = "CF706"
INCOMPLETE: Final = "CF707"

CODES: Final[dict[str, Code]] = {
    MISSING_PATH: Code(
        "missing-path",
        "a link (Gather url, Callback, Curl) to a path of the App that no flow or hosted "
        "document serves, or a called number that no flow answers",
        "register a flow or a document at that path, or link with call.url_for(name), which "
        "cannot name a flow that does not exist",
    ),
    FETCH_FAILED: Code(
        "fetch-failed",
        "a document fetch that failed (an HTTP error, a timeout, a reply too large) or "
        "returned an invalid document",
        "run the reproducing call with callflow simulate and read the failure; validate what "
        "the flow returns (callflow validate, assert_valid)",
    ),
    SILENCE: Code(
        "silence",
        "a path that ends at the end of a document, without a Hangup or a redirect: "
        "Opentact then hangs up (docs/dialect.md, End of document)",
        "end the path with <Hangup/> (and a tag saying why), or fetch what comes next with "
        "a Callback",
    ),
    TRAP: Code(
        "trap",
        "a cycle of documents that no key press leaves: every path through it comes back, "
        "and the call only ends when Opentact gives up",
        "give the caller a way out (a DTMF branch or an Error that hangs up), or count the "
        "rounds in signed state and hang up after a few",
    ),
    UNREACHABLE: Code(
        "unreachable",
        "a branch no explored input reaches: a DTMF value that pressing it does not select, "
        "a Gather no explored call runs, or a flow or hosted document no explored call "
        "fetches",
        "fix the branch (a value the Gather can collect, no url beside DTMF branches), link "
        "to the flow, or remove it; when it needs inputs exploration cannot guess, give "
        "them (codes, callers, numbers)",
    ),
    FLOW_ERROR: Code(
        "flow-error",
        "a flow that raised or timed out on some path: the caller got the fallback document",
        "run the reproducing call with callflow simulate, fix the flow, and keep the call "
        "as a test",
    ),
    INCOMPLETE: Code(
        "incomplete",
        "exploration stopped at a limit (max_steps, max_documents, or a call's own limits) "
        "before it had followed every path, or a flow that is not deterministic sent a "
        "replayed call another way",
        "raise --max-steps or --max-documents; a flow whose documents never repeat (a "
        "counter in state that never stops) needs an end; a flow that decides at random or "
        "by the real clock should take its choice from the call (call.state, the call's time)",
    ),
}
"""Every code ``explore`` reports, by code."""
