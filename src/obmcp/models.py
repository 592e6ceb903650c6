"""Typed answers of the tools (they are also the tools' MCP output schemas).

Decimals are exact strings as Binance sends them (or as ``obcore.numbers.format_decimal``
writes them); times are Unix milliseconds.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AvgPrice",
    "BookHealth",
    "BookL1",
    "BookL2",
    "DataQuality",
    "DepthLevels",
    "ExchangeInfo",
    "Kline",
    "Klines",
    "OrderBook",
    "RecentTrades",
    "SlippageEstimate",
    "SymbolHealth",
    "SymbolInfo",
    "Ticker",
    "Trade",
    "Wall",
]


class Ticker(BaseModel):
    symbol: str
    last_price: str
    price_change: str
    price_change_percent: str
    weighted_avg_price: str
    open_price: str
    high_price: str
    low_price: str
    bid_price: str
    bid_qty: str
    ask_price: str
    ask_qty: str
    volume: str = Field(description="24 h base-asset volume")
    quote_volume: str = Field(description="24 h quote-asset volume")
    open_time: int
    close_time: int
    trade_count: int


class OrderBook(BaseModel):
    symbol: str
    last_update_id: int
    bids: list[tuple[str, str]] = Field(description="[price, quantity], best (highest) first")
    asks: list[tuple[str, str]] = Field(description="[price, quantity], best (lowest) first")


class Trade(BaseModel):
    id: int
    price: str
    qty: str
    quote_qty: str
    time: int
    is_buyer_maker: bool = Field(description="true: the seller was the aggressor")


class RecentTrades(BaseModel):
    symbol: str
    trades: list[Trade] = Field(description="oldest first, as Binance returns them")


class Kline(BaseModel):
    open_time: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    close_time: int
    quote_volume: str
    trade_count: int
    taker_buy_base_volume: str
    taker_buy_quote_volume: str


class Klines(BaseModel):
    symbol: str
    interval: str
    klines: list[Kline]


class SymbolInfo(BaseModel):
    symbol: str
    status: str
    base_asset: str
    quote_asset: str
    base_asset_precision: int | None = None
    quote_asset_precision: int | None = None
    order_types: list[str] = []
    tick_size: str | None = None
    step_size: str | None = None
    min_qty: str | None = None
    max_qty: str | None = None
    min_notional: str | None = None
    filters: list[dict] = Field(default=[], description="all filters as Binance sends them")


class ExchangeInfo(BaseModel):
    timezone: str | None = None
    server_time: int | None = None
    symbols: list[SymbolInfo]


class AvgPrice(BaseModel):
    symbol: str
    mins: int = Field(description="averaging window in minutes")
    price: str
    close_time: int | None = None


class DataQuality(BaseModel):
    sync_state: str = Field(description="SYNCING, LIVE, RESYNCING or STALE")
    book_age_ms: int | None = Field(description="ms since the last applied depth event")
    ok: bool = Field(description="true only for a LIVE book updated within the staleness limit")
    warnings: list[str] = []


class Wall(BaseModel):
    side: str
    price: str
    qty: str
    times_median: float = Field(description="size relative to the median of the side's top 100 levels")


class SlippageEstimate(BaseModel):
    side: str = Field(description="buy sweeps the asks, sell sweeps the bids")
    notional: float = Field(description="quote-asset amount to fill")
    avg_price: str | None
    worst_price: str | None
    filled_qty: str
    filled_notional: float
    slippage_bps: float | None = Field(description="average fill vs the best price on that side, in bps (positive = cost)")
    complete: bool = Field(description="false if the visible book could not fill the notional")


class BookL1(BaseModel):
    symbol: str
    best_bid: str
    best_bid_qty: str
    best_ask: str
    best_ask_qty: str
    mid: str
    spread: str
    spread_bps: float
    microprice: str
    top_n: int
    bid_volume_top_n: str
    ask_volume_top_n: str
    imbalance_top_n: float = Field(description="(bid - ask) / (bid + ask) over the top N levels, -1..1")
    walls: list[Wall]
    slippage: list[SlippageEstimate]
    last_update_id: int
    bid_levels: int
    ask_levels: int
    data_quality: DataQuality


class DepthLevels(BaseModel):
    prices: list[int]
    qtys: list[int]


class BookL2(BaseModel):
    symbol: str
    levels: int
    price_scale: int = Field(description="price = integer / 10**price_scale")
    qty_scale: int = Field(description="quantity = integer / 10**qty_scale")
    bids: DepthLevels = Field(description="best (highest) first")
    asks: DepthLevels = Field(description="best (lowest) first")
    last_update_id: int
    data_quality: DataQuality


class SymbolHealth(BaseModel):
    symbol: str
    status: str = Field(description="ok, degraded or error")
    sync_state: str
    book_age_ms: int | None
    last_update_id: int
    resync_count: int
    gap_count: int
    reason: str | None = None


class BookHealth(BaseModel):
    status: str = Field(description="ok, degraded or error (the worst over the symbols asked about)")
    symbols_tracked: list[str]
    max_symbols: int | None = None
    stream_connected: bool | None = None
    symbols: list[SymbolHealth]
    reason: str | None = None
