"""Signed, expiring ``state`` tokens carried in round-trip URLs (HMAC via itsdangerous)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from callflow.dialect.phone_numbers import to_e164
from callflow.exceptions import InvalidState

STATE_PARAM = "cf_state"
"""Query parameter of the token; Opentact appends its own ``state`` (the call state, D9)."""
SESSION_SCOPE = "(session)"
"""What a ``cf_session`` token is issued for (where a state token names a path)."""


class _CachedKeySigner(TimestampSigner):
    """itsdangerous derives the HMAC key from the secret on every call (and makes a new
    signer for every token); a secret's derived key never changes, so derive it once."""

    _derived: ClassVar[dict[tuple[bytes, bytes], bytes]] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        raw = self.secret_keys[-1] if secret_key is None else secret_key
        key = (raw.encode() if isinstance(raw, str) else raw, self.salt)
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(secret_key)
        return derived


class StateSigner:
    """Sign JSON-serialisable state for one target path; verify it within ``max_age_s``.

    ``secret`` signs; ``old_secrets`` still verify, so a key can be rotated without
    breaking calls in progress.
    """

    def __init__(
        self,
        secret: str,
        old_secrets: Sequence[str] = (),
        max_age_s: int = 3600,
        *,
        salt: str = "callflow.state",
        kind: str = "state",
    ):
        # itsdangerous signs with the last key and verifies with any of them; the salt keeps
        # tokens of one purpose (state, sessions) from passing for another.
        self._serializer = URLSafeTimedSerializer(
            [*old_secrets, secret], salt=salt, signer=_CachedKeySigner
        )
        self.max_age_s = max_age_s
        self.kind = kind
        """What the tokens carry (``state``, ``session``), as reasons name it."""

    def sign(
        self,
        state: Any,
        path: str,
        call: str | None = None,
        numbers: tuple[str | None, str | None] | None = None,
    ) -> str:
        """Return a token for ``state``, valid only on requests to ``path``; when ``call``
        is given, only for that call's requests; else, when ``numbers`` (caller, called)
        is given, only for requests between those two numbers.

        Tokens are signed, not encrypted: the state inside can be read by whoever holds
        the URL, so never put a secret in it.
        """
        payload: dict[str, Any] = {"p": path, "s": state}
        if call is not None:
            payload["c"] = call
        elif numbers is not None:
            payload["n"] = list(numbers)
        return str(self._serializer.dumps(payload))

    def verify(
        self,
        token: str,
        path: str,
        call: str | None = None,
        numbers: tuple[str | None, str | None] | None = None,
    ) -> Any:
        """Return the state of ``token``, or raise :class:`InvalidState` saying why."""
        try:
            payload = self._serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired as exc:
            raise InvalidState(self.kind, "expired") from exc
        except BadSignature as exc:
            raise InvalidState(self.kind, "signature is invalid") from exc
        if not isinstance(payload, dict) or payload.get("p") != path:
            raise InvalidState(self.kind, "was issued for another path")
        if "c" in payload and payload["c"] != call:
            raise InvalidState(self.kind, "was issued for another call")
        if "n" in payload and payload["n"] != list(numbers or (None, None)):
            raise InvalidState(self.kind, "was issued for another caller or called number")
        return payload.get("s")


def call_numbers(values: Mapping[str, str], region: str) -> tuple[str | None, str | None]:
    """The caller and called numbers of a request's parameters, in E.164 (raw when not a
    number): what a token minted without a call uuid is bound to."""
    caller = values.get("from")
    called = values.get("to") or values.get("tn")
    key = (caller, called, region)
    numbers = _NUMBERS.get(key)
    if numbers is None:
        numbers = (
            (to_e164(caller, region) or caller) if caller else None,
            (to_e164(called, region) or called) if called else None,
        )
        if len(_NUMBERS) >= NUMBERS_MEMO:
            _NUMBERS.pop(next(iter(_NUMBERS)))
        _NUMBERS[key] = numbers
    return numbers


NUMBERS_MEMO = 1024
"""Distinct (caller, called) pairs remembered with their E.164 forms (oldest out first)."""
_NUMBERS: dict[tuple[str | None, str | None, str], tuple[str | None, str | None]] = {}
