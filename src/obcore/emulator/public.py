"""Public REST endpoints of the emulator (``/api/v3/...``), each with its Binance weight.

Every handler is ``handler(emulator, params) -> JSON-able body``; every weight function is
``weight(emulator, params) -> int`` and is charged before the handler runs, as Binance
charges weight even for requests that then fail.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from obcore.emulator.errors import ApiError
from obcore.emulator.limits import ORDERS_PER_10S, ORDERS_PER_DAY, REQUEST_WEIGHT_PER_MINUTE
from obcore.emulator.market import Market, Trade, format_number, server_time_ms
from obcore.emulator.params import Params

if TYPE_CHECKING:  # pragma: no cover
    from obcore.emulator.server import Emulator

__all__ = ["INTERVALS_MS", "PUBLIC_ROUTES", "depth_weight", "kline_open_time"]

_ZERO = Decimal(0)
INTERVALS_MS = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
    "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000, "1M": 0,
}
_MONDAY_OFFSET_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday; weeks open on Monday.


def _market(emulator: Emulator, symbol: str) -> Market:
    market = emulator.markets.get(symbol)
    if market is None:
        raise ApiError(400, -1121, "Invalid symbol.")
    return market


def _one_or_many(emulator: Emulator, params: Params) -> tuple[list[Market], bool]:
    """Markets named by ``symbol`` or ``symbols`` (all when neither); ``single`` flag."""
    symbol = params.symbol(required=False)
    symbols = params.symbol_list()
    if symbol is not None and symbols is not None:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if symbol is not None:
        return [_market(emulator, symbol)], True
    if symbols is not None:
        return [_market(emulator, s) for s in symbols], False
    return [emulator.markets[s] for s in emulator.symbols], False


# ----------------------------------------------------------------- basics
def ping(emulator: Emulator, params: Params) -> Any:
    return {}


def server_time(emulator: Emulator, params: Params) -> Any:
    return {"serverTime": server_time_ms()}


def _filters(market: Market) -> list[dict[str, Any]]:
    rules = market.rules
    return [
        {"filterType": "PRICE_FILTER", "minPrice": format_number(rules.min_price),
         "maxPrice": format_number(rules.max_price), "tickSize": format_number(rules.tick_size)},
        {"filterType": "LOT_SIZE", "minQty": format_number(rules.min_qty),
         "maxQty": format_number(rules.max_qty), "stepSize": format_number(rules.step_size)},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": format_number(rules.market_max_qty),
         "stepSize": "0.00000000"},
        {"filterType": "NOTIONAL", "minNotional": format_number(rules.min_notional), "applyMinToMarket": True,
         "maxNotional": format_number(rules.max_notional), "applyMaxToMarket": False, "avgPriceMins": 5},
        {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": str(rules.bid_multiplier_up),
         "bidMultiplierDown": str(rules.bid_multiplier_down), "askMultiplierUp": str(rules.ask_multiplier_up),
         "askMultiplierDown": str(rules.ask_multiplier_down), "avgPriceMins": 5},
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": rules.max_num_orders},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": rules.max_num_algo_orders},
    ]


def _symbol_info(market: Market) -> dict[str, Any]:
    rules = market.rules
    return {
        "symbol": rules.symbol, "status": "TRADING", "baseAsset": rules.base_asset, "baseAssetPrecision": 8,
        "quoteAsset": rules.quote_asset, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": False, "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": _filters(market), "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER", "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(emulator: Emulator, params: Params) -> Any:
    markets, _ = _one_or_many(emulator, params)
    return {
        "timezone": "UTC", "serverTime": server_time_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": REQUEST_WEIGHT_PER_MINUTE},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": ORDERS_PER_10S},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": ORDERS_PER_DAY},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 300000},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(m) for m in markets],
    }


# ------------------------------------------------------------------ depth
def _depth_limit(params: Params) -> int:
    limit = params.integer("limit", default=100, low=1)
    return min(int(limit), 5000)  # type: ignore[arg-type]


def depth_weight(limit: int) -> int:
    """Binance's weight of ``/depth`` by limit (since 2023-10)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def depth(emulator: Emulator, params: Params) -> Any:
    market = _market(emulator, params.symbol())  # type: ignore[arg-type]
    return market.snapshot(_depth_limit(params))


def _depth_charge(emulator: Emulator, params: Params) -> int:
    try:
        return depth_weight(_depth_limit(params))
    except ApiError:
        return 5


# ----------------------------------------------------------------- trades
def trades(emulator: Emulator, params: Params) -> Any:
    market = _market(emulator, params.symbol())  # type: ignore[arg-type]
    limit = params.integer("limit", default=500, low=1, high=1000)
    rows = list(market.trades)[-limit:]  # type: ignore[index,operator]
    return [{"id": t.id, "price": t.price_text, "qty": t.qty_text, "quoteQty": format_number(t.price * t.qty),
             "time": t.time, "isBuyerMaker": t.is_buyer_maker, "isBestMatch": True} for t in rows]


def agg_trades(emulator: Emulator, params: Params) -> Any:
    """``/aggTrades`` (weight 4): ``fromId`` (inclusive) or ``startTime``/``endTime`` (inclusive
    ms, either or both; no 1-hour limit since Dec 2022), ``limit`` 1-1000 (default 500); both
    kinds of selector together is -1128. Served from the files given with ``--agg-trades``
    and then the live (replayed or generated) trades."""
    market = _market(emulator, params.symbol())  # type: ignore[arg-type]
    limit = params.integer("limit", default=500, low=1, high=1000)
    from_id = params.integer("fromId", low=0)
    start = params.integer("startTime", low=0)
    end = params.integer("endTime", low=0)
    if from_id is not None and (start is not None or end is not None):
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    rows = market.select_agg_trades(from_id, start, end, limit)  # type: ignore[arg-type]
    return [{"a": r.id, "p": r.price_text, "q": r.qty_text, "f": r.first_id, "l": r.last_id, "T": r.time,
             "m": r.is_buyer_maker, "M": True} for r in rows]


# ----------------------------------------------------------------- klines
def kline_open_time(time_ms: int, interval: str) -> int:
    """Open time of the kline of ``interval`` containing ``time_ms`` (UTC).

    Parameters
    ----------
    time_ms : int
        A time, ms since the epoch.
    interval : str
        A Binance interval (``1s`` … ``1w``, ``1M``); weeks start on Monday, months on
        the 1st.

    Returns
    -------
    int
        The kline's open time, ms since the epoch.
    """
    if interval == "1M":
        day = dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.timezone.utc)
        return calendar.timegm((day.year, day.month, 1, 0, 0, 0)) * 1000
    size = INTERVALS_MS[interval]
    if interval == "1w":
        return (time_ms - _MONDAY_OFFSET_MS) // size * size + _MONDAY_OFFSET_MS
    return time_ms // size * size


def _next_open(open_time: int, interval: str) -> int:
    if interval == "1M":
        day = dt.datetime.fromtimestamp(open_time / 1000, tz=dt.timezone.utc)
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
    return open_time + INTERVALS_MS[interval]


def _kline_row(open_time: int, close_time: int, rows: list[Trade], previous_close: Decimal) -> list[Any]:
    if rows:
        prices = [t.price for t in rows]
        open_, high, low, close = prices[0], max(prices), min(prices), prices[-1]
    else:
        open_ = high = low = close = previous_close
    volume = sum((t.qty for t in rows), _ZERO)
    quote = sum((t.qty * t.price for t in rows), _ZERO)
    taker_buy = [t for t in rows if not t.is_buyer_maker]
    return [open_time, format_number(open_), format_number(high), format_number(low), format_number(close),
            format_number(volume), close_time, format_number(quote), len(rows),
            format_number(sum((t.qty for t in taker_buy), _ZERO)),
            format_number(sum((t.qty * t.price for t in taker_buy), _ZERO)), "0"]


def klines(emulator: Emulator, params: Params) -> Any:
    market = _market(emulator, params.symbol())  # type: ignore[arg-type]
    interval = params.text("interval", required=True)
    if interval not in INTERVALS_MS:
        raise ApiError(400, -1120, "Invalid interval.")
    limit = params.integer("limit", default=500, low=1, high=1000)
    start = params.integer("startTime", low=0)
    end = params.integer("endTime", low=0)
    zone = params.text("timeZone")
    if zone not in (None, "0", "+0", "-0", "0:00", "+00:00", "00:00"):
        raise ApiError(400, -1100, f"Illegal characters found in parameter 'timeZone'; the emulator only "
                                   f"serves UTC (0), got {zone!r}.")
    buckets: dict[int, list[Trade]] = {}
    for trade in market.trades:
        if (start is not None and trade.time < start) or (end is not None and trade.time > end):
            continue
        buckets.setdefault(kline_open_time(trade.time, interval), []).append(trade)
    if not buckets:
        return []
    out = []
    open_time = min(buckets)
    last = max(buckets)
    previous_close = buckets[open_time][0].price
    while open_time <= last:
        following = _next_open(open_time, interval)
        rows = buckets.get(open_time, [])
        out.append(_kline_row(open_time, following - 1, rows, previous_close))
        if rows:
            previous_close = rows[-1].price
        open_time = following
    return out[:limit] if start is not None else out[-limit:]  # type: ignore[index,operator]


# ---------------------------------------------------------------- tickers
def _ticker(market: Market, full: bool) -> dict[str, Any]:
    now = server_time_ms()
    open_time = now - 86_400_000
    rows = [t for t in market.trades if t.time >= open_time]
    before = [t for t in market.trades if t.time < open_time]
    volume = sum((t.qty for t in rows), _ZERO)
    quote = sum((t.qty * t.price for t in rows), _ZERO)
    if rows:
        first, last = rows[0], rows[-1]
        open_price, last_price = first.price, last.price
        high, low = max(t.price for t in rows), min(t.price for t in rows)
    else:
        open_price = last_price = high = low = _ZERO
    body: dict[str, Any] = {"symbol": market.symbol}
    if full:
        change = last_price - open_price
        percent = (change / open_price * 100).quantize(Decimal("0.001")) if open_price else _ZERO
        weighted = quote / volume if volume else _ZERO
        bid, ask = market.best("bid"), market.best("ask")
        body.update({
            "priceChange": format_number(change), "priceChangePercent": format(percent, "f"),
            "weightedAvgPrice": format_number(weighted),
            "prevClosePrice": format_number(before[-1].price if before else open_price),
            "lastPrice": format_number(last_price), "lastQty": format_number(rows[-1].qty if rows else _ZERO),
            "bidPrice": format_number(bid[0] if bid else _ZERO), "bidQty": format_number(bid[1] if bid else _ZERO),
            "askPrice": format_number(ask[0] if ask else _ZERO), "askQty": format_number(ask[1] if ask else _ZERO),
        })
    else:
        body["lastPrice"] = format_number(last_price)
    body.update({
        "openPrice": format_number(open_price), "highPrice": format_number(high), "lowPrice": format_number(low),
        "volume": format_number(volume), "quoteVolume": format_number(quote),
        "openTime": open_time, "closeTime": now,
        "firstId": rows[0].id if rows else -1, "lastId": rows[-1].id if rows else -1, "count": len(rows),
    })
    if not full:
        # MINI has no priceChange/bid/ask fields; keep Binance's key order.
        body = {k: body[k] for k in ("symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume",
                                     "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count")}
    return body


def ticker_24hr(emulator: Emulator, params: Params) -> Any:
    kind = params.choice("type", ("FULL", "MINI"), -1100,
                         "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.", default="FULL")
    markets, single = _one_or_many(emulator, params)
    rows = [_ticker(m, kind == "FULL") for m in markets]
    return rows[0] if single else rows


def _ticker_weight(emulator: Emulator, params: Params) -> int:
    if params.get("symbol"):
        return 2
    try:
        symbols = params.symbol_list()
    except ApiError:
        return 2
    if symbols is None:
        return 80
    n = len(symbols)
    return 2 if n <= 20 else 40 if n <= 100 else 80


def ticker_price(emulator: Emulator, params: Params) -> Any:
    markets, single = _one_or_many(emulator, params)
    rows = [{"symbol": m.symbol, "price": m.trades[-1].price_text if m.trades else "0.00000000"} for m in markets]
    return rows[0] if single else rows


def ticker_book(emulator: Emulator, params: Params) -> Any:
    markets, single = _one_or_many(emulator, params)
    rows = []
    for m in markets:
        t = m.book_ticker()
        rows.append({"symbol": m.symbol, "bidPrice": t["b"], "bidQty": t["B"], "askPrice": t["a"], "askQty": t["A"]})
    return rows[0] if single else rows


def avg_price(emulator: Emulator, params: Params) -> Any:
    market = _market(emulator, params.symbol())  # type: ignore[arg-type]
    since = server_time_ms() - 5 * 60_000
    rows = [t for t in market.trades if t.time >= since]
    volume = sum((t.qty for t in rows), _ZERO)
    quote = sum((t.qty * t.price for t in rows), _ZERO)
    price = quote / volume if volume else (market.trades[-1].price if market.trades else _ZERO)
    close = rows[-1].time if rows else (market.trades[-1].time if market.trades else server_time_ms())
    return {"mins": 5, "price": format_number(price), "closeTime": close}


def _w(n: int) -> Any:
    return lambda emulator, params: n


PUBLIC_ROUTES: dict[tuple[str, str], tuple[Any, Any]] = {
    ("GET", "/api/v3/ping"): (_w(1), ping),
    ("GET", "/api/v3/time"): (_w(1), server_time),
    ("GET", "/api/v3/exchangeInfo"): (_w(20), exchange_info),
    ("GET", "/api/v3/depth"): (_depth_charge, depth),
    ("GET", "/api/v3/trades"): (_w(25), trades),
    ("GET", "/api/v3/aggTrades"): (_w(4), agg_trades),
    ("GET", "/api/v3/klines"): (_w(2), klines),
    ("GET", "/api/v3/uiKlines"): (_w(2), klines),
    ("GET", "/api/v3/ticker/24hr"): (_ticker_weight, ticker_24hr),
    ("GET", "/api/v3/ticker/price"): (lambda e, p: 2 if p.get("symbol") else 4, ticker_price),
    ("GET", "/api/v3/ticker/bookTicker"): (lambda e, p: 2 if p.get("symbol") else 4, ticker_book),
    ("GET", "/api/v3/avgPrice"): (_w(2), avg_price),
}
