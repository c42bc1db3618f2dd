"""Reading the server's XML replies in tests: what the caller hears, how the call ends."""

from __future__ import annotations

from lxml import etree

FALLBACK_TAG = "callflow-fallback"
"""The tag of the default fallback document's Hangup."""


def said(root: etree._Element) -> list[str]:
    """The texts of every ``<Say>`` of a parsed document, in order."""
    return [str(element.text) for element in root.iter("Say")]


def hangup_tag(root: etree._Element) -> str | None:
    """The tag of the document's top-level ``<Hangup>`` (None without one, or untagged)."""
    hangup = root.find("Hangup")
    return None if hangup is None else hangup.get("tag")
