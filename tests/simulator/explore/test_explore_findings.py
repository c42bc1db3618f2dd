"""``explore``: each finding on a small App broken in that one way, what exploration tries
(keys, no input, Dial outcomes, times, places), and the reproducing command lines."""

from __future__ import annotations

import http.server
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path

import explore_apps as apps
import pytest

import flows
from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Curl,
    Gather,
    Hangup,
    Response,
    Say,
    Schedule,
    render,
)
from callflow.simulator.explore import Exploration, explore
from callflow.simulator.explore.codes import CODES
from callflow.simulator.explore.steps import Scenario, Task
from callflow.simulator.explore.walk import Explorer

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


def test_a_fetch_that_fails_is_cf702() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    exploration = explore(url)
    [finding] = exploration.findings
    assert finding.code == "CF702"
    assert finding.message.startswith("webhook in call to +15550100200: fetching / failed")
    assert finding.reproduce == f"callflow simulate {url} --at 2026-01-05T12:00:00 --no-input"


def test_an_invalid_xml_file_is_cf702(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<Response><Say>unclosed</Response>")
    [finding] = explore(str(broken)).findings
    assert finding.code == "CF702"
    assert finding.message.startswith("broken.xml is not a valid document (1:")
    sound = tmp_path / "sound.xml"
    sound.write_bytes(render(Response(Say("Hello."), Hangup())))
    assert explore(str(sound)).clean


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


def simulate(reproduce: str | None) -> subprocess.CompletedProcess[bytes]:
    """Run a finding's ``callflow simulate`` command line from the repository root."""
    command = shlex.split(str(reproduce))
    assert command[:2] == ["callflow", "simulate"]
    script = Path(sys.executable).with_name("callflow")
    return subprocess.run(
        [str(script), *command[1:]], cwd=ROOT, capture_output=True, check=False, timeout=120
    )


def test_the_command_line_of_a_finding_reproduces_it() -> None:
    exploration = _with_fallbacks("raising")
    result = simulate(exploration.findings[0].reproduce)
    assert result.returncode == 1
    assert b"! fallback document (error)" in result.stdout
    assert b"ZeroDivisionError: order 7 divides by zero" in result.stderr


def test_the_command_line_gives_the_time_and_the_place_that_lead_there() -> None:
    [finding] = explored("saturday_west").findings
    assert finding.code == "CF701"
    assert finding.message.startswith("sat, in CA in main links to /weekend-west")
    assert " --at 2026-01-10T12:00:00 --location CA " in str(finding.reproduce)  # a Saturday
    result = simulate(finding.reproduce)
    assert result.returncode == 1
    assert b"Schedule matched (Sat 12:00:00 PST)\nGeo matched (caller in CA)\n" in result.stdout
    assert b"HTTP 404 from http://testserver/weekend-west?" in result.stdout


def test_a_number_no_flow_answers_is_cf701() -> None:
    assert explored("numbers_only").clean  # its own number
    exploration = explored("numbers_only", numbers=["+15550100200"])
    assert exploration.codes() == ["CF701", "CF705"]  # and the sales flow is not reached
    assert "no flow answers calls to +15550100200" in exploration.findings[0].message
    assert "the flow 'sales'" in exploration.findings[1].message


def test_schedules_geos_and_dials_are_tried_inside_and_outside() -> None:
    exploration = explored("filtered")
    assert exploration.clean, exploration.render()
    # Outside both Schedules is when the line is open: named so, not "other times".
    assert {
        "weekend",
        "20:00-07:59",
        "weekdays 08:00-19:59, in TX",
        "weekdays 08:00-19:59, not in TX, answered",
        "weekdays 08:00-19:59, not in TX, busy",
        "weekdays 08:00-19:59, not in TX, no-answer",
        "weekdays 08:00-19:59, not in TX, fail",
    } == labels(exploration) - {""}
    assert ends(exploration) == {
        "hangup (weekend)",
        "hangup (night)",
        "hangup (texas)",
        "hangup (dialled)",
        "hangup (dial-failed)",
    }


def ends(exploration: Exploration) -> set[str]:
    return {node.label for node in exploration.nodes if node.kind == "end"}


def placed(monkeypatch: pytest.MonkeyPatch) -> list[Scenario]:
    """The scenario of every simulated call the explorations of this test place."""
    scenarios: list[Scenario] = []
    place = Explorer.place

    def recording(explorer: Explorer, task: Task) -> None:
        scenarios.append(task.scenario)
        place(explorer, task)

    monkeypatch.setattr(Explorer, "place", recording)
    return scenarios


def test_each_value_of_each_gather_is_pressed_and_a_key_no_branch_matches() -> None:
    exploration = explored("two_menus")
    assert exploration.clean, exploration.render()
    # 0 matches no branch: the first menu goes on to the second, the second runs its Default.
    assert ends(exploration) == {
        "hangup (one)",
        "hangup (two)",
        "hangup (seven)",
        "hangup (eight)",
        "hangup (other-key)",
        "hangup (no-input)",
    }
    assert {"press 0, press 7", "no input, press 8", "press 0 x2"} <= labels(exploration)


def test_schedules_are_tried_in_the_apps_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    scenarios = placed(monkeypatch)
    exploration = explored("pacific")
    assert exploration.clean, exploration.render()
    # 09:00 in Los Angeles is 17:00 UTC: read in UTC, the window would never be inside.
    assert ends(exploration) == {
        "hangup (nine-oclock)",
        "hangup (tuesday)",
        "hangup (other-times)",
    }
    assert labels(exploration) - {""} == {"09:00-09:59", "tue", "not tue 10:00-08:59"}
    times = {scenario.at for scenario in scenarios}
    assert all(at.tzinfo is None for at in times)  # naive: the App's time zone
    # Each window's start and the second after its end, on a day listed and one not.
    assert {(at.strftime("%a"), at.strftime("%H:%M:%S")) for at in times} >= {
        ("Mon", "09:00:00"),
        ("Mon", "10:00:00"),
        ("Tue", "09:00:00"),
        ("Tue", "10:00:00"),
    }


def test_a_finding_inside_a_window_reproduces_at_its_time() -> None:
    [finding] = explore(pacific_with_a_flaw(), name="APP").findings
    assert finding.code == "CF703"
    assert finding.reproduce == "callflow simulate APP --at 2026-01-05T09:00:00 --no-input"


def pacific_with_a_flaw() -> App:
    """An App in Los Angeles whose path inside a one-hour window ends in silence."""
    app = App(secret=apps.SECRET, time_zone="America/Los_Angeles")

    @app.flow("/", name="main")
    def main(call: CallContext) -> Response:
        return Response(
            Schedule(Callback(url="/nine"), time="09:00:00-09:59:59"), Hangup(tag="other")
        )

    @app.flow("/nine", name="nine")
    def nine(call: CallContext) -> Response:
        return Response(Say("Nine."))  # then silence

    return app


def test_a_geo_is_tried_from_each_state_it_lists_and_one_it_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenarios = placed(monkeypatch)
    exploration = explored("west")
    assert exploration.clean, exploration.render()
    assert labels(exploration) - {""} == {"in AZ/CA/NV", "not in AZ/CA/NV"}
    assert ends(exploration) == {"hangup (west)", "hangup (elsewhere)"}
    assert {scenario.location for scenario in scenarios} == {None, "AZ", "CA", "NV", "NY"}


def test_every_registered_number_is_a_start() -> None:
    exploration = explored("two_numbers")
    assert exploration.clean, exploration.render()
    calls = [node.label for node in exploration.nodes if node.kind == "call"]
    assert calls == ["call to +15550100300", "call to +15550100400", "call to +15550100401"]
    assert ends(exploration) == {"hangup (sales)", "hangup (support)"}


def test_signed_state_and_the_session_are_kept_as_on_a_real_call() -> None:
    exploration = explored("stateful")
    # Without the state each round would be the first (CF704); without the session the
    # third raises (CF706).
    assert exploration.clean, exploration.render()
    assert ends(exploration) == {"hangup (third-round)"}
    rounds = [edge for edge in exploration.edges if exploration.node(edge.target).path == "/round"]
    assert {edge.label for edge in rounds} == {"callback"}


def test_no_input_runs_out_the_attempts() -> None:
    exploration = explore(flows.app)
    assert "weekdays 09:00-17:59, no input x2" in labels(exploration)


def test_a_limit_is_cf707_and_the_exploration_is_incomplete() -> None:
    exploration = explored("endless", max_steps=3)
    assert not exploration.complete
    assert exploration.codes() == ["CF707"]
    assert exploration.calls == 3
    by_documents = explored("endless", max_documents=5)
    assert not by_documents.complete
    [finding] = by_documents.findings
    assert finding.code == "CF707"
    assert "5 documents of max_documents 5" in finding.message
    assert explored("endless", max_documents=5, max_steps=100).codes() == ["CF707"]


def test_a_flow_that_is_not_deterministic_is_cf707() -> None:
    exploration = explored("fickle")
    assert not exploration.complete
    [finding] = exploration.findings
    assert finding.code == "CF707"
    assert "replayed calls went another way than the call they replay" in finding.message


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


def test_a_link_outside_the_app_is_drawn_but_not_requested() -> None:
    hits: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_error(500)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        elsewhere = f"http://127.0.0.1:{server.server_address[1]}"
        app = App(secret="explore-outside")
        app.flow("/", name="main")(
            lambda call: Response(
                Curl(url=f"{elsewhere}/hook"),
                Gather(
                    Say("Press 1."), DTMF(Callback(url=f"{elsewhere}/next"), value="1"),
                    dtmf_length=1,
                ),
                Hangup(),
            )
        )  # fmt: skip
        try:
            exploration = explore(app)
        finally:
            server.shutdown()
            thread.join(10)
    assert hits == []
    [outside] = [node for node in exploration.nodes if node.label == f"{elsewhere}/next"]
    assert outside.kind == "document"
    assert [edge.kind for edge in exploration.edges if edge.target == outside.id] == ["failed"]
    assert exploration.clean, exploration.render()


def test_the_explorers_own_stops_are_not_ends_of_calls() -> None:
    # The explorer ends each call as the caller hanging up would, as soon as it has the next
    # step: no "caller hung up" end is drawn, every end is the flow's own.
    assert ends(explore(flows.app)) == {
        "hangup",
        "hangup (balance)",
        "hangup (no-input)",
        "hangup (voicemail)",
    }
