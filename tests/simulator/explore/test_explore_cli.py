"""``callflow explore`` as a real subprocess: exit 0 clean, 1 findings, 2 usage (a bad APP,
a bad option, no Graphviz for ``--format svg``), and the file ``-o`` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
APPS = "tests.simulator.explore.explore_apps"


def callflow(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("callflow")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "callflow"]
    return subprocess.run(
        [*command, "explore", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def test_a_clean_app_exits_0() -> None:
    result = callflow(f"{APPS}:clean")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1].startswith("clean: 2 steps")


def test_findings_exit_1_with_their_command_lines() -> None:
    result = callflow(f"{APPS}:trap", "--format", "json")
    assert (result.returncode, result.stderr) == (1, "")
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["code"] == "CF704"
    assert finding["reproduce"].startswith(f"callflow simulate {APPS}:trap ")


def test_hints_reach_what_exploration_cannot_guess() -> None:
    assert callflow("examples.reminder:app").returncode == 1
    assert callflow("examples.reminder:app", "--to", "+15550100123").returncode == 0
    assert callflow("examples.account:app", "--code", "2468").returncode == 0


def test_usage_errors_exit_2() -> None:
    missing = callflow("tests.no_such_module:app")
    assert missing.returncode == 2
    assert missing.stderr.startswith("callflow: ") and "cannot import" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert callflow(f"{APPS}:clean", "--max-steps", "0").returncode == 2
    assert callflow(f"{APPS}:clean", "--code", "12a").returncode == 2


def test_svg_without_graphviz_exits_2_in_one_line() -> None:
    env = {**os.environ, "PATH": ""}
    result = callflow(f"{APPS}:clean", "--format", "svg", env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "callflow: Graphviz's dot program was not found on PATH: install it (Debian: apt-get "
        "install graphviz) to draw SVG, or write --format dot"
    ]


def test_output_goes_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "map.svg"
    result = callflow(f"{APPS}:clean", "--format", "svg", "-o", str(target))
    assert (result.returncode, result.stdout) == (0, "")
    assert 'id="cf&#45;n1"' in target.read_text()
