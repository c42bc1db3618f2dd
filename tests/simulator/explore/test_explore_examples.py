"""The demo App and every example explore clean (with the inputs a flow checks and
exploration cannot guess), and the picture of the demo's map in the docs is current."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from lxml import etree

import flows
from callflow.testing import Exploration, assert_clean, explore

ROOT = Path(__file__).resolve().parents[3]
PICTURE = ROOT / "docs" / "images" / "explore-demo.svg"
SVG = "{http://www.w3.org/2000/svg}"

HINTS: dict[str, dict[str, list[str]]] = {
    "account": {"codes": ["2468"]},  # Jordan's PIN, the default caller's
    "language": {},
    "hello": {},
    "reminder": {"numbers": ["+15550100123"]},  # a patient with an appointment
    "restaurant": {"codes": ["1930"]},  # a seating time
    "voicemail": {},
}


def test_every_example_is_listed() -> None:
    found = {path.stem for path in (ROOT / "examples").glob("*.py")} - {"__init__"}
    assert found == set(HINTS)


@pytest.mark.parametrize("name", sorted(HINTS))
def test_every_example_explores_clean(name: str) -> None:
    module = importlib.import_module(f"examples.{name}")
    exploration = explore(module.app, **HINTS[name])  # type: ignore[arg-type]
    assert_clean(exploration)
    reached = {node.path for node in exploration.nodes if node.kind == "flow"}
    assert reached == {flow.path for flow in module.app.flows}


def test_the_demo_explores_clean() -> None:
    exploration = explore(flows.app)
    assert_clean(exploration)
    assert {node.path for node in exploration.nodes if node.kind in ("flow", "document")} == {
        "/",
        "/account/prompt",
        "/account",
        "/documents/hours.xml",
    }


def test_assert_clean_fails_with_the_map_and_the_findings() -> None:
    import explore_apps

    exploration: Exploration = explore(explore_apps.trap)
    with pytest.raises(AssertionError) as raised:
        assert_clean(exploration)
    assert "the exploration found 1 problem:" in str(raised.value)
    assert "CF704 hold (/hold)" in str(raised.value)


def test_the_picture_of_the_demo_is_current() -> None:
    """docs/images/explore-demo.svg is the demo's map; when the demo changes, redraw it with
    ``callflow explore flows:app --format svg -o docs/images/explore-demo.svg``."""
    exploration = explore(flows.app)
    root = etree.parse(str(PICTURE)).getroot()
    drawn = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node":
            drawn[group.get("id")] = " ".join(t.text or "" for t in group.iter(f"{SVG}text"))
    wanted = {
        f"cf-{node.id}": " ".join(
            filter(None, (node.label, node.path if node.path != node.label else ""))
        )
        for node in exploration.nodes
    }
    assert drawn == wanted, "redraw: callflow explore flows:app --format svg -o " + str(PICTURE)
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == len({(e.source, e.target, e.kind) for e in exploration.edges})
