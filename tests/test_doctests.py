"""The examples in public docstrings run and show what they claim."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import callflow

# The __main__ modules run the command line when imported (``python -m callflow``).
MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(callflow.__path__, prefix="callflow.")
    if not name.endswith(".__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
