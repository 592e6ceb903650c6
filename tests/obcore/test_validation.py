"""Tests for obcore.validation: every checker accepts good values unchanged and refuses
bad ones with an InvalidInputError that names the bad value."""

from __future__ import annotations

import pytest

from obcore.errors import InvalidInputError
from obcore.validation import (
    INTERVALS,
    ORDER_SIDES,
    check_choice,
    check_int,
    check_interval,
    check_symbol,
    check_symbols,
)


@pytest.mark.parametrize("symbol", ["ETHUSDT", "BTCUSDT", "1INCHBTC", "AB", "A" * 20])
def test_check_symbol_accepts(symbol: str) -> None:
    assert check_symbol(symbol) == symbol


@pytest.mark.parametrize("symbol", ["ethusdt", "A", "A" * 21, "ETH-USDT", "ETH USDT", "", "ÉTHUSDT"])
def test_check_symbol_refuses_and_names_value(symbol: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_symbol(symbol)
    assert repr(symbol) in str(info.value)


@pytest.mark.parametrize("symbol", [None, 42, b"ETHUSDT", ["ETHUSDT"]])
def test_check_symbol_refuses_non_strings(symbol: object) -> None:
    with pytest.raises(InvalidInputError, match="invalid symbol"):
        check_symbol(symbol)


def test_check_symbols_returns_list_from_any_iterable() -> None:
    assert check_symbols(("ETHUSDT", "BTCUSDT"), 1, 5) == ["ETHUSDT", "BTCUSDT"]
    assert check_symbols(iter(["ETHUSDT"]), 1, 1) == ["ETHUSDT"]


def test_check_symbols_refuses_a_plain_string() -> None:
    with pytest.raises(InvalidInputError) as info:
        check_symbols("ETHUSDT", 1, 5)
    assert "'ETHUSDT'" in str(info.value)


def test_check_symbols_names_the_bad_member() -> None:
    with pytest.raises(InvalidInputError) as info:
        check_symbols(["ETHUSDT", "btcusdt"], 1, 5)
    assert "'btcusdt'" in str(info.value)


@pytest.mark.parametrize(("count", "minimum", "maximum"), [(0, 1, 5), (6, 1, 5), (2, 3, 4)])
def test_check_symbols_refuses_bad_length(count: int, minimum: int, maximum: int) -> None:
    symbols = [f"SYM{i}" for i in range(count)]
    with pytest.raises(InvalidInputError) as info:
        check_symbols(symbols, minimum, maximum)
    message = str(info.value)
    assert f"got {count}" in message and f"{minimum}-{maximum}" in message


@pytest.mark.parametrize("interval", INTERVALS)
def test_check_interval_accepts_every_binance_interval(interval: str) -> None:
    assert check_interval(interval) == interval


@pytest.mark.parametrize("interval", ["2m", "1H", "1D", "", "1mo", None, 1])
def test_check_interval_refuses_and_names_value(interval: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_interval(interval)
    assert repr(interval) in str(info.value)


def test_check_interval_is_case_sensitive() -> None:
    # "1m" is a minute and "1M" a month; "1H" is neither.
    assert check_interval("1m") == "1m"
    assert check_interval("1M") == "1M"
    with pytest.raises(InvalidInputError):
        check_interval("1H")


@pytest.mark.parametrize(
    ("value", "minimum", "maximum"), [(1, 1, 5), (5, 1, 5), (0, 0, None), (10**12, 1, None), (-3, -5, -1)]
)
def test_check_int_accepts_in_range(value: int, minimum: int, maximum: int | None) -> None:
    assert check_int("limit", value, minimum, maximum) == value


@pytest.mark.parametrize("value", [True, False, 1.0, "5", None])
def test_check_int_refuses_non_integers(value: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_int("limit", value, 0, 10)
    message = str(info.value)
    assert message.startswith("limit must be an integer") and repr(value) in message


@pytest.mark.parametrize(("value", "minimum", "maximum"), [(0, 1, 5), (6, 1, 5), (-1, 0, None)])
def test_check_int_refuses_out_of_range(value: int, minimum: int, maximum: int | None) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_int("limit", value, minimum, maximum)
    message = str(info.value)
    assert f"limit={value}" in message and f">= {minimum}" in message
    assert (f"<= {maximum}" in message) == (maximum is not None)


@pytest.mark.parametrize("side", ORDER_SIDES)
def test_check_choice_accepts(side: str) -> None:
    assert check_choice("side", side, ORDER_SIDES) == side


@pytest.mark.parametrize("side", ["buy", "HOLD", "", None])
def test_check_choice_refuses_and_names_value(side: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_choice("side", side, ORDER_SIDES)
    message = str(info.value)
    assert f"side={side!r}" in message and "BUY, SELL" in message


def test_errors_are_value_errors() -> None:
    # Callers that only know the builtin still catch it.
    with pytest.raises(ValueError):
        check_symbol("x")
