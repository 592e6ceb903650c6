"""Checks for REST request arguments, run before anything is sent (pure).

Every failure raises :class:`obcore.errors.InvalidInputError` naming the bad value and
what was expected, so a caller never spends request weight on a request Binance would
reject anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from obcore.errors import InvalidInputError

__all__ = [
    "INTERVALS",
    "ORDER_SIDES",
    "ORDER_TYPES",
    "RESPONSE_TYPES",
    "SYMBOL_CHARS",
    "SYMBOL_PATTERN",
    "SYMBOL_RE",
    "TIME_IN_FORCE",
    "check_choice",
    "check_int",
    "check_interval",
    "check_symbol",
    "check_symbols",
]

#: The one symbol rule of obcore and obmcp: 2-20 upper-case letters or digits (``ETHUSDT``),
#: unanchored, for patterns that embed a symbol (document ids, URL paths).
SYMBOL_CHARS = r"[A-Z0-9]{2,20}"
#: :data:`SYMBOL_CHARS` as a whole string.
SYMBOL_PATTERN = rf"^{SYMBOL_CHARS}$"
#: :data:`SYMBOL_PATTERN` compiled.
SYMBOL_RE = re.compile(SYMBOL_PATTERN)

# Case-sensitive: "1m" is a minute, "1M" a month.
INTERVALS = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)
ORDER_SIDES = ("BUY", "SELL")
ORDER_TYPES = (
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER",
)
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
RESPONSE_TYPES = ("ACK", "RESULT", "FULL")


def check_symbol(symbol: object) -> str:
    """Return ``symbol`` if it matches :data:`SYMBOL_PATTERN` (e.g. ``"ETHUSDT"``).

    Raises
    ------
    InvalidInputError
        Naming the value; lower case is refused rather than silently fixed.
    """
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise InvalidInputError(
            f"invalid symbol {symbol!r}: expected 2-20 upper-case letters or digits, e.g. 'ETHUSDT'"
        )
    return symbol


def check_symbols(symbols: Iterable[str], minimum: int, maximum: int) -> list[str]:
    """Check every symbol of a list and its length; return the list.

    Parameters
    ----------
    symbols : iterable of str
        The symbols; a plain ``str`` is refused (it would iterate as characters).
    minimum, maximum : int
        Inclusive bounds on the number of symbols.

    Returns
    -------
    list of str
        The symbols, in order.

    Raises
    ------
    InvalidInputError
        ``symbols`` is a string, a member is not a valid symbol (named), or the count is
        outside ``[minimum, maximum]``.
    """
    if isinstance(symbols, str):
        raise InvalidInputError(f"symbols must be a list of symbols, got the string {symbols!r}")
    items = [check_symbol(s) for s in symbols]
    if not minimum <= len(items) <= maximum:
        raise InvalidInputError(f"expected {minimum}-{maximum} symbols, got {len(items)}")
    return items


def check_interval(interval: object) -> str:
    """Return ``interval`` if it is one of Binance's kline intervals."""
    if interval not in INTERVALS:
        raise InvalidInputError(f"invalid interval {interval!r}: expected one of {' '.join(INTERVALS)}")
    return interval  # type: ignore[return-value]


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int in ``[minimum, maximum]``.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        The value to check; ``bool`` is refused.
    minimum : int
        Inclusive lower bound.
    maximum : int, optional
        Inclusive upper bound; ``None`` for none.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    InvalidInputError
        ``value`` is not an int or is out of range; the message names both.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise InvalidInputError(f"{name}={value} is out of range: expected >= {minimum}{upper}")
    return value


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices`` (case-sensitive).

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        The value to check.
    choices : tuple of str
        The allowed values, e.g. ``ORDER_SIDES``.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    InvalidInputError
        ``value`` is not one of ``choices``; the message names it and lists them.
    """
    if value not in choices:
        raise InvalidInputError(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}")
    return value  # type: ignore[return-value]
