"""Bridging the call: Dial and its targets To and Sip (D10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.types import DialChild


class Dial(Element):
    """Ring every target at once and bridge the first to answer (D10).

    When nobody answers or all fail, the ``Error`` child runs.

    >>> Dial(To("15550100200"), Sip("2001@10.0.0.5:5080"))
    Dial(To('15550100200'), Sip('2001@10.0.0.5:5080'))
    """

    __slots__ = ()
    xml_tag = "Dial"

    def __init__(self, *children: DialChild) -> None: ...

    _check_unless = "children and children[0].xml_tag in ('To', 'Sip')"

    def _check(self) -> None:
        for child in self._children:
            if child.xml_tag == "To" or child.xml_tag == "Sip":
                return
        raise checks.invalid("Dial", "children", "needs at least one <To> or <Sip> target", ())

    @property
    def targets(self) -> tuple[To | Sip, ...]:
        """The ``To`` and ``Sip`` children, in order."""
        return tuple(child for child in self.children if isinstance(child, To | Sip))


class To(Element):
    """A dial target: a phone number or a ``user@host`` SIP address (§3.12).

    A number may be spelt with spaces, dashes, parentheses, a ``+`` or a ``tel:`` prefix;
    digits without ``+`` are read as a US number when possible (``5550100200``), else as
    digits with their country code. It is stored and written as Opentact writes numbers:
    a North American one as its 11 digits, any other in E.164 with its ``+``. Anything
    else raises :class:`~callflow.exceptions.InvalidAttributeError`.

    >>> To("+1 (555) 010-0200"), To("5550100200"), To("+44 20 7183 8750")
    (To('15550100200'), To('15550100200'), To('+442071838750'))
    >>> To("ann@acme.sip.opentact.org").target
    'ann@acme.sip.opentact.org'
    """

    __slots__ = ()
    xml_tag = "To"
    fields = (Field("target", checks.to_target, required=True),)
    content = "target"

    target: str

    def __init__(self, target: str) -> None: ...


class Sip(Element):
    """A SIP dial target ``user@host[:port]``."""

    __slots__ = ()
    xml_tag = "Sip"
    fields = (Field("target", checks.sip_target, required=True),)
    content = "target"

    target: str

    def __init__(self, target: str) -> None: ...
