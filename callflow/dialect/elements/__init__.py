"""The DSL classes, one per Opentact XML element, in modules by family.

:mod:`~callflow.dialect.elements.base` holds :class:`~callflow.dialect.elements.base.Element`,
the immutable base whose classes get a generated, checking and XML-writing ``__init__``
(:mod:`~callflow.dialect.elements.constructors`); the
families are :mod:`~callflow.dialect.elements.document` (Response, Error, Meta),
:mod:`~callflow.dialect.elements.call_control` (Answer, Hangup, Hold, Unhold),
:mod:`~callflow.dialect.elements.audio` (Say, Play, Pause, Tone),
:mod:`~callflow.dialect.elements.recording` (Record, RecordStart, RecordStop, RecordWait),
:mod:`~callflow.dialect.elements.dial` (Dial, To, Sip),
:mod:`~callflow.dialect.elements.gather` (Gather, DTMF, Switch, Case, Default),
:mod:`~callflow.dialect.elements.remote` (Callback, Curl) and
:mod:`~callflow.dialect.elements.filters` (Call, Geo, Schedule).

Like the rest of the dialect wing, the elements never import the server, the simulator or
Starlette (an import-linter contract in pyproject.toml enforces it). Users import the classes
from :mod:`callflow`; this package re-exports nothing. Rulings (D1-D21) and questions
(§7 #N), which the classes' docstrings cite, are in docs/dialect.md.
"""
