"""A deterministic BTCUSDT-like depth stream, for benches, the emulator and tests.

The stream is a REST-style snapshot and a run of ``depthUpdate`` payloads (Binance
strings, 8 decimals: ``"30000.01000000"``) that follow Binance's rules: ``U`` of each
event is the previous ``u`` + 1, the first one bridges the snapshot, ``E`` advances
~100 ms an event, each price appears at most once per side in an event, and the book is
never crossed after an event (when the touch moves through the other side, the crossed
levels are deleted in the same event, as Binance does).

Shape (defaults): ~1000 levels a side around a mid of 30000.00 with tick 0.01, ~12
level changes an event, ~11 % of them deletes (qty 0; nearly all of existing levels),
activity concentrated near the touch (geometric distance, mean ~10 ticks).

The same events are also given as scaled-integer rows (price scale 2, qty scale 5 by
default), so benches can feed ``Book.apply`` without parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from obcore.errors import InvalidInputError

__all__ = ["SyntheticStream", "generate_stream", "payload_rows"]

BID = 0
ASK = 1


@dataclass(frozen=True, slots=True)
class SyntheticStream:
    """A generated snapshot and the depth events that follow it.

    Attributes
    ----------
    snapshot : dict
        ``{"lastUpdateId", "bids", "asks"}`` with Binance strings, best first.
    payloads : list of dict
        ``depthUpdate`` payloads with Binance strings.
    events : list of tuple
        The same events as ``(U, u, E, levels)``; ``levels`` is an int64 C-contiguous
        (n, 3) array of (side 0 bid / 1 ask, price, qty) in scaled integers.
    snapshot_levels : tuple of ndarray
        (bid_prices, bid_qtys, ask_prices, ask_qtys) int64, best first.
    price_scale, qty_scale : int
        Decimals of the integer rows.
    symbol : str
    """

    snapshot: dict[str, Any]
    payloads: list[dict[str, Any]]
    events: list[tuple[int, int, int, np.ndarray]]
    snapshot_levels: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    price_scale: int
    qty_scale: int
    symbol: str

    @property
    def level_changes(self) -> int:
        """Total level changes over all events."""
        return sum(len(event[3]) for event in self.events)


def _formatter(scale: int):
    # Binance prints every number with 8 decimals; our integers have ``scale`` of them.
    pad = 10 ** (8 - scale)

    def text(value: int) -> str:
        whole, fraction = divmod(value * pad, 10**8)
        return f"{whole}.{fraction:08d}"

    return text


def generate_stream(
    level_changes: int = 1_000_000,
    *,
    seed: int = 20240809,
    levels_per_side: int = 1000,
    changes_per_event: float = 12.0,
    delete_fraction: float = 0.11,
    mid: float = 30000.0,
    price_scale: int = 2,
    qty_scale: int = 5,
    symbol: str = "BTCUSDT",
    first_update_id: int = 50_000_000_000,
    start_time_ms: int = 1_723_161_600_000,
) -> SyntheticStream:
    """Generate a stream of about ``level_changes`` level changes (deterministic in ``seed``).

    Parameters
    ----------
    level_changes : int
        Stop once this many level changes were generated (the last event is whole).
    seed : int
        Seed of the numpy generator; the same arguments give the same stream.
    levels_per_side : int
        Snapshot depth a side; the generator keeps each side near this size.
    changes_per_event : float
        Mean level changes an event (at least 1 each).
    delete_fraction : float
        Target share of changes that delete a level (qty 0).
    mid, price_scale, qty_scale, symbol, first_update_id, start_time_ms
        Where the book starts, the tick (``10**-price_scale``) and the lot
        (``10**-qty_scale``), and the ids and time of the snapshot.

    Returns
    -------
    SyntheticStream
    """
    if level_changes < 1:
        raise InvalidInputError(f"level_changes must be >= 1, got {level_changes}")
    if levels_per_side < 50:
        raise InvalidInputError(f"levels_per_side must be >= 50, got {levels_per_side}")
    if not 1 <= changes_per_event <= 1000:
        raise InvalidInputError(f"changes_per_event must be in 1..1000, got {changes_per_event}")
    if not 0 <= delete_fraction < 0.5:
        raise InvalidInputError(f"delete_fraction must be in [0, 0.5), got {delete_fraction}")
    if not 0 <= price_scale <= 8 or not 0 <= qty_scale <= 8:
        raise InvalidInputError(f"scales must be in 0..8, got price {price_scale}, qty {qty_scale}")
    rng = _Draws(np.random.default_rng(seed), qty_scale)
    mid_int = int(round(mid * 10**price_scale))
    width = int(levels_per_side * 1.1)  # ticks a side the book spans (about 90 % filled)

    new_qty = rng.qty
    sign = (-1, 1)  # moving away from the touch: bids go down, asks go up
    books = [_Side(BID), _Side(ASK)]
    for side, touch in ((BID, mid_int - 1), (ASK, mid_int + 1)):
        filled = rng.generator.random(width) < levels_per_side / width
        filled[0] = True
        for distance in np.flatnonzero(filled)[:levels_per_side]:
            books[side].set(touch + sign[side] * int(distance), new_qty())

    # A share of the deletes comes from the touch moving (crossed levels, trades) and
    # from trimming the far end; the rest are random cancels of touched levels.
    cancel_probability = delete_fraction * 0.95
    payloads: list[dict[str, Any]] = []
    events: list[tuple[int, int, int, np.ndarray]] = []
    price_text, qty_text = _formatter(price_scale), _formatter(qty_scale)
    last_id = first_update_id
    time_ms = start_time_ms
    snapshot = _snapshot(books, last_id, price_text, qty_text)
    snapshot_levels = _snapshot_arrays(books)
    total = 0
    while total < level_changes:
        changes: dict[tuple[int, int], int] = {}  # (side, price) -> new qty, this event
        n_changes = 1 + int(rng.generator.poisson(changes_per_event - 1))
        if rng.random() < 0.25:
            _move_touch(rng, books, changes, new_qty)
        while len(changes) < n_changes:
            side = rng.side()
            book = books[side]
            if rng.random() < 0.9:
                distance = rng.near()
            else:
                distance = int(rng.random() * width)
            price = book.best + sign[side] * distance
            if (side, price) in changes:
                continue
            present = price in book.levels
            draw = rng.random()
            if present and draw < cancel_probability and len(book.levels) > levels_per_side // 2:
                qty = 0
            elif not present and draw < 0.004:
                qty = 0  # Binance also sends deletes of levels it never showed
            else:
                qty = new_qty()
            _record(books, changes, side, price, qty)
        for side in (BID, ASK):
            # Keep ~levels_per_side a side: the farthest levels are cancelled or refilled.
            book = books[side]
            while len(book.levels) > levels_per_side + 20:
                _record(books, changes, side, book.worst, 0)
            while len(book.levels) < levels_per_side - 20:
                _record(books, changes, side, book.worst + book.away * (1 + int(rng.random() * 3)), new_qty())
        rows = np.array([(side, price, qty) for (side, price), qty in changes.items()], dtype=np.int64)
        rows = np.ascontiguousarray(rows[np.lexsort((rows[:, 1], rows[:, 0]))])
        first_id = last_id + 1
        last_id = first_id + len(rows) + int(rng.random() * 2 * len(rows))
        time_ms += 100 + int(rng.random() * 3)
        events.append((first_id, last_id, time_ms, rows))
        payloads.append(
            {
                "e": "depthUpdate",
                "E": time_ms,
                "s": symbol,
                "U": first_id,
                "u": last_id,
                "b": [[price_text(p), qty_text(q)] for s, p, q in rows.tolist() if s == BID],
                "a": [[price_text(p), qty_text(q)] for s, p, q in rows.tolist() if s == ASK],
            }
        )
        total += len(rows)
    return SyntheticStream(snapshot, payloads, events, snapshot_levels, price_scale, qty_scale, symbol)


class _Draws:
    """Random draws taken from numpy in blocks (a scalar numpy call costs ~1 µs)."""

    BLOCK = 1 << 16

    def __init__(self, generator: np.random.Generator, qty_scale: int):
        self.generator = generator
        self.mean_qty = np.log(0.05 * 10**qty_scale)  # sizes around 0.05 (BTC)
        self._blocks: dict[str, list] = {}
        self._at: dict[str, int] = {}

    def _next(self, kind: str):
        block = self._blocks.get(kind)
        at = self._at.get(kind, 0)
        if block is None or at == len(block):
            draw = self.generator
            if kind == "random":
                block = draw.random(self.BLOCK)
            elif kind == "side":
                block = draw.integers(0, 2, self.BLOCK)
            elif kind == "near":
                block = draw.geometric(0.1, self.BLOCK) - 1
            elif kind == "step":
                block = draw.geometric(0.5, self.BLOCK)
            else:  # lognormal sizes, at least one lot
                block = np.maximum(1, draw.lognormal(self.mean_qty, 1.5, self.BLOCK).astype(np.int64))
            block = block.tolist()
            self._blocks[kind] = block
            at = 0
        self._at[kind] = at + 1
        return block[at]

    def random(self) -> float:
        return self._next("random")

    def side(self) -> int:
        return self._next("side")

    def near(self) -> int:
        return self._next("near")

    def step(self) -> int:
        return self._next("step")

    def qty(self) -> int:
        return self._next("qty")


class _Side:
    """One side's levels with its best and worst price kept up to date (prices are ticks)."""

    def __init__(self, side: int):
        self.levels: dict[int, int] = {}
        self.away = -1 if side == BID else 1  # one tick away from the touch
        self.best = 0
        self.worst = 0

    def set(self, price: int, qty: int) -> None:
        levels, away = self.levels, self.away
        if qty > 0:
            if not levels:
                self.best = self.worst = price
            elif (price - self.best) * away < 0:
                self.best = price
            elif (price - self.worst) * away > 0:
                self.worst = price
            levels[price] = qty
            return
        if levels.pop(price, None) is None or not levels:
            return
        # The book is dense in ticks, so walking to the next level is short.
        while self.best not in levels:
            self.best += away
        while self.worst not in levels:
            self.worst -= away


def _record(books: list[_Side], changes, side: int, price: int, qty: int) -> None:
    changes[(side, price)] = qty
    books[side].set(price, qty)


def _move_touch(rng, books: list[_Side], changes, new_qty) -> None:
    """Move one side's touch by a few ticks; keep the book uncrossed like Binance does."""
    side = rng.side()
    book, other = books[side], books[1 - side]
    step = rng.step()
    if rng.random() < 0.5:
        # Aggressive: a new level beyond the touch; the crossed levels opposite are taken.
        price = book.best - book.away * step
        while other.levels and (other.best - price) * other.away <= 0:
            if len(other.levels) == 1:
                _record(books, changes, 1 - side, price + other.away, new_qty())
            _record(books, changes, 1 - side, other.best, 0)
        _record(books, changes, side, price, new_qty())
    elif len(book.levels) > step + 1:
        # The touch is consumed: its best ``step`` levels go.
        for _ in range(step):
            _record(books, changes, side, book.best, 0)


def _snapshot(books: list[_Side], last_id: int, price_text, qty_text) -> dict[str, Any]:
    bids = sorted(books[BID].levels.items(), reverse=True)
    asks = sorted(books[ASK].levels.items())
    return {
        "lastUpdateId": last_id,
        "bids": [[price_text(p), qty_text(q)] for p, q in bids],
        "asks": [[price_text(p), qty_text(q)] for p, q in asks],
    }


def _snapshot_arrays(books: list[_Side]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    bids = sorted(books[BID].levels.items(), reverse=True)
    asks = sorted(books[ASK].levels.items())
    return (
        np.array([p for p, _ in bids], dtype=np.int64),
        np.array([q for _, q in bids], dtype=np.int64),
        np.array([p for p, _ in asks], dtype=np.int64),
        np.array([q for _, q in asks], dtype=np.int64),
    )


def payload_rows(payload: dict[str, Any], price_scale: int, qty_scale: int) -> np.ndarray:
    """A ``depthUpdate`` payload's levels as int64 (n, 3) rows of (side, price, qty).

    Exact (decimal text to scaled integer); raises ``PrecisionError`` for a number finer
    than the scale.

    Parameters
    ----------
    payload : dict
        A ``depthUpdate`` event with ``b`` and ``a`` lists of ``[price, qty]`` strings.
    price_scale, qty_scale : int
        Decimals kept for prices and quantities (values are scaled by ``10**scale``).

    Returns
    -------
    ndarray of int64, shape (n, 3)
        Bids first, then asks, in payload order; side is ``BID`` (0) or ``ASK`` (1),
        quantity 0 removes the level.

    Raises
    ------
    PrecisionError
        A price or quantity has more decimals than its scale.
    """
    from obcore.numbers import parse_decimal

    rows = [(BID, parse_decimal(p, price_scale), parse_decimal(q, qty_scale)) for p, q, *_ in payload["b"]]
    rows += [(ASK, parse_decimal(p, price_scale), parse_decimal(q, qty_scale)) for p, q, *_ in payload["a"]]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)
