"""Back-fill: the part of an analytics window not collected live, fetched through REST
``/api/v3/aggTrades`` (the one async shell of the analytics room; the analyses never
import it).

Paging: the first page asks ``startTime``/``endTime`` (inclusive ms), every next one
``fromId`` = last id + 1, so trades sharing a millisecond across a page boundary are
neither lost nor doubled; it stops at the window's end, at ``stop_before_id`` (the first
trade collected live), or at a short page.

Weight: each page costs 4. ``BinanceClient`` already waits for the minute to roll over
rather than cross its limit, reads ``X-MBX-USED-WEIGHT-1M`` and refuses to send while a
429/418 ``Retry-After`` runs. On top of that the back-fill keeps to a **budget** per
minute (default half the client's limit) so that the live tools keep their share, and on
a 429/418 it waits ``Retry-After`` and asks again (at most ``max_retries`` times; a wait
longer than ``max_wait_s`` — an IP ban — is raised instead).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from obcore.analytics.trades import TradeArrays, merge_trades, trades_from_rows, trades_from_tape
from obcore.errors import InvalidInputError, RateLimitError, TransportError

__all__ = ["AGG_TRADES_WEIGHT", "BackfillResult", "backfill_agg_trades", "window_trades"]

#: Weight of one ``/aggTrades`` request (binance-protocol.md, since 2025-03).
AGG_TRADES_WEIGHT = 4
PAGE_LIMIT = 1000
_MINUTE_MS = 60_000

Progress = Callable[[float, float, str], Any]


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What a back-fill fetched and what it cost.

    Attributes
    ----------
    trades : TradeArrays
        Trades with ``start_ms <= T < end_ms`` (and id < ``stop_before_id``), oldest first.
    start_ms, end_ms : int
        The span asked for (half-open).
    pages : int
        Answers received (including empty ones).
    retries : int
        Pages asked again after a 429/418.
    weight : int
        Request weight spent (``pages + retries`` times 4, as Binance counts it).
    waited_s : float
        Seconds spent waiting for Retry-After and for the weight budget.
    from_cache : int
        Trades of the span that came from the trade cache instead of REST.
    kept : bool
        The fetched trades were kept in the trade cache.
    """

    trades: TradeArrays
    start_ms: int
    end_ms: int
    pages: int
    retries: int
    weight: int
    waited_s: float
    from_cache: int = 0
    kept: bool = False


async def _report(progress: Progress | None, done: float, total: float, message: str) -> None:
    if progress is None:
        return
    result = progress(done, total, message)
    if inspect.isawaitable(result):
        await result


async def backfill_agg_trades(
    client: Any,
    symbol: str,
    start_ms: int,
    end_ms: int,
    *,
    stop_before_id: int | None = None,
    weight_budget: int | None = None,
    progress: Progress | None = None,
    max_retries: int = 5,
    max_wait_s: float = 120.0,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> BackfillResult:
    """Fetch the aggregate trades of ``[start_ms, end_ms)`` page by page.

    Parameters
    ----------
    client : obcore.client.BinanceClient
        Its weight tracking and Retry-After handling are relied on (see the module docstring).
    symbol : str
    start_ms, end_ms : int
        Half-open span, Unix ms, ``start_ms < end_ms``.
    stop_before_id : int, optional
        Stop at this aggregate id (the first one collected live): the rest is not needed.
    weight_budget : int, optional
        Most weight this back-fill lets the client's minute reach before it waits for the
        next minute; default half of ``client.weights.limit``.
    progress : callable, optional
        ``progress(done, total, message)`` (may be async) after every page: ``done`` and
        ``total`` are milliseconds of the span covered so far and in all.
    max_retries : int
        429/418 answers tolerated in a row before the error is raised.
    max_wait_s : float
        A Retry-After longer than this is raised, not waited out.
    sleep : callable
        ``await sleep(seconds)``; tests pass one that moves a fake clock.

    Returns
    -------
    BackfillResult

    Raises
    ------
    InvalidInputError
        An empty or inverted span, or a bad budget.
    RateLimitError, IPBannedError
        More than ``max_retries`` in a row, or a wait beyond ``max_wait_s``.
    """
    for name, value in (("start_ms", start_ms), ("end_ms", end_ms)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InvalidInputError(f"{name} must be an integer >= 0 (Unix ms), got {value!r}")
    if end_ms <= start_ms:
        raise InvalidInputError(f"back-fill span [{start_ms}, {end_ms}) is empty")
    limit = int(client.weights.limit)
    budget = limit // 2 if weight_budget is None else int(weight_budget)
    if not AGG_TRADES_WEIGHT <= budget <= limit:
        raise InvalidInputError(f"weight_budget must be {AGG_TRADES_WEIGHT}..{limit}, got {weight_budget!r}")
    rows: list[dict[str, Any]] = []
    pages = retries = 0
    waited = 0.0
    total = float(end_ms - start_ms)
    next_id: int | None = None
    failures = 0
    while True:
        used = client.used_weight
        if used + AGG_TRADES_WEIGHT > budget:
            # Wait for the client's minute to roll over (its clock is the server's).
            now = time.time() * 1000.0 + client.clock_offset_ms
            pause = (_MINUTE_MS - now % _MINUTE_MS) / 1000.0 + 0.05
            waited += pause
            await _report(progress, float(len(rows) and rows[-1]["T"] - start_ms), total,
                          f"weight budget {budget}/min reached ({used} used); waiting {pause:.1f} s")
            await sleep(pause)
            continue
        try:
            if next_id is None:
                page = await client.agg_trades(symbol, start_time=start_ms, end_time=end_ms - 1, limit=PAGE_LIMIT)
            else:
                page = await client.agg_trades(symbol, from_id=next_id, limit=PAGE_LIMIT)
        except RateLimitError as exc:
            wait = max(float(exc.retry_after or 0.0), float(client.blocked_for))
            if exc.http_status is None:
                # The client refused to send (a Retry-After still running): not a request,
                # not a retry; wait out the rest of it.
                if wait > max_wait_s:
                    raise
                waited += wait
                await sleep(wait + 0.01)
                continue
            failures += 1
            if failures > max_retries or wait > max_wait_s:
                raise
            retries += 1
            waited += wait
            await _report(progress, float(len(rows) and rows[-1]["T"] - start_ms), total,
                          f"rate limited (HTTP {exc.http_status}); retrying in {wait:.1f} s")
            await sleep(wait)
            continue
        failures = 0
        pages += 1
        done = False
        for row in page:
            if int(row["T"]) >= end_ms or (stop_before_id is not None and int(row["a"]) >= stop_before_id):
                done = True
                break
            rows.append(row)
        if page:
            next_id = int(page[-1]["a"]) + 1
        # A short page is the end; so is reaching the first live id (no need to ask).
        done = done or len(page) < PAGE_LIMIT or (stop_before_id is not None and next_id is not None
                                                   and next_id >= stop_before_id)
        covered = total if done else float(max(0, int(page[-1]["T"]) - start_ms))
        await _report(progress, covered, total, f"{len(rows)} trades back-filled in {pages} pages")
        if done:
            break
    trades = trades_from_rows(rows, f"/aggTrades {symbol}") if rows else TradeArrays.empty()
    return BackfillResult(trades, int(start_ms), int(end_ms), pages, retries,
                          (pages + retries) * AGG_TRADES_WEIGHT, waited)


def _combined(results: list[BackfillResult], start_ms: int, end_ms: int, cached: int, kept: bool) -> BackfillResult:
    return BackfillResult(
        merge_trades(*(r.trades for r in results)) if results else TradeArrays.empty(),
        start_ms, end_ms, sum(r.pages for r in results), sum(r.retries for r in results),
        sum(r.weight for r in results), sum(r.waited_s for r in results), cached, kept)


async def window_trades(
    client: Any,
    session: Any,
    start_ms: int,
    end_ms: int,
    *,
    progress: Progress | None = None,
    cache: Any = None,
    **options: Any,
) -> tuple[TradeArrays, BackfillResult | None]:
    """The trades of ``[start_ms, end_ms)`` for a profile: the live tape, back-filled before it.

    The live tape covers from its oldest trade on; the span before that (all of it when
    the tape is empty) comes from ``cache`` where it holds it and from
    :func:`backfill_agg_trades` for the rest (stopping at the tape's first trade id);
    what is fetched is kept in ``cache``. Every part is aggregate trades (the live stream
    is ``@aggTrade``), so ids join without double counting.

    Parameters
    ----------
    client : obcore.client.BinanceClient or None
        None is fine while nothing needs fetching (``TransportError`` otherwise).
    session : obcore.session.BookSession
    start_ms, end_ms : int
        Half-open window, Unix ms.
    progress : callable, optional
        As :func:`backfill_agg_trades`.
    cache : obcore.analytics.tradecache.TradeCache, optional
        Spans fetched before; new spans are added (a full cache is not an error: the
        result's ``kept`` is False).
    **options
        Passed to :func:`backfill_agg_trades`.

    Returns
    -------
    (TradeArrays, BackfillResult or None)
        The joined trades, and what the back-fill did (None when the tape covered the window).
    """
    from obcore.errors import StorageLimitExceededError

    live = trades_from_tape(session.trades, session.price_scale, session.qty_scale)
    first_live_ms = int(live.time_ms[0]) if len(live) else None
    in_window = live.between(start_ms, end_ms)
    if first_live_ms is not None and first_live_ms <= start_ms:
        return in_window, None
    stop = int(live.trade_id[0]) if len(live) else None
    # Trades in the first live trade's millisecond but before it are back-filled too
    # (``stop_before_id`` ends the fetch there).
    fill_end = end_ms if first_live_ms is None else min(end_ms, first_live_ms + 1)
    cached, missing = (TradeArrays.empty(), [(start_ms, fill_end)]) if cache is None else \
        cache.get(session.symbol, start_ms, fill_end)
    if missing and client is None:
        raise TransportError(
            f"no REST client to back-fill {session.symbol} trades of [{start_ms}, {fill_end}) ms "
            "that were not collected live")
    results = []
    kept = cache is not None
    for first, last in missing:
        result = await backfill_agg_trades(client, session.symbol, first, last, stop_before_id=stop,
                                           progress=progress, **options)
        results.append(result)
        # Only whole milliseconds are cached: the live one is split between REST and tape.
        keep_end = last if first_live_ms is None or last <= first_live_ms else first_live_ms
        if cache is not None and keep_end > first:
            try:
                cache.put(session.symbol, result.trades, first, keep_end)
            except StorageLimitExceededError:
                kept = False
    combined = _combined(results, start_ms, fill_end, len(cached), kept)
    return merge_trades(cached, combined.trades, in_window), combined
