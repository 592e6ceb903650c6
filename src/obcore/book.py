"""The book facade: typed reads over one symbol's exact L2 book.

Prices and quantities are scaled integers (``price / 10**price_scale``); the reads that are
estimates (mid, microprice, sweep cost) are float64. The book itself is kept by the
private ``DepthBook`` kernel (compiled, or its Python twin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from obcore._kernels import DepthBook as _DepthBook
from obcore._kernels import _layout as _codes
from obcore.counters import SecondCounters
from obcore.errors import InvalidInputError
from obcore.numbers import MAX_SCALE, format_decimal

__all__ = ["APPLIED", "ASK", "BID", "Book", "CROSSED", "DepthBatch", "GAP", "NOT_RUN", "STALE", "SweepResult"]

BID = _codes.BID
ASK = _codes.ASK
APPLIED = _codes.STATUS_APPLIED
STALE = _codes.STATUS_STALE
GAP = _codes.STATUS_GAP
CROSSED = _codes.STATUS_CROSSED
NOT_RUN = -1


@dataclass(frozen=True, slots=True)
class DepthBatch:
    """Many depth events as arrays, for :meth:`Book.apply_batch`.

    ``ids``: int64 (m, 3) rows of (U, u, E); ``offsets``: int64 (m + 1,), event k's
    levels are rows ``offsets[k]:offsets[k+1]`` of ``levels``: int64 (L, 3) rows of
    (side, price, qty).
    """

    ids: np.ndarray
    offsets: np.ndarray
    levels: np.ndarray

    @classmethod
    def from_events(cls, events: list[tuple[int, int, int, np.ndarray]]) -> DepthBatch:
        """Build a batch from (U, u, E, levels (n, 3)) tuples."""
        ids = np.array([event[:3] for event in events], dtype=np.int64).reshape(-1, 3)
        sizes = [len(event[3]) for event in events]
        offsets = np.zeros(len(events) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        levels = (
            np.ascontiguousarray(np.concatenate([event[3] for event in events]), dtype=np.int64)
            if events
            else np.zeros((0, 3), dtype=np.int64)
        )
        return cls(ids, offsets, levels.reshape(-1, 3))


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Cost of sweeping one side with a marketable order of ``notional`` (quote).

    ``slippage_bps`` is the average fill price against the best price on that side,
    positive when worse; ``complete`` is False if the visible book ran out.
    """

    side: str
    notional: float
    filled_qty: float
    filled_notional: float
    avg_price: float | None
    worst_price: float | None
    slippage_bps: float | None
    levels: int
    complete: bool


class Book:
    """One symbol's L2 book.

    Parameters
    ----------
    price_scale, qty_scale : int
        Decimals kept for prices and quantities (0..12).
    counters : SecondCounters, optional
        The per-second ring the kernel writes (a private one of 60 s if not given).
    """

    def __init__(self, price_scale: int, qty_scale: int, counters: SecondCounters | None = None):
        for name, scale in (("price_scale", price_scale), ("qty_scale", qty_scale)):
            if not 0 <= scale <= MAX_SCALE:
                raise InvalidInputError(f"{name} {scale} is outside 0..{MAX_SCALE}")
        self.counters = counters if counters is not None else SecondCounters(60)
        kernel = self._kernel = _DepthBook(price_scale, qty_scale, self.counters.data)
        self.counters.attach(kernel)
        # The per-message calls go straight to the kernel: a Python wrapper would double
        # their cost. The methods below document them and serve subclasses.
        self.apply = kernel.apply_levels
        self.read_top = kernel.read_top
        self.best_bid = kernel.best_bid
        self.best_ask = kernel.best_ask

    # ------------------------------------------------------------- properties
    @property
    def price_scale(self) -> int:
        return int(self._kernel.price_scale)

    @property
    def qty_scale(self) -> int:
        return int(self._kernel.qty_scale)

    @property
    def last_update_id(self) -> int:
        return int(self._kernel.last_update_id)

    @property
    def bid_count(self) -> int:
        return int(self._kernel.count(BID))

    @property
    def ask_count(self) -> int:
        return int(self._kernel.count(ASK))

    # --------------------------------------------------------------- writes
    def apply(self, first_id: int, last_id: int, time_ms: int, levels: np.ndarray) -> int:
        """Apply one depth event with Binance's continuity rule; returns a status code.

        Parameters
        ----------
        first_id, last_id : int
            The event's ``U`` and ``u``.
        time_ms : int
            Exchange event time ``E`` (ms); selects the counters' second.
        levels : ndarray of int64, shape (n, 3), C-contiguous
            Rows of (side: 0 bid / 1 ask, price, qty) in scaled integers; qty 0 deletes.

        Returns
        -------
        int
            ``APPLIED``, ``STALE`` (u <= last update id; ignored), ``GAP`` (events missed;
            nothing applied) or ``CROSSED`` (applied, and best bid >= best ask).
        """
        return self._kernel.apply_levels(first_id, last_id, time_ms, levels)

    def apply_batch(self, batch: DepthBatch, top_n: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Apply many events in one call, reading the top ``top_n`` levels after each.

        Parameters
        ----------
        batch : DepthBatch
            ``m`` events: ids, offsets into ``levels``, and the scaled level changes.
        top_n : int, default 20
            Levels per side read after each event; >= 1.

        Raises
        ------
        InvalidInputError
            ``top_n < 1``.

        Returns ``(statuses, tops)``: int8 (m,) and int64 (m, 4, top_n) holding bid
        prices, bid qtys, ask prices, ask qtys best first (zero padded). Stops after the
        first GAP or CROSSED event; later rows are left zero with status ``NOT_RUN``.
        """
        if top_n < 1:
            raise InvalidInputError(f"top_n must be >= 1, got {top_n}")
        m = len(batch.ids)
        tops = np.zeros((m, 4, top_n), dtype=np.int64)
        statuses = np.full(m, NOT_RUN, dtype=np.int8)
        self._kernel.apply_batch(batch.ids, batch.offsets, batch.levels, tops, statuses)
        return statuses, tops

    # ---------------------------------------------------------------- reads
    def best_bid(self) -> tuple[int, int] | None:
        """Best bid as ``(price_int, qty_int)``, or None if the side is empty."""
        return self._kernel.best(BID)

    def best_ask(self) -> tuple[int, int] | None:
        """Best ask as ``(price_int, qty_int)``, or None if the side is empty."""
        return self._kernel.best(ASK)

    def top(self, n: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The best ``n`` levels a side, best first: (bid_prices, bid_qtys, ask_prices, ask_qtys).

        Each is an int64 array of length <= n (shorter when the side has fewer levels).
        """
        if n < 1:
            raise InvalidInputError(f"top(n) needs n >= 1, got {n}")
        out = np.empty((4, n), dtype=np.int64)
        n_bids = self._kernel.top(BID, out[0], out[1])
        n_asks = self._kernel.top(ASK, out[2], out[3])
        return out[0, :n_bids], out[1, :n_bids], out[2, :n_asks], out[3, :n_asks]

    def top_into(self, prices_out: np.ndarray, qtys_out: np.ndarray, side: int) -> int:
        """Write the best levels of ``side`` (BID/ASK) into caller-owned int64 arrays.

        The zero-allocation read for hot loops; returns the number of levels written.

        Parameters
        ----------
        prices_out, qtys_out : numpy.ndarray
            int64, shape (n,), same length; filled best first, entries past the side's
            depth left as they were. Not validated (kernel call).
        side : int
            ``BID`` or ``ASK``.

        Returns
        -------
        int
            Levels written, at most ``n``.
        """
        return int(self._kernel.top(side, prices_out, qtys_out))

    def read_top(self, out: np.ndarray) -> tuple[int, int]:
        """Write the best ``n`` levels of both sides into a caller-owned (4, n) int64 array.

        Rows: bid prices, bid qtys, ask prices, ask qtys, best first; entries past a side's
        depth are left as they were. Returns (bid levels written, ask levels written). The
        one-call, zero-allocation read for hot loops.
        """
        return self._kernel.read_top(out)

    def price(self, value: int) -> float:
        """A scaled integer price as a float."""
        return value / 10**self.price_scale

    def qty(self, value: int) -> float:
        """A scaled integer quantity as a float."""
        return value / 10**self.qty_scale

    def format_price(self, value: int) -> str:
        return format_decimal(value, self.price_scale)

    def format_qty(self, value: int) -> str:
        return format_decimal(value, self.qty_scale)

    def mid(self) -> float | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid[0] + ask[0]) / 2 / 10**self.price_scale

    def spread_bps(self) -> float | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (ask[0] - bid[0]) / ((ask[0] + bid[0]) / 2) * 1e4

    def microprice(self) -> float | None:
        """Size-weighted mid: (bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty)."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        weight = bid[1] + ask[1]
        return (bid[0] * ask[1] + ask[0] * bid[1]) / weight / 10**self.price_scale

    def imbalance(self, n: int = 10) -> float | None:
        """(bid − ask) / (bid + ask) of the quantity in the top ``n`` levels, in [-1, 1]."""
        _, bid_qtys, _, ask_qtys = self.top(n)
        bid, ask = int(bid_qtys.sum()), int(ask_qtys.sum())
        if bid + ask == 0:
            return None
        return (bid - ask) / (bid + ask)

    def depth_within_bps(self, bps: float) -> tuple[int, int]:
        """Total (bid_qty_int, ask_qty_int) within ``bps`` basis points of the mid."""
        if not bps >= 0:
            raise InvalidInputError(f"bps must be >= 0, got {bps}")
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return 0, 0
        mid2 = bid[0] + ask[0]  # twice the mid, in price units, to stay in integers
        # A bid at p counts if p >= mid·(1 − bps/1e4); round the bound up to a whole unit.
        low = -((-mid2 * (10_000 - bps)) // 20_000)
        high = (mid2 * (10_000 + bps)) // 20_000
        return int(self._kernel.depth_until(BID, int(low))), int(self._kernel.depth_until(ASK, int(high)))

    def sweep(self, side: Literal["buy", "sell"], notional: float) -> SweepResult:
        """Fill ``notional`` quote with a market order: ``buy`` walks asks, ``sell`` bids.

        Parameters
        ----------
        side : {"buy", "sell"}
            Taker side.
        notional : float
            Quote amount to spend (buy) or receive (sell), > 0.

        Returns
        -------
        SweepResult
            Base qty and quote filled, average and worst price, slippage in bps against
            the best price (>= 0), levels touched, and ``complete`` (False when the book is
            too thin). Prices are floats in quote units; ``None`` when nothing filled.

        Raises
        ------
        InvalidInputError
            ``side`` is not buy/sell or ``notional`` is not > 0.
        """
        if side not in ("buy", "sell"):
            raise InvalidInputError(f"side must be 'buy' or 'sell', got {side!r}")
        if not notional > 0:
            raise InvalidInputError(f"notional must be > 0, got {notional}")
        book_side = ASK if side == "buy" else BID
        best = self._kernel.best(book_side)
        qty, filled, worst, levels = self._kernel.sweep(
            book_side, float(notional), float(10**self.price_scale), float(10**self.qty_scale)
        )  # divide by the exact power of ten: 268320 / 100 is 2683.2, 268320 * 0.01 is not
        if best is None or qty <= 0:
            return SweepResult(side, notional, 0.0, 0.0, None, None, None, 0, False)
        best_price = best[0] / 10**self.price_scale
        avg = filled / qty
        worse_by = avg - best_price if side == "buy" else best_price - avg
        # A sweep never fills better than the best price; rounding can put avg an ulp past it.
        slippage = max(0.0, worse_by / best_price * 1e4)
        complete = filled >= notional * (1 - 1e-12)
        return SweepResult(side, notional, qty, filled, avg, worst, slippage, levels, complete)

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid[0] >= ask[0]
