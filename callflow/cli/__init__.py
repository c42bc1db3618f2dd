"""The ``callflow`` command line: validate, lint, serve, simulate."""

from callflow.cli.command import main as main

__all__ = ["main"]
