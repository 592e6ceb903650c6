"""Market-data service functions (no MCP) against a client returning Binance-shaped JSON."""

from __future__ import annotations

import pytest

from obcore.errors import InvalidInputError, InvalidSymbolError

from obmcp import service
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio


async def test_ticker_maps_fields():
    t = await service.get_ticker(FakeRestClient(), "ETHUSDT")
    assert (t.last_price, t.bid_qty, t.trade_count, t.close_time) == ("2683.81", "12.3456", 1001, 1723161599999)


async def test_orderbook_keeps_strings_and_order():
    book = await service.get_orderbook(FakeRestClient(), "ETHUSDT", 5)
    assert book.last_update_id == 35346513512 and len(book.bids) == 5
    assert book.bids[0] == ("2683.80", "1.0000") and book.asks[1] == ("2683.82", "2.0000")


async def test_klines_and_trades():
    client = FakeRestClient()
    k = await service.get_klines(client, "ETHUSDT", "5m", start_time=1723161600000, limit=3)
    assert len(k.klines) == 3 and k.klines[0].trade_count == 42 and k.klines[0].taker_buy_quote_volume == "16100.1"
    assert client.calls[-1][2] == {"start_time": 1723161600000, "end_time": None, "limit": 3}
    trades = await service.get_recent_trades(client, "ETHUSDT", 2)
    assert [t.is_buyer_maker for t in trades.trades] == [False, True]


async def test_exchange_info_extracts_filters():
    info = await service.get_exchange_info(FakeRestClient(), "ETHUSDT")
    s = info.symbols[0]
    assert (s.tick_size, s.step_size, s.min_notional, s.min_qty) == ("0.01", "0.0001", "5.00", "0.0001")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: service.get_ticker(c, "eth"), "symbol 'eth'"),
        (lambda c: service.get_orderbook(c, "ETHUSDT", 7), "limit 7"),
        (lambda c: service.get_recent_trades(c, "ETHUSDT", 1001), "limit 1001"),
        (lambda c: service.get_klines(c, "ETHUSDT", "2m"), "interval '2m'"),
        (lambda c: service.get_klines(c, "ETHUSDT", "1m", start_time=5), "start_time 5"),
        (lambda c: service.get_klines(c, "ETHUSDT", "1m", 1723161600001, 1723161600000), "after end_time"),
        (lambda c: service.get_avg_price(c, "ETH-USDT"), "symbol 'ETH-USDT'"),
    ],
)
async def test_bad_input_is_rejected_before_any_request(call, message):
    client = FakeRestClient()
    with pytest.raises(InvalidInputError, match=message):
        await call(client)
    assert client.calls == []


async def test_binance_errors_propagate():
    with pytest.raises(InvalidSymbolError) as info:
        await service.get_avg_price(FakeRestClient(), "NOPEUSDT")
    assert info.value.binance_code == -1121
