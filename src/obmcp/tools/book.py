"""Catalog entries of the three live-book tools: orderbook_l1, orderbook_l2, orderbook_health.

Room: obmcp's tool layer. Each entry is a closed input model, a ``run`` calling the
plain service function in :mod:`obmcp.book_service` (which converts obcore's
``quality`` / ``liquidity`` answers), and a summary formatter (see :mod:`obmcp.catalog`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from obcore.liquidity import MAX_TOP_N

from obmcp import book_service
from obmcp.catalog import READ_ONLY_LOCAL, Arguments, ToolContext, ToolEntry
from obmcp.models import BookHealth, BookL1, BookL2, DataQuality
from obmcp.validation import JsonInteger, JsonNumber, L2Depth, OptionalSymbol, Symbol

__all__ = ["BOOK_TOOLS", "ENTRIES", "HealthArguments", "L1Arguments", "L2Arguments"]

TopN = Annotated[
    int, Field(ge=1, le=MAX_TOP_N), JsonInteger,
    Field(description=f"Levels a side summed for volumes and imbalance (1-{MAX_TOP_N})."),
]  # fmt: skip
Notionals = Annotated[
    list[Annotated[float, Field(ge=1, le=1e9), JsonNumber]],
    Field(min_length=1, max_length=10, description="Quote amounts for the buy/sell sweep estimates."),
]
WaitSeconds = Annotated[
    float, Field(ge=0, le=book_service.MAX_WAIT_SECONDS), JsonNumber,
    Field(description="Seconds a call may wait while the book is not LIVE (first use, resync)."),
]  # fmt: skip


class L1Arguments(Arguments):
    symbol: Symbol
    top_n: TopN = 10
    notionals: Notionals = list(book_service.DEFAULT_NOTIONALS)
    wait_seconds: WaitSeconds = 10.0


class L2Arguments(Arguments):
    symbol: Symbol
    depth: L2Depth = 20
    wait_seconds: WaitSeconds = 10.0


class HealthArguments(Arguments):
    symbol: OptionalSymbol = None


def _quality_line(quality: DataQuality) -> str:
    if quality.ok:
        return f"book LIVE, {quality.book_age_ms} ms old"
    return "WARNING — " + "; ".join(quality.warnings)


# ---------------------------------------------------------------- orderbook_l1
async def _l1(context: ToolContext, args: L1Arguments) -> BookL1:
    return await book_service.orderbook_l1(
        context.backend.streams, args.symbol, top_n=args.top_n, notionals=args.notionals,
        wait_seconds=args.wait_seconds, cache=context.l1_cache,
    )  # fmt: skip


def _l1_text(args: L1Arguments, l1: BookL1) -> str:
    sweeps = ", ".join(
        f"{s.side} {s.notional:,.0f}: {s.slippage_bps if s.slippage_bps is not None else '-'} bps"
        + ("" if s.complete else " (book too thin)")
        for s in l1.slippage
    )
    walls = ", ".join(f"{w.side} {w.qty} @ {w.price} ({w.times_median}x)" for w in l1.walls) or "none"
    return (
        f"{args.symbol} ({_quality_line(l1.data_quality)}; update id {l1.last_update_id})\n"
        f"bid {l1.best_bid} x {l1.best_bid_qty} | ask {l1.best_ask} x {l1.best_ask_qty}; "
        f"mid {l1.mid}, spread {l1.spread} ({l1.spread_bps:.3f} bps), microprice {l1.microprice}\n"
        f"top {l1.top_n}: bid {l1.bid_volume_top_n} vs ask {l1.ask_volume_top_n}, imbalance {l1.imbalance_top_n:+.3f}\n"
        f"walls: {walls}\nslippage: {sweeps}"
    )


# ---------------------------------------------------------------- orderbook_l2
async def _l2(context: ToolContext, args: L2Arguments) -> BookL2:
    return await book_service.orderbook_l2(
        context.backend.streams, args.symbol, depth=args.depth, wait_seconds=args.wait_seconds
    )


def _l2_text(args: L2Arguments, l2: BookL2) -> str:
    return (
        f"{args.symbol}: {len(l2.bids.prices)} bids / {len(l2.asks.prices)} asks as integers "
        f"(price_scale {l2.price_scale}, qty_scale {l2.qty_scale}); update id {l2.last_update_id}; "
        f"{_quality_line(l2.data_quality)}"
    )


# ------------------------------------------------------------ orderbook_health
async def _health(context: ToolContext, args: HealthArguments) -> BookHealth:
    backend = context.backend
    return await book_service.orderbook_health(backend.streams, args.symbol, max_symbols=backend.max_symbols)


_STREAM_WORDS = {True: "connected", False: "DISCONNECTED", None: "none open yet"}


def _health_text(args: HealthArguments, health: BookHealth) -> str:
    limit = f"/{health.max_symbols}" if health.max_symbols is not None else ""
    lines = [
        f"status {health.status.upper()}; tracked {len(health.symbols_tracked)}{limit}: "
        f"{', '.join(health.symbols_tracked) or 'none'}; stream: {_STREAM_WORDS[health.stream_connected]}"
    ]
    lines += [
        f"{s.symbol}: {s.status} ({s.sync_state}, "
        f"{'no update yet' if s.book_age_ms is None else f'age {s.book_age_ms} ms'}, resyncs {s.resync_count})"
        + (f" — {s.reason}" if s.reason else "")
        for s in health.symbols
    ]
    if health.reason:
        lines.append(f"reason: {health.reason}")
    return "\n".join(lines)


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="orderbook_l1",
        title="Live top of book with depth analytics",
        description=(
            "Live top of book from the depth-diff stream: best bid/ask and sizes, mid, spread (bps), microprice, "
            "top-N volumes and imbalance, walls (levels > 5x the median size), buy/sell sweep slippage for several "
            "notionals, last update id and book age. Subscribes the symbol on first use."
        ),
        input_model=L1Arguments, output_model=BookL1, hints=READ_ONLY_LOCAL, run=_l1, summary=_l1_text,
    ),
    ToolEntry(
        name="orderbook_l2",
        title="Live L2 book (compact)",
        description=(
            "Live L2 book: the best 20 or 100 levels a side, compact (scaled integers; price = int / "
            "10**price_scale, qty = int / 10**qty_scale). Subscribes the symbol on first use."
        ),
        input_model=L2Arguments, output_model=BookL2, hints=READ_ONLY_LOCAL, run=_l2, summary=_l2_text,
    ),
    ToolEntry(
        name="orderbook_health",
        title="Live book health",
        description=(
            "Health of the live books: ok / degraded / error, symbols tracked, last update age, stream connected, "
            "sync state, resync count and the reason when not ok."
        ),
        input_model=HealthArguments, output_model=BookHealth, hints=READ_ONLY_LOCAL, run=_health,
        summary=_health_text,
    ),
)  # fmt: skip

BOOK_TOOLS = tuple(entry.name for entry in ENTRIES)
