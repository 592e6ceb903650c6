"""The account and trading tools end to end: MCP client -> server -> rails -> emulator over sockets.

The emulator's own order log (``exchange.orders``: every order that reached it) proves a
refused or unconfirmed order reached nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from decimal import Decimal as D

import pytest
from mcp import Client

from obcore.client import BinanceClient
from obcore.emulator import Emulator
from obcore.emulator.market import SymbolRules

from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.server import build_server
from obmcp.trading import open_account

pytestmark = pytest.mark.anyio

KEY = "MARKERKEY7f3a9c1e5b2d4680aa11"
SECRET = "MARKERSECRET0c9e8d7f6a5b4c3d2e1f"
TRADING = ("place_order", "cancel_order", "get_order", "get_open_orders", "get_all_orders")


@contextlib.asynccontextmanager
async def _server(tmp_path, rules_overrides=None, balances=None, **settings):
    emu = Emulator(api_key=KEY, api_secret=SECRET, balances=balances or {"USDT": "1000", "ETH": "0"})
    rules = SymbolRules("ETHUSDT", "ETH", "USDT", D("0.01"), D("0.0001"), min_notional=D("5"))
    for name, value in (rules_overrides or {}).items():
        setattr(rules, name, value)
    market = emu.new_market(rules)
    market.load_book(1, [(D("2499.00"), D("1")), (D("2498.00"), D("2"))],
                     [(D("2500.00"), D("0.01")), (D("2501.00"), D("0.02")), (D("2505.00"), D("1"))])
    options = {"enable_trading": True, "api_key": KEY, "api_secret": SECRET, "trading_symbols": ("ETHUSDT",),
               "max_order_notional": "100", "max_daily_notional": "150", "audit_log": tmp_path / "audit.jsonl"}
    options.update(settings)
    config = ServerSettings(**options)
    async with emu, contextlib.AsyncExitStack() as stack:
        client = BinanceClient(emu.rest_url, network="mainnet", api_key="", api_secret="")
        stack.push_async_callback(client.aclose)
        backend = Backend(client=client, rest_url=emu.rest_url, extras={"emulator": emu})
        await open_account(stack, config, backend)
        rails = backend.extras.get("trader")
        if rails is not None:
            rails.resolve_delay_s = 0.05
        async with Client(build_server(config, backend), mode="legacy") as mcp:
            yield mcp, emu, rails


class Calls:
    """Collects every answer text and structure (the secret test reads them all)."""

    seen: list[str] = []

    @classmethod
    async def call(cls, mcp, name, args):
        result = await mcp.call_tool(f"binance_{name}", args)
        cls.seen.append(result.content[0].text)
        cls.seen.append(json.dumps(result.structured_content))
        return result


call = Calls.call
LIMIT = {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.0100", "price": "2500.00"}


async def _confirmed(mcp, args):
    preview = await call(mcp, "place_order", args)
    assert not preview.is_error, preview.content[0].text
    return await call(mcp, "place_order", {**args, "confirmation_id": preview.structured_content["confirmation_id"]})


async def test_trading_off_lists_no_trading_tool_and_refuses_it(tmp_path):
    async with _server(tmp_path, enable_trading=False) as (mcp, emu, rails):
        names = {t.name for t in (await mcp.list_tools()).tools}
        assert not names & {f"binance_{n}" for n in TRADING}
        assert {"binance_get_account", "binance_get_my_trades"} <= names
        with pytest.raises(Exception, match="unknown tool"):
            await mcp.call_tool("binance_place_order", LIMIT)
        account = await call(mcp, "get_account", {})
        assert not account.is_error and account.structured_content["network"] == "testnet"
        assert emu.exchange.orders == {}


async def test_account_tools_without_keys_say_how_to_set_them(tmp_path):
    settings = ServerSettings(enable_trading=True)
    backend = Backend(client=None)
    async with contextlib.AsyncExitStack() as stack:
        await open_account(stack, settings, backend)
    async with Client(build_server(settings, backend), mode="legacy") as mcp:
        result = await mcp.call_tool("binance_get_account", {})
        assert result.is_error and "missing_credentials" in result.content[0].text
        assert "BINANCE_API_KEY" in result.content[0].text
        result = await mcp.call_tool("binance_place_order", LIMIT)
        assert result.is_error and "BINANCE_API_KEY" in result.content[0].text


async def test_preview_then_confirm_then_fill_and_every_read_tool(tmp_path):
    async with _server(tmp_path) as (mcp, emu, rails):
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        place = tools["binance_place_order"].annotations
        assert place.destructive_hint is True and place.read_only_hint is False and place.open_world_hint is True
        assert tools["binance_get_order"].annotations.read_only_hint is True
        preview = await call(mcp, "place_order", LIMIT)
        assert not preview.is_error, preview.content[0].text
        body = preview.structured_content
        assert body["stage"] == "preview" and emu.exchange.orders == {}  # nothing sent
        p = body["preview"]
        assert p["expected_avg_price"] == "2500" and p["immediate_qty"] == "0.01" and p["slippage_bps"] == "0.00"
        assert p["cap_notional"] == "25" and p["fee_rates"]["taker"].startswith("0.001")
        assert p["estimated_fee"] == "0.025"
        assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "PERCENT_PRICE_BY_SIDE", "MAX_NUM_ORDERS"} <= set(p["filters_passed"])
        assert "PREVIEW only, nothing sent" in preview.content[0].text
        sent = await call(mcp, "place_order", {**LIMIT, "confirmation_id": body["confirmation_id"]})
        assert not sent.is_error, sent.content[0].text
        order = sent.structured_content["order"]
        assert sent.structured_content["stage"] == "sent" and order["status"] == "FILLED"
        assert len(emu.exchange.orders) == 1
        (placed,) = emu.exchange.orders.values()
        assert placed.client_order_id == body["client_order_id"]  # the id fixed at preview
        again = await call(mcp, "place_order", {**LIMIT, "confirmation_id": body["confirmation_id"]})
        assert again.is_error and "already used" in again.content[0].text and len(emu.exchange.orders) == 1

        got = await call(mcp, "get_order", {"symbol": "ETHUSDT", "orig_client_order_id": body["client_order_id"]})
        assert got.structured_content["status"] == "FILLED"
        trades = await call(mcp, "get_my_trades", {"symbol": "ETHUSDT"})
        assert trades.structured_content["trades"][0]["qty"].startswith("0.01")
        every = await call(mcp, "get_all_orders", {"symbol": "ETHUSDT"})
        assert len(every.structured_content["orders"]) == 1
        balances = {b["asset"]: b for b in (await call(mcp, "get_account", {})).structured_content["balances"]}
        assert D(balances["ETH"]["free"]) == D("0.00999")  # 0.01 less the 0.1 % commission

        # MARKET by quote amount, then a resting LIMIT that is cancelled.
        market = {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_order_qty": "20"}
        m = await _confirmed(mcp, market)
        assert m.structured_content["order"]["status"] == "FILLED", m.content[0].text
        rest = await _confirmed(mcp, {**LIMIT, "price": "2400.00", "time_in_force": "GTC"})
        order_id = rest.structured_content["order"]["order_id"]
        open_now = await call(mcp, "get_open_orders", {"symbol": "ETHUSDT"})
        assert [o["order_id"] for o in open_now.structured_content["orders"]] == [order_id]
        cancelled = await call(mcp, "cancel_order", {"symbol": "ETHUSDT", "order_id": order_id})
        assert cancelled.structured_content["status"] == "CANCELED"


@pytest.mark.parametrize("args, filter_name, suggested", [
    ({"price": "2500.005"}, "PRICE_FILTER", "2500"),
    ({"quantity": "0.01005"}, "LOT_SIZE", "0.01"),
    ({"quantity": "0.0010"}, "NOTIONAL", "0.002"),
    ({"price": "12500.01"}, "PERCENT_PRICE_BY_SIDE", "12497.5"),
])
async def test_every_filter_refuses_with_its_suggested_value_and_sends_nothing(tmp_path, args, filter_name, suggested):
    async with _server(tmp_path) as (mcp, emu, rails):
        result = await call(mcp, "place_order", {**LIMIT, **args})
        text = result.content[0].text
        assert result.is_error and text.startswith("filter_violation: " + filter_name), text
        assert f"nearest valid" in text and suggested in text
        assert emu.exchange.orders == {}


async def test_market_lot_size_and_max_num_orders(tmp_path):
    async with _server(tmp_path, {"market_max_qty": D("0.005"), "max_num_orders": 1}) as (mcp, emu, rails):
        result = await call(mcp, "place_order", {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET",
                                                 "quantity": "0.0060"})
        assert "MARKET_LOT_SIZE" in result.content[0].text and "0.005" in result.content[0].text
        await _confirmed(mcp, {**LIMIT, "price": "2400.00"})
        assert len(emu.exchange.orders) == 1
        result = await call(mcp, "place_order", {**LIMIT, "price": "2401.00"})
        assert result.is_error and "MAX_NUM_ORDERS" in result.content[0].text
        assert len(emu.exchange.orders) == 1


async def test_caps_name_the_cap_and_the_amount(tmp_path):
    async with _server(tmp_path) as (mcp, emu, rails):
        big = await call(mcp, "place_order", {**LIMIT, "quantity": "0.0500"})
        assert "per-order cap" in big.content[0].text and "125.00" in big.content[0].text
        # A buy limit far below the ask still counts at the ask (max(limit, ask)), not at its price.
        low = await call(mcp, "place_order", {**LIMIT, "quantity": "0.0500", "price": "1000.00"})
        assert "per-order cap" in low.content[0].text and "125.00" in low.content[0].text
        # A MARKET order counts at the book's sweep: 25 + 50.02 + 50.10.
        sweep = await call(mcp, "place_order", {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET",
                                                "quantity": "0.0500"})
        assert "per-order cap" in sweep.content[0].text and "125.12" in sweep.content[0].text
        priced = await call(mcp, "place_order", {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET",
                                                 "quantity": "0.0500", "price": "1.00"})
        assert priced.is_error and "MARKET order takes none" in priced.content[0].text
        other = await call(mcp, "place_order", {**LIMIT, "symbol": "BTCUSDT"})
        assert "allowlist" in other.content[0].text
        # Daily cap 150: two 80-USDT resting orders; the second is refused.
        first = await _confirmed(mcp, {**LIMIT, "quantity": "0.0320"})
        assert not first.is_error, first.content[0].text
        second = await call(mcp, "place_order", {**LIMIT, "quantity": "0.0320", "price": "2400.00"})
        assert "daily cap" in second.content[0].text and "80.00" in second.content[0].text
        assert len(emu.exchange.orders) == 1


async def test_mainnet_without_opt_in_sends_nothing(tmp_path):
    async with _server(tmp_path, network="mainnet") as (mcp, emu, rails):
        result = await call(mcp, "place_order", LIMIT)
        assert result.is_error and result.content[0].text.startswith("trading_disabled")
        assert "--allow-mainnet-trading" in result.content[0].text
        assert emu.exchange.orders == {}


async def test_changed_parameter_expired_id_unknown_symbol_and_insufficient_balance(tmp_path):
    async with _server(tmp_path, trading_symbols=("*",)) as (mcp, emu, rails):
        preview = await call(mcp, "place_order", LIMIT)
        cid = preview.structured_content["confirmation_id"]
        changed = await call(mcp, "place_order", {**LIMIT, "quantity": "0.0200", "confirmation_id": cid})
        assert changed.is_error and "confirmation_refused" in changed.content[0].text and "differ" in changed.content[0].text
        now = [0.0]
        rails.confirmations._clock = lambda: now[0]
        late = await call(mcp, "place_order", LIMIT)
        now[0] = 61.0
        expired = await call(mcp, "place_order", {**LIMIT, "confirmation_id": late.structured_content["confirmation_id"]})
        assert expired.is_error and "expired" in expired.content[0].text
        unknown = await call(mcp, "place_order", {**LIMIT, "symbol": "XYZUSDT"})
        assert unknown.is_error and "invalid_symbol" in unknown.content[0].text
        poor = await call(mcp, "place_order", {**LIMIT, "side": "SELL", "price": "2600.00"})
        assert poor.is_error and "insufficient balance" in poor.content[0].text
        assert emu.exchange.orders == {}


async def test_outcome_unknown_is_resolved_by_query_never_resent(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with _server(tmp_path) as (mcp, emu, rails):
        emu.faults.order_5xx(1)
        sent = await _confirmed(mcp, LIMIT)
        assert sent.structured_content["stage"] == "resolved_after_unknown", sent.content[0].text
        assert sent.structured_content["order"]["status"] == "FILLED"
        assert len(emu.exchange.orders) == 1  # sent once
        events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert events == ["preview", "order_sent", "order_outcome_unknown", "order_resolved"]
        assert stat.S_IMODE(os.stat(tmp_path / "audit.jsonl").st_mode) == 0o600
    # Marker key and secret: in no log line, answer, audit line or stored file.
    logged = caplog.text
    for marker in (KEY, SECRET):
        assert marker not in logged
        assert all(marker not in text for text in Calls.seen)
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert marker.encode() not in path.read_bytes(), path


async def test_a_stop_loss_limit_waits_then_triggers_on_the_trade_stream(tmp_path):
    async with _server(tmp_path, balances={"USDT": "1000", "ETH": "1"}) as (mcp, emu, rails):
        stop = {"symbol": "ETHUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT", "quantity": "0.0100",
                "price": "2400.00", "stop_price": "2450.00"}
        preview = await call(mcp, "place_order", stop)
        assert preview.structured_content["preview"]["cap_notional"] == "24.99"  # at the bid, above both prices
        sent = await _confirmed(mcp, stop)
        assert sent.structured_content["order"]["status"] == "NEW", sent.content[0].text
        order_id = sent.structured_content["order"]["order_id"]
        emu.markets["ETHUSDT"].add_trade(D("2440.00"), D("0.1"), True)
        got = await call(mcp, "get_order", {"symbol": "ETHUSDT", "order_id": order_id})
        assert got.structured_content["status"] == "FILLED" and got.structured_content["stop_price"].startswith("2450")


async def test_resources_read_market_balances_trades_open_orders_and_prompts_name_their_tools(tmp_path):
    async with _server(tmp_path) as (mcp, emu, rails):
        await _confirmed(mcp, LIMIT)
        await _confirmed(mcp, {**LIMIT, "price": "2400.00"})

        async def read(uri):
            result = await mcp.read_resource(uri)
            return json.loads(result.contents[0].text)

        market = await read("binance://market/ETHUSDT")
        assert market["symbol"] == "ETHUSDT" and market["top5"]["asks"][0][0].startswith("2501")  # our buy took 2500
        balances = {b["asset"]: b for b in (await read("binance://account/balances"))["balances"]}
        assert D(balances["ETH"]["free"]) == D("0.00999") and D(balances["USDT"]["locked"]) == D(24)
        trades = await read("binance://account/trades/ETHUSDT")
        assert len(trades["trades"]) == 1
        orders = await read("binance://account/open-orders")
        assert [o["price"] for o in orders["orders"]] == ["2400.00000000"]
        prompt = await mcp.get_prompt("trading_analysis", {"symbol": "ETHUSDT"})
        text = prompt.messages[0].content.text
        assert "ETHUSDT" in text and "binance_get_order_flow" in text and "binance_orderbook_liquidity" in text
        risk = (await mcp.get_prompt("portfolio_risk", {})).messages[0].content.text
        assert "binance_get_account" in risk and "binance_get_open_orders" in risk
