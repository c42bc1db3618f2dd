"""A two-language menu: Spanish first for callers from some US states, English for the others,
and a key to switch.

What it shows:

* ``Geo(states=...)``: Opentact matches the caller's number against US states (spec D19);
  callers from Arizona, California, Florida, New Mexico and Texas get the Spanish menu;
* ``Meta``: the chosen language is a call variable (``Meta("lang", "es")``), which Opentact
  sends with every later ``Callback`` (D17), where the flow reads it as ``call.meta["lang"]``.
  Pressing 9 sets it again and fetches the menu in the other language;
* ``Say(lang="es-US")`` for the Spanish prompts, and the other language's offer ("For English,
  press 9") spoken in that language;
* four constant documents (two languages, with and without the greeting), built once.

From the repository root::

    callflow serve examples.language:app
    callflow simulate examples.language:app --from +15125550100 --press 1  # Texas: Spanish
    callflow simulate examples.language:app --from +12125550100 --press 9 --press 1  # New York
    callflow simulate examples.language:app --location TX --press 0 --dial busy
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Default,
    Dial,
    Error,
    Gather,
    Geo,
    Hangup,
    Meta,
    Response,
    Say,
    To,
)

app = App()  # settings from CALLFLOW_* variables; see docs/configuration.md

Language = Literal["en", "es"]

SPANISH_STATES: Final = ("AZ", "CA", "FL", "NM", "TX")
SWITCH_KEY: Final = "9"
MENU_PATH: Final = "/menu"  # path-only URLs: the App makes them absolute when it sends them


@dataclass(frozen=True, slots=True)
class Words:
    """What the menu says in one language."""

    voice: str
    greeting: str
    menu: str
    other: str
    """The offer of the other language, spoken in that language."""
    hours: str
    connecting: str
    busy: str
    not_an_option: str
    no_input: str
    librarian: str
    """The desk that answers in this language."""


WORDS: Final[dict[Language, Words]] = {
    "en": Words(
        voice="en-US",
        greeting="Thank you for calling the City Library.",
        menu="For our opening hours, press 1. To speak with a librarian, press 0.",
        other="Para español, oprima 9.",
        hours="We are open from 9 am to 8 pm, Monday to Saturday. Goodbye.",
        connecting="Connecting you to a librarian.",
        busy="All our librarians are busy. Please call again later. Goodbye.",
        not_an_option="Sorry, that is not an option.",
        no_input="We did not hear a choice. Goodbye.",
        librarian="15550100600",
    ),
    "es": Words(
        voice="es-US",
        greeting="Gracias por llamar a la Biblioteca Municipal.",
        menu="Para nuestro horario, oprima 1. Para hablar con un bibliotecario, oprima 0.",
        other="For English, press 9.",
        hours="Abrimos de 9 de la mañana a 8 de la noche, de lunes a sábado. Adiós.",
        connecting="Le comunicamos con un bibliotecario.",
        busy="Todos nuestros bibliotecarios están ocupados. Llame más tarde. Adiós.",
        not_an_option="Lo sentimos, esa opción no es válida.",
        no_input="No recibimos ninguna opción. Adiós.",
        librarian="15550100601",
    ),
}


def other(language: Language) -> Language:
    return "es" if language == "en" else "en"


def build_menu(language: Language, *, greet: bool) -> Response:
    """The menu in ``language``; ``greet`` when the caller has not been greeted in it yet."""
    words, switch = WORDS[language], WORDS[other(language)]

    def say(text: str) -> Say:  # one voice for the whole menu
        return Say(text, lang=words.voice)

    return Response(
        *((say(words.greeting),) if greet else ()),
        Gather(
            say(words.menu),
            Say(words.other, lang=switch.voice),
            DTMF(say(words.hours), Hangup(tag=f"hours-{language}"), value="1"),
            DTMF(
                say(words.connecting),
                Dial(To(words.librarian), Error(say(words.busy), Hangup(tag="librarian-busy"))),
                Hangup(tag=f"librarian-{language}"),
                value="0",
            ),
            DTMF(
                Meta("lang", other(language)),
                Callback(url=MENU_PATH, tag="switch"),
                value=SWITCH_KEY,
            ),
            Default(say(words.not_an_option), Callback(url=MENU_PATH, tag="again")),
            Error(say(words.no_input), Hangup(tag="no-input")),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
    )


MENUS: Final = {
    (language, greet): build_menu(language, greet=greet)
    for language in WORDS
    for greet in (True, False)
}

WELCOME = Response(
    # Opentact runs the Geo's children only for callers from these states; the Meta is then
    # sent along with the Callback below, and with every later one.
    Geo(Meta("lang", "es"), states=SPANISH_STATES),
    Callback(url=MENU_PATH, tag="welcome"),
)


@app.flow("/", name="welcome")
async def welcome(call: CallContext) -> Response:
    """Pick the caller's language by state, then fetch the menu."""
    return WELCOME


@app.flow(MENU_PATH, name="menu")
async def menu(call: CallContext) -> Response:
    """The menu in the language of the call (``lang``), English when it has none."""
    language: Language = "es" if call.meta.get("lang") == "es" else "en"
    # Greet on arrival, and in the new language after a switch; not after a wrong key.
    return MENUS[(language, call.tag != "again")]
