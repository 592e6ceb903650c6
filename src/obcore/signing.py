"""Request signing and outgoing number formatting for the Binance REST API (pure, no I/O).

Binance signs ``query_string + body`` exactly as sent (percent-encoded), keyed with the
API secret: HMAC-SHA256 as lowercase hex, or Ed25519 as base64. Numbers sent to Binance
must match ``^([0-9]{1,20})(\\.[0-9]{1,20})?$``, so they are formatted fixed-point here
(Python's ``str(0.00003)`` is ``'3e-05'``, which Binance rejects with -1100).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlencode

from obcore.errors import InvalidInputError

__all__ = [
    "encode_params",
    "format_number",
    "sign_ed25519",
    "sign_hmac_sha256",
]

# What Binance accepts for a numeric parameter (-1100 otherwise).
_NUMBER_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")


def sign_hmac_sha256(secret: str, payload: str) -> str:
    """Sign a request payload with HMAC-SHA256.

    Parameters
    ----------
    secret : str
        The API secret.
    payload : str
        The query string followed directly by the body, exactly as sent.

    Returns
    -------
    str
        The signature as 64 lowercase hex digits.
    """
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_ed25519(private_key_pem: str | bytes, payload: str) -> str:
    """Sign a request payload with an Ed25519 private key (PEM, PKCS#8).

    Parameters
    ----------
    private_key_pem : str or bytes
        The PEM-encoded private key.
    payload : str
        The query string followed directly by the body, exactly as sent.

    Returns
    -------
    str
        The base64 signature (not yet percent-encoded; :func:`encode_params` does that).

    Raises
    ------
    InvalidInputError
        If the key is not an Ed25519 private key, or ``cryptography`` is not installed.
    """
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError as exc:  # pragma: no cover - cryptography is optional
        raise InvalidInputError("Ed25519 signing needs the 'cryptography' package") from exc
    data = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # Never echo the key material itself.
        raise InvalidInputError("the API secret is not a PEM Ed25519 private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInputError("the API secret is a PEM key but not an Ed25519 one")
    return base64.b64encode(key.sign(payload.encode())).decode()


def format_number(value: object, name: str = "value") -> str:
    """Format a price or quantity for Binance: fixed-point, never an exponent.

    Parameters
    ----------
    value : str, Decimal, int or float
        The number. Floats are converted through their shortest repr (``3e-05`` ->
        ``"0.00003"``); prefer ``str`` or ``Decimal`` for exact values.
    name : str
        The parameter name, used in the error message.

    Returns
    -------
    str
        E.g. ``"0.00003"``, ``"100"``, ``"2683.80"`` (trailing zeros as given are kept).

    Raises
    ------
    InvalidInputError
        If the value is not a finite non-negative number with at most 20 digits each
        side of the point.
    """
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int, float)):
        raise InvalidInputError(
            f"{name} must be a decimal string, Decimal or int, got {type(value).__name__} {value!r}"
        )
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInputError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}")
    text = format(number, "f")
    if not _NUMBER_RE.match(text):
        raise InvalidInputError(
            f"{name}={value!r} cannot be sent to Binance: at most 20 digits before and "
            f"20 after the decimal point"
        )
    return text


def encode_params(params: list[tuple[str, str]]) -> str:
    """Percent-encode parameters in order, as they will be sent and signed.

    Parameters
    ----------
    params : list of (str, str)
        Name/value pairs, already converted to strings.

    Returns
    -------
    str
        ``name=value&...`` with every reserved character percent-encoded (``%20`` for a
        space, never ``+``, so the signed text and the sent text cannot differ).
    """
    return urlencode(params, quote_via=quote, safe="")
