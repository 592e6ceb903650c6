"""Live-book service: plain typed async functions behind orderbook_l1 / _l2 / _health.

They read ``BookSession`` objects kept live by ``obcore.streams.StreamManager``
(``await manager.track(symbol)`` subscribes on first use, up to the symbol limit).
A book that is not LIVE, or older than :data:`STALE_AFTER_MS`, is never reported as
fine: ``data_quality.ok`` is False and ``warnings`` says why; a book with no levels at
all is an error (``BookNotReadyError``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from obcore.errors import BookNotReadyError, InvalidInputError
from obcore.numbers import format_decimal

from obmcp.models import BookHealth, BookL1, BookL2, DataQuality, DepthLevels, SlippageEstimate, SymbolHealth, Wall
from obmcp.validation import L2_DEPTHS, check_choice, check_range, check_symbol

__all__ = [
    "DEFAULT_NOTIONALS",
    "STALE_AFTER_MS",
    "WALL_FACTOR",
    "data_quality",
    "find_walls",
    "live_session",
    "orderbook_health",
    "orderbook_l1",
    "orderbook_l2",
    "state_name",
]

STALE_AFTER_MS = 5_000
#: A level is a wall when its size exceeds this multiple of the median of the side's top 100.
WALL_FACTOR = 5.0
WALL_WINDOW = 100
DEFAULT_NOTIONALS = (10_000.0, 50_000.0, 100_000.0, 250_000.0)
MAX_WAIT_SECONDS = 30.0


def state_name(session: Any) -> str:
    """The session's sync state as an upper-case name (``LIVE``, ``SYNCING`` …)."""
    state = session.state
    return str(getattr(state, "name", state)).upper()


def _now_ms() -> int:
    return int(time.time() * 1000)


def stream_connected(manager: Any, symbol: str) -> bool:
    """Whether ``symbol``'s stream is up (True for managers that cannot tell)."""
    is_connected = getattr(manager, "is_connected", None)
    return True if is_connected is None else bool(is_connected(symbol))


def data_quality(session: Any, now_ms: int | None = None, *, connected: bool = True) -> DataQuality:
    """Sync state, book age and warnings; ``ok`` only for a LIVE book younger than 5 s.

    Parameters
    ----------
    session : BookSession
        The symbol's session (``state``, ``book_age_ms``, ``gap_count``, ``resync_count``).
    now_ms : int, optional
        Current Unix time in ms; defaults to the wall clock.
    connected : bool
        Whether the symbol's stream is up; a book whose stream is down is not ``ok``.

    Returns
    -------
    DataQuality
        ``ok`` is True only for a LIVE book updated at most ``STALE_AFTER_MS`` ago;
        ``warnings`` says why not, and reports sequence gaps.
    """
    now_ms = _now_ms() if now_ms is None else now_ms
    state = state_name(session)
    age = session.book_age_ms(now_ms)
    age = None if age is None else int(age)
    warnings = []
    if state != "LIVE":
        warnings.append(f"book is {state}, not LIVE: levels may be missing or out of date")
    if age is None:
        warnings.append("no depth update applied yet")
    elif age > STALE_AFTER_MS:
        warnings.append(f"book is stale: last update {age} ms ago (limit {STALE_AFTER_MS} ms)")
    if not connected:
        warnings.append("stream disconnected: no updates are arriving, the book may be out of date")
    gaps = int(getattr(session, "gap_count", 0) or 0)
    if gaps:
        warnings.append(f"{gaps} sequence gap(s) seen since tracking began (resyncs: {session.resync_count})")
    ok = connected and state == "LIVE" and age is not None and age <= STALE_AFTER_MS
    return DataQuality(sync_state=state, book_age_ms=age, ok=ok, warnings=warnings)


async def live_session(manager: Any, symbol: str, wait_seconds: float) -> Any:
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
    if state_name(session) != "LIVE" and wait_seconds > 0:
        try:
            await manager.wait_live(symbol, wait_seconds)
        except (TimeoutError, BookNotReadyError):
            pass  # reported below through the state and data_quality
    book = session.book
    if book.best_bid() is None and book.best_ask() is None:
        raise BookNotReadyError(
            f"book for {symbol} is {state_name(session)} with no levels yet "
            f"(waited {wait_seconds:g} s); retry in a few seconds"
        )
    return session


def _check_wait(wait_seconds: float) -> float:
    if not isinstance(wait_seconds, (int, float)) or not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
        raise InvalidInputError(f"wait_seconds {wait_seconds!r}: expected 0 to {MAX_WAIT_SECONDS:g}")
    return float(wait_seconds)


def _median(ordered: list[int]) -> float:
    """``numpy.median`` of an already sorted list, to the same float (mean of the middle two)."""
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (float(ordered[mid - 1]) + float(ordered[mid])) / 2


def find_walls(prices: Sequence[int], qtys: Sequence[int], side: str, book: Any, limit: int = 5) -> list[Wall]:
    """The ``limit`` largest levels of one side (best first) above ``WALL_FACTOR`` × the median
    of its top 100, largest first.

    Parameters
    ----------
    prices, qtys : sequence of int or ndarray of int64, shape (n,)
        One side's levels, best first, as scaled integers.
    side : str
        ``bid`` or ``ask`` (copied into each wall).
    book : obcore.book.Book
        Gives the scales the decimals are written at.
    """
    # Plain Python: on <= 100 values sorted() is ~5x cheaper than numpy.median's dispatch.
    window = qtys[:WALL_WINDOW]
    window = window.tolist() if isinstance(window, np.ndarray) else list(window)
    if len(window) < 3:
        return []
    median = _median(sorted(window))
    if median <= 0:
        return []
    threshold = WALL_FACTOR * median
    # float(q): the comparison numpy made (int64 against a float threshold).
    hits = [i for i, q in enumerate(window) if float(q) > threshold]
    hits.sort(key=lambda i: -window[i])  # stable: equal sizes stay best first
    ps, qs = book.price_scale, book.qty_scale
    return [
        Wall(
            side=side,
            price=format_decimal(int(prices[i]), ps),
            qty=format_decimal(window[i], qs),
            times_median=round(float(window[i]) / median, 2),
        )
        for i in hits[:limit]
    ]


def _float_text(value: float | None, decimals: int) -> str | None:
    return None if value is None else f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def _slippage(book: Any, notionals: Sequence[float]) -> list[SlippageEstimate]:
    estimates = []
    avg_decimals, ps, qs = book.price_scale + 4, book.price_scale, book.qty_scale
    for side in ("buy", "sell"):
        for notional in notionals:
            r = book.sweep(side, float(notional))
            estimates.append(
                SlippageEstimate(
                    side=side,
                    notional=float(notional),
                    avg_price=_float_text(r.avg_price, avg_decimals),
                    worst_price=_float_text(r.worst_price, ps),
                    filled_qty=_float_text(r.filled_qty, qs) or "0",
                    filled_notional=round(float(r.filled_notional), 8),
                    slippage_bps=None if r.slippage_bps is None else round(float(r.slippage_bps), 4),
                    complete=bool(r.complete),
                )
            )
    return estimates


#: One (4, WALL_WINDOW) buffer for ``Book.read_top``: the rows are copied out to Python ints
#: before anything awaits, so one buffer serves every call on the event loop's thread.
_TOP = np.empty((4, WALL_WINDOW), dtype=np.int64)
#: Answers by (symbol, top_n, notionals): (book state they were computed at, answer).
_L1_CACHE: dict[tuple[Any, ...], tuple[tuple[Any, ...], BookL1]] = {}
_L1_CACHE_SIZE = 256


def _book_state(session: Any, book: Any, bid: tuple[int, int], ask: tuple[int, int]) -> tuple[Any, ...]:
    """What an l1 answer depends on: any applied event, snapshot, resync or rescale changes it."""
    return (
        book, int(session.last_update_id), int(getattr(session, "events_applied", -1)),
        int(getattr(session, "resync_count", -1)), book.price_scale, book.qty_scale,
        bid, ask, int(book.bid_count), int(book.ask_count),
    )


def _l1_figures(
    session: Any, book: Any, symbol: str, bid: tuple[int, int], ask: tuple[int, int],
    top_n: int, notionals: Sequence[float], quality: DataQuality,
) -> BookL1:
    ps, qs = book.price_scale, book.qty_scale
    n_bids, n_asks = book.read_top(_TOP)
    rows = _TOP.tolist()
    bid_prices, bid_qtys = rows[0][:n_bids], rows[1][:n_bids]
    ask_prices, ask_qtys = rows[2][:n_asks], rows[3][:n_asks]
    bid_volume, ask_volume = sum(bid_qtys[:top_n]), sum(ask_qtys[:top_n])
    total = bid_volume + ask_volume
    micro = (bid[0] * ask[1] + ask[0] * bid[1]) / (bid[1] + ask[1]) if bid[1] + ask[1] else None
    return BookL1(
        symbol=symbol,
        best_bid=format_decimal(bid[0], ps),
        best_bid_qty=format_decimal(bid[1], qs),
        best_ask=format_decimal(ask[0], ps),
        best_ask_qty=format_decimal(ask[1], qs),
        # (bid + ask) / 2 exactly: the sum × 5 at one more decimal.
        mid=format_decimal((bid[0] + ask[0]) * 5, ps + 1),
        spread=format_decimal(ask[0] - bid[0], ps),
        spread_bps=round((ask[0] - bid[0]) / ((ask[0] + bid[0]) / 2) * 1e4, 6),
        microprice=_float_text(None if micro is None else micro / 10**ps, ps + 4) or "",
        top_n=top_n,
        bid_volume_top_n=format_decimal(bid_volume, qs),
        ask_volume_top_n=format_decimal(ask_volume, qs),
        imbalance_top_n=round((bid_volume - ask_volume) / total, 6) if total else 0.0,
        walls=find_walls(bid_prices, bid_qtys, "bid", book) + find_walls(ask_prices, ask_qtys, "ask", book),
        slippage=_slippage(book, notionals),
        last_update_id=int(session.last_update_id),
        bid_levels=int(book.bid_count),
        ask_levels=int(book.ask_count),
        data_quality=quality,
    )


async def orderbook_l1(
    manager: Any,
    symbol: str,
    *,
    top_n: int = 10,
    notionals: Sequence[float] = DEFAULT_NOTIONALS,
    wait_seconds: float = 10.0,
) -> BookL1:
    """Top of the live book of ``symbol`` with depth, imbalance, walls and sweep costs.

    The book figures are computed once per book state (update id, events applied, resyncs,
    best levels) and reused by calls until the next update; ``data_quality`` (sync state,
    age, warnings) is always computed at call time.  Treat the answer as read-only: its
    ``walls`` and ``slippage`` lists are shared with the cache.

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
    """
    check_symbol(symbol)
    check_range("top_n", top_n, 1, 100)
    if not 1 <= len(notionals) <= 10:
        raise InvalidInputError(f"notionals {list(notionals)!r}: expected 1 to 10 amounts")
    for notional in notionals:
        if not isinstance(notional, (int, float)) or not 1 <= notional <= 1e9:
            raise InvalidInputError(f"notional {notional!r}: expected a quote amount from 1 to 1e9")
    session = await live_session(manager, symbol, _check_wait(wait_seconds))
    # No await from here on: the book cannot change under the reads below.
    book = session.book
    quality = data_quality(session, connected=stream_connected(manager, symbol))
    bid, ask = book.best_bid(), book.best_ask()
    if bid is None or ask is None:
        raise BookNotReadyError(f"book for {symbol} has an empty {'bid' if bid is None else 'ask'} side")
    if bid[0] >= ask[0]:
        quality.ok = False
        quality.warnings.append(f"book is crossed: best bid {book.format_price(bid[0])} >= best ask")
    key = (symbol, top_n, tuple(float(n) for n in notionals))
    state = _book_state(session, book, bid, ask)
    cached = _L1_CACHE.get(key)
    if cached is not None and cached[0] == state:
        return cached[1].model_copy(update={"data_quality": quality})
    answer = _l1_figures(session, book, symbol, bid, ask, top_n, notionals, quality)
    if len(_L1_CACHE) >= _L1_CACHE_SIZE:
        _L1_CACHE.clear()  # many argument combinations: start over rather than grow
    _L1_CACHE[key] = (state, answer)
    return answer


async def orderbook_l2(manager: Any, symbol: str, *, depth: int = 20, wait_seconds: float = 10.0) -> BookL2:
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
    book = session.book
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(depth)
    return BookL2(
        symbol=symbol,
        levels=depth,
        price_scale=book.price_scale,
        qty_scale=book.qty_scale,
        bids=DepthLevels(prices=bid_prices.tolist(), qtys=bid_qtys.tolist()),
        asks=DepthLevels(prices=ask_prices.tolist(), qtys=ask_qtys.tolist()),
        last_update_id=int(session.last_update_id),
        data_quality=data_quality(session, connected=stream_connected(manager, symbol)),
    )


def _symbol_health(symbol: str, session: Any, now_ms: int) -> SymbolHealth:
    quality = data_quality(session, now_ms)
    state = quality.sync_state
    detail = getattr(session, "reason", None)
    if quality.ok:
        status, reason = "ok", None
    elif state in ("SYNCING", "RESYNCING") or (quality.book_age_ms or 0) > STALE_AFTER_MS:
        status, reason = "degraded", "; ".join(filter(None, [*quality.warnings, detail]))
    else:
        status, reason = "error", "; ".join(filter(None, [*quality.warnings, detail]))
    if state == "STALE":
        status = "error"
    return SymbolHealth(
        symbol=symbol,
        status=status,
        sync_state=state,
        book_age_ms=quality.book_age_ms,
        last_update_id=int(session.last_update_id),
        resync_count=int(session.resync_count),
        gap_count=int(getattr(session, "gap_count", 0) or 0),
        reason=reason,
    )


_RANK = {"ok": 0, "degraded": 1, "error": 2}


def _tracked_sessions(manager: Any) -> dict[str, Any]:
    symbols = manager.symbols  # a property of StreamManager
    return {symbol: manager.session(symbol) for symbol in symbols if manager.session(symbol) is not None}


def _stream_connected(report: dict[str, Any], symbol: str | None) -> bool | None:
    """Whether the stream(s) carrying ``symbol`` (or every connection) are up; None if none exist."""
    if symbol is not None:
        entry = report.get("symbols", {}).get(symbol)
        return None if entry is None else bool(entry.get("connected"))
    connections = report.get("connections", [])
    return all(bool(c.get("connected")) for c in connections) if connections else None


async def orderbook_health(manager: Any, symbol: str | None = None, *, max_symbols: int | None = None) -> BookHealth:
    """Health of the live books: ok / degraded / error overall and per tracked symbol.

    Parameters
    ----------
    symbol : str, optional
        Report only this symbol (it is not subscribed if it is not tracked yet).
    """
    if symbol is not None:
        check_symbol(symbol)
    if manager is None:
        return BookHealth(status="error", symbols_tracked=[], symbols=[], reason="no stream manager: live books are off")
    now_ms = _now_ms()
    sessions = _tracked_sessions(manager)
    report = manager.health()
    connected = _stream_connected(report, symbol)
    if symbol is not None:
        if symbol not in sessions:
            return BookHealth(
                status="error",
                symbols_tracked=sorted(sessions),
                max_symbols=max_symbols,
                stream_connected=connected,
                symbols=[],
                reason=f"{symbol} is not tracked; call orderbook_l1 or orderbook_l2 for it first",
            )
        sessions = {symbol: sessions[symbol]}
    reports = [_symbol_health(name, session, now_ms) for name, session in sorted(sessions.items())]
    for r in reports:
        if report.get("symbols", {}).get(r.symbol, {}).get("connected") is False:
            r.status = "error"
            r.reason = "; ".join(filter(None, ["stream disconnected", r.reason]))
    status = max((r.status for r in reports), key=_RANK.__getitem__, default="ok")
    reasons = [f"{r.symbol}: {r.reason}" for r in reports if r.reason]
    if connected is False and reports:
        status, reasons = "error", ["stream disconnected", *reasons]
    return BookHealth(
        status=status,
        symbols_tracked=sorted(_tracked_sessions(manager)),
        max_symbols=max_symbols,
        stream_connected=connected,
        symbols=reports,
        reason="; ".join(reasons) or (None if reports else "no symbol tracked yet"),
    )
