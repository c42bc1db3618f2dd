"""The exploration findings table of docs/validation.md lists exactly the codes explore has."""

from __future__ import annotations

import re
from pathlib import Path

from callflow.simulator.explore.codes import CODES

VALIDATION_DOC = Path(__file__).parents[3] / "docs" / "validation.md"
_ROW = re.compile(r"^\| (CF7\d\d) \| ([a-z-]+) \|", re.MULTILINE)


def test_every_code_is_documented_with_its_name() -> None:
    text = VALIDATION_DOC.read_text(encoding="utf-8").partition("### Exploration findings")[2]
    documented = dict(_ROW.findall(text))
    assert documented == {code: info.name for code, info in CODES.items()}
