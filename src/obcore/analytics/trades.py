"""Trades as arrays: the one input shape of the trade analytics (profile, taker flow, CVD).

A :class:`TradeArrays` holds parallel int64 arrays (price and quantity as scaled
integers with their scales, time in Unix ms, side +1 taker buy / -1 taker sell, trade
id), oldest first. It is built from a session's ``TradeTape``, from REST ``aggTrades``
rows (exact decimal parsing), or from arrays the caller hands in; :func:`merge_trades`
joins live and back-filled trades without double counting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from obcore.errors import InvalidInputError, PrecisionError
from obcore.numbers import MAX_SCALE, decimal_places, parse_decimal

__all__ = ["TradeArrays", "merge_trades", "trades_from_rows", "trades_from_tape"]


def _column(values: Any, name: str, dtype: Any) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be a 1-d array, got shape {array.shape}")
    return array


@dataclass(frozen=True, slots=True)
class TradeArrays:
    """Trades as parallel arrays, oldest first.

    Attributes
    ----------
    price : ndarray of int64, shape (n,)
        Scaled prices (``value = price / 10**price_scale``), >= 0.
    qty : ndarray of int64, shape (n,)
        Scaled quantities, > 0.
    time_ms : ndarray of int64, shape (n,)
        Trade time, Unix ms, non-decreasing.
    side : ndarray of int8, shape (n,)
        +1 taker buy, -1 taker sell (``m`` true: the buyer was the maker, so the taker sold).
    trade_id : ndarray of int64, shape (n,)
        Aggregate trade id (``a``) or trade id (``t``).
    price_scale, qty_scale : int
        Decimal scales of ``price`` and ``qty``.
    """

    price: np.ndarray
    qty: np.ndarray
    time_ms: np.ndarray
    side: np.ndarray
    trade_id: np.ndarray
    price_scale: int
    qty_scale: int

    def __post_init__(self) -> None:
        columns = {
            "price": _column(self.price, "price", np.int64),
            "qty": _column(self.qty, "qty", np.int64),
            "time_ms": _column(self.time_ms, "time_ms", np.int64),
            "side": _column(self.side, "side", np.int8),
            "trade_id": _column(self.trade_id, "trade_id", np.int64),
        }
        lengths = {name: a.shape[0] for name, a in columns.items()}
        if len(set(lengths.values())) != 1:
            raise InvalidInputError(f"trade arrays differ in length: {lengths}")
        for name in ("price_scale", "qty_scale"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= MAX_SCALE:
                raise InvalidInputError(f"{name} must be an int in 0..{MAX_SCALE}, got {value!r}")
        n = lengths["price"]
        if n:
            if int(columns["price"].min()) < 0:
                raise InvalidInputError(f"trade price {int(columns['price'].min())} is negative")
            if int(columns["qty"].min()) <= 0:
                raise InvalidInputError(f"trade quantity {int(columns['qty'].min())} is not > 0")
            bad = ~np.isin(columns["side"], (-1, 1))
            if bad.any():
                raise InvalidInputError(f"trade side {int(columns['side'][bad][0])} is not +1 or -1")
            if n > 1 and bool((np.diff(columns["time_ms"]) < 0).any()):
                at = int(np.argmax(np.diff(columns["time_ms"]) < 0))
                raise InvalidInputError(
                    f"trade times must be non-decreasing: {int(columns['time_ms'][at])} then "
                    f"{int(columns['time_ms'][at + 1])} at row {at + 1}"
                )
        for name, array in columns.items():
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return int(self.price.shape[0])

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> TradeArrays:
        """Trades with ``start_ms <= time_ms < end_ms`` (either bound optional)."""
        first = 0 if start_ms is None else int(np.searchsorted(self.time_ms, start_ms, side="left"))
        last = len(self) if end_ms is None else int(np.searchsorted(self.time_ms, end_ms, side="left"))
        return self._slice(first, max(first, last))

    def _slice(self, first: int, last: int) -> TradeArrays:
        if first == 0 and last == len(self):
            return self
        # A slice of checked arrays is checked: skip the O(n) validation.
        out = object.__new__(TradeArrays)
        for name in ("price", "qty", "time_ms", "side", "trade_id"):
            object.__setattr__(out, name, getattr(self, name)[first:last])
        object.__setattr__(out, "price_scale", self.price_scale)
        object.__setattr__(out, "qty_scale", self.qty_scale)
        return out

    def at_scales(self, price_scale: int, qty_scale: int) -> TradeArrays:
        """The same trades at larger scales (exact: times ``10**k``)."""
        if price_scale < self.price_scale or qty_scale < self.qty_scale:
            raise InvalidInputError(
                f"cannot lower scales {self.price_scale}/{self.qty_scale} to {price_scale}/{qty_scale} exactly"
            )
        if (price_scale, qty_scale) == (self.price_scale, self.qty_scale):
            return self
        return TradeArrays(self.price * 10 ** (price_scale - self.price_scale),
                           self.qty * 10 ** (qty_scale - self.qty_scale), self.time_ms, self.side,
                           self.trade_id, price_scale, qty_scale)

    @classmethod
    def empty(cls, price_scale: int = 0, qty_scale: int = 0) -> TradeArrays:
        """No trades."""
        zero = np.zeros(0, dtype=np.int64)
        return cls(zero, zero, zero, np.zeros(0, dtype=np.int8), zero, price_scale, qty_scale)


def trades_from_tape(tape: Any, price_scale: int, qty_scale: int, start_ms: int | None = None,
                     end_ms: int | None = None) -> TradeArrays:
    """The trades of a session's ``TradeTape`` with ``start_ms <= time_ms < end_ms``.

    Parameters
    ----------
    tape : obcore.counters.TradeTape
        ``session.trades``; read, not changed.
    price_scale, qty_scale : int
        The session's current scales (the tape is kept at them).
    start_ms, end_ms : int, optional
        Half-open time range, Unix ms.

    Returns
    -------
    TradeArrays
    """
    rows = tape.latest()
    # The tape is in arrival order; trade times of one symbol never go back, but a copy
    # sorted stably by time makes that a property of the input rather than an assumption.
    order = np.argsort(rows["time_ms"], kind="stable")
    trades = TradeArrays(rows["price"][order], rows["qty"][order], rows["time_ms"][order],
                         rows["side"][order], rows["trade_id"][order], price_scale, qty_scale)
    return trades.between(start_ms, end_ms)


def _row_field(row: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return row[key]
    except (KeyError, TypeError):
        raise InvalidInputError(f"{where}: aggTrade row has no {key!r}: {_shown(row)}") from None


def _shown(row: Any) -> str:
    if isinstance(row, Mapping):
        row = {k: v for k, v in row.items() if not str(k).startswith("_")}
    return str(row)[:120]


def trades_from_rows(rows: Iterable[Mapping[str, Any]], where: str = "aggTrades") -> TradeArrays:
    """Parse REST ``aggTrades`` rows ``{a, p, q, f, l, T, m, M}`` exactly.

    The scales are the most decimals any row's price / quantity carries (Binance pads to
    8: ``"2683.80000000"`` counts as 1 decimal). Rows are sorted by time, then id.

    Parameters
    ----------
    rows : iterable of mapping
        Aggregate trades as Binance answers them (strings for ``p`` / ``q``).
    where : str
        Named in error messages (e.g. the file).

    Returns
    -------
    TradeArrays

    Raises
    ------
    InvalidInputError
        A row without a field, or a value that is not a number of the expected kind.
    """
    texts: list[tuple[int, str, str, int, bool]] = []
    price_scale = qty_scale = 0
    for index, row in enumerate(rows):
        at = row.get("_where") if isinstance(row, Mapping) else None
        at = at or f"{where} row {index}"
        p, q = _row_field(row, "p", at), _row_field(row, "q", at)
        m = _row_field(row, "m", at)
        if not isinstance(p, str) or not isinstance(q, str) or not isinstance(m, bool):
            raise InvalidInputError(f"{at}: p and q must be decimal strings and m true/false: {_shown(row)}")
        try:
            price_scale = max(price_scale, decimal_places(p))
            qty_scale = max(qty_scale, decimal_places(q))
            trade_id, time_ms = int(_row_field(row, "a", at)), int(_row_field(row, "T", at))
            parse_decimal(p, MAX_SCALE)
            parse_decimal(q, MAX_SCALE)
        except (ValueError, TypeError, InvalidInputError) as exc:
            raise InvalidInputError(f"{at}: bad aggTrade row {_shown(row)}: {exc}") from None
        if trade_id < 0 or time_ms < 0:
            raise InvalidInputError(f"{at}: id and time must be >= 0: {_shown(row)}")
        texts.append((trade_id, p, q, time_ms, m))
    if price_scale > MAX_SCALE or qty_scale > MAX_SCALE:
        raise PrecisionError(f"{where}: a price or quantity has more than {MAX_SCALE} decimals")
    texts.sort(key=lambda t: (t[3], t[0]))
    n = len(texts)
    price = np.empty(n, dtype=np.int64)
    qty = np.empty(n, dtype=np.int64)
    time_ms = np.empty(n, dtype=np.int64)
    side = np.empty(n, dtype=np.int8)
    trade_id = np.empty(n, dtype=np.int64)
    for i, (a, p, q, t, m) in enumerate(texts):
        price[i] = parse_decimal(p, price_scale)
        qty[i] = parse_decimal(q, qty_scale)
        time_ms[i] = t
        side[i] = -1 if m else 1
        trade_id[i] = a
    return TradeArrays(price, qty, time_ms, side, trade_id, price_scale, qty_scale)


def merge_trades(*parts: TradeArrays) -> TradeArrays:
    """Join trade sets (e.g. back-filled and live), each trade id once, sorted by time then id.

    The result has the largest scales of the parts (exact). Ids must share one id space
    (aggregate ids with aggregate ids).
    """
    parts = tuple(p for p in parts if p is not None)
    if not parts:
        return TradeArrays.empty()
    price_scale = max(p.price_scale for p in parts)
    qty_scale = max(p.qty_scale for p in parts)
    scaled = [p.at_scales(price_scale, qty_scale) for p in parts]
    trade_id = np.concatenate([p.trade_id for p in scaled])
    _, first = np.unique(trade_id, return_index=True)
    time_ms = np.concatenate([p.time_ms for p in scaled])[first]
    order = first[np.lexsort((trade_id[first], time_ms))]
    return TradeArrays(
        np.concatenate([p.price for p in scaled])[order],
        np.concatenate([p.qty for p in scaled])[order],
        np.concatenate([p.time_ms for p in scaled])[order],
        np.concatenate([p.side for p in scaled])[order],
        trade_id[order], price_scale, qty_scale,
    )
