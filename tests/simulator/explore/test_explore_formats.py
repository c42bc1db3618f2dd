"""The formats of an exploration: JSON parses, dot is read by Graphviz's ``dot``, the SVG is
XML whose node groups carry ``cf-<node id>``, Mermaid follows the flowchart grammar, and
without ``dot`` the SVG is refused in one clear message."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from lxml import etree

import flows
from callflow.simulator.explore import Exploration, explore
from callflow.simulator.explore.formats import GraphvizMissing

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo() -> Exploration:
    return explore(flows.app)


@pytest.fixture(scope="module")
def broken() -> Exploration:
    import explore_apps

    return explore(explore_apps.unreachable)


def test_json_is_the_exploration(demo: Exploration) -> None:
    data = json.loads(demo.render("json"))
    assert data == json.loads(json.dumps(demo.to_dict()))
    assert data["clean"] is True and data["complete"] is True
    assert [node["id"] for node in data["nodes"]] == [node.id for node in demo.nodes]
    assert {"source", "target", "label", "kind"} == set(data["edges"][0])


def test_json_findings_have_a_code_a_message_a_node_and_a_fix(broken: Exploration) -> None:
    findings = json.loads(broken.render("json"))["findings"]
    assert [finding["code"] for finding in findings] == ["CF705", "CF705"]
    assert set(findings[0]) == {"code", "message", "node", "reproduce", "fix"}


def test_text_is_the_tree_then_the_findings(broken: Exploration) -> None:
    text = broken.render("text")
    assert text.splitlines()[0] == "call to +15550100200"
    assert "`- main (/) !" in text
    assert "|- press 1 -> hangup (one)" in text
    assert "CF705 orphan (/orphan): no explored call reaches the flow 'orphan'" in text


def test_dot_is_read_by_graphviz(demo: Exploration) -> None:
    source = demo.render("dot")
    for node in demo.nodes:
        assert f'{node.id} [id="cf-{node.id}"' in source
    result = subprocess.run(
        ["dot", "-Tplain"], input=source.encode(), capture_output=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, b"")
    drawn = {
        line.split()[1] for line in result.stdout.decode().splitlines() if line.startswith("node ")
    }
    assert drawn == {node.id for node in demo.nodes}


def test_svg_groups_carry_the_node_ids(demo: Exploration) -> None:
    root = etree.fromstring(demo.render("svg").encode())
    assert root.tag == f"{SVG}svg"
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    assert set(groups) == {f"cf-{node.id}" for node in demo.nodes}
    said = " ".join(t.text or "" for t in groups["cf-n1"].iter(f"{SVG}text"))
    assert demo.node("n1").label in said


_MERMAID_NODE = re.compile(
    r'^    (n\d+)(\(\["|\["|\[\["|\{\{"|\(\(")([^"]*)("\]\)|"\]|"\]\]|"\}\}|"\)\))$'
)
_MERMAID_EDGE = re.compile(r'^    (n\d+) (-->|-\.->)(\|"[^"]*"\|)? (n\d+)$')
_SHAPES = {'(["': '"])', '["': '"]', '[["': '"]]', '{{"': '"}}', '(("': '"))'}


def test_mermaid_is_a_flowchart(demo: Exploration, broken: Exploration) -> None:
    for exploration in (demo, broken):
        lines = exploration.render("mermaid").splitlines()
        assert lines[0] == "flowchart TD"
        defined: set[str] = set()
        for line in lines[1:]:
            node, edge = _MERMAID_NODE.match(line), _MERMAID_EDGE.match(line)
            if node:
                assert _SHAPES[node.group(2)] == node.group(4), line
                defined.add(node.group(1))
            elif edge:
                assert {edge.group(1), edge.group(4)} <= defined, line
            else:
                assert re.fullmatch(r"    (classDef finding .+|class (n\d+,?)+ finding)", line)
        assert defined == {node.id for node in exploration.nodes}
    assert "class n1,n5 finding" in broken.render("mermaid")


def test_svg_without_graphviz_is_one_clear_error(
    demo: Exploration, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert shutil.which("dot") is not None
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizMissing, match=r"^Graphviz's dot program was not found on PATH"):
        demo.render("svg")


def test_an_unknown_format_is_refused(demo: Exploration) -> None:
    with pytest.raises(ValueError, match="unknown format 'png'"):
        demo.render("png")  # type: ignore[arg-type]
