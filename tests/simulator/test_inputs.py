"""What the simulated world does (callflow/simulator/inputs.py): scripted keys and the
outcomes a Dial script may hold."""

from __future__ import annotations

import pytest

from callflow import CallflowError
from callflow.exceptions import DialScriptError
from callflow.simulator.inputs import (
    DIAL_OUTCOMES,
    KEYS,
    AskedDial,
    DialScript,
    GatherPrompt,
    check_dial_script,
    scripted_keys,
)

PROMPT = GatherPrompt(["Press 1."], 1, 1, 1, None)


def test_scripted_keys_answer_in_order_then_no_input() -> None:
    provide = scripted_keys(["1", None, "23#"])
    assert [provide(PROMPT) for _ in range(5)] == ["1", None, "23#", None, None]


def test_scripted_keys_are_copied_when_the_script_is_made() -> None:
    keys = ["1"]
    provide = scripted_keys(keys)
    keys.append("2")
    assert [provide(PROMPT), provide(PROMPT)] == ["1", None]


@pytest.mark.parametrize(
    "script",
    [
        *(pytest.param(outcome, id=outcome) for outcome in DIAL_OUTCOMES),
        pytest.param({"15550100200": "busy", "ann@acme": "answer"}, id="per-target"),
        pytest.param({}, id="no-target-named"),
    ],
)
def test_known_dial_outcomes_pass(script: DialScript) -> None:
    assert check_dial_script(script) is script


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param(
            "ringing",
            "dial outcome must be one of answer, busy, no-answer, fail (got 'ringing')",
            id="word",
        ),
        pytest.param(
            "Answer",
            "dial outcome must be one of answer, busy, no-answer, fail (got 'Answer')",
            id="case-matters",
        ),
        pytest.param(
            {"15550100200": "answer", "ann@acme": "hold"},
            "dial outcome for ann@acme must be one of answer, busy, no-answer, fail (got 'hold')",
            id="per-target",
        ),
    ],
)
def test_unknown_dial_outcomes_raise(script: DialScript, message: str) -> None:
    with pytest.raises(DialScriptError) as raised:
        check_dial_script(script)
    assert str(raised.value) == message
    assert raised.value.allowed == DIAL_OUTCOMES
    assert isinstance(raised.value, CallflowError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("text", "sendable"),
    [
        pytest.param("0123456789*#", True, id="keypad"),
        pytest.param("", True, id="nothing"),
        pytest.param("1a", False, id="letter"),
        pytest.param("1 2", False, id="space"),
        pytest.param("+", False, id="plus"),
    ],
)
def test_keys_are_what_a_keypad_sends(text: str, sendable: bool) -> None:
    assert (KEYS.fullmatch(text) is not None) is sendable


def test_an_asked_dial_asks_each_target_once_until_one_answers() -> None:
    asked: list[str] = []
    outcomes = {"+15550100201": "busy", "+15550100202": "answer"}

    def ask(target: str) -> str:
        asked.append(target)
        return outcomes[target]

    dial = AskedDial(ask)
    assert dial["+15550100201"] == "busy"
    assert dial["+15550100202"] == "answer"
    assert dial["+15550100203"] == "no-answer"  # the first to answer won
    assert dial["+15550100201"] == "busy"  # asked once
    assert asked == ["+15550100201", "+15550100202"]
    assert len(dial) == 0 and list(dial) == []
