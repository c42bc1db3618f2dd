"""The ``callflow`` command line: validate, lint, serve, simulate.

* ``command``: the parser, ``validate`` and ``lint``, exit codes, and :func:`main`;
* ``serve``: ``callflow serve``, an App under uvicorn;
* ``simulate``: ``callflow simulate``, its options and a scripted call; ``interactive``: the
  call with the user at the terminal as the caller; ``output``: how events are printed.

The top of the one-way dependencies, cli -> simulator -> server -> dialect: the command line
uses every wing and no wing imports it.
"""

from callflow.cli.command import main as main

__all__ = ["main"]
