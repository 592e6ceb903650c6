"""Per-second counters, the trade tape and the refill ring: the ring buffers the analytics read.

``SecondCounters`` is an int64 array of shape ``(N_FIELDS, 2 * capacity)``. Each second
lives in column ``second % capacity`` *and* ``second % capacity + capacity`` (the kernel
writes both), so any window of up to ``capacity`` seconds is one contiguous slice — a
300-s window costs a view, not a copy. Seconds are exchange time (depth ``E``, trade
``T``) // 1000, so replays count exactly like live streams.

Fields, per side (bid block then ask block): updates (level changes), additions (a new
level or a size increase), reductions (a size decrease or a delete), cancellations
(reductions not explained by trades at that price and side seen before the depth event),
and the quantities added / reduced / cancelled; then trades, taker buys and sells (count
and quantity; ``m`` = buyer is maker ⇒ the taker sold) and depth messages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obcore._kernels import _layout as _fields
from obcore.errors import InvalidInputError

__all__ = [
    "ASK_ADDED_QTY",
    "ASK_ADDITIONS",
    "ASK_CANCELLATIONS",
    "ASK_CANCELLED_QTY",
    "ASK_REDUCED_QTY",
    "ASK_REDUCTIONS",
    "ASK_UPDATES",
    "BID_ADDED_QTY",
    "BID_ADDITIONS",
    "BID_CANCELLATIONS",
    "BID_CANCELLED_QTY",
    "BID_REDUCED_QTY",
    "BID_REDUCTIONS",
    "BID_UPDATES",
    "BUY_QTY",
    "BUY_TRADES",
    "FIELD_NAMES",
    "MESSAGES",
    "N_FIELDS",
    "REFILL_CAPACITY",
    "RefillRing",
    "SELL_QTY",
    "SELL_TRADES",
    "SecondCounters",
    "TRADES",
    "TradeTape",
]

_ASK = _fields.SIDE_FIELDS
BID_UPDATES = _fields.UPDATES
BID_ADDITIONS = _fields.ADDITIONS
BID_REDUCTIONS = _fields.REDUCTIONS
BID_CANCELLATIONS = _fields.CANCELLATIONS
BID_ADDED_QTY = _fields.ADDED_QTY
BID_REDUCED_QTY = _fields.REDUCED_QTY
BID_CANCELLED_QTY = _fields.CANCELLED_QTY
ASK_UPDATES = _ASK + _fields.UPDATES
ASK_ADDITIONS = _ASK + _fields.ADDITIONS
ASK_REDUCTIONS = _ASK + _fields.REDUCTIONS
ASK_CANCELLATIONS = _ASK + _fields.CANCELLATIONS
ASK_ADDED_QTY = _ASK + _fields.ADDED_QTY
ASK_REDUCED_QTY = _ASK + _fields.REDUCED_QTY
ASK_CANCELLED_QTY = _ASK + _fields.CANCELLED_QTY
TRADES = _fields.TRADES
BUY_TRADES = _fields.BUY_TRADES
SELL_TRADES = _fields.SELL_TRADES
BUY_QTY = _fields.BUY_QTY
SELL_QTY = _fields.SELL_QTY
MESSAGES = _fields.MESSAGES
N_FIELDS = _fields.N_FIELDS

FIELD_NAMES: tuple[str, ...] = _fields.FIELD_NAMES


class SecondCounters:
    """Read side of the per-second ring a ``DepthBook`` kernel writes.

    Parameters
    ----------
    capacity : int
        Seconds kept (default one hour).
    """

    def __init__(self, capacity: int = 3600):
        if capacity < 1:
            raise InvalidInputError(f"counter capacity must be >= 1 second, got {capacity}")
        self.capacity = capacity
        self.data = np.zeros((N_FIELDS, 2 * capacity), dtype=_fields.COUNTER_DTYPE)
        self._kernel: Any = None

    def attach(self, kernel: Any) -> None:
        """Bind the kernel that writes this ring (it knows the current second)."""
        self._kernel = kernel

    @property
    def last_second(self) -> int:
        """The newest second written (exchange time, epoch seconds), or -1."""
        return -1 if self._kernel is None else int(self._kernel.current_second)

    def window(self, end_second: int, seconds: int) -> np.ndarray:
        """Counters of the ``seconds`` seconds ending at ``end_second`` (inclusive).

        Parameters
        ----------
        end_second : int
            Last second of the window, exchange time in epoch seconds.
        seconds : int
            Window length, 1 to ``capacity``.

        Raises
        ------
        InvalidInputError
            ``seconds`` is outside ``1..capacity``.

        Returns a view of shape ``(N_FIELDS, seconds)``, oldest first. Seconds newer than
        ``last_second`` or older than the ring holds are returned as zeros (a copy).
        """
        if not 1 <= seconds <= self.capacity:
            raise InvalidInputError(f"window of {seconds} s is outside 1..{self.capacity} s")
        last = self.last_second
        if last < 0:
            return np.zeros((N_FIELDS, seconds), dtype=np.int64)
        if end_second > last or end_second - seconds + 1 <= last - self.capacity:
            out = np.zeros((N_FIELDS, seconds), dtype=np.int64)
            first_kept = max(end_second - seconds + 1, last - self.capacity + 1)
            last_kept = min(end_second, last)
            if first_kept <= last_kept:
                inner = self.window(last_kept, last_kept - first_kept + 1)
                offset = first_kept - (end_second - seconds + 1)
                out[:, offset : offset + inner.shape[1]] = inner
            return out
        stop = end_second % self.capacity + self.capacity + 1
        return self.data[:, stop - seconds : stop]

    def totals(self, end_second: int, seconds: int) -> dict[str, int]:
        """Sum of each field over a window, by field name.

        Parameters
        ----------
        end_second : int
            Last second of the window (epoch seconds, inclusive).
        seconds : int
            Window length, 1 to ``capacity``; seconds not held count as zero.

        Returns
        -------
        dict of str to int
            One total per name of ``FIELD_NAMES``.

        Raises
        ------
        InvalidInputError
            As :meth:`window`.
        """
        sums = self.window(end_second, seconds).sum(axis=1)
        return {name: int(value) for name, value in zip(FIELD_NAMES, sums)}


class TradeTape:
    """Ring of the latest trades: price, qty (scaled ints), time_ms, side, trade_id.

    ``side`` is +1 for a taker buy and -1 for a taker sell. A session attaches the tape to
    its kernel (:meth:`attach`), which then writes the trade frames it parses straight into
    these arrays; :meth:`append` is the same write from Python.
    """

    def __init__(self, capacity: int = 1 << 18):
        if capacity < 1:
            raise InvalidInputError(f"trade tape capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.price = np.zeros(capacity, dtype=_fields.PRICE_DTYPE)
        self.qty = np.zeros(capacity, dtype=_fields.QTY_DTYPE)
        self.time_ms = np.zeros(capacity, dtype=_fields.TIME_DTYPE)
        self.side = np.zeros(capacity, dtype=_fields.SIDE_DTYPE)
        self.trade_id = np.zeros(capacity, dtype=_fields.TRADE_ID_DTYPE)
        # Trades ever appended, in a one-cell array so the kernel can advance it too.
        self._total = np.zeros(1, dtype=np.int64)

    @property
    def total(self) -> int:
        """Trades ever appended (by Python or by the kernel)."""
        return int(self._total[0])

    def attach(self, kernel: Any) -> None:
        """Let ``kernel`` (a ``DepthBook``) write the trade frames it parses into this tape."""
        kernel.attach_tape(self.price, self.qty, self.time_ms, self.side, self.trade_id, self._total)

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    def append(self, price: int, qty: int, time_ms: int, side: int, trade_id: int) -> None:
        """Add one trade, overwriting the oldest once the ring is full.

        Parameters
        ----------
        price, qty : int
            Scaled integers (the book's ``price_scale`` / ``qty_scale``).
        time_ms : int
            Trade time, Unix ms.
        side : int
            +1 taker buy, -1 taker sell.
        trade_id : int
            Binance trade id.
        """
        total = int(self._total[0])
        i = total % self.capacity
        self.price[i] = price
        self.qty[i] = qty
        self.time_ms[i] = time_ms
        self.side[i] = side
        self.trade_id[i] = trade_id
        self._total[0] = total + 1

    def rescale(self, price_factor: int, qty_factor: int) -> None:
        """Multiply every stored price and quantity in place (after the book's scale grew).

        Parameters
        ----------
        price_factor, qty_factor : int
            Integer factors, e.g. ``10**(new_scale - old_scale)``.
        """
        self.price *= price_factor
        self.qty *= qty_factor

    def latest(self, count: int | None = None) -> dict[str, np.ndarray]:
        """The newest ``count`` trades (all kept if None), oldest first, as copies."""
        n = len(self) if count is None else max(0, min(count, len(self)))
        end = self.total
        index = np.arange(end - n, end) % self.capacity
        return {
            "price": self.price[index],
            "qty": self.qty[index],
            "time_ms": self.time_ms[index],
            "side": self.side[index],
            "trade_id": self.trade_id[index],
        }

    def since(self, time_ms: int) -> dict[str, np.ndarray]:
        """Trades with ``time_ms >= time_ms`` still in the ring, oldest first."""
        everything = self.latest()
        first = int(np.searchsorted(everything["time_ms"], time_ms, side="left"))
        return {name: values[first:] for name, values in everything.items()}


#: Refills a session keeps by default (an ordinary market refills a few a second).
REFILL_CAPACITY = 1 << 16


class RefillRing:
    """Ring of the refills the book kernel saw: a level a trade hit, topped up again.

    ``data`` is int64 ``(N_REFILL_FIELDS, 2 * capacity)``; rows are the ``REFILL_*``
    fields of ``obcore._kernels._layout`` (side, price, time_ms, traded, refilled and
    displayed qty, scaled like the book). Refill ``k`` (0-based, in the order seen) lives
    in column ``k % capacity`` and ``k % capacity + capacity``, so the newest ``n`` refills
    are the one slice :meth:`latest` returns. The kernel writes it and rescales it with
    the book.
    """

    def __init__(self, capacity: int = REFILL_CAPACITY):
        if capacity < 1:
            raise InvalidInputError(f"refill ring capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.data = np.zeros((_fields.N_REFILL_FIELDS, 2 * capacity), dtype=_fields.REFILL_DTYPE)
        self._total = np.zeros(1, dtype=np.int64)

    @property
    def total(self) -> int:
        """Refills ever recorded."""
        return int(self._total[0])

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    def attach(self, kernel: Any) -> None:
        """Let ``kernel`` (a ``DepthBook``) record its refills here."""
        kernel.attach_refills(self.data, self._total)

    def latest(self, count: int | None = None) -> np.ndarray:
        """The newest ``count`` refills (all kept if None), oldest first: a view of shape
        ``(N_REFILL_FIELDS, n)``, valid until the kernel writes again."""
        n = len(self) if count is None else max(0, min(count, len(self)))
        stop = self.total % self.capacity + self.capacity
        return self.data[:, stop - n : stop]

    def since(self, time_ms: int) -> np.ndarray:
        """Refills seen at or after ``time_ms`` still in the ring, oldest first (a view)."""
        kept = self.latest()
        first = int(np.searchsorted(kept[_fields.REFILL_TIME], time_ms, side="left"))
        return kept[:, first:]
