"""Signed endpoints: HMAC vector, auth and timestamp errors, filters, matching, balances."""

from __future__ import annotations

import time
from decimal import ROUND_DOWN, Decimal

import httpx
import pytest

from obcore.emulator import Emulator
from obcore.emulator.auth import sign, signed_payload
from tests.obcore.emulator.helpers import KEY, SECRET, signed_query

pytestmark = pytest.mark.anyio
HEADERS = {"X-MBX-APIKEY": KEY}


def test_hmac_test_vector_from_protocol_brief():
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = ("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
               "&timestamp=1499827319559")
    assert sign(secret, payload) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    # Query + body concatenated, signature stripped from wherever it is.
    assert signed_payload("symbol=LTCBTC&side=BUY&signature=ab", "type=LIMIT") == (
        "symbol=LTCBTC&side=BUYtype=LIMIT", "ab")


async def _emu() -> Emulator:
    emu = Emulator(speed=1.0, api_key=KEY, api_secret=SECRET, balances={"USDT": "100000", "BTC": "1"})
    emu.add_scenario("calm", "BTCUSDT", seed=3, mid="100.00", tick="0.01", step="0.001")
    await emu.start()
    emu.pause()  # a still book: fills are predictable
    return emu


async def _order(c: httpx.AsyncClient, **params) -> httpx.Response:
    return await c.post("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", **params}), headers=HEADERS)


async def test_auth_errors():
    emu = await _emu()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            q = signed_query({})
            r = await c.get("/api/v3/account?" + q)
            assert (r.status_code, r.json()["code"]) == (401, -2014)
            r = await c.get("/api/v3/account?" + q, headers={"X-MBX-APIKEY": "someoneElse"})
            assert (r.status_code, r.json()["code"]) == (401, -2015)
            r = await c.get("/api/v3/account?" + signed_query({}, secret="wrong"), headers=HEADERS)
            assert (r.status_code, r.json()) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})
            r = await c.get("/api/v3/account?timestamp=1", headers=HEADERS)
            assert r.json()["code"] == -1102 and "signature" in r.json()["msg"]
            now = int(time.time() * 1000)
            r = await c.get("/api/v3/account?" + signed_query({}, timestamp_ms=now + 1500), headers=HEADERS)
            assert r.json()["code"] == -1021
            r = await c.get("/api/v3/account?" + signed_query({}, timestamp_ms=now - 6000), headers=HEADERS)
            assert r.json()["code"] == -1021
            r = await c.get("/api/v3/account?" + signed_query({"recvWindow": 10000}, timestamp_ms=now - 6000),
                            headers=HEADERS)
            assert r.status_code == 200
            r = await c.get("/api/v3/account?" + signed_query({"recvWindow": 70000}), headers=HEADERS)
            assert r.json()["code"] == -1131
            # µs timestamps are accepted; upper-case hex signatures too.
            r = await c.get("/api/v3/account?" + signed_query({}, timestamp_ms=now * 1000), headers=HEADERS)
            assert r.status_code == 200
            query = signed_query({})
            upper = query[: query.index("signature=") + 10] + query[query.index("signature=") + 10:].upper()
            assert (await c.get("/api/v3/account?" + upper, headers=HEADERS)).status_code == 200
            # Signature over query + form body.
            body = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=90"
            query = f"timestamp={now}"
            signature = sign(SECRET, query + body)
            r = await c.post(f"/api/v3/order/test?{query}&signature={signature}", content=body,
                             headers={**HEADERS, "Content-Type": "application/x-www-form-urlencoded"})
            assert (r.status_code, r.json()) == (200, {})
            # Clock skew moves the server clock: a correct client timestamp is now "ahead".
            emu.faults.clock_skew(-5000)
            r = await c.get("/api/v3/account?" + signed_query({}), headers=HEADERS)
            assert r.json()["code"] == -1021
            server = (await c.get("/api/v3/time")).json()["serverTime"]
            assert abs(server - (time.time() * 1000 - 5000)) < 1000
    finally:
        await emu.stop()


async def test_order_validation_errors():
    emu = await _emu()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            cases = [
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1", "price": "90.001"}, -1013,
                 "PRICE_FILTER"),
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1001", "price": "90"}, -1013,
                 "LOT_SIZE"),
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "90"}, -1013,
                 "NOTIONAL"),
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.1", "price": "90.000000001"},
                 -1111, "precision"),
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1e-05", "price": "90"}, -1100,
                 "quantity"),
                ({"side": "BUY", "type": "LIMIT", "quantity": "0.1", "price": "90"}, -1102, "timeInForce"),
                ({"side": "UP", "type": "LIMIT"}, -1117, "side"),
                ({"side": "BUY", "type": "WHATEVER"}, -1116, "orderType"),
                ({"side": "BUY", "type": "MARKET"}, -1102, "quoteOrderQty"),
                ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "2000", "price": "90"}, -2010,
                 "insufficient balance"),
                ({"side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.1", "price": "200"}, -2010,
                 "immediately match"),
            ]
            for params, code, text in cases:
                r = await _order(c, **params)
                assert r.status_code == 400, params
                assert r.json()["code"] == code, (params, r.json())
                assert text in r.json()["msg"], (params, r.json())
            r = await c.post("/api/v3/order?" + signed_query({"symbol": "NOPE", "side": "BUY"}), headers=HEADERS)
            assert r.json()["code"] == -1121
    finally:
        await emu.stop()


async def test_limit_rests_appears_in_depth_then_cancel():
    emu = await _emu()
    try:
        market = emu.markets["BTCUSDT"]
        best_bid = max(market.base_bids)
        price = best_bid - Decimal("0.05")
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _order(c, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price=str(price),
                             newClientOrderId="mine1", newOrderRespType="RESULT")
            assert r.status_code == 200, r.json()
            body = r.json()
            assert body["status"] == "NEW" and body["clientOrderId"] == "mine1" and "fills" not in body
            assert r.headers["X-MBX-ORDER-COUNT-10S"] == "1" and r.headers["X-MBX-ORDER-COUNT-1D"] == "1"
            _, bids, _ = emu.true_book("BTCUSDT")
            shown = dict(bids)[f"{price:.8f}"]
            assert Decimal(shown) == market.base_bids.get(price, Decimal(0)) + 1
            r = await _order(c, side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price=str(price),
                             newClientOrderId="mine1")
            assert r.json() == {"code": -2010, "msg": "Duplicate order sent."}
            account = (await c.get("/api/v3/account?" + signed_query({}), headers=HEADERS)).json()
            usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
            assert Decimal(usdt["locked"]) == price and Decimal(usdt["free"]) == 100000 - price
            opened = (await c.get("/api/v3/openOrders?" + signed_query({"symbol": "BTCUSDT"}), headers=HEADERS)).json()
            assert [o["orderId"] for o in opened] == [body["orderId"]]
            got = (await c.get("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "origClientOrderId": "mine1"}),
                               headers=HEADERS)).json()
            assert got["orderId"] == body["orderId"] and got["status"] == "NEW"
            r = await c.delete("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "orderId": body["orderId"]}),
                               headers=HEADERS)
            assert r.json()["status"] == "CANCELED" and r.json()["origClientOrderId"] == "mine1"
            r = await c.delete("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "orderId": body["orderId"]}),
                               headers=HEADERS)
            assert (r.status_code, r.json()["code"]) == (400, -2011)
            r = await c.get("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "orderId": 999}), headers=HEADERS)
            assert r.json() == {"code": -2013, "msg": "Order does not exist."}
            r = await c.get("/api/v3/order?" + signed_query({"symbol": "BTCUSDT"}), headers=HEADERS)
            assert r.json()["code"] == -1102
            _, bids, _ = emu.true_book("BTCUSDT")
            assert Decimal(dict(bids).get(f"{price:.8f}", "0")) == market.base_bids.get(price, Decimal(0))
            account = (await c.get("/api/v3/account?" + signed_query({}), headers=HEADERS)).json()
            usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
            assert Decimal(usdt["locked"]) == 0 and Decimal(usdt["free"]) == 100000
    finally:
        await emu.stop()


async def test_market_and_crossing_limit_fill_against_book():
    emu = await _emu()
    try:
        market = emu.markets["BTCUSDT"]
        asks = sorted(market.base_asks.items())
        half = (asks[1][1] / 2).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
        qty = asks[0][1] + half  # takes the first level and about half the second
        expected_cost = asks[0][0] * asks[0][1] + asks[1][0] * half
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _order(c, side="BUY", type="MARKET", quantity=str(qty))
            body = r.json()
            assert body["status"] == "FILLED", body
            assert Decimal(body["executedQty"]) == qty
            assert Decimal(body["cummulativeQuoteQty"]) == expected_cost
            assert [Decimal(f["price"]) for f in body["fills"]] == [asks[0][0], asks[1][0]]
            assert asks[0][0] not in market.base_asks
            assert market.base_asks[asks[1][0]] == asks[1][1] - half
            trades = (await c.get("/api/v3/myTrades?" + signed_query({"symbol": "BTCUSDT"}), headers=HEADERS)).json()
            assert len(trades) == 2 and all(t["isBuyer"] and not t["isMaker"] for t in trades)
            account = (await c.get("/api/v3/account?" + signed_query({"omitZeroBalances": "true"}),
                                   headers=HEADERS)).json()
            balances = {b["asset"]: Decimal(b["free"]) for b in account["balances"]}
            assert balances["USDT"] == 100000 - expected_cost
            assert balances["BTC"] == 1 + qty - qty * Decimal("0.001")
            # A sell LIMIT IOC above the best bid expires untouched; FOK too large expires.
            best_bid = max(market.base_bids)
            r = await _order(c, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.1",
                             price=str(best_bid + 1))
            assert r.json()["status"] == "EXPIRED" and r.json()["executedQty"] == "0.00000000"
            r = await _order(c, side="SELL", type="LIMIT", timeInForce="FOK", quantity="1",
                             price=str(best_bid), newOrderRespType="ACK")
            assert set(r.json()) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
            # quoteOrderQty spends about that much quote.
            r = await _order(c, side="BUY", type="MARKET", quoteOrderQty="50")
            spent = Decimal(r.json()["cummulativeQuoteQty"])
            assert 0 < spent <= 50 and r.json()["status"] == "FILLED"
            all_orders = (await c.get("/api/v3/allOrders?" + signed_query({"symbol": "BTCUSDT"}),
                                      headers=HEADERS)).json()
            assert len(all_orders) == 4
    finally:
        await emu.stop()


async def test_order_5xx_still_executes():
    emu = await _emu()
    try:
        emu.faults.order_5xx(1)
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _order(c, side="BUY", type="MARKET", quoteOrderQty="20", newClientOrderId="unknown1")
            assert r.status_code == 503
            got = await c.get("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "origClientOrderId": "unknown1"}),
                              headers=HEADERS)
            assert got.json()["status"] == "FILLED"
            r = await _order(c, side="BUY", type="MARKET", quoteOrderQty="20")
            assert r.status_code == 200
    finally:
        await emu.stop()


async def test_resting_order_filled_when_book_trades_through():
    emu = await _emu()
    try:
        market = emu.markets["BTCUSDT"]
        best_ask = min(market.base_asks)
        price = best_ask - Decimal("0.01")
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _order(c, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.5", price=str(price))
            order_id = r.json()["orderId"]
            assert r.json()["status"] == "NEW"
            # The market moves: an ask appears at our price.
            market.apply_changes((), [(price, Decimal("0.3"))])
            got = (await c.get("/api/v3/order?" + signed_query({"symbol": "BTCUSDT", "orderId": order_id}),
                               headers=HEADERS)).json()
            assert got["status"] == "PARTIALLY_FILLED" and Decimal(got["executedQty"]) == Decimal("0.3")
            trades = (await c.get("/api/v3/myTrades?" + signed_query({"symbol": "BTCUSDT", "orderId": order_id}),
                                  headers=HEADERS)).json()
            assert len(trades) == 1 and trades[0]["isMaker"]
    finally:
        await emu.stop()
