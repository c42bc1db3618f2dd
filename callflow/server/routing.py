"""Flow registration: :class:`Flow` and :class:`Router` (flows of one module)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar

from callflow.dialect.elements.document import Response
from callflow.dialect.phone_numbers import to_e164
from callflow.exceptions import RegistrationError

if TYPE_CHECKING:
    from callflow.server.context import CallContext
    from callflow.server.templates import Rendered

FlowResult: TypeAlias = "Response | Rendered | str | bytes"
"""What a flow returns: a DSL tree, a rendered template, or XML text (validated)."""
FlowFunction: TypeAlias = "Callable[[CallContext], FlowResult | Awaitable[FlowResult]]"
F = TypeVar("F", bound=FlowFunction)
"""A flow function, whose own type the decorators keep."""

_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")


@dataclass(frozen=True, slots=True)
class Flow:
    """A registered flow: where it is served, its name for ``url_for``, its numbers."""

    path: str
    name: str
    numbers: tuple[str, ...]
    function: FlowFunction


class AddFlow(Protocol):
    """An ``add_flow`` method: :meth:`Router.add_flow`, :meth:`callflow.App.add_flow`."""

    def __call__(
        self, path: str, function: FlowFunction, *, name: str | None, numbers: Iterable[str]
    ) -> Flow: ...


def registering(
    add_flow: AddFlow, path: str, name: str | None, numbers: Iterable[str]
) -> Callable[[F], F]:
    """The decorator a ``flow`` method returns: it passes the function to ``add_flow`` and
    returns it unchanged, with its own type."""

    def register(function: F) -> F:
        add_flow(path, function, name=name, numbers=numbers)
        return function

    return register


def normalise_path(path: str) -> str:
    """Check a route path; it must start with ``/`` and hold no query or fragment."""
    if not isinstance(path, str) or _PATH.fullmatch(path) is None:
        raise RegistrationError(f"flow path must start with '/' and be a plain path: {path!r}")
    return path


def normalise_numbers(numbers: Iterable[str], region: str = "US") -> tuple[str, ...]:
    """Return ``numbers`` in E.164, or raise :class:`RegistrationError` for a non-number.

    Each is read by :func:`~callflow.dialect.phone_numbers.to_e164`: digits without ``+`` in
    ``region`` when
    they are a possible number there, else as international digits.

    >>> normalise_numbers(["5550100300", "+44 20 7183 8750"])
    ('+15550100300', '+442071838750')
    """
    if isinstance(numbers, str):
        numbers = (numbers,)
    seen: dict[str, str] = {}
    for number in numbers:
        e164 = to_e164(str(number), region)
        if e164 is None:
            raise RegistrationError(
                f"{number!r} is not a phone number (digits without '+' are read as a"
                f" {region.upper()} number, else as international digits with a country code)"
            )
        if e164 in seen:
            raise RegistrationError(
                f"a number is listed twice: {e164} (as {seen[e164]!r} and {number!r})"
            )
        seen[e164] = number
    return tuple(seen)


class Router:
    """A set of flows, usually one module's, mounted on an App with ``app.include``.

    ``region`` is where flow numbers written without ``+`` are read (an App's own router
    uses its ``default_region``; give a standalone router the same one).

    Examples:
        >>> router = Router()
        >>> @router.flow("/menu")
        ... def menu(call): ...
        >>> [flow.name for flow in router.flows]
        ['menu']
    """

    def __init__(self, *, region: str = "US") -> None:
        self.flows: list[Flow] = []
        self._region = region

    def flow(
        self, path: str, *, name: str | None = None, numbers: Iterable[str] = ()
    ) -> Callable[[F], F]:
        """Register the decorated function as a flow at ``path``; return it unchanged.

        ``numbers`` route inbound calls to these numbers to this flow from the call-flow
        webhook. They are compared in E.164, so any spelling works (``+1 555 010 0300``,
        ``15550100300``, ``(555) 010-0300``); digits without ``+`` are read in the router's
        ``region`` when possible there, else as international digits.
        """
        return registering(self.add_flow, path, name, numbers)

    def add_flow(
        self,
        path: str,
        function: FlowFunction,
        *,
        name: str | None = None,
        numbers: Iterable[str] = (),
    ) -> Flow:
        """Register ``function`` as a flow (the non-decorator form of :meth:`flow`)."""
        if not callable(function):
            raise RegistrationError(f"a flow must be callable, not {function!r}")
        flow_name = name or getattr(function, "__name__", "")
        if not flow_name or flow_name == "<lambda>":
            raise RegistrationError(f"flow at {path!r} needs a name= (got {flow_name!r})")
        flow = Flow(
            normalise_path(path), flow_name, normalise_numbers(numbers, self._region), function
        )
        self._check(flow)
        self.flows.append(flow)
        return flow

    def _check(self, new: Flow) -> None:
        for flow in self.flows:
            if flow.path == new.path:
                raise RegistrationError(f"path {new.path!r} is already taken by flow {flow.name!r}")
            if flow.name == new.name:
                raise RegistrationError(f"flow name {new.name!r} is already registered")
            shared = set(flow.numbers) & set(new.numbers)
            if shared:
                raise RegistrationError(
                    f"number {sorted(shared)[0]} is already routed to flow {flow.name!r}"
                )
