"""Market-data service: plain typed async functions behind the six REST tools.

Each takes a ``BinanceClient``-like object (``obcore.client.BinanceClient``), checks its
arguments (raising ``InvalidInputError`` naming the bad value), calls Binance and returns
a typed model. Binance errors propagate as ``obcore.errors.BinanceError`` subclasses.
No MCP here: the tools in ``obmcp.tools`` only wrap these.
"""

from __future__ import annotations

from typing import Any, Protocol

from obcore.errors import InvalidInputError

from obmcp.models import AvgPrice, ExchangeInfo, Kline, Klines, OrderBook, RecentTrades, SymbolInfo, Ticker, Trade
from obmcp.validation import (
    DEPTH_LIMITS, INTERVALS, MAX_TIME_MS, MIN_TIME_MS, check_choice, check_range, check_symbol,
)  # fmt: skip

__all__ = [
    "MarketClient",
    "get_avg_price",
    "get_exchange_info",
    "get_klines",
    "get_orderbook",
    "get_recent_trades",
    "get_ticker",
]



class MarketClient(Protocol):
    """The part of ``obcore.client.BinanceClient`` the market tools use.

    Each method has the meaning, arguments and errors of the ``BinanceClient`` method of
    the same name (see there).
    """

    async def ticker_24hr(self, symbol: str | None = None) -> Any: ...
    async def depth(self, symbol: str, limit: int = 100) -> Any:
        """``GET /depth``: ``{lastUpdateId, bids, asks}``, best level first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        limit : int
            Levels per side, 1-5000.
        """
        ...

    async def trades(self, symbol: str, limit: int = 500) -> Any:
        """``GET /trades``: the most recent trades, oldest first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        limit : int
            Number of trades, 1-1000.
        """
        ...

    async def klines(
        self, symbol: str, interval: str, *, start_time: int | None = None, end_time: int | None = None, limit: int = 500
    ) -> Any:
        """``GET /klines``: candlesticks, oldest first.

        Parameters
        ----------
        symbol : str
            E.g. ``"ETHUSDT"``.
        interval : str
            One of ``1s 1m 3m … 1w 1M``.
        start_time, end_time : int, optional
            Inclusive range of open times, ms since the epoch.
        limit : int
            Maximum candles, 1-1000.
        """
        ...

    async def exchange_info(self, symbol: str | None = None) -> Any: ...
    async def avg_price(self, symbol: str) -> Any: ...


async def get_ticker(client: MarketClient, symbol: str) -> Ticker:
    """24-hour rolling statistics of ``symbol`` (``GET /api/v3/ticker/24hr``).

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.

    Returns
    -------
    Ticker
        Prices and volumes as Binance's decimal strings; times in Unix ms.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    data = await client.ticker_24hr(symbol=symbol)
    if isinstance(data, list):  # some clients always return the list form
        data = next(item for item in data if item.get("symbol") == symbol)
    return Ticker(
        symbol=data["symbol"],
        last_price=data["lastPrice"],
        price_change=data["priceChange"],
        price_change_percent=data["priceChangePercent"],
        weighted_avg_price=data["weightedAvgPrice"],
        open_price=data["openPrice"],
        high_price=data["highPrice"],
        low_price=data["lowPrice"],
        bid_price=data["bidPrice"],
        bid_qty=data["bidQty"],
        ask_price=data["askPrice"],
        ask_qty=data["askQty"],
        volume=data["volume"],
        quote_volume=data["quoteVolume"],
        open_time=data["openTime"],
        close_time=data["closeTime"],
        trade_count=data["count"],
    )


async def get_orderbook(client: MarketClient, symbol: str, limit: int = 100) -> OrderBook:
    """REST depth snapshot of ``symbol`` with ``limit`` levels a side (``GET /api/v3/depth``).

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.
    limit : int, default 100
        Levels per side; one of ``DEPTH_LIMITS``.

    Returns
    -------
    OrderBook
        ``last_update_id`` and ``(price, qty)`` decimal-string pairs, best first.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    check_choice("limit", limit, DEPTH_LIMITS)
    data = await client.depth(symbol, limit)
    return OrderBook(
        symbol=symbol,
        last_update_id=data["lastUpdateId"],
        bids=[(price, qty) for price, qty in data["bids"]],
        asks=[(price, qty) for price, qty in data["asks"]],
    )


async def get_recent_trades(client: MarketClient, symbol: str, limit: int = 500) -> RecentTrades:
    """The last ``limit`` trades of ``symbol`` (``GET /api/v3/trades``).

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.
    limit : int, default 500
        Number of trades, 1 to 1000.

    Returns
    -------
    RecentTrades
        Trades oldest first, as Binance returns them; ``quote_qty`` is ``""`` when absent.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    check_range("limit", limit, 1, 1000)
    data = await client.trades(symbol, limit)
    trades = [
        Trade(
            id=item["id"],
            price=item["price"],
            qty=item["qty"],
            quote_qty=item.get("quoteQty", ""),
            time=item["time"],
            is_buyer_maker=item["isBuyerMaker"],
        )
        for item in data
    ]
    return RecentTrades(symbol=symbol, trades=trades)


async def get_klines(
    client: MarketClient,
    symbol: str,
    interval: str = "1m",
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int = 500,
) -> Klines:
    """Candles of ``symbol`` (``GET /api/v3/klines``); times in Unix ms.

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.
    interval : str, default "1m"
        One of ``INTERVALS`` (case-sensitive: ``"1M"`` is a month).
    start_time, end_time : int, optional
        Unix ms, 2017-07-14 to 2100-01-01; ``start_time`` must not be after ``end_time``.
    limit : int, default 500
        Number of candles, 1 to 1000.

    Returns
    -------
    Klines
        One ``Kline`` per candle, oldest first.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    check_choice("interval", interval, INTERVALS)
    check_range("limit", limit, 1, 1000)
    for name, value in (("start_time", start_time), ("end_time", end_time)):
        if value is not None:
            check_range(name, value, MIN_TIME_MS, MAX_TIME_MS)
    if start_time is not None and end_time is not None and start_time > end_time:
        raise InvalidInputError(f"start_time {start_time} is after end_time {end_time}")
    data = await client.klines(symbol, interval, start_time=start_time, end_time=end_time, limit=limit)
    klines = [
        Kline(
            open_time=row[0],
            open=row[1],
            high=row[2],
            low=row[3],
            close=row[4],
            volume=row[5],
            close_time=row[6],
            quote_volume=row[7],
            trade_count=row[8],
            taker_buy_base_volume=row[9],
            taker_buy_quote_volume=row[10],
        )
        for row in data
    ]
    return Klines(symbol=symbol, interval=interval, klines=klines)


def _filter(filters: list[dict], kind: str, key: str) -> str | None:
    for item in filters:
        if item.get("filterType") == kind and key in item:
            return item[key]
    return None


async def get_exchange_info(client: MarketClient, symbol: str) -> ExchangeInfo:
    """Trading rules of ``symbol`` (``GET /api/v3/exchangeInfo``): tick size, lot size, filters.

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.

    Returns
    -------
    ExchangeInfo
        Server time and timezone, and one ``SymbolInfo`` per symbol answered; filter
        values the symbol lacks are ``None``.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    data = await client.exchange_info(symbol=symbol)
    symbols = []
    for item in data.get("symbols", []):
        filters = item.get("filters", [])
        symbols.append(
            SymbolInfo(
                symbol=item["symbol"],
                status=item.get("status", ""),
                base_asset=item.get("baseAsset", ""),
                quote_asset=item.get("quoteAsset", ""),
                base_asset_precision=item.get("baseAssetPrecision"),
                quote_asset_precision=item.get("quoteAssetPrecision", item.get("quotePrecision")),
                order_types=item.get("orderTypes", []),
                tick_size=_filter(filters, "PRICE_FILTER", "tickSize"),
                step_size=_filter(filters, "LOT_SIZE", "stepSize"),
                min_qty=_filter(filters, "LOT_SIZE", "minQty"),
                max_qty=_filter(filters, "LOT_SIZE", "maxQty"),
                min_notional=_filter(filters, "NOTIONAL", "minNotional") or _filter(filters, "MIN_NOTIONAL", "minNotional"),
                filters=filters,
            )
        )
    return ExchangeInfo(timezone=data.get("timezone"), server_time=data.get("serverTime"), symbols=symbols)


async def get_avg_price(client: MarketClient, symbol: str) -> AvgPrice:
    """Current average price of ``symbol`` over Binance's window (``GET /api/v3/avgPrice``).

    Parameters
    ----------
    client : MarketClient
        The REST client (``obcore.client.BinanceClient`` or a fake).
    symbol : str
        Binance symbol, upper case, e.g. ``"ETHUSDT"``.

    Returns
    -------
    AvgPrice
        ``price`` as a decimal string over the last ``mins`` minutes.

    Raises
    ------
    InvalidInputError
        A bad argument, named in the message; nothing is sent.
    """
    check_symbol(symbol)
    data = await client.avg_price(symbol)
    return AvgPrice(symbol=symbol, mins=data["mins"], price=data["price"], close_time=data.get("closeTime"))


