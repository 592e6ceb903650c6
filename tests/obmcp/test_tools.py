"""Every tool through the SDK's in-memory client: schemas, good and bad input, errors."""

from __future__ import annotations

import pytest
from mcp import Client

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obcore.validation import SYMBOL_PATTERN
from obmcp.server import build_server
from obmcp.tools.account import ACCOUNT_TOOLS
from obmcp.tools.analytics import ANALYTICS_TOOLS
from obmcp.tools.book import BOOK_TOOLS
from obmcp.tools.charts import CHART_TOOLS
from obmcp.tools.market import MARKET_TOOLS
from tests.obmcp.conftest import FakeStreams
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}, max_symbols=2), max_symbols=2)


async def _client(backend, **settings):
    return Client(build_server(ServerSettings(**settings), backend), mode="legacy")


async def test_exactly_the_thirteen_read_only_tools_with_schemas(backend):
    # Trading is off by default: the five trading tools are not listed (tests/obmcp/test_trading_tools.py).
    async with await _client(backend) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    # plus ChatGPT's connector pair, named exactly (tests/obmcp/test_connector.py)
    expected = [*(f"binance_{n}" for n in MARKET_TOOLS + BOOK_TOOLS + ANALYTICS_TOOLS + CHART_TOOLS + ACCOUNT_TOOLS),
                "search", "fetch"]
    assert sorted(tools) == sorted(expected)
    for tool in tools.values():
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.annotations.read_only_hint is True and tool.annotations.destructive_hint is False
        assert tool.description
    assert tools["binance_get_ticker"].input_schema["properties"]["symbol"]["pattern"] == SYMBOL_PATTERN == "^[A-Z0-9]{2,20}$"
    assert "1M" in tools["binance_get_klines"].input_schema["properties"]["interval"]["enum"]
    assert tools["binance_orderbook_l2"].input_schema["properties"]["depth"]["enum"] == [20, 100]


async def test_dotted_names(backend):
    async with await _client(backend, tool_names="dotted") as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "binance.orderbook_l1" in names and not any(n.startswith("binance_") for n in names)


GOOD_CALLS = [
    ("get_ticker", {"symbol": "ETHUSDT"}, "last_price", "2683.81"),
    ("get_orderbook", {"symbol": "ETHUSDT", "limit": 5}, "last_update_id", 35346513512),
    ("get_recent_trades", {"symbol": "ETHUSDT", "limit": 3}, "symbol", "ETHUSDT"),
    ("get_klines", {"symbol": "ETHUSDT", "interval": "1h", "limit": 2}, "interval", "1h"),
    ("get_exchange_info", {"symbol": "ETHUSDT"}, "timezone", "UTC"),
    ("get_avg_price", {"symbol": "ETHUSDT"}, "price", "2683.81"),
    ("orderbook_l1", {"symbol": "ETHUSDT"}, "symbol", "ETHUSDT"),
    ("orderbook_l2", {"symbol": "ETHUSDT", "depth": 100}, "levels", 100),
    ("orderbook_health", {}, "status", "ok"),
]


@pytest.mark.parametrize(("name", "args", "key", "value"), GOOD_CALLS)
async def test_good_calls(backend, name, args, key, value):
    async with await _client(backend) as client:
        result = await client.call_tool(f"binance_{name}", args)
    assert not result.is_error, result.content
    assert result.structured_content[key] == value
    assert result.content[0].text  # readable summary next to the structure


BAD_CALLS = [
    ("get_ticker", {"symbol": "ethusdt"}, "ethusdt"),
    ("get_ticker", {}, "symbol"),
    ("get_orderbook", {"symbol": "ETHUSDT", "limit": 7}, "7"),
    ("get_recent_trades", {"symbol": "ETHUSDT", "limit": 0}, "0"),
    ("get_klines", {"symbol": "ETHUSDT", "interval": "2m"}, "2m"),
    ("get_klines", {"symbol": "ETHUSDT", "start_time": 12}, "12"),
    ("get_exchange_info", {"symbol": "E"}, "'E'"),
    ("get_avg_price", {"symbol": "NOPEUSDT"}, "Binance code -1121"),
    ("orderbook_l1", {"symbol": "ETHUSDT", "top_n": 101}, "101"),
    ("orderbook_l1", {"symbol": "ETHUSDT", "notionals": [0]}, "notionals"),
    ("orderbook_l2", {"symbol": "ETHUSDT", "depth": 50}, "50"),
    ("orderbook_health", {"symbol": "eth"}, "eth"),
    ("orderbook_l2", {"symbol": "ETHUSDT", "levels": 7}, "'levels'"),  # unknown, not ignored
    ("get_ticker", {"symbol": "ETHUSDT", "window": "1d"}, "'window'"),
]


@pytest.mark.parametrize(("name", "args", "needle"), BAD_CALLS)
async def test_bad_calls_are_tool_errors_naming_the_value(backend, name, args, needle):
    async with await _client(backend) as client:
        result = await client.call_tool(f"binance_{name}", args)
        assert result.is_error and needle in result.content[0].text
        # The server is still fine afterwards.
        assert not (await client.call_tool("binance_get_avg_price", {"symbol": "ETHUSDT"})).is_error


async def test_input_schemas_are_closed(backend):
    async with await _client(backend) as client:
        tools = (await client.list_tools()).tools
        assert tools and all(tool.input_schema.get("additionalProperties") is False for tool in tools)


async def test_symbol_limit_and_unsynced_book_are_tool_errors(backend):
    async with await _client(backend) as client:
        first = await client.call_tool("binance_orderbook_l1", {"symbol": "BTCUSDT", "wait_seconds": 0})
        assert first.is_error and "book_not_ready" in first.content[0].text
        await client.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT"})
        third = await client.call_tool("binance_orderbook_l2", {"symbol": "SOLUSDT"})
        assert third.is_error and "symbol_limit_reached" in third.content[0].text
        health = await client.call_tool("binance_orderbook_health", {})
        assert health.structured_content["status"] == "degraded"
        assert health.structured_content["symbols_tracked"] == ["BTCUSDT", "ETHUSDT"]


async def test_stale_book_says_so_in_the_text(backend, eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 30_000)
    async with await _client(backend) as client:
        result = await client.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT"})
    assert not result.is_error
    assert result.structured_content["data_quality"]["ok"] is False
    assert "WARNING" in result.content[0].text and "stale" in result.content[0].text


async def test_resources_and_prompts_are_listed(backend):
    # Declared in obmcp.resources / obmcp.prompts (read end to end in test_trading_tools.py).
    async with await _client(backend) as client:
        static = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert static == {"binance://account/balances", "binance://account/open-orders"}
    charts = {f"obmcp://charts/{{symbol}}/{kind}.png" for kind in ("profile", "flow", "heatmap")}  # obmcp.tools.charts
    assert templates == {"binance://market/{symbol}", "binance://account/trades/{symbol}"} | charts
    assert prompts == {"trading_analysis", "portfolio_risk"}
