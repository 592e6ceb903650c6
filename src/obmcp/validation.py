"""Argument rules shared by the tools' input models and the service functions.

Room: obmcp's argument rules. One definition per rule, used twice: as pydantic
``Annotated`` types (they make the tools' JSON Schema and are checked by
``obmcp.catalog`` before a call) and by the plain ``check_*`` functions the service
functions call, so that callers outside MCP get the same refusals. The symbol rule is
obcore's (:data:`obcore.validation.SYMBOL_PATTERN`).

**The one coercion rule** (every tool, every transport): a value must already have the
JSON type its schema says. An ``integer`` is a JSON number with no fractional part
(``5`` or ``5.0``, as JSON Schema counts integers); a ``number`` is any finite JSON
number; a ``string`` is a JSON string. Nothing is converted from a string (``"5"`` is
not 5, ``"NaN"`` is not a number) and ``true``/``false`` are never numbers. The
:class:`JsonInteger`/:class:`JsonNumber` validators below implement it.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, Field

from obcore.errors import InvalidInputError
from obcore.validation import SYMBOL_PATTERN

__all__ = [
    "DEPTH_LIMITS",
    "INTERVALS",
    "L2_DEPTHS",
    "SYMBOL_PATTERN",
    "DepthLimit",
    "Interval",
    "JsonInteger",
    "JsonNumber",
    "KlineLimit",
    "L2Depth",
    "MAX_TIME_MS",
    "MIN_TIME_MS",
    "OptionalSymbol",
    "Symbol",
    "TimeMs",
    "TradeLimit",
    "check_choice",
    "check_range",
    "check_symbol",
    "json_integer",
    "json_number",
    "symbol_hint",
]

_SYMBOL = re.compile(SYMBOL_PATTERN)


def json_integer(value: object) -> object:
    """The coercion rule for integers: ``5`` and ``5.0`` are 5; strings, booleans and
    fractions are refused (pydantic reports the field, ``obmcp.catalog`` the rest)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("expected a JSON integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("expected a JSON integer")
        return int(value)
    return value


def json_number(value: object) -> object:
    """The coercion rule for numbers: any finite JSON number; strings and booleans refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("expected a finite JSON number")
    return value


JsonInteger = BeforeValidator(json_integer)
JsonNumber = BeforeValidator(json_number)

Interval = Literal["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
INTERVALS: tuple[str, ...] = get_args(Interval)

_DepthLimit = Literal[5, 10, 20, 50, 100, 500, 1000, 5000]
DEPTH_LIMITS: tuple[int, ...] = get_args(_DepthLimit)
DepthLimit = Annotated[_DepthLimit, JsonInteger, Field(description="Levels per side: 5, 10, 20, 50, 100, 500, 1000 or 5000.")]

_L2Depth = Literal[20, 100]
L2_DEPTHS: tuple[int, ...] = get_args(_L2Depth)
L2Depth = Annotated[_L2Depth, JsonInteger, Field(description="Levels per side: 20 or 100.")]

_SymbolText = Annotated[str, Field(pattern=SYMBOL_PATTERN)]
Symbol = Annotated[
    _SymbolText,
    Field(
        description="Binance spot symbol in upper case, e.g. ETHUSDT (2-20 letters/digits).",
        examples=["ETHUSDT"],
    ),
]
OptionalSymbol = Annotated[
    _SymbolText | None, Field(description="Only this symbol (default: every tracked symbol).", examples=["ETHUSDT"])
]
TradeLimit = Annotated[int, Field(ge=1, le=1000), JsonInteger, Field(description="Number of trades, 1-1000.")]
KlineLimit = Annotated[int, Field(ge=1, le=1000), JsonInteger, Field(description="Number of candles, 1-1000.")]
# Binance accepts times from 2017 on; the bounds only reject obvious mistakes (seconds, negatives).
MIN_TIME_MS = 1_500_000_000_000
MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01
TimeMs = Annotated[
    Annotated[int, Field(ge=MIN_TIME_MS, le=MAX_TIME_MS), JsonInteger] | None,
    Field(description="Unix time in milliseconds (optional)."),
]


def symbol_hint(value: object) -> str:
    """``; use upper case: 'ETHUSDT'`` when ``value`` is a symbol in the wrong case, else ``""``."""
    if isinstance(value, str) and value != value.upper() and _SYMBOL.match(value.upper()):
        return f"; use upper case: {value.upper()!r}"
    return ""


def check_symbol(symbol: object) -> str:
    """Return ``symbol`` if it matches :data:`SYMBOL_PATTERN`; raise naming it otherwise.

    Parameters
    ----------
    symbol : object
        The value to check.

    Returns
    -------
    str
        ``symbol`` unchanged (lower case is refused, not fixed: the message says how).

    Raises
    ------
    InvalidInputError
        Not 2-20 upper-case letters or digits.
    """
    if not isinstance(symbol, str) or not _SYMBOL.match(symbol):
        raise InvalidInputError(
            f"symbol {symbol!r}: expected 2-20 upper-case letters or digits, e.g. 'ETHUSDT'{symbol_hint(symbol)}"
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
