"""obcore.trading / obcore.confirmations: the pure rails (sweep, cap notional, confirmations, audit)."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal as D

import pytest

from obcore.account import OrderRequest
from obcore.confirmations import ConfirmationBook, ConfirmationError
from obcore.trading import AuditLog, OrderRefusedError, TradingLimits, cap_notional, sweep

ASKS = [["100.0", "1"], ["101.0", "2"], ["103.0", "5"]]
BIDS = [["99.0", "1"], ["98.0", "3"]]


def test_sweep_by_quantity_and_by_quote_is_exact():
    s = sweep(ASKS, quantity=D("2"))
    assert (s.filled_qty, s.cost, s.avg_price, s.worst_price, s.complete) == (D(2), D(201), D("100.5"), D(101), True)
    s = sweep(ASKS, quote=D("201"))
    assert s.filled_qty == D(2) and s.cost == D(201) and s.complete
    s = sweep(ASKS, quantity=D("10"))
    assert s.filled_qty == D(8) and not s.complete and s.worst_price == D(103)
    s = sweep(ASKS, quantity=D("5"), limit_price=D("101"))
    assert s.filled_qty == D(3) and not s.complete
    s = sweep(BIDS, quantity=D("2"), limit_price=D("98.5"), side="SELL")
    assert s.filled_qty == D(1)
    with pytest.raises(ValueError):
        sweep(ASKS)


def _order(**kw):
    args = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "time_in_force": "GTC", "quantity": "2",
            "price": "50"}
    args.update(kw)
    return OrderRequest(**args)


def test_a_buy_limit_below_the_ask_is_counted_at_the_ask_not_its_price():
    assert cap_notional(_order(), best_bid=D(99), best_ask=D(100), book_sweep=None) == D(200)
    assert cap_notional(_order(price="150"), best_bid=D(99), best_ask=D(100), book_sweep=None) == D(300)
    sell = _order(side="SELL", price="1")
    assert cap_notional(sell, best_bid=D(99), best_ask=D(100), book_sweep=None) == D(198)
    stop = _order(type="STOP_LOSS_LIMIT", stop_price="120", price="110")
    assert cap_notional(stop, best_bid=D(99), best_ask=D(100), book_sweep=None) == D(240)


def test_a_market_order_is_counted_at_the_book_sweep():
    market = OrderRequest("ETHUSDT", "BUY", "MARKET", quantity="10")
    book = sweep(ASKS, quantity=D("10"))
    # 100 + 202 + 515 for the visible 8, the missing 2 at the worst visible price 103.
    assert cap_notional(market, best_bid=D(99), best_ask=D(100), book_sweep=book) == D(100 + 202 + 515 + 206)
    quote = OrderRequest("ETHUSDT", "BUY", "MARKET", quote_order_qty="42")
    assert cap_notional(quote, best_bid=None, best_ask=None, book_sweep=None) == D(42)
    with pytest.raises(OrderRefusedError, match="no ask"):
        cap_notional(market, best_bid=D(99), best_ask=None, book_sweep=sweep([], quantity=D(1)))


def test_confirmations_bind_parameters_expire_and_are_spent_once():
    now = [0.0]
    book = ConfirmationBook(60, clock=lambda: now[0])
    params = {"symbol": "ETHUSDT", "quantity": "1"}
    pending = book.mint(params, {"client_order_id": "x"})
    with pytest.raises(ConfirmationError, match="differ"):
        book.redeem(pending.confirmation_id, {**params, "quantity": "2"})
    assert book.redeem(pending.confirmation_id, params).payload == {"client_order_id": "x"}
    with pytest.raises(ConfirmationError, match="unknown or already used"):
        book.redeem(pending.confirmation_id, params)
    late = book.mint(params)
    now[0] = 60.5
    with pytest.raises(ConfirmationError, match="expired"):
        book.redeem(late.confirmation_id, params)


def test_audit_lines_are_0600_json_and_carry_no_secret(tmp_path):
    path = tmp_path / "audit" / "orders.jsonl"
    log = AuditLog(path, redact=["KEYMARKER123", "SECRETMARKER456"], clock=lambda: 1.0)
    log.write("order_sent", order={"symbol": "ETHUSDT", "signature": "abc", "note": "KEYMARKER123"})
    log.write("order_answered", answer={"status": "FILLED"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["order_sent", "order_answered"]
    assert "signature" not in lines[0]["order"] and lines[0]["order"]["note"] == "***"
    assert "KEYMARKER123" not in path.read_text()


def test_limits_are_checked():
    with pytest.raises(ValueError, match="max_order_notional"):
        TradingLimits(max_order_notional=D(0))
    assert TradingLimits(symbols=("*",)).allows("ANYUSDT")
    assert not TradingLimits().allows("DOGEUSDT")


class _FakeClient:
    """Answers the Trader's reads; order calls as scripted. Records every call."""

    network = "testnet"

    def __init__(self, submit_error=None, lookup_error=None):
        self.calls: list[str] = []
        self.submit_error, self.lookup_error = submit_error, lookup_error

    async def exchange_info(self, symbol):
        self.calls.append("exchange_info")
        return {"symbols": [{"symbol": symbol, "status": "TRADING", "quoteAsset": "USDT", "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "0", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "0", "stepSize": "0.0001"}]}]}

    async def avg_price(self, symbol):
        return {"price": "100"}

    async def open_orders(self, symbol=None):
        return []

    async def depth(self, symbol, limit):
        return {"bids": BIDS, "asks": ASKS}

    async def submit_test_order(self, request, compute_commission_rates=False):
        self.calls.append("order/test")
        return {"standardCommissionForOrder": {"maker": "0.001", "taker": "0.001"}}

    async def submit_order(self, request):
        self.calls.append("order")
        if self.submit_error:
            raise self.submit_error
        return {"symbol": "ETHUSDT", "orderId": 1, "clientOrderId": request.new_client_order_id, "status": "FILLED"}

    async def get_order(self, symbol, orig_client_order_id=None, order_id=None):
        self.calls.append("get_order")
        raise self.lookup_error

    async def cancel_order(self, symbol, **ref):
        self.calls.append("cancel")
        return {}


def _run(coro):
    import asyncio

    return asyncio.run(coro)


def test_a_still_unknown_outcome_is_queried_and_never_resent(tmp_path):
    from obcore.errors import OrderOutcomeUnknownError, OrderRejectedError
    from obcore.trading import Trader

    client = _FakeClient(OrderOutcomeUnknownError(-1007, "Timeout", 503), OrderRejectedError(-2013, "Order does not exist."))
    rails = Trader(client, audit=AuditLog(tmp_path / "a.jsonl"), resolve_attempts=3, resolve_delay_s=0)
    order = OrderRequest("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC", quantity="0.1", price="100")
    preview = _run(rails.preview(order))
    placed = _run(rails.place(order, preview.confirmation_id))
    assert placed.status == "outcome_unknown" and placed.client_order_id == preview.params["newClientOrderId"]
    assert client.calls.count("order") == 1 and client.calls.count("get_order") == 3
    assert rails.daily_used() == D(10)  # an unknown outcome still counts against the daily cap
    events = [json.loads(line)["event"] for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert events[-2:] == ["order_outcome_unknown", "order_still_unknown"]


def test_mainnet_orders_and_cancels_need_the_opt_in_and_send_nothing():
    from obcore.errors import TradingDisabledError
    from obcore.trading import Trader

    client = _FakeClient()
    rails = Trader(client, network="mainnet")
    order = OrderRequest("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC", quantity="0.1", price="100")
    with pytest.raises(TradingDisabledError, match="allow-mainnet-trading"):
        _run(rails.preview(order))
    with pytest.raises(TradingDisabledError):
        _run(rails.place(order, "c-whatever"))
    with pytest.raises(TradingDisabledError, match="cancels"):
        _run(rails.cancel("ETHUSDT", order_id=1))
    assert client.calls == []
    opted = Trader(client, network="mainnet", allow_mainnet=True)
    preview = _run(opted.preview(order))
    assert _run(opted.place(order, preview.confirmation_id)).status == "sent"
