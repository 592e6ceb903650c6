"""ChatGPT's connector contract: tools named exactly ``search`` and ``fetch``, their answer
shapes, stable parseable ids, and the documents over symbols, live books and stored history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from obcore.errors import InvalidInputError

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.config import ServerSettings
from obmcp.server import build_server
from obmcp.tools import connector
from tests.obmcp.conftest import FakeStreams
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio

EXCHANGE = [
    ("ETHUSDT", "ETH", "USDT", "TRADING"), ("ETHBTC", "ETH", "BTC", "TRADING"), ("BTCUSDT", "BTC", "USDT", "TRADING"),
    ("WETHETH", "WETH", "ETH", "BREAK"), ("SOLUSDT", "SOL", "USDT", "TRADING"),
] + [(f"ETH{q}", "ETH", q, "TRADING") for q in ("EUR", "TRY", "BRL", "JPY", "FDUSD", "USDC", "DAI")]  # fmt: skip


class ExchangeClient(FakeRestClient):
    """The fake REST client, answering exchangeInfo without a symbol with a whole exchange."""

    exchange_calls = 0

    async def exchange_info(self, symbol: str | None = None) -> dict[str, Any]:
        if symbol is not None:
            return await super().exchange_info(symbol)
        type(self).exchange_calls += 1
        return {"symbols": [{"symbol": s, "baseAsset": b, "quoteAsset": q, "status": st} for s, b, q, st in EXCHANGE]}


class FakeStore:
    def __init__(self, symbols: dict[str, dict[str, Any]]):
        self._symbols = symbols

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def info(self) -> dict[str, Any]:
        return {"symbols": self._symbols}


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    connector._symbols_cache.clear()
    ExchangeClient.exchange_calls = 0
    return Backend(client=ExchangeClient(), streams=FakeStreams({"ETHUSDT": eth_session}))


def _payload(result) -> dict:
    assert not result.is_error, result.content
    assert len(result.content) == 1 and result.content[0].type == "text"
    decoded = json.loads(result.content[0].text)  # the contract: the text is the JSON object
    assert decoded == result.structured_content
    return decoded


@pytest.mark.parametrize("style", ["underscore", "dotted"])
async def test_the_two_tools_are_named_exactly_search_and_fetch(backend, style):
    async with Client(build_server(ServerSettings(tool_names=style), backend), mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
    assert "search" in names and "fetch" in names
    prefix = "binance_" if style == "underscore" else "binance."
    assert all(n.startswith(prefix) for n in names if n not in ("search", "fetch"))


async def test_search_finds_symbols_and_books(backend):
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        found = _payload(await client.call_tool("search", {"query": "eth/usdt"}))["results"]
        assert found[0] == {
            "id": "symbol:ETHUSDT", "title": "ETHUSDT — ETH/USDT spot (TRADING)",
            "text": found[0]["text"], "url": "https://www.binance.com/en/trade/ETH_USDT?type=spot",
        }  # fmt: skip
        assert found[1]["id"] == "book:ETHUSDT" and found[1]["url"] == "binance://book/ETHUSDT"
        assert all(set(hit) == {"id", "title", "text", "url"} and hit["text"] for hit in found)
        many = _payload(await client.call_tool("search", {"query": "ETH"}))["results"]
        assert len(many) == connector.MAX_RESULTS
        assert many[0]["id"].startswith("symbol:ETH")
        assert not any(hit["id"].endswith("SOLUSDT") for hit in many)
        # A symbol not trading has no live-book document.
        weth = _payload(await client.call_tool("search", {"query": "WETHETH"}))["results"]
        assert [hit["id"] for hit in weth] == ["symbol:WETHETH"]
        assert _payload(await client.call_tool("search", {"query": "nothing-like-it"}))["results"] == []
        # Searching subscribed nothing, and the exchange's symbol list was asked for once.
        assert backend.streams.sessions == {}
        assert ExchangeClient.exchange_calls == 1


async def test_fetch_documents(backend):
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        symbol = _payload(await client.call_tool("fetch", {"id": "symbol:ETHUSDT"}))
        assert set(symbol) == {"id", "title", "text", "url", "metadata"} and symbol["id"] == "symbol:ETHUSDT"
        assert "tick size 0.01" in symbol["text"] and "last price 2683.81" in symbol["text"]
        assert symbol["metadata"]["rules"]["min_notional"] == "5.00"
        book = _payload(await client.call_tool("fetch", {"id": "book:ETHUSDT"}))
        assert book["metadata"]["kind"] == "book" and book["metadata"]["data_quality"]["ok"] is True
        assert f"Best bid {book['metadata']['best_bid']}" in book["text"]
        bad = await client.call_tool("fetch", {"id": "ticker:ETHUSDT"})
        assert bad.is_error and "ticker:ETHUSDT" in bad.content[0].text
        none = await client.call_tool("fetch", {"id": "history:ETHUSDT"})
        assert none.is_error and "--data-dir" in none.content[0].text


async def test_history_documents_when_a_store_is_present(backend):
    backend.store = FakeStore({"ETHUSDT": {"snapshots": 705, "first_s": 1723161600, "last_s": 1723162304,
                                           "bytes_per_snapshot": 41.5}})  # fmt: skip
    async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
        found = _payload(await client.call_tool("search", {"query": "ETHUSDT"}))["results"]
        assert [hit["id"] for hit in found] == ["symbol:ETHUSDT", "book:ETHUSDT", "history:ETHUSDT"]
        history = _payload(await client.call_tool("fetch", {"id": "history:ETHUSDT"}))
        assert "705 one-second book snapshots" in history["text"] and "2024-08-09 00:00:00 UTC" in history["text"]
        assert history["metadata"]["snapshots"] == 705
        other = await client.call_tool("fetch", {"id": "history:BTCUSDT"})
        assert other.is_error and "nothing is stored for BTCUSDT" in other.content[0].text


def test_ids_are_stable_and_parseable():
    assert connector.parse_id("book:ETHUSDT") == ("book", "ETHUSDT")
    assert connector.parse_id("symbol:BTCUSDT") == ("symbol", "BTCUSDT")
    for bad in ("book:", "book:ethusdt", "BOOK:ETHUSDT", "trade:ETHUSDT", "book:ETHUSDT:x", 5):
        with pytest.raises(InvalidInputError, match="expected symbol:<SYMBOL>"):
            connector.parse_id(bad)
