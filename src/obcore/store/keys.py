"""Key layout of the snapshot store.

A data key is ``len(symbol) (1 byte) | symbol (ASCII) | block start second (u64 big-endian)``.
The length byte makes ``symbol`` a closed prefix (``BTCUSDT`` can never be a prefix of
``BTCUSDTX``'s keys, since their first bytes differ), and big-endian seconds sort in time
order, so a time range of one symbol is one contiguous key range. Keys whose first byte is
0 hold store metadata (a symbol is never empty).
"""

from __future__ import annotations

import struct

from obcore.errors import InvalidInputError
from obcore.validation import SYMBOL_RE

__all__ = [
    "META_PREFIX",
    "check_symbol",
    "data_key",
    "parse_data_key",
    "symbol_prefix",
    "symbol_upper_bound",
]

META_PREFIX = b"\x00"
_U64 = struct.Struct(">Q")


def check_symbol(symbol: str) -> str:
    """Return ``symbol`` if it matches ``obcore.validation.SYMBOL_PATTERN`` (2-20 upper-case
    letters/digits), else raise InvalidInputError."""
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise InvalidInputError(f"symbol {symbol!r} is not 2-20 characters of A-Z and 0-9")
    return symbol


def symbol_prefix(symbol: str) -> bytes:
    """The key prefix shared by every block of ``symbol``."""
    raw = check_symbol(symbol).encode("ascii")
    return bytes((len(raw),)) + raw


def data_key(symbol: str, block_start_s: int) -> bytes:
    """Key of the block of ``symbol`` that starts at second ``block_start_s``.

    Parameters
    ----------
    symbol : str
        E.g. ``"ETHUSDT"``.
    block_start_s : int
        First second of the block, s since the epoch (>= 0).

    Returns
    -------
    bytes
        Length-prefixed symbol then the big-endian uint64 start, so keys sort by
        symbol and then by time.

    Raises
    ------
    InvalidInputError
        A malformed symbol or a negative ``block_start_s``.
    """
    if block_start_s < 0:
        raise InvalidInputError(f"block start second must be >= 0, got {block_start_s}")
    return symbol_prefix(symbol) + _U64.pack(block_start_s)


def symbol_upper_bound(symbol: str) -> bytes:
    """A key just past every key of ``symbol`` (exclusive end of its range)."""
    return symbol_prefix(symbol) + b"\xff" * 9


def parse_data_key(key: bytes) -> tuple[str, int]:
    """Split a data key into ``(symbol, block_start_s)``; raise InvalidInputError if malformed."""
    if len(key) < 2 or key[0] == 0 or len(key) != 1 + key[0] + 8:
        raise InvalidInputError(f"store key {key!r} is not a snapshot data key")
    length = key[0]
    return key[1 : 1 + length].decode("ascii"), _U64.unpack_from(key, 1 + length)[0]
