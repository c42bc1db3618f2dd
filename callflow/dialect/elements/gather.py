"""Collecting digits: Gather and its branches DTMF, Switch, Case, Default (D4-D6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from callflow.dialect import nesting
from callflow.dialect import values as checks
from callflow.dialect.choices import GatherMethod
from callflow.dialect.elements.base import Element, Field
from callflow.exceptions import NestingError

if TYPE_CHECKING:
    from callflow.types import BlockChild, GatherChild, SwitchChild

DEFAULT_DTMF_LENGTH: Final = 1
"""How many digits a Gather collects when it sets no ``dtmf_length`` (§7 #2)."""


class Gather(Element):
    """Collect digits while the fillers play, then run the matching branch (D6).

    Collection ends at ``dtmf_length`` digits, on the ``dtmf_stop`` key or after ``timeout``
    ms. A matching ``DTMF`` branch runs; digits that match nothing run ``Default``; no input is
    retried up to ``attempts`` times, then ``Error`` runs. With ``url`` the digits are sent
    there and the reply replaces the rest of the call flow.

    >>> from callflow import Say
    >>> Gather(Say("Press 1 for sales"), DTMF(Say("Sales"), value="1"), dtmf_length=1)
    Gather(Say('Press 1 for sales'), DTMF(Say('Sales'), value='1'), dtmf_length=1)
    """

    __slots__ = ()
    xml_tag = "Gather"
    fields = (
        Field("dtmf_length", checks.count),
        Field("dtmf_stop", checks.key),
        Field("url", checks.url),
        Field("method", checks.one_of(GatherMethod)),
        Field("timeout", checks.ms),
        Field("attempts", checks.count),
        Field("tag", checks.tag),
    )

    dtmf_length: int | None
    dtmf_stop: str | None
    url: str | None
    method: GatherMethod | None
    timeout: int | None
    attempts: int | None
    tag: str | None

    def __init__(
        self,
        *children: GatherChild,
        dtmf_length: int | None = None,
        dtmf_stop: str | None = None,
        url: str | None = None,
        method: GatherMethod | None = None,
        timeout: int | None = None,
        attempts: int | None = None,
        tag: str | None = None,
    ) -> None: ...

    _slow_children = frozenset(("Switch",))

    def _check_children(self, children: tuple[Any, ...]) -> tuple[Any, ...]:
        # A Switch is replaced by its canonical equivalent (D5); at most one.
        switches = sum(1 for child in children if isinstance(child, Switch))
        if switches:
            if switches > 1:
                allowed = nesting.allowed_children("Gather")
                reason = "<Gather> can hold at most one <Switch>"
                raise NestingError("Gather", "Switch", allowed, reason=reason)
            children = _without_switch(children)
        return super()._check_children(children)

    _distinct = ("DTMF", 0)  # no two branches for the same keys (D5)

    def _duplicated(self, value: object) -> None:
        rule = "duplicates another branch of this Gather (D5)"
        raise checks.invalid("DTMF", "value", rule, value)

    def branches(self) -> tuple[tuple[DTMF, str], ...]:
        """Return every ``(branch, keys)`` pair, in order."""
        return tuple((child, child.value) for child in self.children if isinstance(child, DTMF))

    @property
    def fillers(self) -> tuple[Element, ...]:
        """The ``Say``, ``Play`` and ``Pause`` children played while collecting."""
        return tuple(c for c in self.children if c.xml_tag in ("Say", "Play", "Pause"))

    @property
    def default(self) -> Default | None:
        """The ``Default`` branch, if any (a Switch's was moved onto the Gather)."""
        return next((c for c in self.children if isinstance(c, Default)), None)


def _without_switch(children: tuple[GatherChild, ...]) -> tuple[GatherChild, ...]:
    """Replace each Switch by its canonical equivalent: Case -> DTMF, Default, Error (D5)."""
    result: list[GatherChild] = []
    for child in children:
        if not isinstance(child, Switch):
            result.append(child)
            continue
        for case in child.children:
            if isinstance(case, Case):
                result.append(DTMF(*case.children, value=case.dtmf))  # type: ignore[arg-type]
            else:
                result.append(case)  # type: ignore[arg-type]
    return tuple(result)


class DTMF(Element):
    """A Gather branch run when the collected digits equal ``value`` (D5)."""

    __slots__ = ()
    xml_tag = "DTMF"
    fields = (Field("value", checks.keys, required=True),)

    value: str

    def __init__(self, *children: BlockChild, value: str) -> None: ...


class Switch(Element):
    """Variant branch group of a Gather (D5); prefer ``DTMF`` children on the Gather.

    A Gather replaces a Switch child by the canonical equivalent when it is built, so
    ``Gather(Switch(Case(..., dtmf="1")))`` equals ``Gather(DTMF(..., value="1"))``.
    """

    __slots__ = ()
    xml_tag = "Switch"

    def __init__(self, *children: SwitchChild) -> None: ...


class Case(Element):
    """A ``Switch`` branch run when the collected digits equal ``dtmf`` (D5)."""

    __slots__ = ()
    xml_tag = "Case"
    fields = (Field("dtmf", checks.keys, required=True),)

    dtmf: str

    def __init__(self, *children: BlockChild, dtmf: str) -> None: ...


class Default(Element):
    """The branch run when digits were collected but matched no branch (D6)."""

    __slots__ = ()
    xml_tag = "Default"
    fields = (Field("tag", checks.tag),)

    tag: str | None

    def __init__(self, *children: BlockChild, tag: str | None = None) -> None: ...
