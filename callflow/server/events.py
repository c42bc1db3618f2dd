"""Opentact's event webhook payloads (spec §6) as typed objects.

Both spellings of §6.4 are read: payload-first (``payload.uuid``, ``payload.sipcontrol_app``)
and call-first (``call``, ``sip_control_app``); states are lower-cased (``Live`` -> ``live``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """An event of any type; ``raw`` keeps the whole payload as received."""

    type: str
    uuid: str | None = None
    created_on: str | None = None
    message: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    call: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def call_uuid(self) -> str | None:
        """The uuid of the call the event is about."""
        value = (self.call or {}).get("uuid")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class CallStateEvent(Event):
    """``call_state``: the call was initiated, rang, went live, hung up or was destroyed."""

    state: str | None = None
    duration: Any = None
    """Passed through raw: its unit differs between documents (§7 #21)."""


@dataclass(frozen=True, slots=True)
class CallFlowEvent(Event):
    """``call_flow``: one executed command, with its outcome."""

    command: str | None = None
    success: bool | None = None
    reason: str | None = None
    path: str | None = None
    tag: str | None = None
    timestamp: str | None = None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def parse_event(body: dict[str, Any]) -> Event:
    """Build the typed event for a decoded JSON object."""
    payload = body.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    call = body.get("call", payload.get("call"))
    if not isinstance(call, dict):
        call = payload if "direction" in payload or "from" in payload else None
    kind = body.get("type")
    if not isinstance(kind, str):
        kind = "call_flow" if "command" in body else "call_state" if "state" in payload else ""
    common: dict[str, Any] = {
        "type": kind,
        "uuid": _text(body.get("uuid")),
        "created_on": _text(body.get("created_on")),
        "message": _text(body.get("message")),
        "payload": payload,
        "call": call,
        "raw": body,
    }
    if kind == "call_state":
        state = payload.get("state", (call or {}).get("state"))
        return CallStateEvent(
            **common,
            state=str(state).lower() if state is not None else None,
            duration=payload.get("duration"),
        )
    if kind == "call_flow":
        command = payload.get("command")
        command = command if isinstance(command, dict) else {}
        success = body.get("success", command.get("success"))
        return CallFlowEvent(
            **common,
            command=_text(body.get("command", command.get("name"))),
            success=success if isinstance(success, bool) else None,
            reason=_text(command.get("reason")),
            path=_text(command.get("path")),
            tag=_text(command.get("tag")),
            timestamp=_text(body.get("timestamp")),
        )
    return Event(**common)
