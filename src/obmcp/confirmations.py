"""Server-minted confirmation ids: the confirmation mechanism that works on every MCP revision.

Room: obmcp's tool layer (no MCP, no I/O). A tool that must not act without the user's
say-so (the trading tools' preview → place) answers its first call with a *preview* and a
confirmation id minted here; the client shows the preview to the user and calls again with
the same arguments plus ``confirmation_id``; the tool :meth:`Confirmations.verify`\\ s it
before acting. The id is an ordinary tool argument, so it works on 2025-11-25 sessions, on
the stateless 2026-07-28 revision and over stdio alike; elicitation (2025-11-25) or an
input-required result (2026-07-28) is an extra offered only where the client declares that
capability (docs/PROTOCOL.md, "Confirmations").

An id is ``cf1.<expiry s>.<nonce>.<mac>``: the HMAC-SHA256 of the tool name, expiry, nonce
and the hash of the canonical JSON of the arguments, under a per-process secret. Verifying
needs no stored state except the spent nonces (each id confirms once); a different
argument, another tool, an expired or tampered id is refused, naming why.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from obcore.errors import InvalidInputError

__all__ = [
    "CONFIRMATION_ARGUMENT",
    "DEFAULT_TTL_SECONDS",
    "Confirmation",
    "ConfirmationError",
    "Confirmations",
    "arguments_hash",
]

#: The tool argument that carries a confirmation id back.
CONFIRMATION_ARGUMENT = "confirmation_id"
#: How long a preview stays confirmable.
DEFAULT_TTL_SECONDS = 120.0
_PREFIX = "cf1"


class ConfirmationError(InvalidInputError):
    """A confirmation id that does not confirm this call (expired, spent, for other arguments …)."""

    code = "confirmation_refused"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A minted confirmation.

    Attributes
    ----------
    id : str
        What the client passes back as ``confirmation_id``.
    expires_at : float
        Unix seconds after which it is refused.
    arguments_hash : str
        Hex SHA-256 of the canonical JSON of the arguments it confirms.
    """

    id: str
    expires_at: float
    arguments_hash: str


def arguments_hash(arguments: Mapping[str, Any]) -> str:
    """Hex SHA-256 of ``arguments`` as canonical JSON, without ``confirmation_id``.

    Keys sorted, no whitespace, no NaN/Infinity; ``1`` and ``1.0`` differ (the catalog's
    coercion rule makes a tool see the JSON type the client sent).

    Raises
    ------
    InvalidInputError
        ``arguments`` is not JSON-serialisable.
    """
    payload = {k: v for k, v in arguments.items() if k != CONFIRMATION_ARGUMENT}
    try:
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"arguments to confirm are not plain JSON: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Confirmations:
    """Mints and verifies confirmation ids for one server process.

    Parameters
    ----------
    secret : bytes, optional
        HMAC key (at least 16 bytes); random per process by default, so ids do not survive
        a restart. Replicas behind one URL (2026-07-28 is stateless) share one secret.
    ttl_seconds : float
        Lifetime of an id (default :data:`DEFAULT_TTL_SECONDS`).
    clock : callable
        Unix seconds now (tests pass a fake).
    """

    def __init__(
        self, secret: bytes | None = None, ttl_seconds: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        if secret is not None and len(secret) < 16:
            raise InvalidInputError(f"confirmation secret of {len(secret)} bytes: expected at least 16")
        if not (isinstance(ttl_seconds, (int, float)) and math.isfinite(ttl_seconds) and 1 <= ttl_seconds <= 3600):
            raise InvalidInputError(f"confirmation ttl {ttl_seconds!r}: expected 1 to 3600 seconds")
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._ttl = float(ttl_seconds)
        self._clock = clock
        self._spent: dict[str, int] = {}  # nonce -> expiry, until it expires
        self._lock = threading.Lock()

    def _mac(self, tool: str, expiry: int, nonce: str, digest: str) -> str:
        message = f"{_PREFIX}\n{tool}\n{expiry}\n{nonce}\n{digest}".encode()
        return _b64(hmac.new(self._secret, message, hashlib.sha256).digest()[:18])

    def mint(self, tool: str, arguments: Mapping[str, Any]) -> Confirmation:
        """A confirmation id for calling ``tool`` with exactly ``arguments``.

        Parameters
        ----------
        tool : str
            The tool's name (an id for one tool confirms no other).
        arguments : mapping
            The call's arguments (``confirmation_id`` itself is ignored).
        """
        digest = arguments_hash(arguments)
        expiry = math.ceil(self._clock() + self._ttl)
        nonce = _b64(secrets.token_bytes(12))
        return Confirmation(f"{_PREFIX}.{expiry}.{nonce}.{self._mac(tool, expiry, nonce, digest)}", expiry, digest)

    def verify(self, confirmation_id: object, tool: str, arguments: Mapping[str, Any]) -> None:
        """Accept ``confirmation_id`` for this call once, or raise naming why not.

        Raises
        ------
        ConfirmationError
            Not an id of this form; minted by another process or altered; for another tool
            or other arguments; expired; already used.
        """
        if not isinstance(confirmation_id, str) or len(confirmation_id) > 200:
            raise ConfirmationError(f"{CONFIRMATION_ARGUMENT}: expected the id a preview returned")
        parts = confirmation_id.split(".")
        if len(parts) != 4 or parts[0] != _PREFIX or not parts[1].isdigit():
            raise ConfirmationError(
                f"{CONFIRMATION_ARGUMENT} {confirmation_id[:40]!r}: not a confirmation id; call without it for a preview"
            )
        _, expiry_text, nonce, mac = parts
        expiry = int(expiry_text)
        expected = self._mac(tool, expiry, nonce, arguments_hash(arguments))
        if not hmac.compare_digest(mac, expected):
            raise ConfirmationError(
                f"{CONFIRMATION_ARGUMENT} does not confirm this call: it was issued for another tool or other "
                "arguments (or by another server process); call without it for a new preview"
            )
        now = self._clock()
        if now > expiry:
            raise ConfirmationError(
                f"{CONFIRMATION_ARGUMENT} expired {now - expiry:.0f} s ago; call without it for a new preview"
            )
        with self._lock:
            for old in [n for n, e in self._spent.items() if e < now]:
                del self._spent[old]
            if nonce in self._spent:
                raise ConfirmationError(f"{CONFIRMATION_ARGUMENT} was already used; each preview confirms one call")
            self._spent[nonce] = expiry
