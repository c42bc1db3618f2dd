"""An App whose templates directory does not exist: ``callflow serve`` must refuse it in
one line."""

from __future__ import annotations

from pathlib import Path

from callflow import App

app = App(templates=Path(__file__).parent / "no-such-templates")
