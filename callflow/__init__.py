"""callflow: write Opentact XML call flows as typed Python, validate, serve and simulate them."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from callflow.dialect.elements.audio import Pause as Pause
from callflow.dialect.elements.audio import Play as Play
from callflow.dialect.elements.audio import Say as Say
from callflow.dialect.elements.audio import Tone as Tone
from callflow.dialect.elements.base import Element as Element
from callflow.dialect.elements.call_control import Answer as Answer
from callflow.dialect.elements.call_control import Hangup as Hangup
from callflow.dialect.elements.call_control import Hold as Hold
from callflow.dialect.elements.call_control import Unhold as Unhold
from callflow.dialect.elements.dial import Dial as Dial
from callflow.dialect.elements.dial import Sip as Sip
from callflow.dialect.elements.dial import To as To
from callflow.dialect.elements.document import Error as Error
from callflow.dialect.elements.document import Meta as Meta
from callflow.dialect.elements.document import Response as Response
from callflow.dialect.elements.filters import Call as Call
from callflow.dialect.elements.filters import Geo as Geo
from callflow.dialect.elements.filters import Schedule as Schedule
from callflow.dialect.elements.gather import DTMF as DTMF
from callflow.dialect.elements.gather import Case as Case
from callflow.dialect.elements.gather import Default as Default
from callflow.dialect.elements.gather import Gather as Gather
from callflow.dialect.elements.gather import Switch as Switch
from callflow.dialect.elements.recording import Record as Record
from callflow.dialect.elements.recording import RecordStart as RecordStart
from callflow.dialect.elements.recording import RecordStop as RecordStop
from callflow.dialect.elements.recording import RecordWait as RecordWait
from callflow.dialect.elements.remote import Callback as Callback
from callflow.dialect.elements.remote import Curl as Curl
from callflow.dialect.linting import lint as lint
from callflow.dialect.parsing import parse as parse
from callflow.dialect.prepared import PreparedDocument as PreparedDocument
from callflow.dialect.prepared import prepare as prepare
from callflow.dialect.problems import Finding as Finding
from callflow.dialect.problems import Problem as Problem
from callflow.dialect.rendering import render as render
from callflow.dialect.slots import Slot as Slot
from callflow.dialect.validation import assert_valid as assert_valid
from callflow.dialect.validation import validate as validate
from callflow.exceptions import CallflowError as CallflowError
from callflow.exceptions import ConfigurationError as ConfigurationError
from callflow.exceptions import InvalidAttributeError as InvalidAttributeError
from callflow.exceptions import NestingError as NestingError
from callflow.exceptions import RegistrationError as RegistrationError
from callflow.exceptions import SchemaValidationError as SchemaValidationError
from callflow.exceptions import SessionStoreError as SessionStoreError
from callflow.exceptions import SessionTooLarge as SessionTooLarge
from callflow.exceptions import TemplateError as TemplateError
from callflow.server.app import App as App
from callflow.server.context import CallContext as CallContext
from callflow.server.events import CallFlowEvent as CallFlowEvent
from callflow.server.events import CallStateEvent as CallStateEvent
from callflow.server.events import Event as Event
from callflow.server.routing import Router as Router
from callflow.server.sessions import MemoryStore as MemoryStore
from callflow.server.sessions import RedisSessionStore as RedisSessionStore
from callflow.server.sessions import SessionStore as SessionStore
from callflow.server.sessions import open_store as open_store
from callflow.server.settings import Settings as Settings
from callflow.server.templates import Rendered as Rendered

try:
    __version__ = version("callflow")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "DTMF",
    "Answer",
    "App",
    "Call",
    "CallContext",
    "CallFlowEvent",
    "CallStateEvent",
    "Callback",
    "CallflowError",
    "Case",
    "ConfigurationError",
    "Curl",
    "Default",
    "Dial",
    "Element",
    "Error",
    "Event",
    "Finding",
    "Gather",
    "Geo",
    "Hangup",
    "Hold",
    "InvalidAttributeError",
    "MemoryStore",
    "Meta",
    "NestingError",
    "Pause",
    "Play",
    "PreparedDocument",
    "Problem",
    "Record",
    "RecordStart",
    "RecordStop",
    "RecordWait",
    "RedisSessionStore",
    "RegistrationError",
    "Rendered",
    "Response",
    "Router",
    "Say",
    "Schedule",
    "SchemaValidationError",
    "SessionStore",
    "SessionStoreError",
    "SessionTooLarge",
    "Settings",
    "Sip",
    "Slot",
    "Switch",
    "TemplateError",
    "To",
    "Tone",
    "Unhold",
    "__version__",
    "assert_valid",
    "lint",
    "open_store",
    "parse",
    "prepare",
    "render",
    "validate",
]
