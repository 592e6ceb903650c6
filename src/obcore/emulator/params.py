"""Request parameters: parsing the query string and form body, and Binance's validation."""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import parse_qsl

from obcore.emulator.errors import ApiError, illegal_characters, mandatory_missing

__all__ = ["Params", "parse_params"]

_INTEGER = re.compile(r"^-?[0-9]{1,20}$")
_DECIMAL = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DECIMAL_LEGAL = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_SYMBOL = re.compile(r"^[A-Z0-9\-_.]{1,20}$")


def _pairs(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in out:
            raise ApiError(400, -1101, "Duplicate values for a parameter detected.")
        out[key] = value
    return out


def parse_params(query: str, body: str) -> Params:
    """Merge query string and form body (the query string wins on a clash)."""
    merged = _pairs(body)
    merged.update(_pairs(query))
    return Params(merged)


class Params(dict[str, str]):
    """Parameter dict with Binance-style typed getters raising the right error codes."""

    def text(self, name: str, required: bool = False) -> str | None:
        """The raw value of ``name``, None when absent or empty.

        Parameters
        ----------
        name : str
            Binance parameter name.
        required : bool
            Raise -1102 when absent or empty.

        Raises
        ------
        ApiError
            -1102 for a missing required value.
        """
        value = self.get(name)
        if value is None or value == "":
            if required:
                raise mandatory_missing(name)
            return None
        return value

    def symbol(self, name: str = "symbol", required: bool = True) -> str | None:
        """A symbol matching ``^[A-Z0-9-_.]{1,20}$``, or None when absent and optional.

        Parameters
        ----------
        name : str
            Binance parameter name.
        required : bool
            Raise -1102 when absent or empty.

        Raises
        ------
        ApiError
            -1102 when missing and required, -1100 when malformed.
        """
        value = self.text(name, required)
        if value is None:
            return None
        if not _SYMBOL.match(value):
            raise illegal_characters(name, "^[A-Z0-9-_.]{1,20}$")
        return value

    def integer(self, name: str, required: bool = False, default: int | None = None,
                low: int | None = None, high: int | None = None) -> int | None:
        """A non-negative integer parameter, ``default`` when absent.

        Parameters
        ----------
        name : str
            Binance parameter name.
        required : bool
            Raise -1102 when absent or empty.
        default : int, optional
            Value when absent.
        low, high : int, optional
            Inclusive bounds.

        Raises
        ------
        ApiError
            -1102 when missing and required, -1100 when not digits or out of bounds.
        """
        value = self.text(name, required)
        if value is None:
            return default
        if not _INTEGER.match(value):
            raise illegal_characters(name, "^[0-9]{1,20}$")
        number = int(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                       f"'{low if low is not None else ''} - {high if high is not None else ''}'.")
        return number

    def decimal(self, name: str, required: bool = False) -> Decimal | None:
        """A plain decimal parameter (e.g. a price), None when absent.

        Parameters
        ----------
        name : str
            Binance parameter name.
        required : bool
            Raise -1102 when absent or empty.

        Raises
        ------
        ApiError
            -1102 when missing and required, -1100 when not a plain decimal.
        """
        value = self.text(name, required)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            raise illegal_characters(name, _DECIMAL_LEGAL)
        return Decimal(value)

    def choice(self, name: str, allowed: tuple[str, ...], code: int, msg: str,
               required: bool = False, default: str | None = None) -> str | None:
        """One of ``allowed``, ``default`` when absent.

        Parameters
        ----------
        name : str
            Binance parameter name.
        allowed : tuple of str
            Accepted values (case-sensitive).
        code : int
            Binance error code for a value not allowed (e.g. -1100).
        msg : str
            Message sent with ``code``.
        required : bool
            Raise -1102 when absent or empty.
        default : str, optional
            Value when absent.

        Raises
        ------
        ApiError
            -1102 when missing and required, HTTP 400 with ``code``/``msg`` otherwise.
        """
        value = self.text(name, required)
        if value is None:
            return default
        if value not in allowed:
            raise ApiError(400, code, msg)
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        """``true``/``false`` (any case), ``default`` when absent.

        Parameters
        ----------
        name : str
            Binance parameter name.
        default : bool
            Value when absent.

        Raises
        ------
        ApiError
            -1100 for any other value.
        """
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                       "'true, false'.")
        return value.lower() == "true"

    def symbol_list(self, name: str = "symbols") -> list[str] | None:
        """A JSON array of symbols like ``["BTCUSDT","ETHUSDT"]``."""
        import orjson

        value = self.text(name)
        if value is None:
            return None
        try:
            items = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise illegal_characters(name, '^\\[("[A-Z0-9-_.]{1,20}"(,)?)+\\]$') from None
        if not isinstance(items, list) or not items or not all(isinstance(s, str) and _SYMBOL.match(s) for s in items):
            raise illegal_characters(name, '^\\[("[A-Z0-9-_.]{1,20}"(,)?)+\\]$')
        return items
