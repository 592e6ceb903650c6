"""Catalog entries of the six market-data tools (REST): get_ticker, get_orderbook,
get_recent_trades, get_klines, get_exchange_info, get_avg_price.

Room: obmcp's tool layer. Each entry is a closed input model, a ``run`` calling the
plain service function in :mod:`obmcp.service`, and a summary formatter; the transports
are generated from them (see :mod:`obmcp.catalog`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from obmcp import service
from obmcp.catalog import READ_ONLY_REMOTE, Arguments, ToolContext, ToolEntry
from obmcp.models import AvgPrice, ExchangeInfo, Klines, OrderBook, RecentTrades, Ticker
from obmcp.validation import Interval, JsonInteger, Symbol, TimeMs

# Answers within client budgets (docs/ANSWER_SIZES.md: Claude Code refuses a tool result
# over 25,000 tokens). Measured sizes: a depth level ~31 JSON chars per side, a trade ~130,
# a candle ~293. Defaults stay near 2-8k tokens; the largest explicit answer stays under
# 25k even at chars/3: 1,000 levels per side (~62 kB), 500 trades (~65 kB), 200 candles
# (~59 kB, and candles page on: ``next_start_time``). Binance's own maxima (5,000 levels,
# 1,000 trades or candles: 80k-300k tokens) are not offered.
_BookLimit = Literal[5, 10, 20, 50, 100, 500, 1000]
BookLimit = Annotated[
    _BookLimit, JsonInteger, Field(description="Levels per side: 5, 10, 20, 50, 100, 500 or 1000.")
]
#: Most trades one answer carries (~16k tokens at chars/4).
MAX_TRADES = 500
AnswerTradeLimit = Annotated[
    int, Field(ge=1, le=MAX_TRADES), JsonInteger, Field(description=f"Number of trades, 1-{MAX_TRADES}.")
]
#: Most candles one answer carries (~15k tokens at chars/4); more: page with next_start_time.
MAX_KLINES = 200
AnswerKlineLimit = Annotated[
    int,
    Field(ge=1, le=MAX_KLINES),
    JsonInteger,
    Field(description=f"Number of candles, 1-{MAX_KLINES}; for more, call again with start_time = next_start_time."),
]

__all__ = [
    "ENTRIES",
    "MARKET_TOOLS",
    "KlinesArguments",
    "KlinesPage",
    "OrderBookArguments",
    "SymbolArguments",
    "TradesArguments",
]


class SymbolArguments(Arguments):
    symbol: Symbol


class OrderBookArguments(Arguments):
    symbol: Symbol
    limit: BookLimit = 100


class TradesArguments(Arguments):
    symbol: Symbol
    limit: AnswerTradeLimit = 100


class KlinesArguments(Arguments):
    symbol: Symbol
    interval: Interval = "1m"
    start_time: TimeMs = None
    end_time: TimeMs = None
    limit: AnswerKlineLimit = 100


class KlinesPage(Klines):
    """A page of candles, and where the next one starts."""

    next_start_time: int | None = Field(
        default=None,
        description="start_time of the next page (the last candle's close_time + 1) when this page is full "
        "(limit candles) and has not reached end_time; null when there is no more to ask for",
    )


# ------------------------------------------------------------------ get_ticker
async def _ticker(context: ToolContext, args: SymbolArguments) -> Ticker:
    return await service.get_ticker(context.client, args.symbol)


def _ticker_text(args: SymbolArguments, t: Ticker) -> str:
    return (
        f"{t.symbol}: last {t.last_price} ({t.price_change_percent}% 24h), high {t.high_price}, "
        f"low {t.low_price}, volume {t.volume}, bid {t.bid_price} / ask {t.ask_price}"
    )


# --------------------------------------------------------------- get_orderbook
async def _orderbook(context: ToolContext, args: OrderBookArguments) -> OrderBook:
    return await service.get_orderbook(context.client, args.symbol, args.limit)


def _orderbook_text(args: OrderBookArguments, book: OrderBook) -> str:
    bid = book.bids[0] if book.bids else ("-", "-")
    ask = book.asks[0] if book.asks else ("-", "-")
    return (
        f"{args.symbol} depth snapshot (lastUpdateId {book.last_update_id}): {len(book.bids)} bids, "
        f"{len(book.asks)} asks; best bid {bid[0]} x {bid[1]}, best ask {ask[0]} x {ask[1]}"
    )


# ----------------------------------------------------------- get_recent_trades
async def _trades(context: ToolContext, args: TradesArguments) -> RecentTrades:
    return await service.get_recent_trades(context.client, args.symbol, args.limit)


def _trades_text(args: TradesArguments, result: RecentTrades) -> str:
    if not result.trades:
        return f"{args.symbol}: no recent trades"
    last = result.trades[-1]
    return f"{args.symbol}: {len(result.trades)} recent trades; last {last.qty} @ {last.price} at {last.time} ms"


# ------------------------------------------------------------------ get_klines
async def _klines(context: ToolContext, args: KlinesArguments) -> KlinesPage:
    result = await service.get_klines(
        context.client, args.symbol, args.interval, args.start_time, args.end_time, args.limit
    )
    next_start = None
    if len(result.klines) == args.limit:
        after = result.klines[-1].close_time + 1
        if args.end_time is None or after <= args.end_time:
            next_start = after
    return KlinesPage(**dict(result), next_start_time=next_start)


def _klines_text(args: KlinesArguments, result: KlinesPage) -> str:
    if not result.klines:
        return f"{args.symbol} {args.interval}: no candles in the requested range"
    first, last = result.klines[0], result.klines[-1]
    more = f"; next page: start_time={result.next_start_time}" if result.next_start_time is not None else ""
    return (
        f"{args.symbol} {args.interval}: {len(result.klines)} candles from {first.open_time} to {last.close_time}; "
        f"last O {last.open} H {last.high} L {last.low} C {last.close} V {last.volume}{more}"
    )


# ----------------------------------------------------------- get_exchange_info
async def _exchange_info(context: ToolContext, args: SymbolArguments) -> ExchangeInfo:
    return await service.get_exchange_info(context.client, args.symbol)


def _exchange_info_text(args: SymbolArguments, info: ExchangeInfo) -> str:
    lines = [
        f"{s.symbol} ({s.base_asset}/{s.quote_asset}) {s.status}: tick {s.tick_size}, step {s.step_size}, "
        f"min qty {s.min_qty}, min notional {s.min_notional}"
        for s in info.symbols
    ]
    return "\n".join(lines) or f"{args.symbol}: no symbol information returned"


# --------------------------------------------------------------- get_avg_price
async def _avg_price(context: ToolContext, args: SymbolArguments) -> AvgPrice:
    return await service.get_avg_price(context.client, args.symbol)


def _avg_price_text(args: SymbolArguments, avg: AvgPrice) -> str:
    return f"{args.symbol}: average price {avg.price} over {avg.mins} min"


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="get_ticker",
        title="24 h ticker",
        description="24-hour rolling price statistics of a Binance spot symbol: last price, change, high/low, volume, best bid/ask.",
        input_model=SymbolArguments, output_model=Ticker, hints=READ_ONLY_REMOTE, run=_ticker, summary=_ticker_text,
    ),
    ToolEntry(
        name="get_orderbook",
        title="Order-book snapshot (REST)",
        description="REST order-book snapshot of a symbol: `limit` price levels per side (5-1000, default 100), best first.",
        input_model=OrderBookArguments, output_model=OrderBook, hints=READ_ONLY_REMOTE, run=_orderbook,
        summary=_orderbook_text,
    ),
    ToolEntry(
        name="get_recent_trades",
        title="Recent trades",
        description="The most recent trades of a symbol (1-500, default 100), oldest first.",
        input_model=TradesArguments, output_model=RecentTrades, hints=READ_ONLY_REMOTE, run=_trades,
        summary=_trades_text,
    ),
    ToolEntry(
        name="get_klines",
        title="Candlesticks",
        description=(
            "Candlesticks (OHLCV) of a symbol for an interval (1s…1M), optionally between two Unix-ms times; "
            "up to 200 per call (default 100), then page on with start_time = next_start_time."
        ),
        input_model=KlinesArguments, output_model=KlinesPage, hints=READ_ONLY_REMOTE, run=_klines, summary=_klines_text,
    ),
    ToolEntry(
        name="get_exchange_info",
        title="Symbol trading rules",
        description="Trading rules of a symbol: status, assets, tick size, lot size, minimum notional, all filters.",
        input_model=SymbolArguments, output_model=ExchangeInfo, hints=READ_ONLY_REMOTE, run=_exchange_info,
        summary=_exchange_info_text,
    ),
    ToolEntry(
        name="get_avg_price",
        title="Average price",
        description="Binance's current average price of a symbol (over its averaging window, usually 5 minutes).",
        input_model=SymbolArguments, output_model=AvgPrice, hints=READ_ONLY_REMOTE, run=_avg_price,
        summary=_avg_price_text,
    ),
)  # fmt: skip

MARKET_TOOLS = tuple(entry.name for entry in ENTRIES)
