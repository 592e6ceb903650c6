"""Public REST endpoints: shapes, weights, headers and error paths over real sockets."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from obcore.emulator import Emulator
from obcore.emulator.public import INTERVALS_MS

pytestmark = pytest.mark.anyio


async def _calm(**kwargs) -> Emulator:
    emu = Emulator(speed=10.0, **kwargs)
    emu.add_scenario("calm", "BTCUSDT", seed=1, mid="30000.00", tick="0.01", step="0.00001")
    await emu.start()
    return emu


async def test_ping_time_and_weight_header():
    emu = await _calm()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await c.get("/api/v3/ping")
            assert r.status_code == 200 and r.json() == {}
            first = int(r.headers["X-MBX-USED-WEIGHT-1M"])
            r = await c.get("/api/v3/time")
            assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) == first + 1
            assert abs(r.json()["serverTime"] - time.time() * 1000) < 2000
            r = await c.get("/api/v3/nope")
            assert r.status_code == 404
    finally:
        await emu.stop()


@pytest.mark.parametrize(("limit", "weight", "levels"), [(5, 5, 5), (100, 5, 50), (101, 25, 50), (600, 50, 50),
                                                         (5000, 250, 50), (9999, 250, 50)])
async def test_depth_weights_and_limit(limit, weight, levels):
    emu = await _calm()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            before = int((await c.get("/api/v3/ping")).headers["X-MBX-USED-WEIGHT-1M"])
            r = await c.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": limit})
            assert r.status_code == 200
            assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) == before + weight
            body = r.json()
            assert len(body["bids"]) <= levels and len(body["bids"]) == min(levels, len(emu.markets["BTCUSDT"].base_bids))
            prices = [float(p) for p, _ in body["bids"]]
            assert prices == sorted(prices, reverse=True)
            assert all(isinstance(p, str) and isinstance(q, str) for p, q in body["asks"])
            assert body["lastUpdateId"] <= emu.true_book("BTCUSDT")[0]
    finally:
        await emu.stop()


async def test_errors_invalid_symbol_missing_param_illegal_chars():
    emu = await _calm()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await c.get("/api/v3/depth", params={"symbol": "NOPEUSDT"})
            assert (r.status_code, r.json()) == (400, {"code": -1121, "msg": "Invalid symbol."})
            r = await c.get("/api/v3/depth")
            assert r.status_code == 400 and r.json()["code"] == -1102 and "'symbol'" in r.json()["msg"]
            r = await c.get("/api/v3/depth", params={"symbol": "btcusdt"})
            assert r.json()["code"] == -1100
            r = await c.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "1e3"})
            assert r.json()["code"] == -1100
            r = await c.get("/api/v3/depth?symbol=BTCUSDT&symbol=BTCUSDT")
            assert r.json()["code"] == -1101
            r = await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "2m"})
            assert (r.status_code, r.json()["code"]) == (400, -1120)
            r = await c.get("/api/v3/exchangeInfo", params={"symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'})
            assert r.json()["code"] == -1128
    finally:
        await emu.stop()


async def test_exchange_info_filters_match_data_decimals():
    emu = await _calm()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await c.get("/api/v3/exchangeInfo", params={"symbols": '["BTCUSDT"]'})
            body = r.json()
            assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) >= 20
            assert {x["rateLimitType"] for x in body["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
            (info,) = body["symbols"]
            filters = {f["filterType"]: f for f in info["filters"]}
            assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
            assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
            assert "minNotional" in filters["NOTIONAL"]
            assert (info["baseAsset"], info["quoteAsset"]) == ("BTC", "USDT")
    finally:
        await emu.stop()


async def test_trades_aggtrades_klines_tickers_avgprice():
    emu = await _calm()
    try:
        await anyio.sleep(1.0)  # ~100 events at 10x: some trades
        emu.pause()
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            trades = (await c.get("/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 1000})).json()
            assert trades, "the calm scenario produced no trades"
            assert set(trades[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
            ids = [t["id"] for t in trades]
            assert ids == sorted(ids)
            aggs = (await c.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT"})).json()
            assert set(aggs[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
            second = aggs[1]["a"]
            from_id = (await c.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": second,
                                                                "limit": 2})).json()
            assert [a["a"] for a in from_id] == [second, aggs[2]["a"]]
            window = (await c.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "startTime": aggs[1]["T"],
                                                               "endTime": aggs[1]["T"]})).json()
            assert window and all(a["T"] == aggs[1]["T"] for a in window)
            r = await c.get("/api/v3/aggTrades", params={"symbol": "BTCUSDT", "fromId": 1, "startTime": 1})
            assert r.json()["code"] == -1128
            for interval in INTERVALS_MS:
                rows = (await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": interval})).json()
                assert rows, interval
                assert sum(row[8] for row in rows) == len(trades)
                assert all(len(row) == 12 and row[6] > row[0] for row in rows)
            one_s = (await c.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1s"})).json()
            assert all(row[6] - row[0] == 999 for row in one_s)
            full = (await c.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
            assert full["count"] == len(trades) and full["lastPrice"] == trades[-1]["price"]
            mini = (await c.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT", "type": "MINI"})).json()
            assert "priceChange" not in mini and mini["lastPrice"] == full["lastPrice"]
            many = await c.get("/api/v3/ticker/24hr", params={"symbols": '["BTCUSDT"]'})
            assert isinstance(many.json(), list)
            before = int(many.headers["X-MBX-USED-WEIGHT-1M"])
            everything = await c.get("/api/v3/ticker/24hr")
            assert int(everything.headers["X-MBX-USED-WEIGHT-1M"]) == before + 80
            avg = (await c.get("/api/v3/avgPrice", params={"symbol": "BTCUSDT"})).json()
            assert avg["mins"] == 5 and float(avg["price"]) > 0
    finally:
        await emu.stop()


async def test_weight_limit_429_then_418():
    emu = await _calm()
    emu.limiter.limit = 30
    emu.limiter.ban_after = 1
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            statuses = []
            for _ in range(12):
                r = await c.get("/api/v3/depth", params={"symbol": "BTCUSDT"})
                statuses.append(r.status_code)
                if r.status_code in (429, 418):
                    assert r.json()["code"] == -1003 and int(r.headers["Retry-After"]) >= 1
            assert statuses[:6] == [200] * 6
            assert statuses[6] == 429
            assert statuses[7:] == [418] * 5
            r = await c.get("/api/v3/ping")
            assert r.status_code == 418 and "banned until" in r.json()["msg"]
    finally:
        await emu.stop()
