"""Confirmation ids bound to the exact parameters of an action, with expiry, used once.

Room: sans-I/O safety rail of obcore (no clock of its own: one is injected). A preview
mints an id bound to a SHA-256 of the canonical JSON of the parameters; only a later
call presenting that id with the same parameters, before it expires, is let through,
and then the id is spent. Anything else — unknown id, changed parameter, expired, used —
raises :class:`ConfirmationError` saying which.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from obcore.errors import ObcoreError

__all__ = ["ConfirmationBook", "ConfirmationError", "Pending", "parameter_hash"]


class ConfirmationError(ObcoreError):
    """A confirmation id that does not confirm these parameters now; nothing was sent."""

    code = "confirmation_refused"


def parameter_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of ``params`` as canonical JSON (sorted keys, values as strings).

    Parameters
    ----------
    params : mapping
        Names to JSON-able values; None values are dropped (an absent and a null field are the same).
    """
    canonical = {str(k): str(v) for k, v in params.items() if v is not None}
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """One minted confirmation.

    Attributes
    ----------
    confirmation_id : str
    digest : str
        :func:`parameter_hash` of the bound parameters.
    expires_at : float
        Clock time after which it is refused.
    payload : dict
        What the minter wants back on confirmation (e.g. the client order id).
    """

    confirmation_id: str
    digest: str
    expires_at: float
    payload: dict[str, Any]


class ConfirmationBook:
    """Mint and redeem confirmation ids.

    Parameters
    ----------
    ttl_s : float
        How long an id stays valid (default 60 s).
    clock : callable, optional
        Seconds, monotonic (default :func:`time.monotonic`).
    max_pending : int
        Oldest ids are dropped beyond this many outstanding.
    """

    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] | None = None, max_pending: int = 1000):
        if not ttl_s > 0:
            raise ValueError(f"ttl_s {ttl_s!r}: expected > 0 seconds")
        self.ttl_s = float(ttl_s)
        self._clock = clock or time.monotonic
        self._max = max_pending
        self._pending: dict[str, Pending] = {}

    def mint(self, params: Mapping[str, Any], payload: Mapping[str, Any] | None = None) -> Pending:
        """A new id bound to ``params``, valid for ``ttl_s``."""
        now = self._clock()
        self._drop_expired(now)
        while len(self._pending) >= self._max:
            self._pending.pop(next(iter(self._pending)))
        pending = Pending("c-" + secrets.token_urlsafe(16), parameter_hash(params), now + self.ttl_s, dict(payload or {}))
        self._pending[pending.confirmation_id] = pending
        return pending

    def redeem(self, confirmation_id: str, params: Mapping[str, Any]) -> Pending:
        """Spend ``confirmation_id`` for ``params``.

        Raises
        ------
        ConfirmationError
            Unknown or already used id, expired id (spent too), or parameters that differ
            from the preview's (the id stays valid for the original parameters).
        """
        now = self._clock()
        pending = self._pending.get(confirmation_id)
        if pending is None:
            raise ConfirmationError(
                f"confirmation id {str(confirmation_id)[:40]!r} is unknown or already used: preview the order again"
            )
        if now > pending.expires_at:
            del self._pending[confirmation_id]
            raise ConfirmationError(
                f"confirmation id {confirmation_id!r} expired {now - pending.expires_at:.1f} s ago "
                f"(valid {self.ttl_s:g} s): preview the order again"
            )
        if parameter_hash(params) != pending.digest:
            raise ConfirmationError(
                f"the parameters differ from the ones previewed under {confirmation_id!r}: "
                "nothing was sent; preview the new parameters first"
            )
        del self._pending[confirmation_id]
        return pending

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, p in self._pending.items() if now > p.expires_at]:
            del self._pending[key]
