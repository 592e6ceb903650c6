"""The three live-book tools: orderbook_l1, orderbook_l2, orderbook_health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.models import BookHealth, BookL1, BookL2, DataQuality
from obmcp.tools._common import READ_ONLY, call_service, tool_result
from obmcp.validation import L2Depth, Symbol

__all__ = ["BOOK_TOOLS", "register_book_tools"]

BOOK_TOOLS = ("orderbook_l1", "orderbook_l2", "orderbook_health")

TopN = Annotated[int, Field(ge=1, le=100, description="Levels a side summed for volumes and imbalance (1-100).")]
Notionals = Annotated[
    list[Annotated[float, Field(ge=1, le=1e9)]],
    Field(min_length=1, max_length=10, description="Quote amounts for the buy/sell sweep estimates."),
]
WaitSeconds = Annotated[
    float, Field(ge=0, le=30, description="Seconds a call may wait while the book is not LIVE (first use, resync).")
]
OptionalSymbol = Annotated[
    str | None,
    Field(pattern=r"^[A-Z0-9]{5,20}$", description="Only this symbol (default: every tracked symbol)."),
]


def _quality_line(quality: DataQuality) -> str:
    if quality.ok:
        return f"book LIVE, {quality.book_age_ms} ms old"
    return "WARNING — " + "; ".join(quality.warnings)


def register_book_tools(mcp: MCPServer, backend: Backend, tool_name: Callable[[str], str]) -> None:
    """Add the three live-book tools to ``mcp``.

    Parameters
    ----------
    mcp : MCPServer
        The server the tools are added to.
    backend : Backend
        The data source the tools read (``backend.streams``).
    tool_name : callable
        Maps a tool's Python name to its wire name (``ServerSettings.tool_name``).
    """

    async def orderbook_l1(
        symbol: Symbol,
        top_n: TopN = 10,
        notionals: Notionals = list(book_service.DEFAULT_NOTIONALS),  # noqa: B006 - pydantic copies it
        wait_seconds: WaitSeconds = 10.0,
    ) -> Annotated[CallToolResult, BookL1]:
        """Live top of book from the depth-diff stream: best bid/ask and sizes, mid, spread (bps), microprice, top-N volumes and imbalance, walls (levels > 5x the median size), buy/sell sweep slippage for several notionals, last update id and book age. Subscribes the symbol on first use."""
        l1 = await call_service(
            book_service.orderbook_l1(
                backend.streams, symbol, top_n=top_n, notionals=notionals, wait_seconds=wait_seconds
            )
        )
        sweeps = ", ".join(
            f"{s.side} {s.notional:,.0f}: {s.slippage_bps if s.slippage_bps is not None else '-'} bps"
            + ("" if s.complete else " (book too thin)")
            for s in l1.slippage
        )
        walls = ", ".join(f"{w.side} {w.qty} @ {w.price} ({w.times_median}x)" for w in l1.walls) or "none"
        text = (
            f"{symbol} ({_quality_line(l1.data_quality)}; update id {l1.last_update_id})\n"
            f"bid {l1.best_bid} x {l1.best_bid_qty} | ask {l1.best_ask} x {l1.best_ask_qty}; "
            f"mid {l1.mid}, spread {l1.spread} ({l1.spread_bps:.3f} bps), microprice {l1.microprice}\n"
            f"top {l1.top_n}: bid {l1.bid_volume_top_n} vs ask {l1.ask_volume_top_n}, imbalance {l1.imbalance_top_n:+.3f}\n"
            f"walls: {walls}\nslippage: {sweeps}"
        )
        return tool_result(l1, text)

    async def orderbook_l2(
        symbol: Symbol, depth: L2Depth = 20, wait_seconds: WaitSeconds = 10.0
    ) -> Annotated[CallToolResult, BookL2]:
        """Live L2 book: the best 20 or 100 levels a side, compact (scaled integers; price = int / 10**price_scale, qty = int / 10**qty_scale). Subscribes the symbol on first use."""
        l2 = await call_service(
            book_service.orderbook_l2(backend.streams, symbol, depth=depth, wait_seconds=wait_seconds)
        )
        text = (
            f"{symbol}: {len(l2.bids.prices)} bids / {len(l2.asks.prices)} asks as integers "
            f"(price_scale {l2.price_scale}, qty_scale {l2.qty_scale}); update id {l2.last_update_id}; "
            f"{_quality_line(l2.data_quality)}"
        )
        return tool_result(l2, text)

    async def orderbook_health(symbol: OptionalSymbol = None) -> Annotated[CallToolResult, BookHealth]:
        """Health of the live books: ok / degraded / error, symbols tracked, last update age, stream connected, sync state, resync count and the reason when not ok."""
        health = await call_service(
            book_service.orderbook_health(backend.streams, symbol, max_symbols=backend.max_symbols)
        )
        lines = [f"status {health.status.upper()}; tracked {len(health.symbols_tracked)}/{health.max_symbols}: "
                 f"{', '.join(health.symbols_tracked) or 'none'}; stream connected: {health.stream_connected}"]
        lines += [
            f"{s.symbol}: {s.status} ({s.sync_state}, age {s.book_age_ms} ms, resyncs {s.resync_count})"
            + (f" — {s.reason}" if s.reason else "")
            for s in health.symbols
        ]
        if health.reason:
            lines.append(f"reason: {health.reason}")
        return tool_result(health, "\n".join(lines))

    titles = {
        "orderbook_l1": "Live top of book with depth analytics",
        "orderbook_l2": "Live L2 book (compact)",
        "orderbook_health": "Live book health",
    }
    for fn in (orderbook_l1, orderbook_l2, orderbook_health):
        mcp.add_tool(
            fn, name=tool_name(fn.__name__), title=titles[fn.__name__], annotations=READ_ONLY, structured_output=True
        )
