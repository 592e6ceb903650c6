"""Exact numbers: Binance decimal strings <-> scaled integers.

Binance sends every price and quantity as a decimal string (``"2683.80000000"``). We keep
them as int64 scaled integers, ``value = integer / 10**scale``, with one ``price_scale``
and one ``qty_scale`` per symbol, so book keys never suffer float rounding and
``"0.10"`` and ``"0.1"`` are the same level.
"""

from __future__ import annotations

from decimal import Decimal

from obcore.errors import InvalidInputError, PrecisionError

__all__ = [
    "MAX_SCALE",
    "decimal_places",
    "format_decimal",
    "parse_decimal",
    "scale_of_step",
    "to_decimal",
]

#: Binance spot uses at most 8 decimals; we allow a little more for other venues.
MAX_SCALE = 12
_INT64_MAX = 2**63 - 1


def _split(text: str) -> tuple[str, str]:
    whole, _, fraction = text.partition(".")
    if not whole:
        whole = "0"
    if not (whole.isdigit() and (fraction == "" or fraction.isdigit())) or not whole.isascii():
        raise InvalidInputError(f"{text!r} is not a plain non-negative decimal number")
    return whole, fraction


def decimal_places(text: str | bytes) -> int:
    """Number of significant decimals: ``"0.01000000"`` -> 2, ``"5.0"`` -> 0."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    _, fraction = _split(text)
    return len(fraction.rstrip("0"))


def scale_of_step(step: str | bytes) -> int:
    """Scale implied by a ``tickSize``/``stepSize`` filter value (``"0.00010000"`` -> 4)."""
    return decimal_places(step)


def parse_decimal(text: str | bytes, scale: int) -> int:
    """Parse a decimal string into an integer scaled by ``10**scale``, exactly.

    Parameters
    ----------
    text : str or bytes
        A plain non-negative decimal such as ``"2683.80000000"``.
    scale : int
        Number of decimals kept, 0..MAX_SCALE.

    Raises
    ------
    PrecisionError
        If ``text`` has non-zero digits beyond ``scale``.
    InvalidInputError
        If ``text`` is not a plain decimal or does not fit in int64.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not 0 <= scale <= MAX_SCALE:
        raise InvalidInputError(f"scale {scale} out of range 0..{MAX_SCALE}")
    whole, fraction = _split(text)
    fraction = fraction.rstrip("0")
    if len(fraction) > scale:
        raise PrecisionError(f"{text!r} has {len(fraction)} significant decimals; the scale is {scale}")
    value = int(whole + fraction.ljust(scale, "0"))
    if value > _INT64_MAX:
        raise InvalidInputError(f"{text!r} at scale {scale} does not fit in a 64-bit integer")
    return value


def format_decimal(value: int, scale: int) -> str:
    """Format a scaled integer as Binance's decimal, normalised: ``(268380, 2)`` -> ``"2683.8"``.

    Parameters
    ----------
    value : int
        The scaled integer (``int``, ``numpy.int64`` …; converted with ``int``); may be negative.
    scale : int
        Decimal places ``value`` is scaled by; ``scale <= 0`` appends ``-scale`` zeros.

    Returns
    -------
    str
        Plain decimal without trailing fractional zeros or exponent, e.g. ``"0.001"``, ``"5"``.
    """
    value = int(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value))
    if scale <= 0:
        return sign + digits + "0" * (-scale)
    digits = digits.rjust(scale + 1, "0")
    whole, fraction = digits[:-scale], digits[-scale:].rstrip("0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def to_decimal(value: int, scale: int) -> Decimal:
    """A scaled integer as an exact :class:`decimal.Decimal`.

    Parameters
    ----------
    value : int
        The scaled integer (converted with ``int``).
    scale : int
        Decimal places ``value`` is scaled by.

    Returns
    -------
    Decimal
        ``value * 10**-scale``, exact (no rounding, no float).
    """
    return Decimal(int(value)).scaleb(-scale)
