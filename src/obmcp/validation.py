"""Argument rules shared by the service functions and the MCP input schemas.

One definition per rule, used twice: as pydantic ``Annotated`` types (they become the
tools' JSON Schema, checked by the SDK before a call) and by the plain service
functions, which check again so that callers outside MCP get the same errors.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import Field

from obcore.errors import InvalidInputError

__all__ = [
    "DEPTH_LIMITS",
    "INTERVALS",
    "L2_DEPTHS",
    "SYMBOL_PATTERN",
    "DepthLimit",
    "Interval",
    "L2Depth",
    "Symbol",
    "TradeLimit",
    "KlineLimit",
    "check_choice",
    "check_range",
    "check_symbol",
]

SYMBOL_PATTERN = r"^[A-Z0-9]{5,20}$"
_SYMBOL = re.compile(SYMBOL_PATTERN)

Interval = Literal["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
INTERVALS: tuple[str, ...] = get_args(Interval)

DepthLimit = Literal[5, 10, 20, 50, 100, 500, 1000, 5000]
DEPTH_LIMITS: tuple[int, ...] = get_args(DepthLimit)

L2Depth = Literal[20, 100]
L2_DEPTHS: tuple[int, ...] = get_args(L2Depth)

Symbol = Annotated[
    str,
    Field(
        pattern=SYMBOL_PATTERN,
        description="Binance spot symbol in upper case, e.g. ETHUSDT (5-20 letters/digits).",
        examples=["ETHUSDT"],
    ),
]
TradeLimit = Annotated[int, Field(ge=1, le=1000, description="Number of trades, 1-1000.")]
KlineLimit = Annotated[int, Field(ge=1, le=1000, description="Number of candles, 1-1000.")]


def check_symbol(symbol: object) -> str:
    """Return ``symbol`` if it matches ``^[A-Z0-9]{5,20}$``; raise naming it otherwise."""
    if not isinstance(symbol, str) or not _SYMBOL.match(symbol):
        raise InvalidInputError(
            f"symbol {symbol!r}: expected 5-20 upper-case letters or digits, e.g. 'ETHUSDT'"
        )
    return symbol


def check_range(name: str, value: object, low: int, high: int) -> int:
    """Return ``value`` if it is an int in ``[low, high]``; raise naming it otherwise.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        The value to check.
    low, high : int
        Inclusive bounds.

    Returns
    -------
    int
        ``value`` unchanged.

    Raises
    ------
    InvalidInputError
        ``value`` is not an int (``bool`` is refused) or is outside the bounds.
    """
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInputError(f"{name} {value!r}: expected an integer from {low} to {high}")
    return value


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> object:
    """Return ``value`` if it is one of ``choices``; raise naming it and the choices.

    Parameters
    ----------
    name : str
        Argument name used in the error message.
    value : object
        The value to check.
    choices : tuple
        The allowed values; ``bool`` is refused even where ``1`` or ``0`` is allowed.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    InvalidInputError
        ``value`` is not one of ``choices``.
    """
    if value not in choices or isinstance(value, bool):
        raise InvalidInputError(f"{name} {value!r}: expected one of {', '.join(map(str, choices))}")
    return value
