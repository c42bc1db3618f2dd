"""What the caller hears: Say, Play, Pause, Tone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from callflow.dialect import values as checks
from callflow.dialect.choices import Leg, SayGender, SayType
from callflow.dialect.elements.base import Element, Field

if TYPE_CHECKING:
    from callflow.dialect.elements.document import Error
    from callflow.types import ToneChild

_LEG = checks.one_of(Leg)


class Say(Element):
    """Speak ``text`` ``loop`` times (D11); also a Gather filler.

    >>> Say("Thanks for calling.", lang="en-US", loop=2)
    Say('Thanks for calling.', lang='en-US', loop=2)
    """

    __slots__ = ()
    xml_tag = "Say"
    fields = (
        Field("text", checks.non_empty_text, required=True),
        Field("type", checks.one_of(SayType)),
        Field("gender", checks.one_of(SayGender)),
        Field("code", checks.voice_code),
        Field("lang", checks.lang),
        Field("loop", checks.count),
        Field("tag", checks.tag),
    )
    content = "text"
    content_mode = "attribute-with-children"

    text: str
    type: SayType | None
    gender: SayGender | None
    code: str | None
    lang: str | None
    loop: int | None
    tag: str | None

    def __init__(
        self,
        text: str,
        *children: Error,
        type: SayType | None = None,
        gender: SayGender | None = None,
        code: str | None = None,
        lang: str | None = None,
        loop: int | None = None,
        tag: str | None = None,
    ) -> None: ...


class Play(Element):
    """Play the media at ``url`` (mp3/wav), or an earlier recording by its ``record`` tag (D12).

    >>> Play("https://cdn.example.com/hold.mp3", loop=2)
    Play('https://cdn.example.com/hold.mp3', loop=2)
    >>> Play(record="msg")
    Play(record='msg')
    """

    __slots__ = ()
    xml_tag = "Play"
    fields = (
        Field("url", checks.url),
        Field("record", checks.non_empty_text),
        Field("leg", _LEG),
        Field("loop", checks.count),
        Field("tag", checks.tag),
    )
    content = "url"
    content_mode = "attribute-with-children"

    url: str | None
    record: str | None
    leg: Leg | None
    loop: int | None
    tag: str | None

    def __init__(
        self,
        url: str | None = None,
        *children: Error,
        record: str | None = None,
        leg: Leg | None = None,
        loop: int | None = None,
        tag: str | None = None,
    ) -> None: ...

    _check_unless = "(url is None) != (record is None)"

    def _check(self) -> None:
        if (self.url is None) == (self.record is None):
            rule = "needs exactly one source: a url or record= (D12, §7 #11)"
            raise checks.invalid("Play", "url", rule, (self.url, self.record))


class Pause(Element):
    """Wait ``length`` ms (default 1000, D13); ``dtmf_stop`` ends it early."""

    __slots__ = ()
    xml_tag = "Pause"
    fields = (Field("length", checks.ms), Field("dtmf_stop", checks.key))

    length: int | None
    dtmf_stop: str | None

    def __init__(
        self, *children: Error, length: int | None = None, dtmf_stop: str | None = None
    ) -> None: ...


class Tone(Element):
    """Play a tone: frequencies ``hz``, cadence ``don``/``doff`` ms, ``volume`` dB <= 0 (D16).

    ``volume`` is any finite decimal <= 0, stored canonically: a whole number as an ``int``,
    any other as a float written in fixed-point notation.

    >>> Tone(volume=-12.5, hz=[350, 440])
    Tone(volume=-12.5, hz=(350, 440))
    >>> Tone(volume=-3.0).volume, Tone(volume=-0.0).volume
    (-3, 0)
    """

    __slots__ = ()
    xml_tag = "Tone"
    fields = (
        Field("tag", checks.tag),
        Field("loop", checks.count),
        Field("volume", checks.volume),
        Field("don", checks.ms),
        Field("doff", checks.ms),
        Field("hz", checks.frequencies),
        Field("timeout", checks.ms),
        Field("leg", _LEG),
    )

    tag: str | None
    loop: int | None
    volume: float | None
    don: int | None
    doff: int | None
    hz: tuple[int | float, ...] | None
    timeout: int | None
    leg: Leg | None

    def __init__(
        self,
        *children: ToneChild,
        tag: str | None = None,
        loop: int | None = None,
        volume: float | None = None,
        don: int | None = None,
        doff: int | None = None,
        hz: Sequence[int | float] | str | None = None,
        timeout: int | None = None,
        leg: Leg | None = None,
    ) -> None: ...
