"""Signed REST endpoints: account, orders, trades (validation as Binance does it).

Handlers are ``handler(emulator, params, headers) -> (http_status, body)``; they may add
response headers (order counts). Auth has been checked by the app before they run.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from obcore.emulator.errors import ApiError, illegal_characters, mandatory_missing
from obcore.emulator.market import Market, server_time_ms
from obcore.emulator.matching import Order, quote_amount
from obcore.emulator.params import Params

if TYPE_CHECKING:  # pragma: no cover
    from obcore.emulator.server import Emulator

__all__ = ["SIGNED_ROUTES", "validate_filters"]

_ZERO = Decimal(0)
_CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
_STOP_LIMIT_TYPES = ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
_SUPPORTED_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER") + _STOP_LIMIT_TYPES
_KNOWN_TYPES = _SUPPORTED_TYPES + ("STOP_LOSS", "TAKE_PROFIT")
_DAY_MS = 86_400_000


def _market(emulator: Emulator, params: Params) -> Market:
    symbol = params.symbol()
    market = emulator.markets.get(symbol)  # type: ignore[arg-type]
    if market is None:
        raise ApiError(400, -1121, "Invalid symbol.")
    return market


def _precision(name: str, value: Decimal | None) -> None:
    if value is not None and value.as_tuple().exponent < -8 and value != value.quantize(Decimal("1e-8")):
        raise ApiError(400, -1111, f"Parameter '{name}' has too much precision.")


def validate_filters(market: Market, price: Decimal | None, qty: Decimal | None,
                     notional_price: Decimal | None, is_market: bool) -> None:
    """Raise -1013 ``Filter failure: <NAME>`` like Binance (PRICE_FILTER, LOT_SIZE, NOTIONAL)."""
    rules = market.rules
    if price is not None:
        if (rules.min_price and price < rules.min_price) or (rules.max_price and price > rules.max_price) \
                or (rules.tick_size and (price - rules.min_price) % rules.tick_size != 0):
            raise ApiError(400, -1013, "Filter failure: PRICE_FILTER")
    if qty is not None:
        if (rules.min_qty and qty < rules.min_qty) or (rules.max_qty and qty > rules.max_qty) \
                or (rules.step_size and (qty - rules.min_qty) % rules.step_size != 0):
            raise ApiError(400, -1013, "Filter failure: LOT_SIZE")
    if qty is not None and notional_price is not None:
        notional = notional_price * qty
        if notional < rules.min_notional or (not is_market and rules.max_notional and notional > rules.max_notional):
            raise ApiError(400, -1013, "Filter failure: NOTIONAL")


def _validate_more_filters(market: Market, exchange: Any, side: str, kind: str, price: Decimal | None,
                           qty: Decimal | None) -> None:
    """MARKET_LOT_SIZE, PERCENT_PRICE_BY_SIDE (around the reference price) and MAX_NUM_ORDERS, as Binance."""
    rules = market.rules
    if kind == "MARKET" and qty is not None and rules.market_max_qty and qty > rules.market_max_qty:
        raise ApiError(400, -1013, "Filter failure: MARKET_LOT_SIZE")
    if kind != "MARKET" and price is not None:
        reference = exchange.reference_price(market)
        if reference:
            up, down = ((rules.bid_multiplier_up, rules.bid_multiplier_down) if side == "BUY"
                        else (rules.ask_multiplier_up, rules.ask_multiplier_down))
            if price > reference * up or price < reference * down:
                raise ApiError(400, -1013, "Filter failure: PERCENT_PRICE_BY_SIDE")
    if len(exchange.open_by_symbol.get(market.symbol, [])) >= rules.max_num_orders:
        raise ApiError(400, -1013, "Filter failure: MAX_NUM_ORDERS")


def _order_request(emulator: Emulator, params: Params) -> dict[str, Any]:
    """Validate a new-order request; return the normalized fields (no side effects)."""
    market = _market(emulator, params)
    side = params.text("side", required=True)
    if side not in ("BUY", "SELL"):
        raise ApiError(400, -1117, "Invalid side.")
    kind = params.text("type", required=True)
    if kind not in _KNOWN_TYPES:
        raise ApiError(400, -1116, "Invalid orderType.")
    if kind not in _SUPPORTED_TYPES:
        raise ApiError(400, -1014, "Unsupported order combination.")
    tif = params.text("timeInForce")
    if tif is not None and tif not in ("GTC", "IOC", "FOK"):
        raise ApiError(400, -1115, "Invalid timeInForce.")
    qty = params.decimal("quantity")
    quote_qty = params.decimal("quoteOrderQty")
    price = params.decimal("price")
    stop_price = params.decimal("stopPrice")
    for name, value in (("quantity", qty), ("quoteOrderQty", quote_qty), ("price", price), ("stopPrice", stop_price)):
        _precision(name, value)
    if stop_price is not None and kind not in _STOP_LIMIT_TYPES:
        raise ApiError(400, -1106, "Parameter 'stopPrice' sent when not required.")
    if kind in _STOP_LIMIT_TYPES:
        for name, value in (("timeInForce", tif), ("quantity", qty), ("price", price), ("stopPrice", stop_price)):
            if value is None:
                raise mandatory_missing(name)
        if quote_qty is not None:
            raise ApiError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    elif kind == "LIMIT":
        if tif is None:
            raise mandatory_missing("timeInForce")
        if qty is None:
            raise mandatory_missing("quantity")
        if price is None:
            raise mandatory_missing("price")
        if quote_qty is not None:
            raise ApiError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    elif kind == "LIMIT_MAKER":
        if qty is None:
            raise mandatory_missing("quantity")
        if price is None:
            raise mandatory_missing("price")
        if tif is not None:
            raise ApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
    else:  # MARKET
        if tif is not None:
            raise ApiError(400, -1106, "Parameter 'timeInForce' sent when not required.")
        if price is not None:
            raise ApiError(400, -1106, "Parameter 'price' sent when not required.")
        if qty is None and quote_qty is None:
            raise ApiError(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        if qty is not None and quote_qty is not None:
            raise ApiError(400, -1106, "Parameter 'quoteOrderQty' sent when not required.")
    client_id = params.text("newClientOrderId")
    if client_id is not None and not _CLIENT_ID.match(client_id):
        raise illegal_characters("newClientOrderId", "^[a-zA-Z0-9-_]{1,36}$")
    resp_type = params.choice("newOrderRespType", ("ACK", "RESULT", "FULL"), -1100,
                              "Illegal characters found in parameter 'newOrderRespType'; legal range is "
                              "'ACK, RESULT, FULL'.", default="FULL")
    exchange = emulator.exchange
    if kind == "MARKET":
        reference = exchange.reference_price(market)
        if qty is not None:
            validate_filters(market, None, qty, reference, True)
        elif quote_qty is not None and quote_qty < market.rules.min_notional:
            raise ApiError(400, -1013, "Filter failure: NOTIONAL")
    else:
        validate_filters(market, price, qty, price, False)
    _validate_more_filters(market, exchange, side, kind, price, qty)
    if kind in _STOP_LIMIT_TYPES:
        validate_filters(market, stop_price, None, None, False)
        waiting = exchange.stops.get(market.symbol, [])
        if len(waiting) >= market.rules.max_num_algo_orders:
            raise ApiError(400, -1013, "Filter failure: MAX_NUM_ALGO_ORDERS")
        last = market.trades[-1].price if market.trades else exchange.reference_price(market)
        probe = Order(0, "", market.symbol, side, kind, tif, price, qty, _ZERO, 0, stop_price=stop_price)  # type: ignore[arg-type]
        if last is not None and exchange.stop_fires(probe, last):
            raise ApiError(400, -2010, "Stop price would trigger immediately.")
    if client_id is not None and client_id in exchange.open_client_ids(market.symbol):
        raise ApiError(400, -2010, "Duplicate order sent.")
    # Funds.
    rules = market.rules
    if side == "BUY":
        if kind == "MARKET":
            if quote_qty is not None:
                needed = quote_qty
            else:
                needed = sum((quote_amount(p, q) for p, q in exchange.plan(market, "BUY", None, qty, None)), _ZERO)
        else:
            needed = quote_amount(price, qty)  # type: ignore[arg-type]  # what a resting buy locks
        exchange.check_funds(rules.quote_asset, needed)
    else:
        if kind == "MARKET" and quote_qty is not None:
            needed = sum((q for _, q in exchange.plan(market, "SELL", None, None, quote_qty)), _ZERO)
        else:
            needed = qty  # type: ignore[assignment]
        exchange.check_funds(rules.base_asset, needed)
    if kind == "LIMIT_MAKER":
        best = market.best_base("ask" if side == "BUY" else "bid")
        if best is not None and ((side == "BUY" and price >= best) or (side == "SELL" and price <= best)):  # type: ignore[operator]
            raise ApiError(400, -2010, "Order would immediately match and take.")
    return {"market": market, "side": side, "type": kind, "tif": tif, "qty": qty, "quote_qty": quote_qty,
            "price": price, "stop_price": stop_price, "client_id": client_id, "resp_type": resp_type}


def _order_counts(emulator: Emulator, headers: dict[str, str], now: int) -> None:
    ten, day = emulator.exchange.order_counter.counts(now)
    headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
    headers["X-MBX-ORDER-COUNT-1D"] = str(day)


def new_order(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    now = server_time_ms()
    exchange = emulator.exchange
    exchange.order_counter.check(now)
    req = _order_request(emulator, params)
    market = req["market"]
    order = Order(
        order_id=exchange.new_order_id(), client_order_id=req["client_id"] or exchange.new_client_order_id(),
        symbol=market.symbol, side=req["side"], type=req["type"],
        time_in_force=req["tif"] if req["type"] in ("LIMIT",) + _STOP_LIMIT_TYPES else "GTC",
        price=req["price"] or _ZERO, orig_qty=req["qty"] or _ZERO, orig_quote_qty=req["quote_qty"] or _ZERO,
        time=now, update_time=now, working_time=now, stop_price=req["stop_price"] or _ZERO,
    )
    exchange.orders[order.order_id] = order
    exchange.order_counter.add(now)
    if req["type"] in _STOP_LIMIT_TYPES:
        exchange.park_stop(market, order)  # waits for a trade at the stop price
    else:
        limit_price = None if req["type"] == "MARKET" else order.price
        exchange.execute(market, order, limit_price, req["quote_qty"], req["tif"])
    _order_counts(emulator, headers, now)
    # Weight 1 is charged up front; a successful order costs 0 (since 2026-04-02).
    emulator.limiter.used = max(0, emulator.limiter.used - 1)
    faults = emulator.faults
    if faults.n_order_5xx > 0:
        faults.n_order_5xx -= 1
        return 503, {"code": -1007, "msg": "Timeout waiting for response from backend server. Send status "
                                           "unknown; execution status unknown."}
    return 200, order.as_result(now, req["resp_type"])


def test_order(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    _order_request(emulator, params)
    if params.boolean("computeCommissionRates"):
        rates = {"maker": "0.00100000", "taker": "0.00100000"}
        return 200, {"standardCommissionForOrder": rates, "taxCommissionForOrder": {"maker": "0.00000000",
                     "taker": "0.00000000"}, "discount": {"enabledForAccount": False, "enabledForSymbol": False,
                     "discountAsset": "BNB", "discount": "0.00000000"}}
    return 200, {}


def _lookup(emulator: Emulator, params: Params) -> tuple[Market, int | None, str | None]:
    market = _market(emulator, params)
    order_id = params.integer("orderId", low=0)
    client_id = params.text("origClientOrderId")
    if order_id is None and client_id is None:
        raise ApiError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    return market, order_id, client_id


def get_order(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    market, order_id, client_id = _lookup(emulator, params)
    order = emulator.exchange.find(market.symbol, order_id, client_id)
    if order is None:
        raise ApiError(400, -2013, "Order does not exist.")
    return 200, order.as_query()


def cancel_order(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    market, order_id, client_id = _lookup(emulator, params)
    exchange = emulator.exchange
    order = exchange.find(market.symbol, order_id, client_id)
    if order is None or not order.is_open:
        raise ApiError(400, -2011, "Unknown order sent.")
    new_client = params.text("newClientOrderId") or exchange.new_client_order_id()
    exchange.cancel(market, order)
    body = order.as_query()
    return 200, {
        "symbol": order.symbol, "origClientOrderId": order.client_order_id, "orderId": order.order_id,
        "orderListId": -1, "clientOrderId": new_client, "transactTime": order.update_time,
        "price": body["price"], "origQty": body["origQty"], "executedQty": body["executedQty"],
        "origQuoteOrderQty": body["origQuoteOrderQty"], "cummulativeQuoteQty": body["cummulativeQuoteQty"],
        "status": "CANCELED", "timeInForce": body["timeInForce"], "type": order.type, "side": order.side,
        "selfTradePreventionMode": "NONE",
    }


def open_orders(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    exchange = emulator.exchange
    if params.get("symbol"):
        market = _market(emulator, params)
        orders = list(exchange.open_by_symbol.get(market.symbol, []))
    else:
        orders = [o for rows in exchange.open_by_symbol.values() for o in rows]
    return 200, [o.as_query() for o in sorted(orders, key=lambda o: o.order_id)]


def _time_range(params: Params) -> tuple[int | None, int | None]:
    start = params.integer("startTime", low=0)
    end = params.integer("endTime", low=0)
    if start is not None and end is not None and end - start > _DAY_MS:
        raise ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
    return start, end


def all_orders(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    market = _market(emulator, params)
    from_id = params.integer("orderId", low=0)
    start, end = _time_range(params)
    limit = params.integer("limit", default=500, low=1, high=1000)
    rows = [o for o in emulator.exchange.orders.values() if o.symbol == market.symbol
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start) and (end is None or o.time <= end)]
    rows.sort(key=lambda o: o.order_id)
    rows = rows[:limit] if from_id is not None else rows[-limit:]  # type: ignore[index,operator]
    return 200, [o.as_query() for o in rows]


def my_trades(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    market = _market(emulator, params)
    order_id = params.integer("orderId", low=0)
    from_id = params.integer("fromId", low=0)
    start, end = _time_range(params)
    limit = params.integer("limit", default=500, low=1, high=1000)
    rows = [f for f in emulator.exchange.fills if f.symbol == market.symbol
            and (order_id is None or f.order_id == order_id) and (from_id is None or f.trade_id >= from_id)
            and (start is None or f.time >= start) and (end is None or f.time <= end)]
    rows = rows[:limit] if from_id is not None else rows[-limit:]  # type: ignore[index,operator]
    from obcore.emulator.market import format_number

    return 200, [{"symbol": f.symbol, "id": f.trade_id, "orderId": f.order_id, "orderListId": -1,
                  "price": format_number(f.price), "qty": format_number(f.qty),
                  "quoteQty": format_number(f.quote_qty), "commission": format_number(f.commission),
                  "commissionAsset": f.commission_asset, "time": f.time, "isBuyer": f.is_buyer,
                  "isMaker": f.is_maker, "isBestMatch": True} for f in rows]


def account(emulator: Emulator, params: Params, headers: dict[str, str]) -> tuple[int, Any]:
    omit_zero = params.boolean("omitZeroBalances")
    balances = emulator.exchange.balances()
    if omit_zero:
        balances = [b for b in balances if Decimal(b["free"]) or Decimal(b["locked"])]
    return 200, {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                            "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False,
        "updateTime": emulator.exchange.update_time, "accountType": "SPOT", "balances": balances,
        "permissions": ["SPOT"], "uid": 1,
    }


def _w(n: int) -> Any:
    return lambda emulator, params: n


SIGNED_ROUTES: dict[tuple[str, str], tuple[Any, Any]] = {
    ("GET", "/api/v3/account"): (_w(20), account),
    ("GET", "/api/v3/myTrades"): (lambda e, p: 5 if p.get("orderId") else 20, my_trades),
    ("POST", "/api/v3/order"): (_w(1), new_order),
    ("GET", "/api/v3/order"): (_w(4), get_order),
    ("DELETE", "/api/v3/order"): (_w(1), cancel_order),
    ("GET", "/api/v3/openOrders"): (lambda e, p: 6 if p.get("symbol") else 80, open_orders),
    ("GET", "/api/v3/allOrders"): (_w(20), all_orders),
    ("POST", "/api/v3/order/test"): (lambda e, p: 20 if p.get("computeCommissionRates") == "true" else 1,
                                     test_order),
}
