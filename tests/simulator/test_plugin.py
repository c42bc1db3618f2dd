"""The pytest plugin's check (callflow/pytest_plugin.py): a test during which an App logged an
error or a simulator received a fallback document fails, unless it expects that (the
``callflow_expect_fallback`` marker, or ``callflow.testing.expect_fallback()``)."""

from __future__ import annotations

import logging

import pytest

from callflow import App, CallContext, Response
from callflow.testing import Simulator, expect_fallback

pytest_plugins = ["pytester"]

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--strict-markers")

FAILING_APP = """
from callflow import App
from callflow.testing import Simulator, expect_fallback

app = App(secret="t")

@app.flow("/")
def main(call):
    raise RuntimeError("a bug in the flow")

def call():
    with Simulator(app) as simulator:
        return simulator.call()
"""


def test_an_unexpected_fallback_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        FAILING_APP
        + """
def test_unmarked():
    trace = call()
    assert trace.heard  # passes on its own: the apology was heard
"""
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*an App failed during this test*callflow_expect_fallback*expect_fallback()*",
            "*callflow logged ERROR: flow 'main' raised (call -): fallback sent*",
            "*a simulator received the fallback document (error) from http://testserver/*",
        ]
    )


def test_the_marker_and_the_helper_let_an_expected_fallback_pass(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        FAILING_APP
        + """
import pytest

@pytest.mark.callflow_expect_fallback
def test_marked():
    assert call().fallbacks

def test_helper():
    with expect_fallback() as noticed:
        trace = call()
    assert trace.fallbacks
    assert noticed

def test_helper_then_a_clean_call():
    with expect_fallback():
        call()
    with Simulator(app) as simulator:
        simulator.call()  # the webhook flow fails again, outside the block
"""
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED *test_helper_then_a_clean_call*"])


def test_expect_fallback_fails_when_nothing_failed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        FAILING_APP
        + """
def test_nothing_failed():
    with expect_fallback():
        with Simulator(app) as simulator:
            simulator.call()  # the flow raises: expected
    with expect_fallback():
        pass  # nothing failed: the helper fails the test
"""
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected an App error or a fallback document*"])


def test_an_error_logged_by_callflow_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import logging

        def test_logs():
            logging.getLogger("callflow.server.events").error("handler %s raised", "h")

        def test_warns():
            logging.getLogger("callflow").warning("only a warning")

        def test_other_logger():
            logging.getLogger("elsewhere").error("not callflow's")
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*callflow.server.events logged ERROR: handler h raised*"])


def test_a_test_that_fails_anyway_keeps_its_own_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        FAILING_APP
        + """
def test_fails():
    call()
    assert False, "its own reason"
"""
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*its own reason*"])
    result.stdout.no_fnmatch_line("*an App failed during this test*")


def test_the_marker_is_registered_by_the_plugin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.callflow_expect_fallback:*"])


# -- the same check, in this very run ------------------------------------------------------------


def failing_app() -> App:
    app = App(secret="t")

    @app.flow("/")
    def main(call: CallContext) -> Response:
        raise RuntimeError("boom")

    return app


@pytest.mark.callflow_expect_fallback
def test_a_marked_test_may_get_a_fallback() -> None:
    with Simulator(failing_app()) as simulator:
        assert simulator.call().fallbacks


def test_expect_fallback_yields_what_it_noticed() -> None:
    with expect_fallback() as noticed:
        logging.getLogger("callflow").critical("broken")
    assert noticed == ["callflow logged CRITICAL: broken"]


def test_expect_fallback_nests() -> None:
    with expect_fallback() as outer:
        with expect_fallback() as inner:
            logging.getLogger("callflow").error("inner")
        logging.getLogger("callflow").error("outer")
    assert (inner, outer) == (["callflow logged ERROR: inner"], ["callflow logged ERROR: outer"])
