"""``callflow.testing``: the assertions on a trace, and the pytest plugin's fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import callflow.testing
from callflow.simulator.trace import HangupEvent, RequestEvent, SayEvent
from callflow.testing import (
    Simulator,
    Trace,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_not_heard,
    assert_requested,
)

pytest_plugins = ["pytester"]

SPEC_EXAMPLE = (
    Path(__file__).resolve().parents[1] / "data" / "xsd" / "strict-valid" / "spec-example.xml"
)
PROMPT = "Press 1 for support, 2 for messages."
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
"""Options of the inner pytest runs (hypothesis is not used there and slows start-up)."""


@pytest.fixture
def answered() -> Trace:
    """The spec §1 example, key 1, the support line answers."""
    with Simulator(SPEC_EXAMPLE) as simulator:
        return simulator.call(keys=["1"])


def failing(check: Callable[[], None]) -> str:
    """Run ``check``, which must fail; return its message."""
    with pytest.raises(AssertionError) as raised:
        check()
    return str(raised.value)


def test_public_names() -> None:
    assert sorted(callflow.testing.__all__) == [
        "Exploration",
        "FetchedDocument",
        "GatherPrompt",
        "HangUp",
        "Location",
        "Simulator",
        "Trace",
        "assert_clean",
        "assert_dialed",
        "assert_ended",
        "assert_heard",
        "assert_not_heard",
        "assert_requested",
        "expect_fallback",
        "explore",
    ]


def test_assertions_pass(answered: Trace) -> None:
    assert_heard(answered, "Press 1 for support")
    assert_heard(answered, PROMPT, exact=True)
    assert_not_heard(answered, "We are closed.")
    assert_dialed(answered, "15550100200")
    assert_dialed(answered, "ann@acme.sip.opentact.org")
    assert_ended(answered)
    assert_ended(answered, "hangup")


@pytest.mark.parametrize(
    ("check", "message"),
    [
        pytest.param(
            lambda t: assert_heard(t, "We are closed."),
            "the caller never heard 'We are closed.'",
            id="heard",
        ),
        pytest.param(
            lambda t: assert_heard(t, "Press 1", exact=True),
            "the caller never heard 'Press 1'",
            id="heard-exact",
        ),
        pytest.param(
            lambda t: assert_not_heard(t, "support"),
            "the caller heard 'support'",
            id="not-heard",
        ),
        pytest.param(
            lambda t: assert_dialed(t, "15550100999"),
            "'15550100999' was never dialled (dialled: ['15550100200', "
            "'ann@acme.sip.opentact.org'])",
            id="dialed",
        ),
        pytest.param(
            lambda t: assert_requested(t, "/vm"), "no request went to '/vm'", id="requested"
        ),
        pytest.param(
            lambda t: assert_ended(t, normally=False),
            "the call did not end abnormally: hangup",
            id="ended-abnormally",
        ),
        pytest.param(
            lambda t: assert_ended(t, "hangup (voicemail)"),
            "the call ended with 'hangup', not 'hangup (voicemail)'",
            id="ended-reason",
        ),
        pytest.param(
            lambda t: assert_ended(t, "hang"),
            "the call ended with 'hangup', not 'hang' ('hang' is not a hang-up reason: "
            "caller hung up, end of document, hangup, invalid document, max commands, max fetches, "
            "webhook failed or 'hangup (TAG)')",
            id="ended-not-a-reason",
        ),
    ],
)
def test_assertions_fail_with_the_transcript(
    answered: Trace, check: Callable[[Trace], None], message: str
) -> None:
    text = failing(lambda: check(answered))
    headline, _, transcript = text.partition("\n--- call transcript ---\n")
    assert headline == message
    assert transcript == answered.transcript()
    assert f"Say: {PROMPT}" in transcript


def test_assert_requested_matches_part_of_the_url() -> None:
    trace = Trace()
    trace.add(RequestEvent("GET", "https://ivr.example.com/vm?call=1", {}, 200, "callback"))
    assert_requested(trace, "/vm")
    assert_requested(trace, "ivr.example.com")


def test_assert_ended_abnormally() -> None:
    trace = Trace([SayEvent("Hi."), HangupEvent("max fetches", "limit", None, "more than 50")])
    assert_ended(trace, "max fetches", normally=False)
    message = failing(lambda: assert_ended(trace))
    assert message.startswith("the call did not end normally: max fetches\n")
    assert "Say: Hi." in message


def test_assert_ended_on_an_unfinished_trace() -> None:
    trace = Trace([SayEvent("Hi.")])
    assert "did not end normally: None" in failing(lambda: assert_ended(trace))
    assert_ended(trace, normally=False)


def test_assert_heard_counts_plays_and_loops() -> None:
    with Simulator(SPEC_EXAMPLE) as simulator:
        trace = simulator.call()
    assert trace.heard.count(PROMPT) == 2
    assert_heard(trace, "no input", exact=True)


# -- the pytest plugin -----------------------------------------------------------------------


def test_callflow_simulator_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        from callflow import App, Hangup, Response, Say
        from callflow.testing import assert_dialed, assert_heard
        from callflow.simulator.trace import WarningEvent

        made = []

        def test_file(callflow_simulator):
            simulator = callflow_simulator({str(SPEC_EXAMPLE)!r})
            trace = simulator.call(keys=["1"])
            assert_dialed(trace, "15550100200")

        def test_app_with_options(callflow_simulator):
            app = App(secret="t")

            @app.flow("/")
            def main(call):
                return Response(Say("Hello."), Hangup())

            simulator = callflow_simulator(app, auto_answer=False)
            made.append(simulator)
            trace = simulator.call()
            assert_heard(trace, "Hello.")
            assert trace.of(WarningEvent)

        def test_closed_after_the_test():
            (simulator,) = made
            assert simulator.transport._local is None
        """
    )
    result = pytester.runpytest(*QUIET, "-W", "error")
    result.assert_outcomes(passed=3)


def test_callflow_sim_with_the_command_line_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from datetime import datetime

        from callflow.testing import assert_heard

        def test_closed(callflow_sim):
            trace = callflow_sim.call(keys=["1"], at=datetime(2024, 6, 1, 12))
            assert_heard(trace, "We are closed.")
        """
    )
    result = pytester.runpytest(*QUIET, "--callflow-target", str(SPEC_EXAMPLE))
    result.assert_outcomes(passed=1)


def test_callflow_sim_with_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\ncallflow_target = {SPEC_EXAMPLE}\n")
    pytester.makepyfile(
        """
        def test_default(callflow_sim):
            assert callflow_sim.call(keys=["9"]).heard[-1] == "Not an option."
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def test_callflow_sim_with_a_module_target(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        plugin_flows="""
        from callflow import App, Hangup, Response, Say

        app = App(secret="t")

        @app.flow("/")
        def main(call):
            return Response(Say("From a module."), Hangup(tag="done"))
        """
    )
    pytester.makepyfile(
        test_module_target="""
        from callflow.testing import assert_ended, assert_heard

        def test_module(callflow_sim):
            trace = callflow_sim.call()
            assert_heard(trace, "From a module.")
            assert_ended(trace, "hangup (done)")
        """
    )
    result = pytester.runpytest(*QUIET, "--callflow-target", "plugin_flows:app")
    result.assert_outcomes(passed=1)


def test_callflow_sim_without_a_target_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_needs_target(callflow_sim):
            pass
        """
    )
    result = pytester.runpytest(*QUIET)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*callflow_sim needs a target*"])


def test_plugin_options_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--callflow-target*", "*callflow_target*"])
