"""The examples in public docstrings run and show what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import callflow

# callflow.__main__ runs the command line when imported (``python -m callflow``).
MODULES = sorted(
    name
    for _, name, _ in pkgutil.iter_modules(callflow.__path__, prefix="callflow.")
    if name != "callflow.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
