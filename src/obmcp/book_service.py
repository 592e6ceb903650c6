"""Live-book service: plain typed async functions behind orderbook_l1 / _l2 / _health.

Room: obmcp's presentation of obcore's answers. The figures come from
:mod:`obcore.liquidity` and :mod:`obcore.quality`; this module only gets the session
(``await manager.track(symbol)`` subscribes on first use, up to the symbol limit), reads
the clock, and converts obcore's frozen dataclasses to the tools' pydantic models
(exact decimals written with ``format_decimal``, floats rounded for display). No
arithmetic on books here.

A book that is not LIVE, older than :data:`obcore.quality.STALE_AFTER_MS`, on a stream
that is down or crossed is never reported as fine: ``data_quality.ok`` is False and
``warnings`` says why; a book with no levels at all is an error (``BookNotReadyError``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from obcore import liquidity, quality
from obcore.book import SweepResult
from obcore.errors import BookNotReadyError, InvalidInputError
from obcore.numbers import format_decimal
from obcore.quality import STALE_AFTER_MS
from obcore.session import BookSession

from obmcp.models import BookHealth, BookL1, BookL2, DataQuality, DepthLevels, SlippageEstimate, SymbolHealth, Wall
from obmcp.validation import L2_DEPTHS, check_choice, check_range, check_symbol

__all__ = [
    "DEFAULT_NOTIONALS",
    "MAX_WAIT_SECONDS",
    "STALE_AFTER_MS",
    "L1Cache",
    "LiveBooks",
    "live_session",
    "orderbook_health",
    "orderbook_l1",
    "orderbook_l2",
    "quality_model",
]

DEFAULT_NOTIONALS = liquidity.DEFAULT_NOTIONALS
MAX_WAIT_SECONDS = 30.0
_MAX_NOTIONALS = 10
_MAX_NOTIONAL = 1e9


class LiveBooks(Protocol):
    """The part of :class:`obcore.streams.StreamManager` the live-book tools use."""

    @property
    def symbols(self) -> list[str]: ...
    def session(self, symbol: str) -> BookSession | None: ...
    def is_connected(self, symbol: str) -> bool: ...
    def health(self) -> Mapping[str, Any]: ...
    async def track(self, symbol: str) -> BookSession: ...
    async def wait_live(self, symbol: str, timeout: float) -> BookSession | None: ...


def _now_ms() -> int:
    """The wall clock in Unix ms (the one clock of the live-book tools; tests replace it)."""
    return int(time.time() * 1000)


def quality_model(q: quality.DataQuality) -> DataQuality:
    """``obcore.quality.DataQuality`` as the tools' model."""
    return DataQuality(sync_state=q.state_name, book_age_ms=q.book_age_ms, ok=q.ok, warnings=list(q.warnings))


async def live_session(manager: LiveBooks | None, symbol: str, wait_seconds: float) -> BookSession:
    """Track ``symbol`` (first use subscribes) and wait up to ``wait_seconds`` for it to be LIVE.

    Parameters
    ----------
    manager : StreamManager or None
        The stream manager; ``None`` (no live source) raises ``BookNotReadyError``.
    symbol : str
        Binance symbol, already checked by the caller.
    wait_seconds : float
        Longest wait for LIVE; 0 does not wait. A timeout is not an error by itself.

    Returns
    -------
    BookSession
        The session, which may still not be LIVE if it has levels (see ``data_quality``).

    Raises
    ------
    SymbolLimitError
        Tracking one more symbol would pass the limit.
    BookNotReadyError
        The book still has no levels on either side after waiting.
    """
    if manager is None:
        raise BookNotReadyError("live books are not available: the server runs without a stream manager")
    session = await manager.track(symbol)
    if session.state.name != "LIVE" and wait_seconds > 0:
        try:
            await manager.wait_live(symbol, wait_seconds)
        except (TimeoutError, BookNotReadyError):
            pass  # reported below through the state and data_quality
    book = session.book
    if book.best_bid() is None and book.best_ask() is None:
        raise BookNotReadyError(
            f"book for {symbol} is {session.state.name} with no levels yet "
            f"(waited {wait_seconds:g} s); retry in a few seconds"
        )
    return session


def _check_wait(wait_seconds: object) -> float:
    if (
        isinstance(wait_seconds, bool)
        or not isinstance(wait_seconds, (int, float))
        or not 0 <= wait_seconds <= MAX_WAIT_SECONDS
    ):
        raise InvalidInputError(f"wait_seconds {wait_seconds!r}: expected a number from 0 to {MAX_WAIT_SECONDS:g}")
    return float(wait_seconds)


def _check_notionals(notionals: Sequence[float]) -> tuple[float, ...]:
    values = list(notionals)
    if not 1 <= len(values) <= _MAX_NOTIONALS:
        raise InvalidInputError(f"notionals {values!r}: expected 1 to {_MAX_NOTIONALS} amounts")
    for notional in values:
        # not (1 <= n <= max) also refuses NaN, which every comparison fails.
        if isinstance(notional, bool) or not isinstance(notional, (int, float)) or not 1 <= notional <= _MAX_NOTIONAL:
            raise InvalidInputError(f"notional {notional!r}: expected a quote amount from 1 to 1e9")
    return tuple(float(n) for n in values)


def _float_text(value: float | None, decimals: int) -> str | None:
    return None if value is None else f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _wall(wall: liquidity.Wall, price_scale: int, qty_scale: int) -> Wall:
    return Wall(
        side=wall.side,
        price=format_decimal(wall.price, price_scale),
        qty=format_decimal(wall.qty, qty_scale),
        times_median=round(wall.times_median, 2),
    )


def _sweep(r: SweepResult, price_scale: int, qty_scale: int) -> SlippageEstimate:
    return SlippageEstimate(
        side=r.side,
        notional=float(r.notional),
        avg_price=_float_text(r.avg_price, price_scale + 4),
        worst_price=_float_text(r.worst_price, price_scale),
        filled_qty=_float_text(r.filled_qty, qty_scale) or "0",
        filled_notional=round(float(r.filled_notional), 8),
        slippage_bps=None if r.slippage_bps is None else round(float(r.slippage_bps), 4),
        complete=bool(r.complete),
    )


def _l1_model(symbol: str, last_update_id: int, figures: liquidity.Liquidity, data: DataQuality) -> BookL1:
    top = figures.top
    ps, qs = top.price_scale, top.qty_scale
    return BookL1(
        symbol=symbol,
        best_bid=format_decimal(top.bid_price, ps),
        best_bid_qty=format_decimal(top.bid_qty, qs),
        best_ask=format_decimal(top.ask_price, ps),
        best_ask_qty=format_decimal(top.ask_qty, qs),
        mid=format_decimal(top.mid, top.mid_scale),
        spread=format_decimal(top.spread, ps),
        spread_bps=round(top.spread_bps, 6),
        microprice=_float_text(top.microprice, ps + 4) or "",
        top_n=figures.top_n,
        bid_volume_top_n=format_decimal(figures.bid_volume, qs),
        ask_volume_top_n=format_decimal(figures.ask_volume, qs),
        imbalance_top_n=0.0 if figures.imbalance is None else round(figures.imbalance, 6),
        walls=[_wall(w, ps, qs) for w in figures.walls],
        slippage=[_sweep(r, ps, qs) for r in figures.sweeps],
        last_update_id=last_update_id,
        bid_levels=figures.bid_levels,
        ask_levels=figures.ask_levels,
        data_quality=data,
    )


class L1Cache:
    """``orderbook_l1`` answers by (symbol, top_n, notionals), kept while the book's
    :func:`obcore.liquidity.book_version` is unchanged.

    One per server (see ``obmcp.catalog.ToolContext``), used from the event loop's thread.
    Converting a :class:`obcore.liquidity.Liquidity` to ``BookL1`` costs more than the
    figures themselves, so the converted answer is what is kept; ``data_quality`` is
    never cached.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._answers: dict[tuple[Any, ...], tuple[tuple[object, ...], BookL1]] = {}

    def get(self, key: tuple[Any, ...], version: tuple[object, ...]) -> BookL1 | None:
        """The answer kept for ``key`` if it was made at ``version``, else None."""
        kept = self._answers.get(key)
        return kept[1] if kept is not None and kept[0] == version else None

    def put(self, key: tuple[Any, ...], version: tuple[object, ...], answer: BookL1) -> None:
        """Keep ``answer``; past ``size`` keys, start over rather than grow."""
        if len(self._answers) >= self.size and key not in self._answers:
            self._answers.clear()
        self._answers[key] = (version, answer)

    def clear(self) -> None:
        """Forget every answer."""
        self._answers.clear()


async def orderbook_l1(
    manager: LiveBooks | None,
    symbol: str,
    *,
    top_n: int = 10,
    notionals: Sequence[float] = DEFAULT_NOTIONALS,
    wait_seconds: float = 10.0,
    cache: L1Cache | None = None,
) -> BookL1:
    """Top of the live book of ``symbol`` with depth, imbalance, walls and sweep costs.

    Parameters
    ----------
    manager : obcore.streams.StreamManager
        Keeps the books live.
    symbol : str
        Upper-case Binance symbol.
    top_n : int
        Levels a side summed for the volumes and the imbalance (1-100).
    notionals : sequence of float
        Quote amounts for the buy and sell sweep estimates (each 1 to 1e9, at most 10).
    wait_seconds : float
        How long the call may wait while the book is not LIVE (first use, resync), 0-30.
    cache : L1Cache, optional
        Reuse the figures while the book has not changed (``data_quality`` is always
        computed at call time). Treat a cached answer as read-only: its ``walls`` and
        ``slippage`` lists are shared.

    Returns
    -------
    BookL1

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message.
    SymbolLimitError, BookNotReadyError
        As :func:`live_session`; also when one side of the book is empty.
    """
    check_symbol(symbol)
    check_range("top_n", top_n, 1, liquidity.MAX_TOP_N)
    values = _check_notionals(notionals)
    session = await live_session(manager, symbol, _check_wait(wait_seconds))
    assert manager is not None  # live_session refuses None
    # No await from here on: the book cannot change under the reads below.
    book = session.book
    if book.best_bid() is None or book.best_ask() is None:
        raise BookNotReadyError(f"book for {symbol} has an empty {'bid' if book.best_bid() is None else 'ask'} side")
    data = quality_model(
        quality.data_quality(session, _now_ms(), connected=manager.is_connected(symbol), check_crossed=True)
    )
    key = (symbol, top_n, values)
    version = liquidity.book_version(session) if cache is not None else ()
    if cache is not None and (kept := cache.get(key, version)) is not None:
        return kept.model_copy(update={"data_quality": data})
    figures = liquidity.book_liquidity(book, top_n=top_n, notionals=values)
    answer = _l1_model(symbol, int(session.last_update_id), figures, data)
    if cache is not None:
        cache.put(key, version, answer)
    return answer


async def orderbook_l2(
    manager: LiveBooks | None, symbol: str, *, depth: int = 20, wait_seconds: float = 10.0
) -> BookL2:
    """The best ``depth`` (20 or 100) levels a side as scaled integers plus their scales.

    Parameters
    ----------
    manager : StreamManager or None
        The stream manager.
    symbol : str
        Binance symbol, upper case.
    depth : {20, 100}
        Levels per side.
    wait_seconds : float, default 10.0
        Longest wait for the book to be LIVE, 0 to ``MAX_WAIT_SECONDS``.

    Returns
    -------
    BookL2
        Prices and quantities as int64-range integers (divide by ``10**price_scale`` /
        ``10**qty_scale``), best first, with ``last_update_id`` and ``data_quality``.

    Raises
    ------
    InvalidInputError
        A bad symbol, depth or wait, named in the message.
    SymbolLimitError, BookNotReadyError
        As :func:`live_session`.
    """
    check_symbol(symbol)
    check_choice("depth", depth, L2_DEPTHS)
    session = await live_session(manager, symbol, _check_wait(wait_seconds))
    assert manager is not None  # live_session refuses None
    book = session.book
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(depth)
    data = quality.data_quality(session, _now_ms(), connected=manager.is_connected(symbol))
    return BookL2(
        symbol=symbol,
        levels=depth,
        price_scale=book.price_scale,
        qty_scale=book.qty_scale,
        bids=DepthLevels(prices=bid_prices.tolist(), qtys=bid_qtys.tolist()),
        asks=DepthLevels(prices=ask_prices.tolist(), qtys=ask_qtys.tolist()),
        last_update_id=int(session.last_update_id),
        data_quality=quality_model(data),
    )


def _symbol_model(h: quality.SymbolHealth) -> SymbolHealth:
    return SymbolHealth(
        symbol=h.symbol,
        status=h.status,
        sync_state=h.quality.state_name,
        book_age_ms=h.quality.book_age_ms,
        last_update_id=h.last_update_id,
        resync_count=h.quality.resync_count,
        gap_count=h.quality.gap_count,
        reason=h.reason,
    )


async def orderbook_health(
    manager: LiveBooks | None, symbol: str | None = None, *, max_symbols: int | None = None
) -> BookHealth:
    """Health of the live books: ok / degraded / error overall and per tracked symbol.

    Parameters
    ----------
    manager : StreamManager or None
        The stream manager; None reports ``error`` (live books are off).
    symbol : str, optional
        Report only this symbol (it is not subscribed if it is not tracked yet).
    max_symbols : int, optional
        The server's symbol limit, reported as is.

    Returns
    -------
    BookHealth
    """
    if symbol is not None:
        check_symbol(symbol)
    if manager is None:
        return BookHealth(status="error", symbols_tracked=[], symbols=[], reason="no stream manager: live books are off")
    health = quality.books_health(manager, _now_ms(), symbol)
    reason = health.reason
    if health.untracked is not None:
        reason = f"{reason}; call orderbook_l1 or orderbook_l2 for it first"
    return BookHealth(
        status=health.status,
        symbols_tracked=list(health.symbols_tracked),
        max_symbols=max_symbols,
        stream_connected=health.stream_connected,
        symbols=[_symbol_model(h) for h in health.symbols],
        reason=reason,
    )
