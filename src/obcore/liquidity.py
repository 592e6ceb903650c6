"""Liquidity reads of one book: top of book, top-N volumes and imbalance, walls, sweep costs.

Room: pure reads of :class:`obcore.book.Book` (sans-I/O). What ``Book`` already computes
(microprice, spread in bps, imbalance, sweeps) is taken from it, not computed again here;
this module adds the exact figures it lacks (mid and spread as scaled integers), the wall
rule, and puts them together in frozen dataclasses a trading bot and the MCP server read
alike. Prices and quantities stay scaled integers (``value = int / 10**scale``); floats
only where ``Book`` gives floats (microprice, bps, sweep averages).

- :func:`top_of_book` — best levels, exact mid and spread, spread in bps, microprice.
- :func:`find_walls` — levels far above the median size of their side.
- :func:`sweep_estimates` — :meth:`Book.sweep` for buy and sell over several notionals.
- :func:`book_liquidity` — all of the above plus top-N volumes (:class:`Liquidity`).
- :func:`book_version` — what a liquidity answer depends on, for callers that cache one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from obcore.book import SweepResult
from obcore.errors import BookNotReadyError, InvalidInputError

__all__ = [
    "DEFAULT_NOTIONALS",
    "MAX_TOP_N",
    "WALL_FACTOR",
    "WALL_WINDOW",
    "Liquidity",
    "LiquidityBook",
    "TopOfBook",
    "VersionedSession",
    "Wall",
    "book_liquidity",
    "book_version",
    "find_walls",
    "sweep_estimates",
    "top_of_book",
]

#: A level is a wall when its size exceeds this multiple of the median of its side's top levels.
WALL_FACTOR = 5.0
#: How many levels a side the wall median is taken over.
WALL_WINDOW = 100
#: The most levels a side :func:`book_liquidity` sums (it reads :data:`WALL_WINDOW` anyway).
MAX_TOP_N = WALL_WINDOW
#: Quote amounts of the default sweep estimates.
DEFAULT_NOTIONALS = (10_000.0, 50_000.0, 100_000.0, 250_000.0)

Side = Literal["bid", "ask"]


class LiquidityBook(Protocol):
    """The part of :class:`obcore.book.Book` this module reads."""

    @property
    def price_scale(self) -> int: ...
    @property
    def qty_scale(self) -> int: ...
    @property
    def bid_count(self) -> int: ...
    @property
    def ask_count(self) -> int: ...
    def best_bid(self) -> tuple[int, int] | None: ...
    def best_ask(self) -> tuple[int, int] | None: ...
    def read_top(self, out: np.ndarray) -> tuple[int, int]: ...
    def spread_bps(self) -> float | None: ...
    def microprice(self) -> float | None: ...
    def imbalance(self, n: int = 10) -> float | None: ...
    def sweep(self, side: Literal["buy", "sell"], notional: float) -> SweepResult: ...


class VersionedSession(Protocol):
    """The part of :class:`obcore.session.BookSession` :func:`book_version` reads."""

    @property
    def book(self) -> LiquidityBook: ...
    @property
    def last_update_id(self) -> int: ...
    @property
    def events_applied(self) -> int: ...
    @property
    def resync_count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """Best levels of a two-sided book, exact where Binance's numbers are exact.

    Attributes
    ----------
    bid_price, bid_qty, ask_price, ask_qty : int
        Best levels, scaled (``price_scale`` / ``qty_scale`` decimals).
    price_scale, qty_scale : int
        The book's scales.
    mid : int
        ``(bid + ask) / 2`` exactly, at ``mid_scale = price_scale + 1`` decimals.
    spread : int
        ``ask - bid``, scaled like the prices.
    spread_bps : float
        The spread relative to the mid, in basis points (``Book.spread_bps``).
    microprice : float or None
        Size-weighted mid in quote units (``Book.microprice``); None if both sizes are 0.
    crossed : bool
        Best bid >= best ask (a book that is not to be trusted).
    """

    bid_price: int
    bid_qty: int
    ask_price: int
    ask_qty: int
    price_scale: int
    qty_scale: int
    mid: int
    spread: int
    spread_bps: float
    microprice: float | None
    crossed: bool

    @property
    def mid_scale(self) -> int:
        """Decimals of :attr:`mid` (one more than the prices')."""
        return self.price_scale + 1


@dataclass(frozen=True, slots=True)
class Wall:
    """A level far above its side's median size.

    Attributes
    ----------
    side : {"bid", "ask"}
    price, qty : int
        Scaled like the book.
    times_median : float
        Its size over the median size of its side's top :data:`WALL_WINDOW` levels.
    """

    side: Side
    price: int
    qty: int
    times_median: float


@dataclass(frozen=True, slots=True)
class Liquidity:
    """Everything :func:`book_liquidity` reads from one book state.

    Attributes
    ----------
    top : TopOfBook
    top_n : int
        Levels a side summed for the volumes and the imbalance.
    bid_volume, ask_volume : int
        Quantity in the top ``top_n`` levels of each side, scaled.
    imbalance : float or None
        ``(bid - ask) / (bid + ask)`` over those levels (``Book.imbalance``); None when both are 0.
    walls : tuple of Wall
        Bid walls then ask walls, each side largest first.
    sweeps : tuple of SweepResult
        Buy sweeps for each notional, then sell sweeps.
    bid_levels, ask_levels : int
        Levels on each side of the whole book.
    """

    top: TopOfBook
    top_n: int
    bid_volume: int
    ask_volume: int
    imbalance: float | None
    walls: tuple[Wall, ...]
    sweeps: tuple[SweepResult, ...]
    bid_levels: int
    ask_levels: int


def top_of_book(book: LiquidityBook) -> TopOfBook:
    """Best levels, exact mid and spread, spread in bps and microprice of ``book``.

    Parameters
    ----------
    book : obcore.book.Book

    Returns
    -------
    TopOfBook

    Raises
    ------
    BookNotReadyError
        A side of the book is empty.
    """
    bid, ask = book.best_bid(), book.best_ask()
    if bid is None or ask is None:
        raise BookNotReadyError(f"the book has an empty {'bid' if bid is None else 'ask'} side")
    spread_bps = book.spread_bps()
    assert spread_bps is not None  # both sides are there
    return TopOfBook(
        bid_price=bid[0], bid_qty=bid[1], ask_price=ask[0], ask_qty=ask[1],
        price_scale=book.price_scale, qty_scale=book.qty_scale,
        mid=(bid[0] + ask[0]) * 5,  # (bid + ask) / 2 exactly: the sum x 5 at one more decimal
        spread=ask[0] - bid[0],
        spread_bps=spread_bps,
        microprice=book.microprice() if bid[1] + ask[1] else None,
        crossed=bid[0] >= ask[0],
    )  # fmt: skip


def _median(ordered: list[int]) -> float:
    """``numpy.median`` of an already sorted list, to the same float (mean of the middle two)."""
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (float(ordered[mid - 1]) + float(ordered[mid])) / 2


def find_walls(prices: Sequence[int] | np.ndarray, qtys: Sequence[int] | np.ndarray, side: Side, limit: int = 5) -> tuple[Wall, ...]:
    """The ``limit`` largest levels of one side above :data:`WALL_FACTOR` x the median size
    of its first :data:`WALL_WINDOW` levels, largest first (equal sizes best first).

    Parameters
    ----------
    prices, qtys : sequence of int or ndarray of int64, shape (n,)
        One side's levels, best first, as scaled integers. Fewer than 3 levels have no walls.
    side : {"bid", "ask"}
        Copied into each wall.
    limit : int, default 5
        Most walls returned (>= 1).

    Returns
    -------
    tuple of Wall

    Raises
    ------
    InvalidInputError
        ``side`` is not bid/ask, ``limit`` < 1, or the two sequences differ in length.
    """
    if side not in ("bid", "ask"):
        raise InvalidInputError(f"side {side!r}: expected 'bid' or 'ask'")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise InvalidInputError(f"limit {limit!r}: expected an integer >= 1")
    if len(prices) != len(qtys):
        raise InvalidInputError(f"prices ({len(prices)}) and qtys ({len(qtys)}) differ in length")
    return _walls(prices, qtys, side, limit)


def _walls(prices: Sequence[int] | np.ndarray, qtys: Sequence[int] | np.ndarray, side: Side, limit: int) -> tuple[Wall, ...]:
    """:func:`find_walls` on arguments already checked."""
    # Plain Python: on <= 100 values sorted() is ~5x cheaper than numpy.median's dispatch.
    window = qtys[:WALL_WINDOW]
    window = window.tolist() if isinstance(window, np.ndarray) else list(window)
    if len(window) < 3:
        return ()
    median = _median(sorted(window))
    if median <= 0:
        return ()
    threshold = WALL_FACTOR * median
    # float(q): the comparison numpy made (int64 against a float threshold).
    hits = [i for i, q in enumerate(window) if float(q) > threshold]
    hits.sort(key=lambda i: -window[i])  # stable: equal sizes stay best first
    return tuple(Wall(side, int(prices[i]), int(window[i]), float(window[i]) / median) for i in hits[:limit])


def _check_notionals(notionals: Sequence[float]) -> tuple[float, ...]:
    values = tuple(notionals)
    if not values:
        raise InvalidInputError("notionals []: expected at least one quote amount")
    for notional in values:
        if isinstance(notional, bool) or not isinstance(notional, (int, float)) or not (
            math.isfinite(notional) and notional > 0
        ):
            raise InvalidInputError(f"notional {notional!r}: expected a finite quote amount > 0")
    return tuple(float(n) for n in values)


def sweep_estimates(book: LiquidityBook, notionals: Sequence[float] = DEFAULT_NOTIONALS) -> tuple[SweepResult, ...]:
    """Cost of sweeping the book with a market order of each notional, buying then selling.

    Parameters
    ----------
    book : obcore.book.Book
    notionals : sequence of float
        Quote amounts, each finite and > 0.

    Returns
    -------
    tuple of SweepResult
        ``Book.sweep("buy", n)`` for each ``n``, then ``Book.sweep("sell", n)``.

    Raises
    ------
    InvalidInputError
        No notional, or one that is not a finite number > 0.
    """
    return _sweeps(book, _check_notionals(notionals))


def _sweeps(book: LiquidityBook, notionals: tuple[float, ...]) -> tuple[SweepResult, ...]:
    return tuple(book.sweep(side, n) for side in ("buy", "sell") for n in notionals)


def book_liquidity(
    book: LiquidityBook, *, top_n: int = 10, notionals: Sequence[float] = DEFAULT_NOTIONALS, wall_limit: int = 5
) -> Liquidity:
    """Top of book, top-N volumes and imbalance, walls and sweep costs of one book state.

    Parameters
    ----------
    book : obcore.book.Book
    top_n : int, default 10
        Levels a side summed for the volumes and the imbalance, 1 to :data:`MAX_TOP_N`.
    notionals : sequence of float
        Quote amounts of the sweep estimates (see :func:`sweep_estimates`).
    wall_limit : int, default 5
        Most walls a side.

    Returns
    -------
    Liquidity

    Raises
    ------
    InvalidInputError
        A bad ``top_n``, ``notionals`` or ``wall_limit``, named in the message.
    BookNotReadyError
        A side of the book is empty.
    """
    if not isinstance(top_n, int) or isinstance(top_n, bool) or not 1 <= top_n <= MAX_TOP_N:
        raise InvalidInputError(f"top_n {top_n!r}: expected an integer from 1 to {MAX_TOP_N}")
    values = _check_notionals(notionals)
    top = top_of_book(book)
    levels = np.empty((4, WALL_WINDOW), dtype=np.int64)
    n_bids, n_asks = book.read_top(levels)
    rows = levels.tolist()
    bid_prices, bid_qtys = rows[0][:n_bids], rows[1][:n_bids]
    ask_prices, ask_qtys = rows[2][:n_asks], rows[3][:n_asks]
    if not isinstance(wall_limit, int) or isinstance(wall_limit, bool) or wall_limit < 1:
        raise InvalidInputError(f"wall_limit {wall_limit!r}: expected an integer >= 1")
    walls = _walls(bid_prices, bid_qtys, "bid", wall_limit) + _walls(ask_prices, ask_qtys, "ask", wall_limit)
    return Liquidity(
        top=top,
        top_n=top_n,
        bid_volume=sum(bid_qtys[:top_n]),
        ask_volume=sum(ask_qtys[:top_n]),
        imbalance=book.imbalance(top_n),
        walls=walls,
        sweeps=_sweeps(book, values),
        bid_levels=int(book.bid_count),
        ask_levels=int(book.ask_count),
    )


def book_version(session: VersionedSession) -> tuple[object, ...]:
    """What a :func:`book_liquidity` answer depends on: equal versions, equal answers.

    Any applied event, snapshot, resync or rescale changes it (the update id, events
    applied, resync count, scales, best levels and level counts are all in it), so a
    caller may keep an answer while ``book_version(session)`` stays equal.

    Parameters
    ----------
    session : BookSession

    Returns
    -------
    tuple
        Compare with ``==``; it holds the book object itself, not a copy of its levels.
    """
    book = session.book
    return (
        book, int(session.last_update_id), int(session.events_applied), int(session.resync_count),
        book.price_scale, book.qty_scale, book.best_bid(), book.best_ask(), int(book.bid_count), int(book.ask_count),
    )  # fmt: skip
