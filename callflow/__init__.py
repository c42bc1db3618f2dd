"""callflow: write Opentact XML call flows as typed Python, validate, serve and simulate them."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .app import App as App
from .audio import Pause as Pause
from .audio import Play as Play
from .audio import Say as Say
from .audio import Tone as Tone
from .call_control import Answer as Answer
from .call_control import Hangup as Hangup
from .call_control import Hold as Hold
from .call_control import Unhold as Unhold
from .config import Settings as Settings
from .context import CallContext as CallContext
from .dial import Dial as Dial
from .dial import Sip as Sip
from .dial import To as To
from .document import Error as Error
from .document import Meta as Meta
from .document import Response as Response
from .element import Element as Element
from .events import CallFlowEvent as CallFlowEvent
from .events import CallStateEvent as CallStateEvent
from .events import Event as Event
from .exceptions import CallflowError as CallflowError
from .exceptions import ConfigurationError as ConfigurationError
from .exceptions import InvalidAttributeError as InvalidAttributeError
from .exceptions import NestingError as NestingError
from .exceptions import RegistrationError as RegistrationError
from .exceptions import SchemaValidationError as SchemaValidationError
from .exceptions import SessionStoreError as SessionStoreError
from .exceptions import SessionTooLarge as SessionTooLarge
from .exceptions import TemplateError as TemplateError
from .fetch import Callback as Callback
from .fetch import Curl as Curl
from .filters import Call as Call
from .filters import Geo as Geo
from .filters import Schedule as Schedule
from .gather import DTMF as DTMF
from .gather import Case as Case
from .gather import Default as Default
from .gather import Gather as Gather
from .gather import Switch as Switch
from .lint import lint as lint
from .parse import parse as parse
from .prepared import PreparedDocument as PreparedDocument
from .prepared import prepare as prepare
from .problems import Finding as Finding
from .problems import Problem as Problem
from .recording import Record as Record
from .recording import RecordStart as RecordStart
from .recording import RecordStop as RecordStop
from .recording import RecordWait as RecordWait
from .render import render as render
from .routing import Router as Router
from .sessions import MemoryStore as MemoryStore
from .sessions import RedisSessionStore as RedisSessionStore
from .sessions import SessionStore as SessionStore
from .sessions import open_store as open_store
from .slot import Slot as Slot
from .templates import Rendered as Rendered
from .validate import assert_valid as assert_valid
from .validate import validate as validate

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
