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
from obcore.counters import SecondCounters
from obcore.errors import InvalidInputError
from obcore.numbers import MAX_SCALE, format_decimal

__all__ = ["BID", "ASK", "Book", "SweepResult"]

BID = 0
ASK = 1


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
        self._kernel = _DepthBook(price_scale, qty_scale, self.counters.data)
        self.counters.attach(self._kernel)

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
        """
        return int(self._kernel.top(side, prices_out, qtys_out))

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
        """Fill ``notional`` quote with a market order: ``buy`` walks asks, ``sell`` bids."""
        if side not in ("buy", "sell"):
            raise InvalidInputError(f"side must be 'buy' or 'sell', got {side!r}")
        if not notional > 0:
            raise InvalidInputError(f"notional must be > 0, got {notional}")
        book_side = ASK if side == "buy" else BID
        best = self._kernel.best(book_side)
        qty, filled, worst, levels = self._kernel.sweep(
            book_side, float(notional), 10.0**-self.price_scale, 10.0**-self.qty_scale
        )
        if best is None or qty <= 0:
            return SweepResult(side, notional, 0.0, 0.0, None, None, None, 0, False)
        best_price = best[0] / 10**self.price_scale
        avg = filled / qty
        slippage = (avg - best_price) / best_price * 1e4
        if side == "sell":
            slippage = -slippage
        complete = filled >= notional * (1 - 1e-12)
        return SweepResult(side, notional, qty, filled, avg, worst, slippage, levels, complete)

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid[0] >= ask[0]
