"""The benchmarks run (with tiny counts) so that they never rot; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_quickly(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(out.read_text())
    assert set(results) >= {
        "render",
        "validate",
        "http",
        "protocol",
        "scale",
        "simulator",
        "memory",
    }
    assert all(pair["errors"] == 0 for pair in results["scale"].values())
    assert results["protocol"]["summary"]["errors"] == 0
    for document in ("small", "ivr", "large"):
        names = [figure["name"] for figure in results["render"][document]]
        assert names[0] == "f-string floor"
        assert "callflow build+render" in names
    ivr_names = [figure["name"] for figure in results["render"]["ivr"]]
    assert "callflow prepared (3 slots)" in ivr_names
    assert results["http"]["summary"]["errors"] == 0
    assert "(a) render: ivr document" in completed.stdout
