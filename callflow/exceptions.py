"""Exceptions raised by callflow.

Every error derives from :class:`CallflowError` and also from the builtin it resembles, so
``except ValueError`` keeps working for callers that do not know callflow::

    CallflowError
    ├── NestingError(TypeError)            a child that its parent cannot hold
    ├── InvalidAttributeError(ValueError)  an attribute or text value the spec forbids
    ├── SchemaValidationError(ValueError)  a document that fails validation (all problems)
    ├── RegistrationError(ValueError)      a duplicate or malformed flow registration
    ├── ConfigurationError(ValueError)     settings the server cannot start with
    ├── TemplateError(ValueError)          a template that is missing or renders invalid XML
    ├── SessionTooLarge(ValueError)        a session whose JSON is over max_session_bytes
    ├── SessionStoreError(RuntimeError)    a session store that failed (Redis down, ...)
    ├── BadRequest(ValueError)             a request the server cannot read (answered 4xx)
    ├── InvalidState(ValueError)           a signed token tampered with, expired or misdirected
    ├── InvalidDocument(ValueError)        XML from a flow that is not a valid document
    ├── TargetError(ValueError)            a simulator target that cannot be used
    ├── LocationError(ValueError)          a caller location that is not STATE[,COUNTY]
    ├── DialScriptError(ValueError)        a scripted Dial outcome that does not exist
    ├── SlotError(ValueError)              a Slot with a bad name, or rendered unfilled
    └── UsageError                         a bad command line or unreadable input (exit 2)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow.dialect.problems import Problem


class CallflowError(Exception):
    """Base class of every error raised by callflow."""


class NestingError(CallflowError, TypeError):
    """A child element that its parent element cannot hold (spec §4)."""

    def __init__(self, parent: str, child: str, allowed: Iterable[str], reason: str = "") -> None:
        self.parent = parent
        self.child = child
        self.allowed = tuple(allowed)
        self.reason = reason
        what = reason or f"<{child}> cannot be nested in <{parent}>"
        allowed_text = ", ".join(self.allowed) if self.allowed else "nothing"
        super().__init__(f"{what} (allowed: {allowed_text})")


class InvalidAttributeError(CallflowError, ValueError):
    """An attribute (or text) value that breaks a rule of the spec."""

    def __init__(self, element: str, attribute: str, rule: str, value: object) -> None:
        self.element = element
        self.attribute = attribute
        self.rule = rule
        self.value = value
        super().__init__(f"<{element}> '{attribute}' {rule} (got {value!r})")


class SchemaValidationError(CallflowError, ValueError):
    """A document that is not valid; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem], source: str = "<document>") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [f"{source}:{p}" for p in self.problems]
        count = len(self.problems)
        header = f"{source} is not valid ({count} problem{'s' if count != 1 else ''})"
        super().__init__("\n".join([header, *lines]))


class RegistrationError(CallflowError, ValueError):
    """A flow registered twice (same path, name or number) or with a malformed route."""


class ConfigurationError(CallflowError, ValueError):
    """Settings the server cannot run with (for example no secret in production mode)."""


class TemplateError(CallflowError, ValueError):
    """A template that is missing, fails to render, or renders an invalid document."""


class SessionTooLarge(CallflowError, ValueError):
    """A session whose JSON encoding is longer than ``max_session_bytes``; nothing was stored."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"session is {size} bytes, more than max_session_bytes={limit}")


class SessionStoreError(CallflowError, RuntimeError):
    """A session store that could not do an operation (its server is down, say).

    ``store`` names the store without its password; the lower-level error is ``__cause__``.
    """

    def __init__(self, store: str, operation: str, reason: str, key: str | None = None) -> None:
        self.store = store
        self.operation = operation
        self.reason = reason
        self.key = key
        what = operation if key is None else f"{operation} {key!r}"
        super().__init__(f"session store {store} could not {what}: {reason}")


class BadRequest(CallflowError, ValueError):
    """A request the server cannot read; ``status`` is the 4xx it is answered with and
    ``message`` the plain text sent with it."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


class InvalidState(CallflowError, ValueError):
    """A signed token (``kind`` ``state`` or ``session``) that was tampered with, signed with
    an unknown key, expired or sent to another path or call; ``reason`` says which."""

    def __init__(self, kind: str, problem: str) -> None:
        self.kind = kind
        self.problem = problem
        self.reason = f"{kind} token {problem}"
        super().__init__(self.reason)


class InvalidDocument(CallflowError, ValueError):
    """XML text from a flow (or a template) that is not a valid document; ``summary`` shows
    the first problems as ``line:column: message``."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        self.summary = "; ".join(str(problem) for problem in self.problems[:5])
        super().__init__(f"invalid document: {self.summary}")


class TargetError(CallflowError, ValueError):
    """A simulator target that cannot be used: a ``module:attribute`` that does not import,
    an XML file that cannot be read, an object that is not an ASGI application."""

    def __init__(self, target: object, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"cannot simulate {target!r}: {reason}")


class LocationError(CallflowError, ValueError):
    """A caller location that is not ``STATE[,COUNTY]`` with a two-letter US state."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"location must be STATE[,COUNTY] with a two-letter state (got {text!r})")


class DialScriptError(CallflowError, ValueError):
    """A scripted Dial outcome that is none of ``allowed`` (for ``target``, or every target)."""

    def __init__(self, outcome: object, allowed: Iterable[str], target: str | None = None) -> None:
        self.outcome = outcome
        self.allowed = tuple(allowed)
        self.target = target
        which = "dial outcome" if target is None else f"dial outcome for {target}"
        super().__init__(f"{which} must be one of {', '.join(self.allowed)} (got {outcome!r})")


class SlotError(CallflowError, ValueError):
    """A :class:`~callflow.Slot` whose name cannot be a keyword argument, or a document with
    Slots given to ``render()`` instead of ``prepare(doc).render(...)``."""

    def __init__(self, problem: str, name: str | None = None) -> None:
        self.problem = problem
        self.name = name
        super().__init__(problem if name is None else f"{problem}: {name!r}")


class UsageError(CallflowError):
    """A bad command line or an unreadable input: the ``callflow`` command exits 2."""
