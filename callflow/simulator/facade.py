"""A local Opentact: the :class:`Simulator` places calls against a flow and returns what the
caller experienced, as a :class:`~callflow.simulator.trace.Trace`.

Users import it from :mod:`callflow.testing`. Each call runs in a fresh
:class:`~callflow.simulator.engine.CallRun`; inputs are scripted (keys per Gather attempt,
an outcome per Dial) or asked for while the call runs, and whatever asks may hang up
(:class:`~callflow.simulator.inputs.HangUp`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from callflow.dialect.phone_numbers import to_e164
from callflow.simulator.engine import MAX_COMMANDS, CallRun, new_uuids
from callflow.simulator.fetching import (
    MAX_DOCUMENT_BYTES,
    MAX_FETCHES,
    MAX_TIMEOUT_MS,
    CheckedDocuments,
    FetchPolicy,
)
from callflow.simulator.geography import Location
from callflow.simulator.inputs import (
    DialScript,
    InputProvider,
    Keys,
    check_dial_script,
    scripted_keys,
)
from callflow.simulator.trace import FetchedDocument, Trace, TraceEvent
from callflow.simulator.transport import SECRET_PARAMS, Transport, with_query


class Simulator:
    """Plays Opentact's part against ``target``: a callflow ``App`` (in process, no
    sockets), ``"module:attribute"``, an ``http(s)://`` URL of any server, or an XML file.

    ``query`` is added to the webhook URL (an access key, say) and ``auth`` is sent as HTTP
    Basic credentials to the target, for servers with access control.

    No server is trusted: each request has one total deadline, a document's own ``timeout``
    capped by ``max_timeout_ms``; a reply body is abandoned past ``max_document_bytes``;
    ``max_fetches`` bounds documents and Curl requests together. With ``redact`` (the
    default) the trace shows ``token``, ``cf_state``, ``cf_session``, the ``query``
    parameters and the App's access key as ``REDACTED``; the requests carry the real values.

    Every document received is checked in full (the XSD and the dialect's rules), once per
    distinct document: :attr:`documents` keeps the verdicts, for every call it places.

    >>> from callflow import App, Response, Say, Hangup
    >>> app = App(secret="doc")
    >>> _ = app.flow("/", name="hi")(lambda call: Response(Say("Hi"), Hangup()))
    >>> with Simulator(app) as sim:
    ...     sim.call().hangup_reason
    'hangup'
    """

    def __init__(
        self,
        target: object,
        *,
        auto_answer: bool = True,
        method: Literal["GET", "POST"] = "GET",
        tz: str | None = None,
        events: bool = False,
        max_fetches: int = MAX_FETCHES,
        max_commands: int = MAX_COMMANDS,
        max_timeout_ms: int = MAX_TIMEOUT_MS,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        query: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        redact: bool = True,
    ) -> None:
        if max_timeout_ms <= 0 or max_document_bytes <= 0:
            raise ValueError("max_timeout_ms and max_document_bytes must be > 0")
        self.transport = Transport(target, auth=auth)
        self.transport.query = dict(query or {})
        if query and self.transport.start_url is not None:
            # e.g. the access key of a locked-down App: {"token": "..."}
            self.transport.start_url = with_query(self.transport.start_url, dict(query))
        self.auto_answer = auto_answer
        self.method = method
        app = self.transport.app
        if tz is None:  # the App's time zone, else UTC (D19)
            tz = app.settings.time_zone if app is not None else "UTC"
        self.tz = ZoneInfo(tz)
        self.events = events
        self.max_commands = max_commands
        # The access key and the tokens the App puts on links never appear in a trace.
        names = set(SECRET_PARAMS) | set(query or {})
        values = set((query or {}).values())
        if app is not None and app.settings.access_key is not None:
            names.add(app.settings.access_key_param)
            values.add(app.settings.access_key)
        self.policy = FetchPolicy(
            max_fetches=max_fetches,
            max_timeout_ms=max_timeout_ms,
            max_document_bytes=max_document_bytes,
            secret_params=frozenset(names) if redact else frozenset(),
            secret_values=frozenset(v for v in values if len(v) >= 4) if redact else frozenset(),
        )
        self.documents = CheckedDocuments()
        """The verdict on each distinct document received (see :class:`CheckedDocuments`)."""

    def call(
        self,
        *,
        from_: str = "+15550100999",
        to: str = "+15550100200",
        keys: Iterable[Keys] = (),
        dial: Iterable[DialScript] = (),
        at: datetime | None = None,
        tz: str | None = None,
        location: Location | str | None = None,
        input: InputProvider | None = None,
        on_event: Callable[[TraceEvent], None] | None = None,
        on_document: Callable[[FetchedDocument], None] | None = None,
    ) -> Trace:
        """Place one call and return its :class:`Trace`.

        ``keys`` answers Gather attempts in order (``None`` = no input; when they run out,
        further attempts get no input); ``dial`` gives each Dial's outcome (``answer``,
        ``busy``, ``no-answer``, ``fail``; default ``answer``); ``at`` is the call's start
        time for Schedule (naive times are in ``tz``); ``location`` overrides the caller's
        ``STATE[,COUNTY]`` for Geo; ``input`` asks for keys instead of ``keys``.

        ``on_event`` is called with each event as it is traced; ``on_document`` with each
        document reply as it arrives (a :class:`FetchedDocument`, also kept in
        ``Trace.documents``), right after its request's event and before it is checked or
        runs. Either, an ``input`` provider or a ``dial`` mapping may raise
        :class:`~callflow.simulator.inputs.HangUp` to end the call as if the caller hung up:
        the trace is returned, ending with ``caller hung up``. Any other exception they raise
        propagates.
        """
        zone = ZoneInfo(tz) if tz is not None else self.tz
        start = at or datetime.now(zone)
        if start.tzinfo is None:
            start = start.replace(tzinfo=zone)
        if isinstance(location, str):
            location = Location.parse(location)
        scripts = [check_dial_script(script) for script in dial]
        app = self.transport.app
        region = app.settings.default_region if app is not None else "US"
        uuid, sca, account = new_uuids(3)
        run = CallRun(
            transport=self.transport,
            policy=self.policy,
            trace=Trace(),
            from_=to_e164(from_, region) or from_,
            to=to_e164(to, region) or to,
            inputs=input or scripted_keys(keys),
            dials=iter(scripts),
            start=start,
            tz=zone,
            location=location,
            auto_answer=self.auto_answer,
            method=self.method,
            max_commands=self.max_commands,
            on_event=on_event,
            on_document=on_document,
            send_events=self.events,
            documents=self.documents,
            uuid=uuid,
            sca=sca,
            account=account,
        )
        return run.run()

    def close(self) -> None:
        """Release the in-process client and HTTP connections."""
        self.transport.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
