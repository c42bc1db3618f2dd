"""An App whose configuration is wrong: ``callflow serve`` must refuse it in one line."""

from __future__ import annotations

from callflow import App

app = App(time_zone="Mars/Olympus")
