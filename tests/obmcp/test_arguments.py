"""Issue 10 item 14 and the unknown-tool edge of item 15, through the SDK's in-memory client:
argument errors are one short message naming the argument, the value and what is expected;
one coercion rule for every tool; health text without Python ``None``; an unknown tool is a
JSON-RPC -32602 error. Only ``build_server`` is used, so these ran (and failed) against the
server before the catalog."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.server import build_server
from tests.obmcp.conftest import FakeStreams
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}, max_symbols=2), max_symbols=2)


async def _call(backend, name, args):
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        return await client.call_tool(f"binance_{name}", args)


async def _refusal(backend, name, args) -> str:
    result = await _call(backend, name, args)
    assert result.is_error, result.structured_content
    text = result.content[0].text
    # One short message, not a pydantic dump.
    assert "pydantic" not in text and "validation error" not in text.lower() and "\n" not in text, text
    assert len(text) < 240, text
    return text


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("get_ticker", {"symbol": "ethusdt"},
         "invalid_input: symbol 'ethusdt': expected a string matching ^[A-Z0-9]{2,20}$, e.g. 'ETHUSDT'; "
         "use upper case: 'ETHUSDT'"),
        ("orderbook_l1", {"symbol": "ETHUSDT", "notionals": ["NaN"]},
         "invalid_input: notionals[0] 'NaN': expected a number from 1 to 1000000000 (a JSON number, not a string)"),
        ("orderbook_l1", {"symbol": "ETHUSDT", "top_n": "10"},
         "invalid_input: top_n '10': expected an integer from 1 to 100 (a JSON number, not a string)"),
        ("get_orderbook", {"symbol": "ETHUSDT", "limit": "5"},
         "invalid_input: limit '5': expected one of 5, 10, 20, 50, 100, 500, 1000 (a JSON number, not a string)"),
        ("get_orderbook", {"symbol": "ETHUSDT", "limit": 7},
         "invalid_input: limit 7: expected one of 5, 10, 20, 50, 100, 500, 1000"),
        ("orderbook_l1", {"symbol": "ETHUSDT", "top_n": True}, "invalid_input: top_n True: expected an integer from 1 to 100"),
        ("orderbook_l1", {"symbol": "ETHUSDT", "top_n": 2.5}, "invalid_input: top_n 2.5: expected an integer from 1 to 100"),
        ("orderbook_l2", {"symbol": "ETHUSDT", "wait_seconds": "1"},
         "invalid_input: wait_seconds '1': expected a number from 0 to 30 (a JSON number, not a string)"),
        ("get_ticker", {}, "invalid_input: missing argument symbol: expected a string matching ^[A-Z0-9]{2,20}$, e.g. 'ETHUSDT'"),
        ("orderbook_l2", {"symbol": "ETHUSDT", "levels": 7},
         "invalid_input: unknown argument(s) 'levels'; orderbook_l2 takes depth, symbol, wait_seconds"),
        ("get_klines", {"symbol": "ETHUSDT", "start_time": 12},
         "invalid_input: start_time 12: expected an integer from 1500000000000 to 4102444800000"),
        ("orderbook_health", {"symbol": "eth"},
         "invalid_input: symbol 'eth': expected a string matching ^[A-Z0-9]{2,20}$, e.g. 'ETHUSDT'; use upper case: 'ETH'"),
    ],
)  # fmt: skip
async def test_argument_errors_are_one_short_message(backend, name, args, message):
    assert await _refusal(backend, name, args) == message


async def test_several_bad_arguments_are_named_together(backend):
    text = await _refusal(backend, "orderbook_l1", {"symbol": "x", "top_n": 0, "wait_seconds": 99, "extra": 1})
    assert text.startswith("invalid_input: ") and "symbol 'x'" in text and "top_n 0" in text and "(and 1 more)" in text


async def test_a_long_value_is_cut_short(backend):
    text = await _refusal(backend, "get_ticker", {"symbol": "A" * 5000})
    assert "…" in text and "A" * 50 not in text


@pytest.mark.parametrize(
    ("name", "args", "key", "value"),
    [
        # The one coercion rule: an integral JSON number is an integer, wherever an integer is asked.
        ("get_orderbook", {"symbol": "ETHUSDT", "limit": 5.0}, "bids", 5),
        ("get_recent_trades", {"symbol": "ETHUSDT", "limit": 3.0}, "trades", 3),
        ("orderbook_l1", {"symbol": "ETHUSDT", "top_n": 10.0}, "top_n", 10),
        ("orderbook_l1", {"symbol": "ETHUSDT", "notionals": [5000, 7500.5]}, "slippage", 4),
        ("orderbook_l2", {"symbol": "ETHUSDT", "depth": 100.0, "wait_seconds": 1}, "levels", 100),
    ],
)
async def test_integral_numbers_are_integers(backend, name, args, key, value):
    result = await _call(backend, name, args)
    assert not result.is_error, result.content[0].text
    got = result.structured_content[key]
    assert (len(got) if isinstance(got, list) else got) == value


async def test_an_unknown_tool_is_a_jsonrpc_invalid_params_error(backend):
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("binance_get_tickr", {"symbol": "ETHUSDT"})
        assert info.value.code == -32602
        assert "binance_get_tickr" in info.value.message and "binance_get_ticker" in info.value.message
        # The session is still fine afterwards.
        assert not (await client.call_tool("binance_get_avg_price", {"symbol": "ETHUSDT"})).is_error


async def test_health_text_never_prints_python_none(backend):
    nothing = await _call(backend, "orderbook_health", {})
    assert nothing.structured_content["stream_connected"] is None
    assert "None" not in nothing.content[0].text and "stream: none open yet" in nothing.content[0].text
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        await client.call_tool("binance_orderbook_l1", {"symbol": "BTCUSDT", "wait_seconds": 0})  # never synced
        health = await client.call_tool("binance_orderbook_health", {})
    text = health.content[0].text
    assert "None" not in text and "BTCUSDT: degraded (SYNCING, no update yet" in text, text
    assert health.structured_content["symbols"][0]["book_age_ms"] is None
