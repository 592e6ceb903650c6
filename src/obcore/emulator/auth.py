"""Signed-request checks exactly as Binance does them: API key, HMAC-SHA256, timestamp.

The signed payload is the raw query string followed directly by the raw body, with the
``signature`` parameter removed, as sent (percent-encoded). Either hex case is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable

from obcore.emulator.errors import ApiError, illegal_characters, mandatory_missing

__all__ = ["MAX_RECV_WINDOW_MS", "check_api_key", "check_signature", "check_timestamp", "sign", "signed_payload"]

MAX_RECV_WINDOW_MS = 60_000
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,256}$")
_INTEGER = re.compile(r"^[0-9]{1,20}$")


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` keyed with ``secret``.

    Parameters
    ----------
    secret : str
        The API secret.
    payload : str
        The exact text signed (query string then body, without ``signature``).

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _strip_signature(raw: str) -> tuple[str, str | None]:
    kept: list[str] = []
    signature = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), signature


def signed_payload(query: str, body: str) -> tuple[str, str | None]:
    """``(payload, signature)``: query + body with ``signature`` taken out of either.

    Parameters
    ----------
    query : str
        Raw (still percent-encoded) query string, without ``?``.
    body : str
        Raw form-encoded request body ('' when none).

    Returns
    -------
    tuple of (str, str or None)
        The signed text (query parts then body parts) and the signature, the query's
        taking precedence; None when neither has one.
    """
    query_part, query_sig = _strip_signature(query)
    body_part, body_sig = _strip_signature(body)
    return query_part + body_part, query_sig if query_sig is not None else body_sig


def check_api_key(header: str | None, secret_for: Callable[[str], str | None]) -> str:
    """Return the secret of the key in ``X-MBX-APIKEY`` or raise -2014/-2015 (HTTP 401).

    Parameters
    ----------
    header : str or None
        The ``X-MBX-APIKEY`` header value.
    secret_for : callable
        Maps a key to its secret, or None for an unknown key.

    Returns
    -------
    str
        The key's secret.

    Raises
    ------
    ApiError
        -2014 for a missing or malformed key, -2015 for an unknown one.
    """
    if not header or not _KEY_FORMAT.match(header):
        raise ApiError(401, -2014, "API-key format invalid.")
    secret = secret_for(header)
    if secret is None:
        raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    return secret


def check_signature(secret: str, query: str, body: str) -> None:
    """Raise -1102 (no signature) or -1022 (wrong signature).

    Parameters
    ----------
    secret : str
        The caller's API secret.
    query, body : str
        Raw query string and request body, as in :func:`signed_payload`.

    Raises
    ------
    ApiError
        HTTP 400, -1102 when no signature was sent, -1022 when it does not match.
    """
    payload, signature = signed_payload(query, body)
    if not signature:
        raise mandatory_missing("signature")
    expected = sign(secret, payload)
    if not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(400, -1022, "Signature for this request is not valid.")


def check_timestamp(params: dict[str, str], server_ms: int) -> None:
    """Apply Binance's ``timestamp``/``recvWindow`` rules (µs timestamps accepted).

    Parameters
    ----------
    params : dict of str to str
        The request parameters (``timestamp`` required, ``recvWindow`` default 5000 ms).
    server_ms : int
        The emulator's clock, ms since the epoch (skew included).

    Raises
    ------
    ApiError
        HTTP 400: -1102 missing timestamp, -1100 malformed value, -1131 ``recvWindow``
        over 60000, -1021 timestamp 1 s or more ahead or older than ``recvWindow``.
    """
    raw = params.get("timestamp")
    if not raw:
        raise mandatory_missing("timestamp")
    if not _INTEGER.match(raw):
        raise illegal_characters("timestamp", "^[0-9]{1,20}$")
    timestamp = int(raw)
    if timestamp >= 10**14:  # microseconds
        timestamp //= 1000
    window_raw = params.get("recvWindow", "5000")
    if not re.match(r"^[0-9]{1,20}(\.[0-9]{1,3})?$", window_raw):
        raise illegal_characters("recvWindow", "^[0-9]{1,20}$")
    window = float(window_raw)
    if window > MAX_RECV_WINDOW_MS:
        raise ApiError(400, -1131, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}.")
    if timestamp - server_ms >= 1000:
        raise ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - timestamp > window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
