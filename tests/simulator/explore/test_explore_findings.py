"""``explore``: each finding on a small App broken in that one way, what exploration tries
(keys, no input, Dial outcomes, times, places), and the reproducing command lines."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import explore_apps as apps
import pytest

import flows
from callflow import App
from callflow.simulator.explore import Exploration, explore
from callflow.simulator.explore.codes import CODES

ROOT = Path(__file__).resolve().parents[3]
MODULE = "tests.simulator.explore.explore_apps"


def explored(name: str, **options: object) -> Exploration:
    app = getattr(apps, name)
    assert isinstance(app, App)
    return explore(app, name=f"{MODULE}:{name}", **options)  # type: ignore[arg-type]


def only(exploration: Exploration, code: str) -> list[str]:
    """The messages of the findings with ``code``; every finding must have it."""
    assert {finding.code for finding in exploration.findings} == {code}, exploration.render()
    return [finding.message for finding in exploration.findings]


def labels(exploration: Exploration) -> set[str]:
    return {edge.label for edge in exploration.edges}


def test_a_clean_app_has_no_finding() -> None:
    exploration = explored("clean")
    assert exploration.clean, exploration.render()
    assert exploration.complete
    paths = {node.path for node in exploration.nodes if node.kind == "flow"}
    assert paths == {"/", "/next"}
    assert {"press 1", "press 2", "press 0", "no input"} <= labels(exploration)


def test_a_link_to_a_missing_path_is_cf701() -> None:
    exploration = explored("missing_link")
    missing = [f for f in exploration.findings if f.code == "CF701"]
    assert len(missing) == 1
    assert "links to /nowhere" in missing[0].message
    assert exploration.node(missing[0].node).kind == "missing"
    assert exploration.node(missing[0].node).path == "/nowhere"


def test_an_invalid_document_is_cf702() -> None:
    exploration = _with_fallbacks("invalid_document")
    [message] = only(exploration, "CF702")
    assert "broken (/broken) returned an invalid document" in message
    assert "tag mismatch" in message


def test_a_path_that_ends_in_silence_is_cf703() -> None:
    [message] = only(explored("silence"), "CF703")
    assert message.startswith("thanks ends without a Hangup")


def test_silence_is_reported_once_per_document() -> None:
    [message] = only(explored("silent_after_menu"), "CF703")
    assert "after press 1" in message


def test_a_cycle_no_key_leaves_is_cf704() -> None:
    exploration = explored("trap")
    [finding] = exploration.findings
    assert finding.code == "CF704"
    assert "hold -> hold" in finding.message
    assert exploration.node(finding.node).path == "/hold"


def test_a_cycle_with_a_way_out_is_no_trap() -> None:
    # The account example's menu calls itself back on 1, 2 and a wrong key; 9 signs out.
    from examples import account

    exploration = explore(account.app, codes=["2468"])
    assert "CF704" not in exploration.codes(), exploration.render()
    menu = [edge for edge in exploration.edges if exploration.node(edge.source).path == "/menu"]
    assert any(edge.source == edge.target for edge in menu)


def test_branches_and_flows_no_input_reaches_are_cf705() -> None:
    messages = only(explored("unreachable"), "CF705")
    assert len(messages) == 2
    assert "the DTMF branch '12' of the Gather at Gather[0] of main (/)" in messages[0]
    assert "longer than the Gather's dtmf_length (1)" in messages[0]
    assert "the flow 'orphan' (/orphan)" in messages[1]


def test_a_flow_reached_only_with_the_right_code_is_cf705_without_it() -> None:
    from examples import account

    assert explore(account.app).codes() == ["CF705", "CF705"]
    assert explore(account.app, codes=["2468"]).clean


def _with_fallbacks(name: str) -> Exploration:
    from callflow.testing import expect_fallback

    with expect_fallback():
        return explored(name)


def test_a_flow_that_raises_or_times_out_is_cf706_with_its_command_line() -> None:
    exploration = _with_fallbacks("raising")
    raised, timed_out = only(exploration, "CF706")
    assert "lookup (/lookup) raised (ZeroDivisionError: order 7 divides by zero)" in raised
    assert "lookup (/lookup) timed out" in timed_out
    reproduce = [finding.reproduce for finding in exploration.findings]
    assert reproduce == [
        f"callflow simulate {MODULE}:raising --at 2026-01-05T12:00:00 --press 7",
        f"callflow simulate {MODULE}:raising --at 2026-01-05T12:00:00 --press 8",
    ]


def test_the_command_line_of_a_finding_reproduces_it() -> None:
    exploration = _with_fallbacks("raising")
    command = shlex.split(str(exploration.findings[0].reproduce))
    assert command[:2] == ["callflow", "simulate"]
    script = Path(sys.executable).with_name("callflow")
    result = subprocess.run(
        [str(script), *command[1:]], cwd=ROOT, capture_output=True, check=False, timeout=120
    )
    assert result.returncode == 1
    assert b"! fallback document (error)" in result.stdout
    assert b"ZeroDivisionError: order 7 divides by zero" in result.stderr


def test_a_number_no_flow_answers_is_cf701() -> None:
    assert explored("numbers_only").clean  # its own number
    exploration = explored("numbers_only", numbers=["+15550100200"])
    assert exploration.codes() == ["CF701", "CF705"]  # and the sales flow is not reached
    assert "no flow answers calls to +15550100200" in exploration.findings[0].message
    assert "the flow 'sales'" in exploration.findings[1].message


def test_schedules_geos_and_dials_are_tried_inside_and_outside() -> None:
    exploration = explored("filtered")
    assert exploration.clean, exploration.render()
    assert {
        "weekend",
        "20:00-07:59",
        "other times, in TX",
        "other times, elsewhere, answered",
        "other times, elsewhere, busy",
        "other times, elsewhere, no-answer",
        "other times, elsewhere, fail",
    } == labels(exploration) - {""}
    ends = {node.label for node in exploration.nodes if node.kind == "end"}
    assert ends == {
        "hangup (weekend)",
        "hangup (night)",
        "hangup (texas)",
        "hangup (dialled)",
        "hangup (dial-failed)",
    }


def test_no_input_runs_out_the_attempts() -> None:
    exploration = explore(flows.app)
    assert "other times, no input x2" in labels(exploration)


def test_a_limit_is_cf707_and_the_exploration_is_incomplete() -> None:
    exploration = explore(flows.app, max_steps=3)
    assert not exploration.complete
    assert exploration.codes() == ["CF707"]
    assert exploration.calls == 3


def test_the_map_is_the_same_every_time() -> None:
    first, second = explore(flows.app), explore(flows.app)
    assert first.nodes == second.nodes
    assert first.edges == second.edges
    assert first.nodes[0].id == "n0" and first.nodes[0].kind == "call"


def test_every_code_has_a_name_a_meaning_and_a_fix() -> None:
    assert list(CODES) == [f"CF70{n}" for n in range(1, 8)]
    assert all(code.name and code.meaning and code.fix for code in CODES.values())


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        explore(flows.app, max_steps=0)
