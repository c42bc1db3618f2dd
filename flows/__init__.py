"""The default flows served by ``callflow serve`` (and ``make serve``)."""

from __future__ import annotations

from pathlib import Path

from callflow import App

from .support import router

HERE = Path(__file__).parent

app = App(templates=HERE.parent / "templates")
app.include(router)
app.documents(HERE / "documents", prefix="/documents")
