"""Matching engine: maker fills use crossing liquidity once, quoteOrderQty status, 8-decimal
balances, order lookup by both ids."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from obcore.emulator import Emulator
from obcore.emulator.market import SymbolRules
from tests.obcore.emulator.helpers import KEY, SECRET, DictBook, decimal_book, signed_query

pytestmark = pytest.mark.anyio
HEADERS = {"X-MBX-APIKEY": KEY}
D = Decimal


async def _emu(symbol: str, base: str, quote: str, tick: str, step: str, bids, asks, balances,
               min_notional: str = "5") -> Emulator:
    emu = Emulator(api_key=KEY, api_secret=SECRET, balances=balances)
    market = emu.new_market(SymbolRules(symbol, base, quote, D(tick), D(step), min_notional=D(min_notional)))
    market.load_book(1, [(D(p), D(q)) for p, q in bids], [(D(p), D(q)) for p, q in asks])
    await emu.start()
    return emu


async def _sim() -> Emulator:
    return await _emu("SIMUSDT", "SIM", "USDT", "0.01", "0.001", [("98.00", "5")],
                      [("100.00", "1"), ("100.50", "2"), ("101.00", "5")], {"USDT": "10000", "SIM": "100"})


async def _call(c: httpx.AsyncClient, method: str, path: str, **params) -> httpx.Response:
    return await c.request(method, path + "?" + signed_query(params), headers=HEADERS)


def _balances(account: dict) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["asset"]: (D(b["free"]), D(b["locked"])) for b in account["balances"]}


async def test_crossing_liquidity_fills_a_resting_order_once():
    emu = await _sim()
    market = emu.markets["SIMUSDT"]
    events: list[dict] = []
    publish = market._publish

    def record(stream: str, payload: dict) -> None:
        if stream.endswith("@depth@100ms"):
            events.append(payload)
        publish(stream, payload)

    market._publish = record
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="LIMIT",
                            timeInForce="GTC", quantity="5", price="99.00")
            order_id = r.json()["orderId"]
            assert r.json()["status"] == "NEW"
            client = DictBook()
            client.load((await c.get("/api/v3/depth", params={"symbol": "SIMUSDT", "limit": 100})).json())
            seen = len(events)

            async def executed() -> Decimal:
                got = (await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=order_id)).json()
                return D(got["executedQty"])

            market.apply_changes((), [(D("98.90"), D("1"))])  # one lot crosses our bid
            assert await executed() == D("1")
            for i in range(3):  # unrelated changes must not re-use that lot
                market.apply_changes([(D("97.00"), D(i + 1))], ())
            assert await executed() == D("1")
            market.apply_changes((), [(D("98.90"), D("1"))])  # the replay resends the same level
            assert await executed() == D("1")
            market.apply_changes((), [(D("98.90"), D("3"))])  # it grows by 2: new liquidity
            assert await executed() == D("3")
            market.apply_changes((), [(D("98.90"), D("0"))])  # gone, then back with 1
            market.apply_changes((), [(D("98.90"), D("1"))])
            assert await executed() == D("4")

            trades = (await _call(c, "GET", "/api/v3/myTrades", symbol="SIMUSDT")).json()
            assert [(t["qty"], t["isMaker"]) for t in trades] == [
                ("1.00000000", True), ("2.00000000", True), ("1.00000000", True)]
            assert sum(D(t["qty"]) for t in trades) == await executed()
            usdt = _balances((await _call(c, "GET", "/api/v3/account")).json())["USDT"]
            assert usdt == (D("10000") - D("99.00") * 5, D("99.00"))

            depth = (await c.get("/api/v3/depth", params={"symbol": "SIMUSDT", "limit": 100})).json()
            asks = {D(p): D(q) for p, q in depth["asks"]}
            bids = {D(p): D(q) for p, q in depth["bids"]}
            assert D("98.90") not in asks and bids[D("99.00")] == D("1")
            assert max(bids) < min(asks)
            # The stream, applied event by event, is never crossed and ends at /depth.
            for event in events[seen:]:
                assert client.apply(event)
                if client.bids and client.asks:
                    assert max(client.bids) < min(client.asks), event
            assert client.as_true_book() == decimal_book(emu.true_book("SIMUSDT"))
            # A reloaded book (replay restart) owes nothing to earlier fills.
            market.load_book(market.last_update_id, [(D("98.00"), D("5"))], [(D("100.00"), D("1"))])
            market.apply_changes((), [(D("98.90"), D("1"))])
            assert await executed() == D("5")
    finally:
        await emu.stop()


async def test_quote_order_qty_market_status():
    emu = await _sim()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            # Spends its amount within the book: FILLED (less than one step left).
            r = (await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="MARKET",
                             quoteOrderQty="150")).json()
            assert r["status"] == "FILLED"
            assert D("150") - D(r["cummulativeQuoteQty"]) < D("0.001") * D("100.50")
            # The book runs out first: EXPIRED, like the quantity-based path.
            r = (await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="MARKET",
                             quoteOrderQty="5000")).json()
            assert r["status"] == "EXPIRED" and D(r["executedQty"]) > 0
            assert emu.markets["SIMUSDT"].base_asks == {}
            r = (await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="SELL", type="MARKET",
                             quoteOrderQty="100000")).json()
            assert (r["status"], r["executedQty"]) == ("EXPIRED", "5.00000000")
    finally:
        await emu.stop()


async def test_balances_and_quote_amounts_keep_8_decimals():
    emu = await _emu("ETHBTC", "ETH", "BTC", "0.00001", "0.0001", [("0.05000", "10")], [("0.05123", "10")],
                     {"BTC": "0.02", "ETH": "1"}, min_notional="0.0001")
    market = emu.markets["ETHBTC"]
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = (await _call(c, "POST", "/api/v3/order", symbol="ETHBTC", side="BUY", type="LIMIT",
                             timeInForce="IOC", quantity="0.1234", price="0.05123")).json()
            spent = D(r["cummulativeQuoteQty"])
            assert spent == D("0.00632178")  # 0.006321782 cut to 8 decimals
            # A resting buy whose lock has 9 decimals, filled in two maker fills.
            r = (await _call(c, "POST", "/api/v3/order", symbol="ETHBTC", side="BUY", type="LIMIT",
                             timeInForce="GTC", quantity="0.1234", price="0.05011")).json()
            market.apply_changes((), [(D("0.05010"), D("0.0617"))])
            market.apply_changes((), [(D("0.05010"), D("0.1234"))])
            got = (await _call(c, "GET", "/api/v3/order", symbol="ETHBTC", orderId=r["orderId"])).json()
            assert got["status"] == "FILLED"
            spent += D(got["cummulativeQuoteQty"])
            balances = _balances((await _call(c, "GET", "/api/v3/account")).json())
            free, locked = balances["BTC"]
            assert locked == 0 and free + spent == D("0.02")
            assert emu.exchange.free["BTC"] == free and emu.exchange.locked["BTC"] == 0
            trades = (await _call(c, "GET", "/api/v3/myTrades", symbol="ETHBTC")).json()
            assert sum(D(t["quoteQty"]) for t in trades) == spent
            # Spending exactly the shown free balance works.
            r = await _call(c, "POST", "/api/v3/order", symbol="ETHBTC", side="BUY", type="MARKET",
                            quoteOrderQty=format(free, "f"))
            assert r.status_code == 200, r.text
            left = _balances((await _call(c, "GET", "/api/v3/account")).json())["BTC"][0]
            assert left == free - D(r.json()["cummulativeQuoteQty"]) and left >= 0
    finally:
        await emu.stop()


async def test_both_ids_must_name_the_same_order():
    emu = await _sim()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            ids = {}
            for cid in ("A1", "B2"):
                r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="SELL", type="LIMIT",
                                timeInForce="GTC", quantity="1", price="110.00", newClientOrderId=cid)
                ids[cid] = r.json()["orderId"]
            r = await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=ids["A1"], origClientOrderId="B2")
            assert (r.status_code, r.json()["code"]) == (400, -2013)
            r = await _call(c, "DELETE", "/api/v3/order", symbol="SIMUSDT", orderId=ids["A1"],
                            origClientOrderId="B2")
            assert (r.status_code, r.json()["code"]) == (400, -2011)
            r = await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=ids["A1"], origClientOrderId="A1")
            assert r.json()["status"] == "NEW"
            r = await _call(c, "DELETE", "/api/v3/order", symbol="SIMUSDT", orderId=ids["B2"],
                            origClientOrderId="B2")
            assert r.json()["status"] == "CANCELED"
    finally:
        await emu.stop()


async def test_limit_buy_for_exactly_the_free_balance_is_accepted():
    # 0.0613 × 0.04999 = 0.003064387 BTC: a resting buy locks it cut to 8 decimals, so a
    # free balance of 0.00306438 is enough (the funds check must use the same rounding).
    emu = await _emu("ETHBTC", "ETH", "BTC", "0.00001", "0.0001", [("0.04000", "10")], [("0.06000", "10")],
                     {"BTC": "0.00306438", "ETH": "0"}, min_notional="0.0001")
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _call(c, "POST", "/api/v3/order", symbol="ETHBTC", side="BUY", type="LIMIT",
                            timeInForce="GTC", quantity="0.0613", price="0.04999")
            assert r.status_code == 200, r.text
            free, locked = _balances((await _call(c, "GET", "/api/v3/account")).json())["BTC"]
            assert free == 0 and locked == D("0.00306438")
    finally:
        await emu.stop()


async def test_stop_limit_orders_wait_for_a_trade_at_the_stop_then_run_as_limits():
    emu = await _sim()
    market = emu.markets["SIMUSDT"]
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            market.add_trade(D("99.00"), D("0.1"), True)
            # A stop-loss sell above the last trade would trigger at once: refused.
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="SELL", type="STOP_LOSS_LIMIT",
                            timeInForce="GTC", quantity="1", price="97.00", stopPrice="99.50")
            assert r.json() == {"code": -2010, "msg": "Stop price would trigger immediately."}
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="SELL", type="STOP_LOSS_LIMIT",
                            timeInForce="GTC", quantity="1", price="97.00", stopPrice="98.50")
            stop = r.json()
            assert r.status_code == 200 and stop["status"] == "NEW", stop
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="TAKE_PROFIT_LIMIT",
                            timeInForce="GTC", quantity="1", price="96.00", stopPrice="97.50")
            take = r.json()
            assert take["status"] == "NEW"
            q = (await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=stop["orderId"])).json()
            assert q["isWorking"] is False and q["stopPrice"] == "98.50000000"
            assert _balances((await _call(c, "GET", "/api/v3/account")).json())["SIM"] == (D(99), D(1))
            # A trade above the stop does nothing; one at 98.50 triggers the stop-loss: it sells into the bid at 98.
            market.add_trade(D("98.60"), D("0.1"), True)
            assert emu.exchange.orders[stop["orderId"]].status == "NEW"
            market.add_trade(D("98.50"), D("0.1"), True)
            q = (await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=stop["orderId"])).json()
            assert q["status"] == "FILLED" and q["isWorking"] is True and D(q["cummulativeQuoteQty"]) == D(98)
            # The take-profit buy waits for <= 97.50, then rests at 96 (no ask there).
            assert emu.exchange.orders[take["orderId"]].status == "NEW"
            market.add_trade(D("97.40"), D("0.1"), True)
            q = (await _call(c, "GET", "/api/v3/order", symbol="SIMUSDT", orderId=take["orderId"])).json()
            assert q["status"] == "NEW" and q["isWorking"] is True
            assert [o["orderId"] for o in (await _call(c, "GET", "/api/v3/openOrders", symbol="SIMUSDT")).json()] \
                == [take["orderId"]]
            r = await _call(c, "DELETE", "/api/v3/order", symbol="SIMUSDT", orderId=take["orderId"])
            assert r.json()["status"] == "CANCELED"
            usdt = _balances((await _call(c, "GET", "/api/v3/account")).json())["USDT"]
            assert usdt[1] == 0  # nothing left locked
    finally:
        await emu.stop()


async def test_a_waiting_stop_can_be_cancelled_and_unlocks_its_funds():
    emu = await _sim()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="STOP_LOSS_LIMIT",
                            timeInForce="GTC", quantity="1", price="110.00", stopPrice="105.00")
            order = r.json()
            assert order["status"] == "NEW", order
            assert _balances((await _call(c, "GET", "/api/v3/account")).json())["USDT"][1] == D(110)
            r = await _call(c, "DELETE", "/api/v3/order", symbol="SIMUSDT", orderId=order["orderId"])
            assert r.json()["status"] == "CANCELED"
            assert _balances((await _call(c, "GET", "/api/v3/account")).json())["USDT"] == (D(10000), D(0))
    finally:
        await emu.stop()


async def test_emulator_enforces_market_lot_size_percent_price_by_side_and_max_num_orders():
    emu = Emulator(api_key=KEY, api_secret=SECRET, balances={"USDT": "100000", "SIM": "100"})
    rules = SymbolRules("SIMUSDT", "SIM", "USDT", D("0.01"), D("0.001"), market_max_qty=D("2"), max_num_orders=1)
    market = emu.new_market(rules)
    market.load_book(1, [(D("98.00"), D("5"))], [(D("100.00"), D("10"))])
    await emu.start()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            info = (await c.get("/api/v3/exchangeInfo", params={"symbol": "SIMUSDT"})).json()["symbols"][0]
            filters = {f["filterType"]: f for f in info["filters"]}
            assert filters["MARKET_LOT_SIZE"]["maxQty"] == "2.00000000"
            assert filters["MAX_NUM_ORDERS"]["maxNumOrders"] == 1 and filters["PERCENT_PRICE_BY_SIDE"]["bidMultiplierUp"] == "5"
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="MARKET", quantity="3")
            assert r.json() == {"code": -1013, "msg": "Filter failure: MARKET_LOT_SIZE"}
            # Reference is the mid (99): a buy above 5x or below 0.2x of it is refused.
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                            quantity="0.1", price="495.01")
            assert r.json() == {"code": -1013, "msg": "Filter failure: PERCENT_PRICE_BY_SIDE"}
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                            quantity="1", price="19.79")
            assert r.json()["msg"] == "Filter failure: PERCENT_PRICE_BY_SIDE"
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                            quantity="1", price="19.80")
            assert r.json()["status"] == "NEW"
            r = await _call(c, "POST", "/api/v3/order", symbol="SIMUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                            quantity="1", price="20.00")
            assert r.json() == {"code": -1013, "msg": "Filter failure: MAX_NUM_ORDERS"}
            assert len(emu.exchange.orders) == 1
    finally:
        await emu.stop()
