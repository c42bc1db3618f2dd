"""What a flow knows about the call: :class:`CallContext`, read from Opentact's request
(see :mod:`callflow.server.request` for the reading), plus helpers for the next step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from callflow.dialect.linting import REQUEST_PARAMETERS
from callflow.dialect.phone_numbers import to_e164
from callflow.server.request import CallParams, parse_count, parse_flag, parse_keys

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from callflow.server.app import App
    from callflow.server.templates import Rendered


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
        self._values = values
        self._region = region
        self.from_raw: str | None = values.get("from")
        self.to_raw: str | None = values.get("to")
        self.tn_raw: str | None = values.get("tn")
        # Read when first asked (most flows never read them): see the properties.
        self._from: str | _Unread | None = _UNREAD
        self._to: str | _Unread | None = _UNREAD
        self._tn: str | _Unread | None = _UNREAD
        self._meta: dict[str, str] | None = None
        self.uuid: str | None = values.get("call")
        self.sca: str | None = values.get("sca")
        self.call_state: str | None = values.get("state")
        self.direction: str | None = values.get("direction")
        self.tag: str | None = values.get("tag")
        self.code = parse_keys("code", values["code"]) if "code" in values else None
        self.success = parse_flag("success", values["success"]) if "success" in values else None
        self.attempts = (
            parse_count("attempts", values["attempts"]) if "attempts" in values else None
        )
        dtmf = parse_keys("dtmf", values["dtmf"]) if "dtmf" in values else None
        self.digits: str | None = dtmf if dtmf is not None else self.code
        self.call_object: dict[str, Any] | None = params.call_object
        self.state: Any = state
        self._session: dict[str, Any] = {} if session is None else session
        self._session_error = session_error
        self.flow = flow
        self._request = request
        self._asgi: tuple[Scope, Receive, bytes | None] | None = None
        """The request's ASGI scope, receive channel and the body read from it, for
        :attr:`request` when asked."""
        self._url_for = url_for
        self._render_template = render_template

    @property
    def from_(self) -> str | None:
        """The caller's number (``from``): E.164 when it parses as one, else the raw text."""
        if isinstance(self._from, _Unread):
            self._from = _number(self.from_raw, self._region)
        return self._from

    @from_.setter
    def from_(self, value: str | None) -> None:
        self._from = value

    @property
    def to(self) -> str | None:
        """The called number (``to``): E.164 when it parses as one, else the raw text."""
        if isinstance(self._to, _Unread):
            self._to = _number(self.to_raw, self._region)
        return self._to

    @to.setter
    def to(self, value: str | None) -> None:
        self._to = value

    @property
    def tn(self) -> str | None:
        """The number of the Opentact line (``tn``): E.164 when it parses, else raw."""
        if isinstance(self._tn, _Unread):
            self._tn = _number(self.tn_raw, self._region)
        return self._tn

    @tn.setter
    def tn(self, value: str | None) -> None:
        self._tn = value

    @property
    def meta(self) -> dict[str, str]:
        """The parameters that are not Opentact's own: what the flow's own URLs carried."""
        if self._meta is None:
            self._meta = {
                k: v
                for k, v in self._values.items()
                if k not in REQUEST_PARAMETERS and k != "direction"
            }
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, str]) -> None:
        self._meta = value

    @property
    def request(self) -> Request | None:
        """The Starlette request the App answers (None for a context made by hand); made
        when first read, so flows that never read it do not pay for it."""
        if self._request is None and self._asgi is not None:
            scope, receive, body = self._asgi
            request = Request(scope, receive)
            if body is not None:
                request._body = body  # read already: body(), json() and form() return it
            self._request = request
        return self._request

    @request.setter
    def request(self, value: Request | None) -> None:
        self._request = value

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
        app: App | None = None,
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
        templates = app.templates
        return cls(
            CallParams(merged),
            region=app.settings.default_region,
            state=state,
            session=session,
            url_for=app.url_builder(dict(merged)),
            render_template=templates.render if templates is not None else None,
        )


class _Unread:
    """Marks a field not read from the parameters yet."""


_UNREAD = _Unread()


def _number(raw: str | None, region: str) -> str | None:
    if raw is None:
        return None
    return to_e164(raw, region) or raw.strip()
