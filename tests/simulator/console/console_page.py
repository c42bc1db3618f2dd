"""A test's stand-in for the console page: places a call through the JSON API and reads its
events the way the page's script does (long polls)."""

from __future__ import annotations

from typing import Any

import httpx2

API = "/_console/api"
MAX_POLLS = 200
"""Polls one wait may make before the test fails (each answers within POLL_WAIT_S)."""
QUIET_POLLS = 3
"""Polls in a row that bring nothing new before the test fails: the call is stuck."""


class Page:
    """One console call, driven through ``http`` (a TestClient or an httpx Client)."""

    def __init__(self, http: httpx2.Client) -> None:
        self.http = http
        self.id = ""
        self.next = 0
        self.state = ""
        self.events: list[dict[str, Any]] = []

    def call(self, **form: str) -> dict[str, Any]:
        """Place the call (``from_`` is sent as ``from``); return the reply's JSON."""
        if "from_" in form:
            form["from"] = form.pop("from_")
        reply = self.http.post(f"{API}/calls", json=form)
        assert reply.status_code == 201, reply.text
        data: dict[str, Any] = reply.json()
        self.id = data["id"]
        return data

    def until(self, *states: str) -> str:
        """Poll until the call is in one of ``states`` (and every event so far is read)."""
        quiet = 0
        for _ in range(MAX_POLLS):
            reply = self.http.get(f"{API}/calls/{self.id}/events", params={"after": self.next})
            assert reply.status_code == 200, reply.text
            data = reply.json()
            self.events.extend(data["events"])
            self.next = data["next"]
            self.state = data["state"]
            assert [e["seq"] for e in self.events] == list(range(self.next))
            if self.state in states:
                return self.state
            if data["ended"]:
                assert "ended" in states, f"the call ended: {self.transcript()}"
                return self.state
            quiet = 0 if data["events"] else quiet + 1
            if quiet == QUIET_POLLS:  # nothing new for that long: the call is stuck
                raise AssertionError(f"the call waits in {self.state}: {self.transcript()}")
        raise AssertionError(f"the call never reached {states}: {self.transcript()}")

    def act(self, action: str, expect: int = 200, **body: str) -> dict[str, Any]:
        """POST ``action`` (``keys``, ``no-input``, ``dial``, ``hangup``) with ``body``."""
        reply = self.http.post(f"{API}/calls/{self.id}/{action}", json=body)
        assert reply.status_code == expect, reply.text
        data: dict[str, Any] = reply.json()
        return data

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The events of ``kind`` (``trace``, ``document``, ``listen``, ``ring``...)."""
        return [event for event in self.events if event["kind"] == kind]

    def heard(self) -> list[str]:
        """The Say texts, in order."""
        return [e["event"]["text"] for e in self.of("trace") if e["type"] == "say"]

    def transcript(self) -> str:
        return "\n".join(str(e.get("text", e)) for e in self.events)
