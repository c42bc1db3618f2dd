"""The spec §1 example, simulated end to end along every branch: 1 (answered, and each way a
Dial fails), 2 (the Callback, served and failing), another key (Default), no input twice
(Error say="true") and the weekend (closed)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from callflow import App, CallContext, Hangup, Record, Response, Say
from callflow.simulator.commands import DIAL_REASONS
from callflow.simulator.inputs import DialScript
from callflow.simulator.trace import CallbackEvent, DialEvent, ErrorEvent, GatherEvent, Trace
from callflow.testing import (
    Simulator,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_not_heard,
)

SPEC_EXAMPLE = (
    Path(__file__).resolve().parents[1] / "data" / "xsd" / "strict-valid" / "spec-example.xml"
)

# Copied from spec §1; the data file must stay this document.
SPEC_TEXT = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Answer/>
  <Schedule dow="sat,sun"><Say>We are closed.</Say><Hangup/></Schedule>
  <Gather dtmf_length="1" timeout="6000" attempts="2">
    <Say>Press 1 for support, 2 for messages.</Say>
    <DTMF value="1"><Dial><To>15550100200</To><To>ann@acme.sip.opentact.org</To></Dial></DTMF>
    <DTMF value="2"><Callback url="https://ivr.example.com/vm"/></DTMF>
    <Default><Say>Not an option.</Say></Default>
    <Error say="true"/>
  </Gather>
  <Hangup/>
</Response>"""

PROMPT = "Press 1 for support, 2 for messages."
SUPPORT = "15550100200"
ANN = "ann@acme.sip.opentact.org"
VM_URL = "https://ivr.example.com/vm"
MONDAY = datetime(2024, 6, 3, 12, 0, 0)


def call(
    target: object = SPEC_EXAMPLE,
    *,
    keys: Sequence[str | None] = (),
    dial: Sequence[DialScript] = (),
    at: datetime = MONDAY,
    tz: str | None = None,
) -> Trace:
    with Simulator(target) as simulator:
        return simulator.call(keys=keys, dial=dial, at=at, tz=tz)


def test_the_data_file_is_the_spec_example() -> None:
    on_disk = etree.canonicalize(from_file=str(SPEC_EXAMPLE), strip_text=True)
    spec = etree.canonicalize(SPEC_TEXT.split("?>", 1)[1], strip_text=True)
    assert on_disk == spec


def test_1_dials_both_targets_and_the_first_answers() -> None:
    trace = call(keys=["1"])
    assert trace.heard == [PROMPT]
    assert trace.dialed == [SUPPORT, ANN]
    assert trace.of(DialEvent) == [DialEvent([SUPPORT, ANN], "answer", SUPPORT)]
    assert trace.hangup_reason == "hangup"  # after </Dial>, then after </Gather>: <Hangup/>
    assert_dialed(trace, ANN)
    assert_ended(trace, "hangup")


def test_1_second_target_answers() -> None:
    trace = call(keys=["1"], dial=[{SUPPORT: "no-answer", ANN: "answer"}])
    assert trace.of(DialEvent)[0].answered_by == ANN
    assert trace.hangup_reason == "hangup"


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
def test_1_every_dial_failure(outcome: str) -> None:
    trace = call(keys=["1"], dial=[outcome])
    assert trace.heard == [PROMPT]  # the Dial has no <Error>: nothing is said
    assert trace.dialed == [SUPPORT, ANN]
    assert trace.of(DialEvent)[0].outcome == outcome
    assert trace.of(ErrorEvent) == [ErrorEvent("Dial", DIAL_REASONS[outcome], handled=False)]
    assert trace.hangup_reason == "hangup"
    assert trace.ended_normally


def spec_with_callback(url: str) -> bytes:
    return SPEC_TEXT.replace(VM_URL, url).encode()


def test_2_callback_replaces_the_rest() -> None:
    app = App(secret="t")
    voicemail: list[CallContext] = []

    @app.flow("/")
    def main(call: CallContext) -> bytes:
        return spec_with_callback("/vm")

    @app.flow("/vm")
    def vm(call: CallContext) -> Response:
        voicemail.append(call)
        return Response(
            Say("Leave a message."), Record(tag="vm", timeout=30000), Hangup(tag="voicemail")
        )

    trace = call(app, keys=["2"])
    assert trace.heard == [PROMPT, "Leave a message."]
    assert trace.hangup_reason == "hangup (voicemail)"  # the example's <Hangup/> never runs
    assert trace.dialed == []
    (callback,) = trace.of(CallbackEvent)
    assert callback.url == "http://testserver/vm"
    assert callback.method == "GET"
    (request,) = [r for r in trace.requests if r.purpose == "callback"]
    assert set(request.params) == {"from", "tn", "state", "sca", "call"}
    (seen,) = voicemail
    assert seen.from_ == "+15550100999"
    assert seen.tn == "+15550100200"


def test_2_failed_callback_continues_after_the_gather(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "spec.xml"
    path.write_bytes(spec_with_callback(f"http://127.0.0.1:{port}/vm"))
    trace = call(path, keys=["2"])
    (error,) = trace.of(ErrorEvent)
    assert error.command == "Callback"
    assert not error.handled
    assert "request failed" in error.reason
    assert trace.heard == [PROMPT]
    assert trace.hangup_reason == "hangup"


@pytest.mark.parametrize("key", ["3", "0", "*", "#"])
def test_other_keys_run_default(key: str) -> None:
    trace = call(keys=[key])
    assert trace.heard == [PROMPT, "Not an option."]
    assert trace.of(GatherEvent)[0].outcome == "default"
    assert trace.dialed == []
    assert trace.hangup_reason == "hangup"


def test_no_input_twice_runs_error_say() -> None:
    trace = call()
    assert [(event.attempt, event.outcome) for event in trace.of(GatherEvent)] == [
        (1, "no-input"),
        (2, "no-input"),
    ]
    assert trace.heard == [PROMPT, PROMPT, "no input"]  # say="true" speaks the reason
    assert trace.of(ErrorEvent) == [ErrorEvent("Gather", "no input", handled=True)]
    assert trace.dialed == []
    assert trace.hangup_reason == "hangup"


def test_no_input_then_1() -> None:
    trace = call(keys=[None, "1"])
    assert trace.heard == [PROMPT, PROMPT]
    assert trace.dialed == [SUPPORT, ANN]
    assert trace.hangup_reason == "hangup"


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(datetime(2024, 6, 1, 10, 0), id="saturday"),
        pytest.param(datetime(2024, 6, 2, 23, 59, 59), id="sunday-night"),
    ],
)
def test_weekend_is_closed(at: datetime) -> None:
    trace = call(at=at, keys=["1"])
    assert trace.heard == ["We are closed."]
    assert trace.of(GatherEvent) == []
    assert trace.dialed == []
    assert trace.hangup_reason == "hangup"
    assert_not_heard(trace, PROMPT)


def test_weekend_follows_the_time_zone() -> None:
    friday_evening_in_new_york = datetime.fromisoformat("2024-06-01T03:30:00+00:00")
    in_utc = call(at=friday_evening_in_new_york, keys=["9"])
    assert in_utc.heard == ["We are closed."]  # Saturday in UTC
    in_new_york = call(at=friday_evening_in_new_york, keys=["9"], tz="America/New_York")
    assert_heard(in_new_york, "Not an option.", exact=True)
