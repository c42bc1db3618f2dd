"""Compile generated code so that tracebacks, pdb and ``inspect.getsource`` show it.

The dialect generates two kinds of function: every element class's ``__init__``
(:mod:`callflow.dialect.elements.constructors`) and every prepared document's renderer
(:mod:`callflow.dialect.prepared`). Their source is registered with :mod:`linecache` under
a descriptive file name, ``<callflow generated __init__ of Gather>``, as attrs' ``_make.py``
does, so a failing check inside one shows its line like any other code.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable
from typing import Any


def _register(source: str, filename: str) -> str:
    """Register ``source`` with linecache under ``filename`` (``<...>``) and return the name
    used: a name already registered with other source gets a number (``<... -2>``), and the
    same source the same name again, so linecache holds each distinct source once."""
    lines = source.splitlines(keepends=True)
    unique = filename
    number = 1
    while True:
        entry = (len(source), None, lines, unique)  # mtime None: checkcache leaves it
        if linecache.cache.setdefault(unique, entry) == entry:
            return unique
        number += 1
        unique = f"{filename[:-1]} -{number}>"


def compile_function(
    source: str, name: str, filename: str, namespace: dict[str, Any], module: str
) -> Callable[..., Any]:
    """Run ``source``, which defines the function ``name``, in ``namespace``; return it.

    ``filename`` (``<...>``) names the source in tracebacks (see :func:`_register`).
    ``module`` becomes the function's ``__module__``, where ``inspect`` looks for it.
    """
    if not source.endswith("\n"):
        source += "\n"
    unique = _register(source, filename)
    namespace["__name__"] = module
    exec(compile(source, unique, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function
