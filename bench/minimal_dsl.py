"""A minimal checked DSL for the benchmark documents: the contender callflow's constructors are
measured against (issue 12, section 3).

It does the least a checked DSL can do: ``__slots__`` with plain stores, one ``isinstance`` per
value, one set lookup per child, and the element's XML written at construction (children
first, so a document is a join). It checks no value's format (a URL is any ``str``), keeps no
immutability and has no error messages beyond a ``TypeError``; only the elements of
:mod:`bench.documents`' IVR and large documents exist. Its output is the same XML as
callflow's for those documents (the render benchmark asserts it, canonicalised).
"""

from __future__ import annotations

from collections.abc import Sequence

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_COMMANDS = frozenset(
    ("Answer", "Hangup", "Say", "Play", "Pause", "Record", "Dial", "Gather", "Callback")
)


def _escape(text: str) -> str:
    # The same one-test-per-character escaping as callflow's serialiser, so that both pay
    # the same for the caller's text.
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escape_attribute(text: str) -> str:
    text = _escape(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _refuse(value: object, rule: str) -> TypeError:
    return TypeError(f"{value!r}: {rule}")


class Node:
    """An element: its children and its XML, written when it is built."""

    __slots__ = ("children", "xml")
    tag = ""
    allowed: frozenset[str] = frozenset()

    children: tuple[Node, ...]
    xml: str

    def _inner(self, children: tuple[Node, ...]) -> str:
        allowed = self.allowed
        for child in children:
            if child.tag not in allowed:
                raise _refuse(child, f"cannot be nested in <{self.tag}>")
        self.children = children
        return "".join([child.xml for child in children])


class Response(Node):
    __slots__ = ()
    tag = "Response"
    allowed = _COMMANDS | {"Schedule"}

    def __init__(self, *children: Node) -> None:
        self.xml = f"<Response>{self._inner(children)}</Response>"


class Answer(Node):
    __slots__ = ()
    tag = "Answer"

    def __init__(self) -> None:
        self.children = ()
        self.xml = "<Answer/>"


class Hangup(Node):
    __slots__ = ()
    tag = "Hangup"

    def __init__(self) -> None:
        self.children = ()
        self.xml = "<Hangup/>"


class Say(Node):
    __slots__ = ("lang", "loop", "text")
    tag = "Say"

    def __init__(self, text: str, *, lang: str | None = None, loop: int | None = None) -> None:
        if not isinstance(text, str):
            raise _refuse(text, "text must be a str")
        self.text = text
        self.lang = lang
        self.loop = loop
        self.children = ()
        attributes = ""
        if lang is not None:
            if not isinstance(lang, str):
                raise _refuse(lang, "lang must be a str")
            attributes += f' lang="{lang}"'
        if loop is not None:
            if not isinstance(loop, int):
                raise _refuse(loop, "loop must be an int")
            attributes += f' loop="{loop}"'
        self.xml = f"<Say{attributes}>{_escape(text)}</Say>"


class Play(Node):
    __slots__ = ("url",)
    tag = "Play"

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise _refuse(url, "url must be a str")
        self.url = url
        self.children = ()
        self.xml = f"<Play>{_escape(url)}</Play>"


class Pause(Node):
    __slots__ = ("length",)
    tag = "Pause"

    def __init__(self, *, length: int) -> None:
        if not isinstance(length, int):
            raise _refuse(length, "length must be an int")
        self.length = length
        self.children = ()
        self.xml = f'<Pause length="{length}"/>'


class Record(Node):
    __slots__ = ("record_tag", "timeout")
    tag = "Record"

    def __init__(self, *, tag: str, timeout: int) -> None:
        if not isinstance(tag, str):
            raise _refuse(tag, "tag must be a str")
        if not isinstance(timeout, int):
            raise _refuse(timeout, "timeout must be an int")
        self.record_tag = tag
        self.timeout = timeout
        self.children = ()
        self.xml = f'<Record tag="{_escape_attribute(tag)}" timeout="{timeout}"/>'


class Schedule(Node):
    __slots__ = ("dow",)
    tag = "Schedule"
    allowed = _COMMANDS

    def __init__(self, *children: Node, dow: Sequence[str]) -> None:
        if not isinstance(dow, tuple):
            raise _refuse(dow, "dow must be a tuple")
        self.dow = dow
        self.xml = f'<Schedule dow="{",".join(dow)}">{self._inner(children)}</Schedule>'


class Error(Node):
    __slots__ = ("say",)
    tag = "Error"
    allowed = _COMMANDS

    def __init__(self, *children: Node, say: bool | None = None) -> None:
        self.say = say
        attributes = ""
        if say is not None:
            if not isinstance(say, bool):
                raise _refuse(say, "say must be a bool")
            attributes = ' say="true"' if say else ' say="false"'
        inner = self._inner(children)  # stores the children, empty or not
        self.xml = f"<Error{attributes}>{inner}</Error>" if children else f"<Error{attributes}/>"


class To(Node):
    __slots__ = ("target",)
    tag = "To"

    def __init__(self, target: str) -> None:
        if not isinstance(target, str):
            raise _refuse(target, "target must be a str")
        self.target = target
        self.children = ()
        self.xml = f"<To>{_escape(target)}</To>"


class Sip(Node):
    __slots__ = ("target",)
    tag = "Sip"

    def __init__(self, target: str) -> None:
        if not isinstance(target, str):
            raise _refuse(target, "target must be a str")
        self.target = target
        self.children = ()
        self.xml = f"<Sip>{_escape(target)}</Sip>"


class Dial(Node):
    __slots__ = ()
    tag = "Dial"
    allowed = frozenset(("To", "Sip", "Error"))

    def __init__(self, *children: Node) -> None:
        self.xml = f"<Dial>{self._inner(children)}</Dial>"


class Callback(Node):
    __slots__ = ("url",)
    tag = "Callback"

    def __init__(self, *, url: str) -> None:
        if not isinstance(url, str):
            raise _refuse(url, "url must be a str")
        self.url = url
        self.children = ()
        self.xml = f'<Callback url="{_escape_attribute(url)}"/>'


class DTMF(Node):
    __slots__ = ("value",)
    tag = "DTMF"
    allowed = _COMMANDS

    def __init__(self, *children: Node, value: str) -> None:
        if not isinstance(value, str):
            raise _refuse(value, "value must be a str")
        self.value = value
        self.xml = f'<DTMF value="{value}">{self._inner(children)}</DTMF>'


class Default(Node):
    __slots__ = ()
    tag = "Default"
    allowed = _COMMANDS

    def __init__(self, *children: Node) -> None:
        self.xml = f"<Default>{self._inner(children)}</Default>"


class Gather(Node):
    __slots__ = ("attempts", "dtmf_length", "timeout")
    tag = "Gather"
    allowed = frozenset(("Say", "Play", "Pause", "DTMF", "Default", "Error"))

    def __init__(self, *children: Node, dtmf_length: int, timeout: int, attempts: int) -> None:
        for number in (dtmf_length, timeout, attempts):
            if not isinstance(number, int):
                raise _refuse(number, "must be an int")
        self.dtmf_length = dtmf_length
        self.timeout = timeout
        self.attempts = attempts
        self.xml = (
            f'<Gather dtmf_length="{dtmf_length}" timeout="{timeout}" attempts="{attempts}">'
            f"{self._inner(children)}</Gather>"
        )


def render(doc: Response) -> bytes:
    """The document as UTF-8 bytes with an XML declaration."""
    if not isinstance(doc, Response):
        raise TypeError(f"render() takes a Response, not {type(doc).__name__}")
    return (DECLARATION + doc.xml).encode()


def ivr(name: str, number: str, ref: str, desk: str) -> Response:
    """The IVR document of :func:`bench.documents.callflow_ivr`."""
    return Response(
        Answer(),
        Say(f"Hello {name}, thanks for calling Acme & Co.", lang="en-US"),
        Schedule(Say("We are closed."), Hangup(), dow=("sat", "sun")),
        Gather(
            Say("Press 1 for support, 2 for billing."),
            DTMF(
                Dial(
                    To(number),
                    Sip(desk),
                    Error(Say("Nobody is available."), Record(tag="vm", timeout=60000)),
                ),
                value="1",
            ),
            DTMF(Callback(url="https://ivr.example.com/billing"), value="2"),
            Default(Say("Sorry, that is not an option.")),
            Error(say=True),
            dtmf_length=1,
            timeout=6000,
            attempts=2,
        ),
        Say(f"Your reference is {ref}."),
        Hangup(),
    )


def large(name: str, commands: int) -> Response:
    """The large document of :func:`bench.documents.callflow_large`."""
    nodes: list[Node] = []
    for i in range(commands // 4):
        nodes.append(Say(f"Item {i} for {name}: fish & chips <large>."))
        nodes.append(Pause(length=500))
        nodes.append(Play(f"https://cdn.example.com/{i}.mp3?a=1&b=2"))
        nodes.append(Say("Thanks.", loop=2))
    return Response(*nodes)
