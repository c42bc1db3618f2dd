"""examples/language.py: Geo picks Spanish for callers from some states, a Meta carries the
language to every Callback, and 9 switches it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from served_documents import ServedDocuments, assert_strictly_valid
from starlette.testclient import TestClient

from callflow import validate
from callflow.testing import (
    Simulator,
    Trace,
    assert_dialed,
    assert_ended,
    assert_heard,
    assert_not_heard,
)
from examples import language

if TYPE_CHECKING:
    from conftest import ServerFactory

SimulatorFactory = Callable[..., Simulator]

EN, ES = language.WORDS["en"], language.WORDS["es"]
TEXAS = "+15125550100"
NEW_YORK = "+12125550100"
SPANISH_MENU = [ES.greeting, ES.menu, ES.other]
ENGLISH_MENU = [EN.greeting, EN.menu, EN.other]


@pytest.fixture
def sim(callflow_simulator: SimulatorFactory) -> Simulator:
    return callflow_simulator(language.app)


def voices(trace: Trace) -> list[tuple[str, str | None]]:
    """Each Say heard, with the voice it was spoken in."""
    return [(e["text"], e["lang"]) for e in trace.to_dict()["events"] if e["type"] == "say"]


def menu_requests(trace: Trace) -> list[dict[str, str]]:
    """The parameters of every request for the menu: the tag, and the Meta values."""
    return [request.params for request in trace.requests if "/menu" in request.url]


# -- Geo -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param("+16025550100", id="AZ"),
        pytest.param("+14155550100", id="CA"),
        pytest.param("+13055550111", id="FL"),
        pytest.param("+15055550100", id="NM"),
        pytest.param(TEXAS, id="TX"),
    ],
)
def test_callers_from_listed_states_get_spanish(sim: Simulator, caller: str) -> None:
    trace = sim.call(from_=caller, keys=["1"])
    assert voices(trace) == [
        (ES.greeting, "es-US"),
        (ES.menu, "es-US"),
        (ES.other, "en-US"),  # "For English, press 9" in English
        (ES.hours, "es-US"),
    ]
    assert_ended(trace, "hangup (hours-es)")


@pytest.mark.parametrize(
    "caller",
    [
        pytest.param(NEW_YORK, id="NY"),
        pytest.param("+16175550100", id="MA"),
        pytest.param("+442071838750", id="abroad"),
    ],
)
def test_other_callers_get_english(sim: Simulator, caller: str) -> None:
    trace = sim.call(from_=caller, keys=["1"])
    assert voices(trace) == [
        (EN.greeting, "en-US"),
        (EN.menu, "en-US"),
        (EN.other, "es-US"),  # "Para español, oprima 9" in Spanish
        (EN.hours, "en-US"),
    ]
    assert_ended(trace, "hangup (hours-en)")


@pytest.mark.parametrize(
    ("location", "heard"),
    [pytest.param("TX", ES.greeting, id="TX"), pytest.param("NY", EN.greeting, id="NY")],
)
def test_the_callers_location_wins_over_the_number(
    sim: Simulator, location: str, heard: str
) -> None:
    caller = NEW_YORK if location == "TX" else TEXAS
    trace = sim.call(from_=caller, location=location, keys=["1"])
    assert trace.heard[0] == heard


def test_the_language_travels_as_a_meta(sim: Simulator) -> None:
    spanish = menu_requests(sim.call(from_=TEXAS, keys=["1"]))
    english = menu_requests(sim.call(from_=NEW_YORK, keys=["1"]))
    assert [(p["tag"], p.get("lang")) for p in spanish] == [("welcome", "es")]
    assert [(p["tag"], p.get("lang")) for p in english] == [("welcome", None)]


# -- the menu ------------------------------------------------------------------------------


def test_9_switches_to_english_and_back(sim: Simulator) -> None:
    trace = sim.call(from_=TEXAS, keys=["9", "9", "1"])
    assert trace.heard == [*SPANISH_MENU, *ENGLISH_MENU, *SPANISH_MENU, ES.hours]
    requests = menu_requests(trace)
    assert [(p["tag"], p.get("lang")) for p in requests] == [
        ("welcome", "es"),
        ("switch", "en"),
        ("switch", "es"),
    ]


def test_9_switches_to_spanish(sim: Simulator) -> None:
    trace = sim.call(from_=NEW_YORK, keys=["9", "1"])
    assert trace.heard == [*ENGLISH_MENU, *SPANISH_MENU, ES.hours]
    assert_ended(trace, "hangup (hours-es)")


@pytest.mark.parametrize(("caller", "words"), [(TEXAS, ES), (NEW_YORK, EN)])
def test_0_connects_the_librarian_of_the_language(
    sim: Simulator, caller: str, words: language.Words
) -> None:
    trace = sim.call(from_=caller, keys=["0"], dial=["answer"])
    assert trace.dialed == [words.librarian]
    assert trace.heard[3:] == [words.connecting]
    assert_ended(trace, f"hangup (librarian-{'es' if words is ES else 'en'})")


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "fail"])
@pytest.mark.parametrize(("caller", "words"), [(TEXAS, ES), (NEW_YORK, EN)])
def test_0_when_no_librarian_answers(
    sim: Simulator, caller: str, words: language.Words, outcome: str
) -> None:
    trace = sim.call(from_=caller, keys=["0"], dial=[outcome])
    assert_dialed(trace, words.librarian)
    assert trace.heard[3:] == [words.connecting, words.busy]
    assert_ended(trace, "hangup (librarian-busy)")


@pytest.mark.parametrize(("caller", "words"), [(TEXAS, ES), (NEW_YORK, EN)])
def test_a_wrong_key_gives_the_menu_again_without_the_greeting(
    sim: Simulator, caller: str, words: language.Words
) -> None:
    trace = sim.call(from_=caller, keys=["5", "1"])
    assert trace.heard == [
        words.greeting,
        words.menu,
        words.other,
        words.not_an_option,
        words.menu,
        words.other,
        words.hours,
    ]
    assert [p["tag"] for p in menu_requests(trace)] == ["welcome", "again"]


@pytest.mark.parametrize(("caller", "words"), [(TEXAS, ES), (NEW_YORK, EN)])
def test_no_input_asks_twice_then_ends(sim: Simulator, caller: str, words: language.Words) -> None:
    trace = sim.call(from_=caller, keys=[None, None])
    assert trace.heard.count(words.menu) == 2
    assert trace.heard[-1] == words.no_input
    assert_ended(trace, "hangup (no-input)")


@pytest.mark.parametrize("lang", [None, "en", "fr", "ES"])
def test_the_menu_is_english_unless_the_call_is_spanish(lang: str | None) -> None:
    params = {"tag": "welcome"} | ({"lang": lang} if lang else {})
    reply = TestClient(language.app).get("/menu", params=params)
    assert EN.greeting.encode() in reply.content
    assert ES.greeting.encode() not in reply.content


def test_the_menu_in_spanish_without_the_greeting() -> None:
    reply = TestClient(language.app).get("/menu", params={"tag": "again", "lang": "es"})
    assert ES.menu.encode() in reply.content
    assert ES.greeting.encode() not in reply.content


# -- documents -----------------------------------------------------------------------------


def test_constant_documents_are_strictly_valid() -> None:
    assert len(language.MENUS) == 4
    for document in (language.WELCOME, *language.MENUS.values()):
        assert validate(document, strict=True) == []


@pytest.mark.parametrize(
    ("caller", "keys", "served"),
    [
        pytest.param(TEXAS, ["9", "5", "9", "0"], 5, id="spanish"),
        pytest.param(NEW_YORK, ["1"], 2, id="english"),
    ],
)
def test_every_served_document_is_strictly_valid(
    callflow_simulator: SimulatorFactory, caller: str, keys: list[str], served: int
) -> None:
    recorder = ServedDocuments(language.app)
    trace = callflow_simulator(recorder).call(from_=caller, keys=keys)
    assert_ended(trace)
    assert_strictly_valid(recorder.documents, at_least=served)


def test_geo_against_callflow_serve(
    start_server: ServerFactory, callflow_simulator: SimulatorFactory
) -> None:
    server = start_server(app="examples.language:app")
    sim = callflow_simulator(server.base_url + "/")
    assert_heard(sim.call(from_=TEXAS, keys=["1"]), ES.hours, exact=True)
    trace = sim.call(from_=NEW_YORK, keys=["1"])
    assert_heard(trace, EN.hours, exact=True)
    assert_not_heard(trace, ES.greeting)
