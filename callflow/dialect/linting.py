"""Find what is valid but likely wrong in a document, each finding with a stable code.

Codes (stable; documented in docs/validation.md):

* ``CF001`` the document is invalid (each validation problem, severity ``error``)
* ``CF101``-``CF109`` legacy forms, each with its canonical replacement
* ``CF201``-``CF203`` commands that can never run (after Hangup, Callback, a url Gather)
* ``CF301``-``CF306`` Gather mistakes (url with branches, uncollectable DTMF values, ...)
* ``CF401``-``CF402`` Meta names clashing with request parameters or repeated
* ``CF501``-``CF502`` attributes the element does not define
* ``CF601``-``CF605`` other likely mistakes (unknown recording, endless Record, ...)

A finding whose message cites a ruling or an open question (``D20``, ``§7 #16``) ends its
hint with the anchor in docs/dialect.md: ``(see docs/dialect.md#d20)``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from typing import Final

from lxml import etree

from callflow.dialect import nesting
from callflow.dialect.elements.gather import DEFAULT_DTMF_LENGTH
from callflow.dialect.loader import (
    CLASSES,
    LEGACY_ATTRIBUTES,
    UPPER_CASE_METHOD,
    _expand_repeats,
    _text_parts,
    canonical_attribute,
)
from callflow.dialect.problems import Finding, Severity
from callflow.dialect.reader import MAX_BYTES, Places, Source
from callflow.dialect.validation import examine

REQUEST_PARAMETERS: Final = frozenset(
    ("from", "to", "tn", "state", "sca", "call", "tag", "dtmf", "code", "success", "attempts")
)
"""Query parameters Opentact appends itself (D9); a Meta of the same name loses (§7 #16)."""

_TAG_ELEMENTS: Final = frozenset(
    name for name, cls in CLASSES.items() if any(f.name == "tag" for f in cls.fields)
)
_CITATION: Final = re.compile(
    r"(?<!\w)(?:D(?P<ruling>[0-9]{1,2})|§7 #(?P<question>[0-9]{1,2}))(?![0-9])"
)
"""A ruling (``D9``) or an open question (``§7 #16``), as messages and hints cite them."""
_QUOTED: Final = re.compile(r"'[^']*'|\"[^\"]*\"")
"""Quoted text in a message: the document's own names and values, which cite nothing."""


def _linked(message: str, hint: str) -> str:
    """Return ``hint``, ending with a link to the anchor in docs/dialect.md of the first ruling
    or question that ``message`` or ``hint`` cites (``(see docs/dialect.md#d20)``)."""
    citation = _CITATION.search(_QUOTED.sub("", f"{message}\n{hint}"))
    if citation is None:
        return hint
    ruling = citation.group("ruling")
    anchor = f"d{ruling}" if ruling is not None else f"q{citation.group('question')}"
    return f"{hint} (see docs/dialect.md#{anchor})"


def lint(source: Source, *, max_bytes: int = MAX_BYTES) -> list[Finding]:
    """Return the findings for ``source``, sorted by position.

    An invalid document yields one ``CF001`` finding per validation problem.

    Examples:
        >>> [f.code for f in lint(b"<Response><Hangup/><Say>Bye</Say></Response>")]
        ['CF201']
    """
    checked = examine(source, max_bytes=max_bytes)
    if checked.problems or checked.tree is None:
        return [
            Finding(p.line, p.column, "CF001", p.path, p.message, "fix the document", "error")
            for p in checked.problems
        ]
    places = checked.places or Places(checked.tree, checked.data)
    return sorted(_Linter(checked.tree, places).run())


def _elements(el: etree._Element) -> list[etree._Element]:
    return [child for child in el if isinstance(child.tag, str)] if len(el) else []


@functools.lru_cache(maxsize=64)  # the DSL's element names: a bounded set
def _known_attributes(name: str) -> frozenset[str]:
    """The attributes ``name`` defines, with its legacy ones."""
    if name == "Case":
        return frozenset(("dtmf",))
    fields = CLASSES[name].fields
    return frozenset({f.name for f in fields} | set(LEGACY_ATTRIBUTES.get(name, {})))


class _Linter:
    def __init__(self, tree: etree._ElementTree, places: Places) -> None:
        self.tree = tree
        self.places = places
        self.findings: list[Finding] = []
        self.record_tags = {
            el.get("tag")
            for el in tree.iter("Record", "RecordStart")
            if isinstance(el.tag, str) and el.get("tag") is not None
        }

    def run(self) -> list[Finding]:
        for el in self.tree.getroot().iter(etree.Element):
            self.legacy(el)
            self.attributes(el)
            self.block(el)
            if el.tag == "Gather":
                self.gather(el)
            self.other(el)
        self.metas()
        return self.findings

    def add(
        self,
        el: etree._Element,
        code: str,
        message: str,
        hint: str,
        severity: Severity = "warning",
    ) -> None:
        path = self.places.path(el)
        line, column = self.places.position(path) or (el.sourceline or 0, 1)
        hint = _linked(message, hint)
        self.findings.append(Finding(line, column, code, path, message, hint, severity))

    # -- CF1xx legacy forms ------------------------------------------------------------------

    def legacy(self, el: etree._Element) -> None:
        name = str(el.tag)
        for old, new in LEGACY_ATTRIBUTES.get(name, {}).items():
            if old in el.attrib:
                self.add(
                    el,
                    "CF101",
                    f"<{name}> '{old}' is a legacy attribute",
                    f'write {new}="{el.get(old)}" instead',
                )
        method = el.get("method")
        if name in UPPER_CASE_METHOD and method is not None and method != method.upper():
            self.add(
                el,
                "CF102",
                f"<{name}> method '{method}' is lower case",
                f'write method="{method.upper()}"',
            )
        if name == "Switch":
            self.add(
                el,
                "CF103",
                "<Switch>/<Case> is a variant form of Gather branches",
                "write DTMF value=... (and Default, Error) directly in the Gather",
            )
        if name == "callback":
            url = (el.text or "").strip()
            self.add(
                el,
                "CF104",
                "lower-case <callback>URL</callback> is a legacy form",
                f'write <Callback url="{url}"/>',
            )
        if name == "Error" and el.getparent() is not None:
            parent = el.getparent()
            if parent is not None and parent.tag in nesting.PLAIN_BLOCKS:
                previous = el.getprevious()
                while previous is not None and not isinstance(previous.tag, str):
                    previous = previous.getprevious()
                target = previous.tag if previous is not None else "command"
                self.add(
                    el,
                    "CF105",
                    f"<Error> after <{target!s}> is the legacy sibling form",
                    f"move the <Error> inside <{target!s}>",
                )
        if name == "To" and (el.text or "").strip().startswith("sip:"):
            self.add(
                el, "CF106", "<To> with a 'sip:' prefix is a variant form", "drop the 'sip:' prefix"
            )
        has_error = name in ("Say", "Play") and any(child.tag == "Error" for child in el)
        if name == "Play" and el.get("url") is not None and not has_error:
            self.add(
                el,
                "CF107",
                "<Play url=...> is a variant form",
                "write the URL as the element's text",
            )
        if name == "Tone" and "x" in (el.get("hz") or "").lower():
            self.add(
                el,
                "CF108",
                "'x' repeat notation in <Tone hz> is a legacy form",
                f'write hz="{_expand_repeats(el.get("hz") or "")}"',
            )
        if name in ("Say", "Play") and has_error and "".join(_text_parts(el)).strip():
            attribute = "text" if name == "Say" else "url"
            self.add(
                el,
                "CF109",
                f"<{name}> text next to an <Error> child (§7 #11)",
                f"move the text into the '{attribute}' attribute",
            )

    # -- CF5xx attributes -------------------------------------------------------------------

    def attributes(self, el: etree._Element) -> None:
        name = str(el.tag)
        cls = CLASSES.get(name)
        if cls is None:
            return
        if not el.attrib:
            return
        known = _known_attributes(name)
        for attribute in el.attrib:
            if attribute in known:
                continue
            if attribute == "tag" and name not in _TAG_ELEMENTS:
                self.add(
                    el,
                    "CF502",
                    f"<{name}> does not define 'tag'",
                    "remove it, or tag the command this element belongs to",
                )
            else:
                self.add(
                    el,
                    "CF501",
                    f"<{name}> has an unknown attribute '{attribute!s}'",
                    "remove it (Opentact ignores it) or check its spelling",
                )

    # -- CF2xx reachability -----------------------------------------------------------------

    def block(self, el: etree._Element) -> None:
        children = _elements(el)
        for index, child in enumerate(children):
            reason = self._ends(child)
            if reason is None:
                continue
            rest = [c for c in children[index + 1 :] if c.tag != "Error"]
            if not rest:
                break
            code, why = reason
            self.add(
                rest[0],
                code,
                f"<{rest[0].tag!s}> can never run: {why}",
                "remove it, or move it before the command that ends this part",
            )
            break

    @staticmethod
    def _ends(el: etree._Element) -> tuple[str, str] | None:
        if el.tag == "Hangup":
            return "CF201", "the call hangs up before it (D20)"
        if el.tag in ("Callback", "callback"):
            return "CF202", "the <Callback> before it replaces the rest of the document (D8)"
        if el.tag == "Gather" and canonical_attribute(el, "url"):
            return "CF203", "the url <Gather> before it replaces the rest of the document (D6)"
        return None

    # -- CF3xx Gather -----------------------------------------------------------------------

    def gather(self, el: etree._Element) -> None:
        children = _elements(el)
        branches = [c for c in children if c.tag == "DTMF"]
        switches = [c for c in children if c.tag == "Switch"]
        cases = [c for s in switches for c in _elements(s) if c.tag == "Case"]
        url = canonical_attribute(el, "url")
        if url and (branches or cases):
            self.add(
                el,
                "CF301",
                "<Gather> has a url and branches: the url wins, the branches never run (§7 #5)",
                "drop the branches, or the url",
            )
        if branches and switches:
            self.add(
                el,
                "CF304",
                "<Gather> mixes <DTMF> and <Switch> branches",
                "keep only DTMF branches",
            )
        length_text = canonical_attribute(el, "dtmf_length")
        length = int(length_text) if length_text else DEFAULT_DTMF_LENGTH
        stop = canonical_attribute(el, "dtmf_stop")
        for branch in branches + cases:
            value = branch.get("value") if branch.tag == "DTMF" else branch.get("dtmf")
            if value is None:
                continue
            if len(value) > length:
                default = "" if length_text else " (the default, §7 #2)"
                self.add(
                    branch,
                    "CF302",
                    f"value '{value}' is longer than dtmf_length "
                    f"{length}{default}: it can never be collected",
                    f'set dtmf_length="{len(value)}" on the Gather',
                )
            if stop and stop in value:
                self.add(
                    branch,
                    "CF303",
                    f"value '{value}' contains the stop key '{stop}': it can never be collected",
                    "drop the key or change dtmf_stop",
                )
        has_default = any(c.tag == "Default" for c in children) or any(
            c.tag == "Default" for s in switches for c in _elements(s)
        )
        if (branches or cases) and not has_default and not url:
            self.add(
                el,
                "CF305",
                "<Gather> has branches but no <Default>: unmatched keys "
                "continue silently after the Gather",
                "add a <Default> that says so",
                "info",
            )
        if not any(c.tag in ("Say", "Play", "Pause") for c in children):
            self.add(
                el,
                "CF306",
                "<Gather> has no prompt: the caller hears nothing while digits are collected",
                "add a <Say> or <Play> filler",
                "info",
            )

    # -- CF4xx Meta -------------------------------------------------------------------------

    def metas(self) -> None:
        seen: set[tuple[etree._Element | None, str]] = set()
        for el in self.tree.iter("Meta"):
            meta_name = el.get("name") or ""
            if meta_name in REQUEST_PARAMETERS:
                self.add(
                    el,
                    "CF401",
                    f'<Meta name="{meta_name}"> clashes with the request '
                    "parameter of the same name, which wins (§7 #16)",
                    "rename the variable",
                )
            key = (el.getparent(), meta_name)
            if key in seen:
                self.add(
                    el,
                    "CF402",
                    f'<Meta name="{meta_name}"> is set twice in one block',
                    "remove the earlier one",
                    "info",
                )
            seen.add(key)

    # -- CF6xx other ------------------------------------------------------------------------

    def other(self, el: etree._Element) -> None:
        name = str(el.tag)
        record = el.get("record")
        if name == "Play" and record is not None and record not in self.record_tags:
            self.add(
                el,
                "CF601",
                f'<Play record="{record}"> names no <Record> or <RecordStart> of this document',
                "check the tag (it may come from an earlier document)",
                "info",
            )
        if name == "Record" and el.get("timeout") is None and not _elements(el):
            self.add(
                el,
                "CF602",
                "<Record> with no timeout and no children ends only when "
                "the caller hangs up (§7 #8)",
                'set timeout="60000" or nest a <Pause dtmf_stop="#">',
            )
        urls = [canonical_attribute(el, "url")] if name != "callback" else []
        if name == "Play":
            urls.append("".join(_text_parts(el)).strip())
        for value in urls:
            if value is not None and value.startswith("/"):
                self.add(
                    el,
                    "CF603",
                    f"path-only URL '{value}' only works when callflow "
                    "serves the document (it resolves it against the request)",
                    "use an absolute https:// URL in hosted documents",
                    "info",
                )
        if name in ("Call", "Geo", "Schedule") and not _elements(el):
            self.add(
                el,
                "CF604",
                f"<{name}> filter has no children: it does nothing",
                "add the commands to run on a match, or remove it",
            )
        if name == "Dial":
            targets = [
                (c.text or "").strip().removeprefix("sip:")
                for c in _elements(el)
                if c.tag in ("To", "Sip")
            ]
            for target in [t for t, n in Counter(targets).items() if n > 1]:
                self.add(
                    el, "CF605", f"<Dial> rings '{target}' twice", "remove the duplicate target"
                )


def codes() -> Iterator[str]:
    """Yield every finding code ``lint`` may report (for documentation and tests)."""
    yield "CF001"
    yield from (f"CF10{i}" for i in range(1, 10))
    yield from ("CF201", "CF202", "CF203")
    yield from (f"CF30{i}" for i in range(1, 7))
    yield from ("CF401", "CF402", "CF501", "CF502")
    yield from (f"CF60{i}" for i in range(1, 6))
