"""A stand-in for obcore.client.BinanceClient answering with Binance-shaped JSON
(the documented response shapes, values from the bundled ETHUSDT recording)."""

from __future__ import annotations

from typing import Any

from obcore.errors import InvalidSymbolError

__all__ = ["FakeRestClient"]

KNOWN = {"ETHUSDT"}


class FakeRestClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def _check(self, name: str, symbol: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, (symbol, *args), kwargs))
        if symbol not in KNOWN:
            raise InvalidSymbolError(-1121, "Invalid symbol.", 400)

    async def ticker_24hr(self, symbol: str | None = None) -> dict[str, Any]:
        self._check("ticker_24hr", symbol)
        return {
            "symbol": symbol, "priceChange": "-12.50", "priceChangePercent": "-0.464",
            "weightedAvgPrice": "2671.20", "prevClosePrice": "2695.00", "lastPrice": "2683.81",
            "lastQty": "0.0100", "bidPrice": "2683.80", "bidQty": "12.3456", "askPrice": "2683.81",
            "askQty": "1.2000", "openPrice": "2696.31", "highPrice": "2720.00", "lowPrice": "2650.01",
            "volume": "412345.6789", "quoteVolume": "1101234567.89", "openTime": 1723075200000,
            "closeTime": 1723161599999, "firstId": 1, "lastId": 1001, "count": 1001,
        }

    async def depth(self, symbol: str, limit: int = 100) -> dict[str, Any]:
        self._check("depth", symbol, limit)
        bids = [[f"{2683.80 - i * 0.01:.2f}", "1.0000"] for i in range(limit)]
        asks = [[f"{2683.81 + i * 0.01:.2f}", "2.0000"] for i in range(limit)]
        return {"lastUpdateId": 35346513512, "bids": bids, "asks": asks}

    async def trades(self, symbol: str, limit: int = 500) -> list[dict[str, Any]]:
        self._check("trades", symbol, limit)
        return [
            {"id": 100 + i, "price": "2683.81", "qty": "0.0100", "quoteQty": "26.8381",
             "time": 1723161600000 + i, "isBuyerMaker": bool(i % 2), "isBestMatch": True}
            for i in range(limit)
        ]

    async def klines(self, symbol: str, interval: str, *, start_time=None, end_time=None, limit=500) -> list[list[Any]]:
        self._check("klines", symbol, interval, start_time=start_time, end_time=end_time, limit=limit)
        return [
            [1723161600000 + i * 60_000, "2683.80", "2684.00", "2683.00", "2683.50", "12.5",
             1723161659999 + i * 60_000, "33543.75", 42, "6.0", "16100.1", "0"]
            for i in range(limit)
        ]

    async def exchange_info(self, symbol: str | None = None) -> dict[str, Any]:
        self._check("exchange_info", symbol)
        return {
            "timezone": "UTC", "serverTime": 1723161600000,
            "symbols": [{
                "symbol": symbol, "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "USDT",
                "baseAssetPrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "9000.0000", "stepSize": "0.0001"},
                    {"filterType": "NOTIONAL", "minNotional": "5.00", "applyMinToMarket": True},
                ],
            }],
        }

    async def avg_price(self, symbol: str) -> dict[str, Any]:
        self._check("avg_price", symbol)
        return {"mins": 5, "price": "2683.81", "closeTime": 1723161600000}
