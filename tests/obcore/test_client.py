"""BinanceClient against the emulator over real sockets on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from decimal import Decimal
from pathlib import Path

import pytest

from obcore.client import BinanceClient, MissingCredentialsError
from obcore.emulator import Emulator
from obcore.errors import (
    AuthenticationError,
    FilterFailureError,
    InvalidInputError,
    InvalidSignatureError,
    InvalidSymbolError,
    IPBannedError,
    OrderOutcomeUnknownError,
    OrderRejectedError,
    RateLimitError,
    TradingDisabledError,
    TransportError,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "binance-ethusdt-2024-08-09"
SNAPSHOT_FILE = DATA / "ethusdt_20240808.gz"
KEY, SECRET = "testKey123", "testSecret456"


def run(scenario, *, secret: str = SECRET, **client_options):
    """Run ``scenario(emu, client)`` against a fresh emulator replaying ETHUSDT."""

    async def main():
        emu = Emulator(api_key=KEY, api_secret=SECRET, speed=1.0)
        emu.add_replay([SNAPSHOT_FILE])
        async with emu:
            async with BinanceClient(emu.rest_url, api_key=KEY, api_secret=secret, **client_options) as client:
                return await scenario(emu, client)

    return asyncio.run(main())


def test_public_endpoints():
    async def scenario(emu, client):
        assert await client.ping() == {}
        now = await client.server_time()
        assert abs(now - time.time() * 1000) < 5000
        info = await client.exchange_info("ETHUSDT")
        assert [s["symbol"] for s in info["symbols"]] == ["ETHUSDT"]
        info = await client.exchange_info(symbols=["ETHUSDT"])
        assert info["symbols"][0]["symbol"] == "ETHUSDT"
        depth = await client.depth("ETHUSDT", limit=5)
        assert len(depth["bids"]) == 5 and len(depth["asks"]) == 5
        assert isinstance(depth["bids"][0][0], str)  # Binance's decimal strings, untouched
        assert Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])
        await asyncio.sleep(0.3)  # let a few trades happen
        trades = await client.trades("ETHUSDT", limit=10)
        assert isinstance(trades, list) and all("price" in t for t in trades)
        aggs = await client.agg_trades("ETHUSDT", limit=10)
        assert all(set("apqflTm") <= set(row) for row in aggs)
        if aggs:
            first = aggs[0]["a"]
            again = await client.agg_trades("ETHUSDT", from_id=first, limit=1)
            assert again[0]["a"] == first
        klines = await client.klines("ETHUSDT", "1m", limit=5)
        assert all(len(row) == 12 for row in klines)
        ticker = await client.ticker_24hr("ETHUSDT")
        assert ticker["symbol"] == "ETHUSDT"
        tickers = await client.ticker_24hr(symbols=["ETHUSDT"], type="MINI")
        assert isinstance(tickers, list) and tickers[0]["symbol"] == "ETHUSDT"
        avg = await client.avg_price("ETHUSDT")
        assert Decimal(avg["price"]) > 0
        # The weight header was read: 1+1+20+20+5+25+4(+4)+2+2+2+2 at least.
        assert client.used_weight >= 80

    run(scenario)


def test_signed_order_lifecycle_and_number_formatting():
    async def scenario(emu, client):
        account = await client.account()
        assert any(b["asset"] == "USDT" for b in account["balances"])
        assert await client.test_order("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC",
                                       quantity=Decimal("0.01"), price="1000") == {}
        # A float quantity that Python prints as 1e-05-style must go out fixed-point.
        order = await client.new_order("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC",
                                       quantity=0.01, price=Decimal("1000.00"),
                                       new_client_order_id="obcoreTest1")
        assert order["status"] == "NEW" and order["clientOrderId"] == "obcoreTest1"
        fetched = await client.get_order("ETHUSDT", order_id=order["orderId"])
        assert fetched["origQty"] == order["origQty"]
        assert [o["orderId"] for o in await client.open_orders("ETHUSDT")] == [order["orderId"]]
        cancelled = await client.cancel_order("ETHUSDT", orig_client_order_id="obcoreTest1")
        assert cancelled["status"] == "CANCELED"
        assert await client.open_orders("ETHUSDT") == []
        history = await client.all_orders("ETHUSDT")
        assert [o["status"] for o in history] == ["CANCELED"]
        assert isinstance(await client.my_trades("ETHUSDT"), list)

    run(scenario)


def test_error_paths_map_to_the_error_tree():
    async def scenario(emu, client):
        with pytest.raises(InvalidSymbolError, match="NOSUCHCOIN is not listed") as info:
            await client.depth("NOSUCHCOIN")
        assert info.value.binance_code == -1121
        with pytest.raises(FilterFailureError, match="PRICE_FILTER"):
            await client.new_order("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC",
                                   quantity="0.01", price="1000.001")
        with pytest.raises(OrderRejectedError) as info:
            await client.cancel_order("ETHUSDT", order_id=987654)
        assert info.value.binance_code == -2011
        with pytest.raises(OrderRejectedError) as info:
            await client.get_order("ETHUSDT", order_id=987654)
        assert info.value.binance_code == -2013

    run(scenario)


def test_wrong_signature_and_wrong_key():
    async def wrong_secret(emu, client):
        with pytest.raises(InvalidSignatureError) as info:
            await client.account()
        assert "wrongSecret" not in str(info.value)

    run(wrong_secret, secret="wrongSecret")

    async def wrong_key(emu, _client):
        async with BinanceClient(emu.rest_url, api_key="otherKey", api_secret=SECRET) as client:
            with pytest.raises(AuthenticationError) as info:
                await client.account()
            assert info.value.http_status == 401 and info.value.binance_code == -2015

    run(wrong_key)


def test_inputs_are_validated_before_sending():
    async def scenario(emu, client):
        before = client.request_count
        bad_calls = [
            (client.depth("ethusdt"), "ethusdt"),
            (client.depth("ETHUSDT", limit=5001), "5001"),
            (client.klines("ETHUSDT", "2m"), "2m"),
            (client.trades("ETHUSDT", limit=0), "limit"),
            (client.new_order("ETHUSDT", "BUY", "LIMIT", quantity="1"), "timeInForce"),
            (client.new_order("ETHUSDT", "HOLD", "MARKET", quantity="1"), "HOLD"),
            (client.new_order("ETHUSDT", "BUY", "MARKET", quantity="-1"), "quantity"),
            (client.agg_trades("ETHUSDT", start_time=10, end_time=5), "end_time"),
            (client.get_order("ETHUSDT"), "order_id"),
            (client.new_order("ETHUSDT", "BUY", "MARKET", quantity="1", new_client_order_id="a.b"), "'a.b'"),
            (client.get_order("ETHUSDT", orig_client_order_id="é1"), "'é1'"),
            (client.cancel_order("ETHUSDT", order_id=1, new_client_order_id="x" * 37), "x" * 37),
        ]
        for call, needle in bad_calls:
            with pytest.raises(InvalidInputError, match=needle):
                await call
        assert client.request_count == before  # nothing was sent

    run(scenario)


def test_secrets_never_in_repr_or_logs(caplog):
    async def scenario(emu, client):
        with caplog.at_level(logging.DEBUG):
            await client.account()
        assert SECRET not in repr(client) and KEY not in repr(client)
        assert SECRET not in caplog.text and KEY not in caplog.text

    run(scenario)


def test_missing_credentials_and_trading_guards(monkeypatch):
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)

    async def main():
        async with BinanceClient("http://127.0.0.1:9") as client:
            with pytest.raises(MissingCredentialsError, match="BINANCE_API_KEY"):
                await client.account()
        async with BinanceClient(network="mainnet", api_key="k", api_secret="s") as client:
            with pytest.raises(TradingDisabledError, match="allow_mainnet_trading"):
                await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="1")
        # A mainnet host given as a plain URL is mainnet too: no opt-in, no order (nothing sent).
        for url in ("https://api.binance.com", "https://api3.binance.com/"):
            async with BinanceClient(url, api_key="k", api_secret="s") as client:
                assert client.is_mainnet
                with pytest.raises(TradingDisabledError, match="allow_mainnet_trading"):
                    await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="1")
                with pytest.raises(TradingDisabledError):
                    await client.cancel_order("ETHUSDT", order_id=1)
        assert not BinanceClient("http://127.0.0.1:9", network="mainnet").is_mainnet  # the emulator
        async with BinanceClient(network="data", api_key="k", api_secret="s") as client:
            with pytest.raises(TradingDisabledError):
                await client.account()
        assert BinanceClient().base_url == "https://testnet.binance.vision"

    asyncio.run(main())


def test_network_failure_is_a_transport_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main():
        async with BinanceClient(f"http://127.0.0.1:{port}", timeout=2.0, api_key="k", api_secret="s") as client:
            with pytest.raises(TransportError, match="/api/v3/ping"):
                await client.ping()
            # Not even connected: the order certainly did not reach Binance.
            with pytest.raises(TransportError):
                await client.new_order("ETHUSDT", "BUY", "MARKET", quantity="1")

    asyncio.run(main())


def test_429_then_418_obeys_retry_after_and_never_hammers():
    async def scenario(emu, client):
        await client.ping()
        emu.faults.rate_limit(n_429=1, then_418=1, retry_after=1)
        with pytest.raises(RateLimitError) as info:
            await client.ping()
        assert not isinstance(info.value, IPBannedError) and info.value.retry_after == 1
        sent = client.request_count
        with pytest.raises(RateLimitError) as info:  # refused locally, not sent
            await client.depth("ETHUSDT")
        assert client.request_count == sent and 0 < info.value.retry_after <= 1
        await asyncio.sleep(1.05)
        with pytest.raises(IPBannedError) as info:
            await client.ping()
        assert info.value.http_status == 418
        sent = client.request_count
        with pytest.raises(IPBannedError):
            await client.ping()
        assert client.request_count == sent
        await asyncio.sleep(1.05)
        assert await client.ping() == {}  # recovered, after exactly 3 requests hit the server

    run(scenario)


def test_clock_skew_resyncs_once_and_retries():
    async def scenario(emu, client):
        await client.account()  # measures the offset (about 0)
        assert abs(client.clock_offset_ms) < 500
        emu.faults.clock_skew(-4000)  # the server's clock now runs 4 s behind ours
        sent = client.request_count
        account = await client.account()  # -1021, re-sync, retry once: succeeds
        assert "balances" in account
        assert client.request_count == sent + 3  # failed try, /time, retry
        assert -4600 < client.clock_offset_ms < -3400

    run(scenario)


def test_order_5xx_is_outcome_unknown_not_failure():
    async def scenario(emu, client):
        emu.faults.order_5xx(1)
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await client.new_order("ETHUSDT", "BUY", "LIMIT", time_in_force="GTC", quantity="0.01",
                                   price="1000", new_client_order_id="maybePlaced")
        assert info.value.http_status >= 500
        # The emulator executed it: querying (not retrying) finds the order.
        order = await client.get_order("ETHUSDT", orig_client_order_id="maybePlaced")
        assert order["status"] == "NEW"

    run(scenario)


def test_waits_for_the_minute_instead_of_exceeding_the_weight_limit():
    async def scenario(emu, client):
        await client.ping()
        used = client.used_weight
        client.weights.limit = used + 10  # the next depth(limit=5000) costs 250
        sent = client.request_count
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.depth("ETHUSDT", limit=5000), 0.3)
        assert client.request_count == sent  # it waited rather than sent
        assert await client.depth("ETHUSDT", limit=5) is not None  # weight 5 still fits

    run(scenario)
