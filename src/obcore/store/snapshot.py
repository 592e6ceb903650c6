"""The record the store keeps: one 1-second snapshot of a book, and a range of them as arrays.

A :class:`Snapshot` is what the writer takes in (one per tracked symbol per second);
:class:`SnapshotArrays` is what a range read hands back (a struct of numpy arrays, one row
per stored second). :func:`snapshot_of` builds a snapshot from a live ``BookSession``.

Every price and quantity is a scaled integer (``value = int / 10**scale``); the scales
travel with the data. Best bid/ask, spread and depth sums are derived from the stored
levels, so they cost no bytes on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from obcore.errors import InvalidInputError
from obcore.session import SyncState

__all__ = [
    "DEPTH",
    "STATE_CODES",
    "STATE_NAMES",
    "Snapshot",
    "SnapshotArrays",
    "scale_qty_counters",
    "snapshot_of",
    "state_code",
]

#: Levels kept per side in every snapshot.
DEPTH = 20

#: Sync states as stored (one small int): the code is the position in ``SyncState``, the
#: name its value (``"LIVE"``).
STATE_NAMES: tuple[str, ...] = tuple(state.value for state in SyncState)
STATE_CODES: dict[str, int] = {name: code for code, name in enumerate(STATE_NAMES)}

_EMPTY = np.zeros(0, dtype=np.int64)


def state_code(state: Any) -> int:
    """Map a sync state (``SyncState`` member, its name, or a stored code) to its stored code.

    Parameters
    ----------
    state : SyncState or str or int
        The session's state.

    Returns
    -------
    int
        Index into :data:`STATE_NAMES`.
    """
    if isinstance(state, (int, np.integer)) and not isinstance(state, bool):
        if 0 <= int(state) < len(STATE_NAMES):
            return int(state)
        raise InvalidInputError(f"sync state code {state!r} is not one of 0..{len(STATE_NAMES) - 1}")
    name = getattr(state, "name", state)
    if isinstance(name, str) and name.upper() in STATE_CODES:
        return STATE_CODES[name.upper()]
    raise InvalidInputError(f"sync state {state!r} is not one of {', '.join(STATE_NAMES)}")


def _levels(values: Any, what: str) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.ndim != 1 or array.shape[0] > DEPTH:
        raise InvalidInputError(f"{what} must be a 1-d array of at most {DEPTH} levels, got shape {array.shape}")
    return array


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One second of one symbol's book.

    Parameters
    ----------
    symbol : str
        Upper-case Binance symbol matching ``obcore.validation.SYMBOL_PATTERN`` (2 to 20
        characters of ``[A-Z0-9]``).
    time_s : int
        Exchange time in whole seconds (the counters' second).
    price_scale, qty_scale : int
        Decimal scales of the integers below.
    bid_prices, bid_qtys, ask_prices, ask_qtys : ndarray of int64, shape (k,), k <= 20
        Top levels best first; both arrays of a side have the same length.
    counters : ndarray of int64, shape (n_fields,)
        The second's counters in ``obcore.counters.FIELD_NAMES`` order.
    state : int
        Stored sync-state code (see :data:`STATE_NAMES`).
    last_update_id : int
        Last applied depth update id.
    last_event_time_ms : int
        Exchange event time of the last applied event (0 if none).
    gap_count, resync_count : int
        The session's running totals.
    bid_count, ask_count : int
        Levels on each side of the whole book (not just the top 20).
    """

    symbol: str
    time_s: int
    price_scale: int
    qty_scale: int
    bid_prices: np.ndarray
    bid_qtys: np.ndarray
    ask_prices: np.ndarray
    ask_qtys: np.ndarray
    counters: np.ndarray
    state: int = STATE_CODES["LIVE"]
    last_update_id: int = 0
    last_event_time_ms: int = 0
    gap_count: int = 0
    resync_count: int = 0
    bid_count: int = 0
    ask_count: int = 0

    def __post_init__(self) -> None:
        from obcore.store.keys import check_symbol

        check_symbol(self.symbol)
        for name in ("bid_prices", "bid_qtys", "ask_prices", "ask_qtys"):
            object.__setattr__(self, name, _levels(getattr(self, name), name))
        if self.bid_prices.shape != self.bid_qtys.shape or self.ask_prices.shape != self.ask_qtys.shape:
            raise InvalidInputError(
                f"{self.symbol} second {self.time_s}: price and quantity arrays differ in length "
                f"(bids {self.bid_prices.shape[0]}/{self.bid_qtys.shape[0]}, "
                f"asks {self.ask_prices.shape[0]}/{self.ask_qtys.shape[0]})"
            )
        for side, prices, qtys, order in (
            ("bid", self.bid_prices, self.bid_qtys, -1),
            ("ask", self.ask_prices, self.ask_qtys, 1),
        ):
            # The codec relies on a real book's shape: strictly best first, sizes > 0.
            if qtys.shape[0] and int(qtys.min()) <= 0:
                raise InvalidInputError(f"{self.symbol} second {self.time_s}: {side} quantity {int(qtys.min())} is not > 0")
            if prices.shape[0] > 1 and not np.all(np.diff(prices) * order > 0):
                raise InvalidInputError(
                    f"{self.symbol} second {self.time_s}: {side} prices are not strictly best first: {prices.tolist()}"
                )
        counters = np.ascontiguousarray(self.counters, dtype=np.int64)
        if counters.ndim != 1:
            raise InvalidInputError(f"counters must be 1-d, got shape {counters.shape}")
        object.__setattr__(self, "counters", counters)
        object.__setattr__(self, "state", state_code(self.state))
        if self.time_s < 0:
            raise InvalidInputError(f"time_s must be >= 0, got {self.time_s}")
        for name in ("price_scale", "qty_scale"):
            value = getattr(self, name)
            if not 0 <= value <= 18:
                raise InvalidInputError(f"{name} must be in 0..18, got {value}")

    @property
    def best_bid(self) -> int | None:
        """Best bid price (scaled int), or None on an empty side."""
        return int(self.bid_prices[0]) if self.bid_prices.shape[0] else None

    @property
    def best_ask(self) -> int | None:
        """Best ask price (scaled int), or None on an empty side."""
        return int(self.ask_prices[0]) if self.ask_prices.shape[0] else None

    @property
    def spread(self) -> int | None:
        """Best ask minus best bid (scaled int), or None if a side is empty."""
        if self.best_bid is None or self.best_ask is None:
            return None
        return self.best_ask - self.best_bid

    @property
    def bid_depth(self) -> int:
        """Sum of the stored bid quantities (top 20)."""
        return int(self.bid_qtys.sum())

    @property
    def ask_depth(self) -> int:
        """Sum of the stored ask quantities (top 20)."""
        return int(self.ask_qtys.sum())

    def at_scales(self, price_scale: int, qty_scale: int) -> "Snapshot":
        """This snapshot with its integers brought to larger scales (exact: times 10**k).

        Quantity counters (``*_qty`` fields of ``obcore.counters.FIELD_NAMES``) are
        rescaled with the level sizes.

        Parameters
        ----------
        price_scale : int
            Target price scale (decimal digits), >= the current one.
        qty_scale : int
            Target quantity scale (decimal digits), >= the current one.

        Returns
        -------
        Snapshot
            ``self`` when the scales already match, else a rescaled copy.

        Raises
        ------
        InvalidInputError
            A target scale is below the current one (would lose digits).
        """
        if price_scale == self.price_scale and qty_scale == self.qty_scale:
            return self
        if price_scale < self.price_scale or qty_scale < self.qty_scale:
            raise InvalidInputError(
                f"cannot lower scales {self.price_scale}/{self.qty_scale} to {price_scale}/{qty_scale} exactly"
            )
        price_factor = 10 ** (price_scale - self.price_scale)
        qty_factor = 10 ** (qty_scale - self.qty_scale)
        return Snapshot(
            symbol=self.symbol,
            time_s=self.time_s,
            price_scale=price_scale,
            qty_scale=qty_scale,
            bid_prices=self.bid_prices * price_factor,
            bid_qtys=self.bid_qtys * qty_factor,
            ask_prices=self.ask_prices * price_factor,
            ask_qtys=self.ask_qtys * qty_factor,
            counters=scale_qty_counters(self.counters, qty_factor),
            state=self.state,
            last_update_id=self.last_update_id,
            last_event_time_ms=self.last_event_time_ms,
            gap_count=self.gap_count,
            resync_count=self.resync_count,
            bid_count=self.bid_count,
            ask_count=self.ask_count,
        )

    def equals(self, other: "Snapshot") -> bool:
        """Exact equality of every stored field (arrays compared element-wise)."""
        if not isinstance(other, Snapshot):
            return False
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, np.ndarray):
                if mine.shape != theirs.shape or not np.array_equal(mine, theirs):
                    return False
            elif mine != theirs:
                return False
        return True


@dataclass(slots=True)
class SnapshotArrays:
    """A range of one symbol's snapshots as arrays, one row per stored second.

    Level arrays are padded with 0 beyond ``bid_levels`` / ``ask_levels``.

    Attributes
    ----------
    symbol : str
    price_scale, qty_scale : int
        Scales of every price / quantity array (the largest stored in the range).
    counter_names : tuple of str
        Names of the ``counters`` columns.
    time_s : ndarray of int64, shape (n,)
    bid_prices, bid_qtys, ask_prices, ask_qtys : ndarray of int64, shape (n, 20)
    bid_levels, ask_levels : ndarray of int64, shape (n,)
        Number of valid levels in each row.
    counters : ndarray of int64, shape (n, n_fields)
    state, last_update_id, last_event_time_ms, gap_count, resync_count,
    bid_count, ask_count : ndarray of int64, shape (n,)
    """

    symbol: str
    price_scale: int
    qty_scale: int
    counter_names: tuple[str, ...]
    time_s: np.ndarray
    bid_prices: np.ndarray
    bid_qtys: np.ndarray
    ask_prices: np.ndarray
    ask_qtys: np.ndarray
    bid_levels: np.ndarray
    ask_levels: np.ndarray
    counters: np.ndarray
    state: np.ndarray
    last_update_id: np.ndarray
    last_event_time_ms: np.ndarray
    gap_count: np.ndarray
    resync_count: np.ndarray
    bid_count: np.ndarray
    ask_count: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def best_bid(self) -> np.ndarray:
        """Best bid per row (0 where the side is empty)."""
        return self.bid_prices[:, 0]

    @property
    def best_ask(self) -> np.ndarray:
        """Best ask per row (0 where the side is empty)."""
        return self.ask_prices[:, 0]

    @property
    def spread(self) -> np.ndarray:
        """Best ask minus best bid per row (0 where a side is empty)."""
        both = (self.bid_levels > 0) & (self.ask_levels > 0)
        return np.where(both, self.ask_prices[:, 0] - self.bid_prices[:, 0], 0)

    @property
    def bid_depth(self) -> np.ndarray:
        """Sum of the stored bid quantities per row."""
        return self.bid_qtys.sum(axis=1)

    @property
    def ask_depth(self) -> np.ndarray:
        """Sum of the stored ask quantities per row."""
        return self.ask_qtys.sum(axis=1)

    def row(self, index: int) -> Snapshot:
        """Row ``index`` as a :class:`Snapshot` (for tests and export)."""
        nb, na = int(self.bid_levels[index]), int(self.ask_levels[index])
        return Snapshot(
            symbol=self.symbol,
            time_s=int(self.time_s[index]),
            price_scale=self.price_scale,
            qty_scale=self.qty_scale,
            bid_prices=self.bid_prices[index, :nb].copy(),
            bid_qtys=self.bid_qtys[index, :nb].copy(),
            ask_prices=self.ask_prices[index, :na].copy(),
            ask_qtys=self.ask_qtys[index, :na].copy(),
            counters=self.counters[index].copy(),
            state=int(self.state[index]),
            last_update_id=int(self.last_update_id[index]),
            last_event_time_ms=int(self.last_event_time_ms[index]),
            gap_count=int(self.gap_count[index]),
            resync_count=int(self.resync_count[index]),
            bid_count=int(self.bid_count[index]),
            ask_count=int(self.ask_count[index]),
        )


def _qty_counter_columns() -> tuple[int, ...]:
    from obcore._kernels._layout import QTY_FIELDS

    return QTY_FIELDS


def scale_qty_counters(counters: np.ndarray, factor: int) -> np.ndarray:
    """Counters with the quantity fields multiplied by ``factor`` (a new array).

    ``counters`` is ``(n_fields,)`` or ``(n, n_fields)``; only the standard
    ``obcore.counters`` layout has known quantity fields, other widths are returned as is.

    Parameters
    ----------
    counters : ndarray of int64, shape (n_fields,) or (n, n_fields)
        Counter rows; not modified.
    factor : int
        Multiplier, normally ``10**k`` for a quantity-scale increase of ``k``.

    Returns
    -------
    ndarray of int64
        A new array of the same shape.
    """
    from obcore.counters import FIELD_NAMES

    out = np.array(counters, dtype=np.int64, copy=True)
    if factor != 1 and out.shape[-1] == len(FIELD_NAMES):
        out[..., list(_qty_counter_columns())] *= factor
    return out


def snapshot_of(session: Any, second: int) -> Snapshot:
    """Build the stored snapshot of a live ``BookSession`` for one second.

    Parameters
    ----------
    session : obcore.session.BookSession
        The symbol's session (its book, counters and sync state are read, not changed).
    second : int
        The exchange second the snapshot stands for; its counters come from
        ``session.counters.window(second, 1)``.

    Returns
    -------
    Snapshot
    """
    book = session.book
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(DEPTH)
    counters = np.asarray(session.counters.window(second, 1), dtype=np.int64)[:, 0]
    last_event = session.last_event_time_ms
    return Snapshot(
        symbol=session.symbol,
        time_s=int(second),
        price_scale=int(session.price_scale),
        qty_scale=int(session.qty_scale),
        bid_prices=bid_prices,
        bid_qtys=bid_qtys,
        ask_prices=ask_prices,
        ask_qtys=ask_qtys,
        counters=counters,
        state=state_code(session.state),
        last_update_id=int(session.last_update_id or 0),
        last_event_time_ms=int(last_event or 0),
        gap_count=int(session.gap_count),
        resync_count=int(session.resync_count),
        bid_count=int(book.bid_count),
        ask_count=int(book.ask_count),
    )
