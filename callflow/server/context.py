"""What a flow knows about the call: :class:`CallContext`, read from Opentact's request.

Opentact calls with GET query strings, POST JSON (the call object, spec §6.1) or, through
proxies, form bodies; every form carries the parameters of D9. Malformed input raises
:class:`BadRequest` with a precise 4xx status and a plain message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from callflow.dialect.phone_numbers import to_e164

if TYPE_CHECKING:
    from starlette.requests import Request

    from callflow.server.templates import Rendered

KNOWN: Final = frozenset(
    ("from", "to", "tn", "state", "sca", "call", "dtmf", "code", "success", "attempts", "tag")
)
"""Parameters Opentact appends (D9); every other parameter goes to ``meta``."""

_KEYS = re.compile(r"[0-9*#]*")


class BadRequest(Exception):
    """A request callflow cannot read; ``status`` is the 4xx to answer with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status} {message}")


@dataclass
class CallParams:
    """The raw parameters of one request, before numbers are normalised."""

    values: dict[str, str] = field(default_factory=dict)
    call_object: dict[str, Any] | None = None


def merge_pairs(params: CallParams, pairs: Iterable[tuple[str, str]]) -> None:
    """Add query or form pairs; a later value wins (Opentact appends after the URL's own)."""
    for key, value in pairs:
        params.values[key] = value


def _scalar(name: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(400, f"'{name}' must be a string or a number")
    return str(value)


def merge_call_object(params: CallParams, body: object) -> None:
    """Take the D9 parameters out of a JSON call object (§6.1); the raw object is kept."""
    if not isinstance(body, dict):
        raise BadRequest(400, "the JSON body must be an object (the call object)")
    call = body
    if "uuid" not in body and isinstance(body.get("call"), dict):
        call = body["call"]  # an event-shaped body carrying the call object
    params.call_object = call
    values = params.values
    for key in ("from", "to", "state", "direction"):
        if call.get(key) is not None:
            values.setdefault(key, _scalar(key, call[key]))
    if call.get("uuid") is not None:
        values.setdefault("call", _scalar("uuid", call["uuid"]))
    tn = call.get("tn")
    if isinstance(tn, dict):
        tn = tn.get("tn")
    if tn is not None:
        values.setdefault("tn", _scalar("tn", tn))
    app = call.get("sip_control_app", call.get("sipcontrol_app"))  # both spellings (§6.4)
    if isinstance(app, dict):
        app = app.get("uuid")
    if app is not None:
        values.setdefault("sca", _scalar("sip_control_app", app))


def parse_json(data: bytes) -> object:
    """Decode a JSON body or raise :class:`BadRequest`."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise BadRequest(400, "the request body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        raise BadRequest(400, f"the request body is not valid JSON: {exc}") from exc


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(400, f"'{name}' must be true or false, not {raw!r}")


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise BadRequest(400, f"'{name}' must be an integer, not {raw!r}") from None


def _digits(name: str, raw: str) -> str:
    value = raw.strip()
    if _KEYS.fullmatch(value) is None:
        raise BadRequest(400, f"'{name}' must hold only the keys 0-9 * #, not {raw!r}")
    return value


class CallContext:
    """Everything a flow may read about the call, plus helpers for the next step.

    Numbers (``from_``, ``to``, ``tn``) are E.164 when they parse as phone numbers, otherwise
    the raw text (SIP user names); the raw strings stay in ``from_raw``, ``to_raw``,
    ``tn_raw``. ``state`` is the verified state sent with :meth:`url_for`; the call state of
    D9 (``live``...) is ``call_state``.
    """

    def __init__(
        self,
        params: CallParams,
        *,
        region: str = "US",
        state: Any = None,
        session: dict[str, Any] | None = None,
        session_error: Exception | None = None,
        flow: str = "",
        request: Request | None = None,
        url_for: Callable[..., str] | None = None,
        render_template: Callable[..., Rendered] | None = None,
    ) -> None:
        values = params.values
        self.from_raw: str | None = values.get("from")
        self.to_raw: str | None = values.get("to")
        self.tn_raw: str | None = values.get("tn")
        self.from_ = _number(self.from_raw, region)
        self.to = _number(self.to_raw, region)
        self.tn = _number(self.tn_raw, region)
        self.uuid: str | None = values.get("call")
        self.sca: str | None = values.get("sca")
        self.call_state: str | None = values.get("state")
        self.direction: str | None = values.get("direction")
        self.tag: str | None = values.get("tag")
        self.code: str | None = _digits("code", values["code"]) if "code" in values else None
        self.success = _bool("success", values["success"]) if "success" in values else None
        self.attempts = _int("attempts", values["attempts"]) if "attempts" in values else None
        dtmf = _digits("dtmf", values["dtmf"]) if "dtmf" in values else None
        self.digits: str | None = dtmf if dtmf is not None else self.code
        self.meta: dict[str, str] = {
            k: v for k, v in values.items() if k not in KNOWN and k != "direction"
        }
        self.call_object: dict[str, Any] | None = params.call_object
        self.state: Any = state
        self._session: dict[str, Any] = {} if session is None else session
        self._session_error = session_error
        self.flow = flow
        self.request = request
        self._url_for = url_for
        self._render_template = render_template

    @property
    def session(self) -> dict[str, Any]:
        """A dict kept between the steps of this call (JSON values, saved after the flow).

        Raises :class:`~callflow.SessionStoreError` when the session store could not be read:
        the flow then gets the fallback document (flows that never touch it are unaffected).
        """
        if self._session_error is not None:
            raise self._session_error
        return self._session

    @session.setter
    def session(self, value: dict[str, Any]) -> None:
        if self._session_error is not None:
            raise self._session_error
        self._session = value

    @property
    def called(self) -> str | None:
        """The number that was called: ``to``, else ``tn``."""
        return self.to or self.tn

    def url_for(self, name: str, *, state: Any = None, **query: str | int) -> str:
        """Return the absolute URL of the flow ``name``, for ``Gather(url=...)`` or
        ``Callback(url=...)``; ``state`` travels signed and comes back as ``call.state``."""
        if self._url_for is None:
            raise RuntimeError("url_for needs a CallContext created by callflow.App")
        return self._url_for(name, state=state, **query)

    def render_template(self, name: str, /, **context: Any) -> Rendered:
        """Render the Jinja2 template ``name`` with ``call`` and ``context``; the result is
        validated before it is returned."""
        if self._render_template is None:
            raise RuntimeError("render_template needs a CallContext created by callflow.App")
        return self._render_template(name, call=self, **context)

    def __repr__(self) -> str:
        return (
            f"CallContext(from_={self.from_!r}, to={self.to!r}, uuid={self.uuid!r}, "
            f"flow={self.flow!r}, digits={self.digits!r})"
        )

    @classmethod
    def make(
        cls,
        *,
        from_: str | None = None,
        to: str | None = None,
        digits: str | None = None,
        uuid: str | None = None,
        state: Any = None,
        session: dict[str, Any] | None = None,
        meta: Mapping[str, str] | None = None,
        app: Any = None,
        **params: str,
    ) -> CallContext:
        """Build a context by hand, to call a flow function directly in a unit test.

        With ``app`` (a callflow ``App``) the context is the one that App would give the
        flow: numbers are read in its ``default_region``, :meth:`url_for` builds its links
        (from its ``base_url``, else ``http://testserver``) and :meth:`render_template` uses
        its templates.
        """
        given = {"from": from_, "to": to, "dtmf": digits, "call": uuid}
        merged = {k: v for k, v in given.items() if v is not None}
        merged.update(params)
        merged.update(meta or {})
        if app is None:
            return cls(CallParams(merged), state=state, session=session)
        # The App is taken as it comes: importing callflow.server.app here would be a cycle.
        templates = app.templates
        return cls(
            CallParams(merged),
            region=app.settings.default_region,
            state=state,
            session=session,
            url_for=app.url_builder(dict(merged)),
            render_template=templates.render if templates is not None else None,
        )


def _number(raw: str | None, region: str) -> str | None:
    if raw is None:
        return None
    return to_e164(raw, region) or raw.strip()
