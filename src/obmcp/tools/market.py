"""The six market-data tools (REST): get_ticker, get_orderbook, get_recent_trades,
get_klines, get_exchange_info, get_avg_price."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import Field

from obmcp import service
from obmcp.backend import Backend
from obmcp.models import AvgPrice, ExchangeInfo, Klines, OrderBook, RecentTrades, Ticker
from obmcp.tools._common import READ_ONLY_OPEN_WORLD, call_service, tool_result
from obmcp.validation import DepthLimit, Interval, KlineLimit, Symbol, TradeLimit

__all__ = ["MARKET_TOOLS", "register_market_tools"]

MARKET_TOOLS = ("get_ticker", "get_orderbook", "get_recent_trades", "get_klines", "get_exchange_info", "get_avg_price")

TimeMs = Annotated[
    int | None,
    Field(ge=1_500_000_000_000, le=4_102_444_800_000, description="Unix time in milliseconds (optional)."),
]


def register_market_tools(mcp: MCPServer, backend: Backend, tool_name: Callable[[str], str]) -> None:
    """Add the six market-data tools to ``mcp``; ``tool_name`` maps ``get_ticker`` to its wire name.

    Parameters
    ----------
    mcp : MCPServer
        The server the tools are added to.
    backend : Backend
        The data source the tools read (``backend.client``).
    tool_name : callable
        Maps a tool's Python name to its wire name (``ServerSettings.tool_name``).
    """

    async def get_ticker(symbol: Symbol) -> Annotated[CallToolResult, Ticker]:
        """24-hour rolling price statistics of a Binance spot symbol: last price, change, high/low, volume, best bid/ask."""
        t = await call_service(service.get_ticker(backend.client, symbol))
        return tool_result(
            t,
            f"{t.symbol}: last {t.last_price} ({t.price_change_percent}% 24h), high {t.high_price}, "
            f"low {t.low_price}, volume {t.volume}, bid {t.bid_price} / ask {t.ask_price}",
        )

    async def get_orderbook(symbol: Symbol, limit: DepthLimit = 100) -> Annotated[CallToolResult, OrderBook]:
        """REST order-book snapshot of a symbol: `limit` price levels per side (5-5000), best first."""
        book = await call_service(service.get_orderbook(backend.client, symbol, limit))
        bid = book.bids[0] if book.bids else ("-", "-")
        ask = book.asks[0] if book.asks else ("-", "-")
        return tool_result(
            book,
            f"{symbol} depth snapshot (lastUpdateId {book.last_update_id}): {len(book.bids)} bids, "
            f"{len(book.asks)} asks; best bid {bid[0]} x {bid[1]}, best ask {ask[0]} x {ask[1]}",
        )

    async def get_recent_trades(symbol: Symbol, limit: TradeLimit = 500) -> Annotated[CallToolResult, RecentTrades]:
        """The most recent trades of a symbol (1-1000), oldest first."""
        result = await call_service(service.get_recent_trades(backend.client, symbol, limit))
        if result.trades:
            last = result.trades[-1]
            text = f"{symbol}: {len(result.trades)} recent trades; last {last.qty} @ {last.price} at {last.time} ms"
        else:
            text = f"{symbol}: no recent trades"
        return tool_result(result, text)

    async def get_klines(
        symbol: Symbol,
        interval: Interval = "1m",
        start_time: TimeMs = None,
        end_time: TimeMs = None,
        limit: KlineLimit = 500,
    ) -> Annotated[CallToolResult, Klines]:
        """Candlesticks (OHLCV) of a symbol for an interval (1s…1M), optionally between two Unix-ms times."""
        result = await call_service(
            service.get_klines(backend.client, symbol, interval, start_time, end_time, limit)
        )
        if result.klines:
            first, last = result.klines[0], result.klines[-1]
            text = (
                f"{symbol} {interval}: {len(result.klines)} candles from {first.open_time} to {last.close_time}; "
                f"last O {last.open} H {last.high} L {last.low} C {last.close} V {last.volume}"
            )
        else:
            text = f"{symbol} {interval}: no candles in the requested range"
        return tool_result(result, text)

    async def get_exchange_info(symbol: Symbol) -> Annotated[CallToolResult, ExchangeInfo]:
        """Trading rules of a symbol: status, assets, tick size, lot size, minimum notional, all filters."""
        info = await call_service(service.get_exchange_info(backend.client, symbol))
        lines = [
            f"{s.symbol} ({s.base_asset}/{s.quote_asset}) {s.status}: tick {s.tick_size}, step {s.step_size}, "
            f"min qty {s.min_qty}, min notional {s.min_notional}"
            for s in info.symbols
        ]
        return tool_result(info, "\n".join(lines) or f"{symbol}: no symbol information returned")

    async def get_avg_price(symbol: Symbol) -> Annotated[CallToolResult, AvgPrice]:
        """Binance's current average price of a symbol (over its averaging window, usually 5 minutes)."""
        avg = await call_service(service.get_avg_price(backend.client, symbol))
        return tool_result(avg, f"{symbol}: average price {avg.price} over {avg.mins} min")

    titles = {
        "get_ticker": "24 h ticker",
        "get_orderbook": "Order-book snapshot (REST)",
        "get_recent_trades": "Recent trades",
        "get_klines": "Candlesticks",
        "get_exchange_info": "Symbol trading rules",
        "get_avg_price": "Average price",
    }
    functions = (get_ticker, get_orderbook, get_recent_trades, get_klines, get_exchange_info, get_avg_price)
    for fn in functions:
        mcp.add_tool(
            fn,
            name=tool_name(fn.__name__),
            title=titles[fn.__name__],
            annotations=READ_ONLY_OPEN_WORLD,
            structured_output=True,
        )
