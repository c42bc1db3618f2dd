"""The console's page and JSON API (callflow.simulator.console), in process: calls placed
through the API run the real simulator in a worker thread and ask the page for keys and
Dial outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import resources

import pytest
from console_apps import DESK, GREETING_AUDIO, SALES, menu_app
from console_page import API, Page
from starlette.testclient import TestClient

from callflow import App, ConfigurationError, Hangup, Response, Say
from callflow.simulator.console import Console
from callflow.simulator.console.calls import ConsoleCall

MONDAY = "2026-12-07T10:00"


@pytest.fixture
def console() -> Console:
    return Console(menu_app())


@pytest.fixture
def client(console: Console) -> Iterator[TestClient]:
    with TestClient(console) as client:  # runs the lifespan: shutting down ends the calls
        yield client


@pytest.fixture
def page(client: TestClient) -> Page:
    return Page(client)


def only_call(console: Console) -> ConsoleCall:
    """The one call the console has placed."""
    calls = list(console.calls._calls.values())
    assert len(calls) == 1
    return calls[0]


def test_the_page_and_its_files_are_served_with_a_strict_policy(client: TestClient) -> None:
    page = client.get("/_console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    # Everything the page loads is the console's own: no CDN, it works offline.
    loaded = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sorted(loaded) == [
        "#transcript-panel",
        "/_console/static/console.css",
        "/_console/static/console.js",
        "data:,",  # an empty icon: no favicon request
    ]
    assert '<label for="tz">' in page.text and 'aria-live="polite"' in page.text
    assert client.get("/_console/").status_code == 200
    script = client.get("/_console/static/console.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # text from the App is only ever set as text
    css = client.get("/_console/static/console.css")
    assert css.headers["content-type"].startswith("text/css")
    missing = client.get("/_console/static/../app.py")
    assert missing.status_code == 404
    assert client.get("/_console/static/index.html").status_code == 404


def test_the_static_files_reference_no_other_site() -> None:
    """No CDN, no web font, no remote script: the page works offline. The one URL is the
    SVG namespace, a name the browser never fetches."""
    static = resources.files("callflow.simulator.console") / "static"
    names = sorted(entry.name for entry in static.iterdir())
    assert names == ["console.css", "console.js", "index.html"]
    for name in names:
        text = (static / name).read_text(encoding="utf-8")
        urls = re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)
        assert [url for url in urls if url != "http://www.w3.org/2000/svg"] == [], name
        assert "@import" not in text and "url(" not in text.replace('url("data:', ""), name


def test_every_other_request_goes_to_the_app_unchanged(console: Console) -> None:
    params = {"from": "+15550100999", "to": "15550100200", "call": "c-1"}
    with TestClient(console) as wrapped, TestClient(console.app) as bare:
        through = wrapped.get("/", params=params)
        direct = bare.get("/", params=params)
        assert through.status_code == direct.status_code == 200
        # The links differ only by their session token.
        assert through.text.split("cf_session")[0] == direct.text.split("cf_session")[0]
        assert wrapped.get("/healthz").json() == bare.get("/healthz").json()
        assert wrapped.get("/_consolex").status_code == bare.get("/_consolex").status_code


def test_app_info_gives_the_forms_defaults(client: TestClient) -> None:
    info = client.get(f"{API}/app").json()
    assert info["from"] == "+15550100999"
    assert info["time_zone"] == "UTC"
    assert "America/New_York" in info["time_zones"]
    assert [flow["name"] for flow in info["flows"]] == ["menu", "pin", "check", "late"]


def test_a_call_through_the_menu_asks_for_keys_and_shows_each_document(page: Page) -> None:
    page.call(at=MONDAY, tz="America/New_York")
    assert page.until("listening") == "listening"
    (ask,) = page.of("listen")
    assert ask["command"] == "Gather" and ask["dtmf_length"] == 1
    assert ask["prompt"] == ["For sales, press 1. For your PIN, press 2. For a test, press 3."]
    plays = [e["event"]["url"] for e in page.of("trace") if e["type"] == "play"]
    assert plays == [GREETING_AUDIO]

    assert page.act("keys", keys="2") == {"state": "running", "taken": "2", "ignored": ""}
    page.until("listening")
    assert page.act("keys", keys="12")["taken"] == "12"  # the PIN Gather waits for more
    page.act("keys", keys="34")
    page.until("listening")  # the Pause in /check listens for its stop key
    assert page.of("listen")[-1]["command"] == "Pause"
    page.act("keys", keys="#")
    assert page.until("ended") == "ended"

    assert page.heard() == [
        "For sales, press 1. For your PIN, press 2. For a test, press 3.",
        "Enter your four digit PIN, then press pound.",
        "You entered 1234.",
        "Goodbye.",
    ]
    assert [e["keys"] for e in page.of("input")] == ["2", "1234", "#"]
    documents = page.of("document")
    assert [(d["path"], d["flow"], d["purpose"]) for d in documents] == [
        ("/", "menu", "webhook"),
        ("/pin", "pin", "callback"),
        ("/check", "check", "gather"),
    ]
    for document in documents:
        assert document["status"] == 200 and document["problems"] == []
        assert document["xml"].startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "<Gather" in documents[1]["xml"] and 'dtmf_stop="#"' in documents[1]["xml"]
    # Signed state and session tokens are hidden, as in the trace.
    assert "cf_state=REDACTED&amp;cf_session=REDACTED" in documents[1]["xml"]
    assert [f["code"] for f in documents[0]["findings"]] == ["CF305"]
    (ended,) = page.of("ended")
    assert ended == {
        "seq": ended["seq"],
        "kind": "ended",
        "reason": "hangup (checked)",
        "detail": "",
        "by": "call",
        "failed": False,
        "exit_code": 0,
    }
    assert page.of("trace")[-1]["type"] == "hangup"


def test_keys_past_a_complete_gather_are_not_heard(page: Page) -> None:
    page.call()
    page.until("listening")
    assert page.act("keys", keys="29") == {"state": "running", "taken": "2", "ignored": "9"}
    page.until("listening")
    assert [e["keys"] for e in page.of("key")] == ["2"]


def test_each_dial_target_is_asked_until_one_answers(page: Page) -> None:
    page.call()
    page.until("listening")
    page.act("keys", keys="1")
    page.until("ringing")
    assert page.of("ring")[-1]["target"] == SALES
    page.act("keys", expect=409, keys="1")  # nothing listens while a Dial rings
    page.act("dial", outcome="busy")
    page.until("ringing")
    assert page.of("ring")[-1]["target"] == DESK
    page.act("dial", outcome="answer")
    page.until("ended")
    assert [(e["target"], e["outcome"]) for e in page.of("dialed")] == [
        (SALES, "busy"),
        (DESK, "answer"),
    ]
    dial = next(e for e in page.of("trace") if e["type"] == "dial")
    assert dial["event"]["answered_by"] == DESK
    assert page.heard()[-1] == "The sales call is over."


def test_no_input_runs_the_gathers_error(page: Page) -> None:
    page.call()
    page.until("listening")
    page.act("no-input")
    page.until("ended")
    assert page.of("input")[-1]["keys"] is None
    assert page.heard()[-1] == "We did not hear a choice."
    assert page.of("ended")[0]["reason"] == "hangup (no-input)"


def test_dial_outcomes_all_failing_run_the_dials_error(page: Page) -> None:
    page.call()
    page.until("listening")
    page.act("keys", keys="1")
    page.until("ringing")
    page.act("dial", outcome="no-answer")
    page.until("ringing")
    page.act("dial", outcome="no-answer")
    page.until("ended")
    assert page.heard()[-1] == "Nobody answered."
    assert page.of("ended")[0]["reason"] == "hangup (nobody)"


def test_a_document_lint_flags_shows_its_findings(page: Page) -> None:
    page.call()
    page.until("listening")
    page.act("keys", keys="3")
    page.until("ended")
    late = page.of("document")[-1]
    assert late["path"] == "/late"
    assert late["problems"] == []
    assert [f["code"] for f in late["findings"]] == ["CF201"]


def test_hanging_up_ends_the_call_and_its_thread(console: Console, page: Page) -> None:
    page.call()
    page.until("listening")
    page.act("hangup")
    page.until("ended")
    ended = page.of("ended")[0]
    assert (ended["reason"], ended["by"]) == ("the caller hung up", "caller")
    call = only_call(console)
    call.thread.join(10)
    assert not call.thread.is_alive()
    page.act("hangup")  # hanging up an ended call changes nothing
    page.act("keys", expect=409, keys="1")


def test_the_app_hears_the_end_of_a_call_the_caller_hung_up() -> None:
    app = menu_app()
    states: list[str | None] = []
    app.on_event("call_state")(lambda event: states.append(event.state))
    console = Console(app)
    with TestClient(console) as client:
        page = Page(client)
        page.call()
        page.until("listening")
        page.act("hangup")
        page.until("ended")
    assert states == ["init", "ringing", "live", "hangup", "destroyed"]
    assert "hangup" not in [e["type"] for e in page.of("trace")]  # the page is told "ended"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        pytest.param({"tz": "Mars/Olympus"}, "tz: unknown time zone 'Mars/Olympus'", id="tz"),
        pytest.param({"at": "monday"}, "at: expected a date and time like", id="at"),
        pytest.param({"location": "New Jersey"}, "location: location must be", id="location"),
        pytest.param({"from": "<script>"}, "from: expected a phone number", id="from"),
        pytest.param({"to": 5}, "to: expected a short line of text", id="to-not-text"),
        pytest.param({"to": "1" * 101}, "to: expected a short line of text", id="to-long"),
    ],
)
def test_a_bad_form_is_a_400_with_a_reason(
    client: TestClient, form: dict[str, object], error: str
) -> None:
    reply = client.post(f"{API}/calls", json=form)
    assert reply.status_code == 400
    assert reply.json()["error"].startswith(error)


def test_requests_another_site_could_send_are_refused(client: TestClient) -> None:
    form = client.post(f"{API}/calls", content=b"from=1", headers={"content-type": "text/plain"})
    assert (form.status_code, form.json()["error"]) == (
        415,
        "expected a JSON body (content-type: application/json)",
    )
    elsewhere = client.post(f"{API}/calls", json={}, headers={"origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    same = client.post(f"{API}/calls", json={}, headers={"origin": "http://testserver"})
    assert same.status_code == 201
    client.post(f"{API}/calls/{same.json()['id']}/hangup", json={})


def test_malformed_api_requests_get_precise_errors(page: Page, client: TestClient) -> None:
    assert client.post(f"{API}/calls", content=b"[1]", headers=JSON).status_code == 400
    assert client.post(f"{API}/calls", content=b"{", headers=JSON).status_code == 400
    big = client.post(f"{API}/calls", content=b" " * 5000, headers=JSON)
    assert (big.status_code, big.json()["error"]) == (413, "the body is larger than 4096 bytes")
    assert client.get(f"{API}/calls/nope/events").status_code == 404
    page.call()
    page.until("listening")
    assert page.act("keys", expect=400, keys="12a")["error"].startswith("keys: expected")
    page.act("dial", expect=409, outcome="busy")
    page.act("dial", expect=400, outcome="maybe")
    page.act("fly", expect=404)
    bad = client.get(f"{API}/calls/{page.id}/events", params={"after": "-1"})
    assert bad.status_code == 400
    page.act("hangup")


JSON = {"content-type": "application/json"}


def test_calls_at_once_are_bounded() -> None:
    console = Console(menu_app(), max_calls=1)
    with TestClient(console) as client:
        first = Page(client)
        first.call()
        first.until("listening")
        refused = client.post(f"{API}/calls", json={})
        assert refused.status_code == 429
        assert refused.json()["error"] == ("1 console calls are running already; hang one up first")
        first.act("hangup")
        first.until("ended")
        second = Page(client)
        second.call()
        second.until("listening")
        second.act("hangup")


def test_a_call_whose_page_went_away_hangs_up() -> None:
    console = Console(menu_app(), idle_timeout_s=0.2)
    with TestClient(console) as client:
        page = Page(client)
        page.call()
        call = only_call(console)
        call.thread.join(30)  # nobody polls: the worker notices and ends the call
        assert not call.thread.is_alive()
        page.until("ended")
        ended = page.of("ended")[0]
        assert ended["reason"] == "the console page went away (no request for a while)"
        assert ended["by"] == "console"


def test_shutting_down_hangs_up_every_call(console: Console) -> None:
    with TestClient(console) as client:
        page = Page(client)
        page.call()
        page.until("listening")
        call = only_call(console)
    assert not call.thread.is_alive()  # the lifespan's shutdown waited for it
    assert call.events[-1]["reason"] == "the server is shutting down"
    assert console.calls.running() == 0


def test_a_production_app_has_no_console() -> None:
    app = App(mode="production", secret="p" * 32, base_url="https://ivr.example.com")
    with pytest.raises(ConfigurationError, match="the console is for development only"):
        Console(app)


def test_an_app_serving_the_consoles_path_is_refused() -> None:
    app = App(secret="s")
    app.flow("/_console/x", name="mine")(lambda call: Response(Say("Hi"), Hangup()))
    with pytest.raises(ConfigurationError, match=r"serves /_console, which the App serves"):
        Console(app)


def test_an_app_with_an_access_key_is_called_with_it() -> None:
    console = Console(menu_app(access_key="console-key-1234"))
    with TestClient(console) as client:
        page = Page(client)
        page.call()
        page.until("listening")
        page.act("keys", keys="2")
        page.until("listening")
        page.act("hangup")
        page.until("ended")
    documents = page.of("document")
    assert [d["status"] for d in documents] == [200, 200]
    shown = "".join(d["xml"] + d["url"] for d in documents) + str(page.events)
    assert "console-key-1234" not in shown
    assert "token=REDACTED" in documents[0]["xml"]


def test_a_call_past_its_events_limit_hangs_up(console: Console) -> None:
    console.calls.max_events = 8
    with TestClient(console) as client:
        page = Page(client)
        page.call()
        assert page.until("listening") and len(page.events) == 5
        page.act("keys", keys="2")
        page.until("ended")
    (ended,) = page.of("ended")
    assert (ended["reason"], ended["by"]) == ("more than 8 events", "console")
    assert len(page.events) == 9  # the limit, then the end


def test_the_map_is_the_explore_map_of_the_app(client: TestClient) -> None:
    drawn = client.get(f"{API}/map").json()
    assert drawn["available"] is True
    flows = {(n["path"], n["label"]) for n in drawn["nodes"] if n["kind"] == "flow"}
    assert flows == {("/", "menu"), ("/pin", "pin"), ("/check", "check"), ("/late", "late")}
    svg = drawn["svg"]
    assert "<svg" in svg
    for node in drawn["nodes"]:  # the page marks a step by the id of its group
        assert f'id="cf&#45;{node["id"]}"' in svg or f'id="cf-{node["id"]}"' in svg
    assert client.get(f"{API}/map").json() == drawn  # made once, then kept


def test_without_graphviz_the_map_is_unavailable_and_says_why(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("callflow.simulator.console.callmap.shutil.which", lambda name: None)
    with TestClient(console) as client:
        shown = client.get(f"{API}/map").json()
    assert shown["available"] is False
    assert shown["reason"] == "Graphviz's dot is not installed (Debian: apt-get install graphviz)"
    assert shown["nodes"]  # the steps are known all the same
