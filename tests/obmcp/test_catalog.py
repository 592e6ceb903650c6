"""The tool catalog: every entry fully declared, a tool added as one entry, SDK tools beside
the catalog, unexpected failures kept out of the answer."""

from __future__ import annotations

import pytest
from mcp import Client
from pydantic import BaseModel

from obmcp import book_service
from obmcp.backend import Backend
from obmcp.catalog import READ_ONLY_LOCAL, Arguments, ToolContext, ToolEntry, invoke
from obmcp.config import ServerSettings
from obmcp.server import CatalogServer, build_server
from obmcp.tools import CATALOG
from obmcp.validation import Symbol, TradeLimit
from tests.obmcp.conftest import FakeStreams
from tests.obmcp.fakes import FakeRestClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def backend(eth_session, monkeypatch):
    monkeypatch.setattr(book_service, "_now_ms", lambda: eth_session.last_event_time_ms + 100)
    return Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": eth_session}, max_symbols=2), max_symbols=2)


def test_every_entry_is_closed_and_fully_declared():
    assert CATALOG and len({e.name for e in CATALOG}) == len(CATALOG)
    for entry in CATALOG:
        assert entry.input_model.model_config.get("extra") == "forbid"
        assert entry.input_schema["additionalProperties"] is False and entry.input_schema["type"] == "object"
        assert entry.output_schema["type"] == "object"
        assert entry.title and entry.description and callable(entry.run) and callable(entry.summary)


class _Echo(BaseModel):
    symbol: str
    limit: int


class _EchoArguments(Arguments):
    symbol: Symbol
    limit: TradeLimit = 1


async def _echo(context: ToolContext, args: _EchoArguments) -> _Echo:
    return _Echo(symbol=args.symbol, limit=args.limit)


ECHO = ToolEntry(
    name="echo", title="Echo", description="Echoes its arguments.", input_model=_EchoArguments, output_model=_Echo,
    hints=READ_ONLY_LOCAL, run=_echo, summary=lambda args, result: f"{result.symbol} x {result.limit}",
)  # fmt: skip


async def test_a_tool_is_one_entry():
    server = CatalogServer((ECHO,), ToolContext(Backend()), lambda name: f"t_{name}", name="test")
    async with Client(server, mode="legacy") as client:
        (tool,) = (await client.list_tools()).tools
        assert tool.name == "t_echo" and tool.input_schema["properties"]["limit"]["maximum"] == 1000
        assert tool.annotations.read_only_hint and not tool.annotations.open_world_hint
        result = await client.call_tool("t_echo", {"symbol": "ETHUSDT", "limit": 7.0})
        assert result.structured_content == {"symbol": "ETHUSDT", "limit": 7} and result.content[0].text == "ETHUSDT x 7"
        refused = await client.call_tool("t_echo", {"symbol": "ETHUSDT", "limit": "7"})
        assert refused.is_error and refused.content[0].text.startswith("invalid_input: limit '7'")


async def test_sdk_tools_are_served_beside_the_catalog(backend):
    server = build_server(ServerSettings(), backend)

    async def ping(word: str) -> str:
        """Echo."""
        return word

    server.add_tool(ping, name="ping")
    with pytest.raises(ValueError, match="already served"):
        server.add_tool(ping, name="binance_get_ticker")
    async with Client(server, mode="legacy") as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert names[-1] == "ping" and len(names) == len(CATALOG) + 1
        assert (await client.call_tool("ping", {"word": "hi"})).content[0].text == "hi"


async def test_unexpected_failures_do_not_leak_their_text(caplog):
    async def broken(context: ToolContext, args: _EchoArguments) -> _Echo:
        raise RuntimeError("secret detail")

    entry = ToolEntry(
        name="broken", title="Broken", description="Fails.", input_model=_EchoArguments, output_model=_Echo,
        hints=READ_ONLY_LOCAL, run=broken, summary=lambda args, result: "",
    )  # fmt: skip
    outcome = await invoke(entry, ToolContext(Backend()), {"symbol": "ETHUSDT"})
    assert outcome.is_error and outcome.text.startswith("internal_error: broken failed")
    assert "secret" not in outcome.text and "secret detail" in caplog.text
