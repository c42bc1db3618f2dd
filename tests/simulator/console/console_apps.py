"""Apps the console tests call: a menu that reaches every kind of question the console asks
(Gather keys, a Pause's stop key, each Dial target's outcome) and a document lint flags."""

from __future__ import annotations

from callflow import (
    DTMF,
    App,
    Callback,
    CallContext,
    Dial,
    Error,
    Gather,
    Hangup,
    Pause,
    Play,
    Response,
    Say,
    Sip,
    To,
)

SALES = "15550100300"
DESK = "desk@example.org"
GREETING_AUDIO = "https://media.example.org/welcome.mp3"


def menu_app(**settings: object) -> App:
    """A fresh App: ``/`` is a menu (1 dials two targets, 2 asks for a PIN, 3 plays a
    document lint flags); ``/pin`` collects four digits ended by ``#``; ``/check`` reads
    them back and waits in a Pause that ``#`` ends."""
    app = App(secret="console-test-secret", **settings)  # type: ignore[arg-type]

    @app.flow("/", name="menu")
    def menu(call: CallContext) -> Response:
        return Response(
            Play(url=GREETING_AUDIO),
            Gather(
                Say("For sales, press 1. For your PIN, press 2. For a test, press 3."),
                DTMF(
                    Dial(
                        To(SALES),
                        Sip(DESK),
                        Error(Say("Nobody answered."), Hangup(tag="nobody")),
                    ),
                    Say("The sales call is over."),
                    value="1",
                ),
                DTMF(Callback(url=call.url_for("pin")), value="2"),
                DTMF(Callback(url=call.url_for("late")), value="3"),
                Error(Say("We did not hear a choice."), Hangup(tag="no-input")),
                dtmf_length=1,
                attempts=1,
            ),
            Hangup(),
        )

    @app.flow("/pin", name="pin")
    def pin(call: CallContext) -> Response:
        return Response(
            Gather(
                Say("Enter your four digit PIN, then press pound."),
                dtmf_length=4,
                dtmf_stop="#",
                url=call.url_for("check", state={"asked": "pin"}),
            ),
        )

    @app.flow("/check", name="check")
    def check(call: CallContext) -> Response:
        return Response(
            Say(f"You entered {call.digits}."),
            Pause(length=5000, dtmf_stop="#"),
            Say("Goodbye."),
            Hangup(tag="checked"),
        )

    @app.flow("/late", name="late")
    def late(call: CallContext) -> Response:
        # Valid, but lint's CF201: nothing runs after a Hangup.
        return Response(Hangup(tag="late"), Say("Never heard."))

    return app
