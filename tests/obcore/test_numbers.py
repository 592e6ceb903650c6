"""Exact decimal parsing and formatting, checked against Python's Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obcore.errors import InvalidInputError, PrecisionError
from obcore.numbers import decimal_places, format_decimal, parse_decimal, scale_of_step


@given(units=st.integers(0, 10**15), scale=st.integers(0, 8), pad=st.integers(0, 6))
def test_parse_format_round_trip(units, scale, pad):
    text = format(Decimal(units).scaleb(-scale), "f")
    if pad and "." in text:
        text += "0" * pad
    assert parse_decimal(text, scale) == units
    assert parse_decimal(text.encode(), scale + 2) == units * 100
    formatted = format_decimal(units, scale)
    assert Decimal(formatted) == Decimal(units).scaleb(-scale)
    assert not formatted.endswith(".") and "e" not in formatted.lower()
    if "." in formatted:
        assert not formatted.endswith("0")


def test_examples():
    assert parse_decimal("2683.80000000", 2) == 268380
    assert format_decimal(268380, 2) == "2683.8"
    assert format_decimal(5, 8) == "0.00000005"
    assert format_decimal(100, 2) == "1"
    assert parse_decimal(".5", 1) == 5
    assert decimal_places("0.01000000") == 2
    assert decimal_places("5.0") == 0
    assert scale_of_step("0.00010000") == 4


def test_errors_name_the_value():
    with pytest.raises(PrecisionError, match="1.234"):
        parse_decimal("1.234", 2)
    with pytest.raises(InvalidInputError, match="1e-05"):
        parse_decimal("1e-05", 8)
    with pytest.raises(InvalidInputError, match="-1"):
        parse_decimal("-1", 2)
    with pytest.raises(InvalidInputError, match="64-bit"):
        parse_decimal("99999999999999999999", 2)
    with pytest.raises(InvalidInputError, match="scale"):
        parse_decimal("1", 13)
