"""Charts through MCP: chart=true adds an image/png block; get_depth_heatmap from the store."""

from __future__ import annotations

import base64
import csv
import gzip
import json

import pytest
from mcp import Client

from obcore.charts import png_size
from obcore.client import BinanceClient
from obcore.emulator import Emulator
from obcore.replay import replay
from obcore.session import BookSession

from obmcp.backend import Backend
from obmcp.config import BUNDLED_RECORDING, ServerSettings
from obmcp.server import build_server
from tests.obmcp.conftest import FakeStreams

pytestmark = pytest.mark.anyio
START_S = 1_723_161_600


@pytest.fixture(scope="module")
def replayed() -> BookSession:
    sessions: dict = {}
    for _ in replay(BUNDLED_RECORDING, sessions=sessions):
        pass
    return sessions["ETHUSDT"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from obcore.store import SnapshotStore
    from obcore.store._synthetic import synthetic_snapshots

    db = SnapshotStore.open(tmp_path_factory.mktemp("charts") / "db", maintenance_interval_s=3600.0)
    for snap in synthetic_snapshots("BTCUSDT", START_S, 1800, seed=5):
        db.put(snap)
    db.flush()
    yield db
    db.close()


def _client(backend):
    return Client(build_server(ServerSettings(), backend), mode="legacy")


def _png(block) -> bytes:
    assert block.type == "image" and block.mime_type == "image/png"
    data = base64.b64decode(block.data)
    assert png_size(data) == (800, 500) and len(data) <= 200 * 1024
    return data


async def test_order_flow_chart_is_an_image_block(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        plain = await client.call_tool("binance_get_order_flow", {"symbol": "ETHUSDT", "window_duration_secs": 120})
        charted = await client.call_tool("binance_get_order_flow",
                                         {"symbol": "ETHUSDT", "window_duration_secs": 120, "chart": True})
        refused = await client.call_tool("binance_get_order_flow", {"symbol": "ETHUSDT", "chart": "yes"})
    assert [b.type for b in plain.content] == ["text"]
    assert not charted.is_error, charted.content
    assert [b.type for b in charted.content] == ["text", "image"]
    _png(charted.content[1])
    same = {k: v for k, v in charted.structured_content.items() if k != "data_quality"}  # book age moves
    assert same == {k: v for k, v in plain.structured_content.items() if k != "data_quality"}
    assert refused.is_error and "chart" in refused.content[0].text


async def test_stored_order_flow_chart(store):
    async with _client(Backend(store=store)) as client:
        result = await client.call_tool("binance_get_order_flow", {
            "symbol": "BTCUSDT", "window_duration_secs": 300, "as_of": (START_S + 900) * 1000, "chart": True})
    assert not result.is_error, result.content
    _png(result.content[1])


async def test_volume_profile_chart(tmp_path):
    rows = []
    for path in BUNDLED_RECORDING:
        with gzip.open(path, "rt") as handle:
            rows += [json.loads(line.partition(" ")[2])["data"] for line in handle if "@trade" in line]
    path = tmp_path / "ETHUSDT-aggTrades-2024-08-09.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for t in rows:
            writer.writerow([t["t"], t["p"], t["q"], t["t"], t["t"], t["T"], t["m"], True])
    emu = Emulator()
    emu.add_agg_trades([path])
    await emu.start()
    rest = BinanceClient(base_url=emu.rest_url)
    try:
        async with _client(Backend(client=rest, streams=FakeStreams({}))) as client:
            result = await client.call_tool("binance_get_volume_profile", {
                "symbol": "ETHUSDT", "duration_hours": 1, "as_of": rows[-1]["T"] + 1, "chart": True})
    finally:
        await rest.aclose()
        await emu.stop()
    assert not result.is_error, result.content
    assert [b.type for b in result.content] == ["text", "image"]
    _png(result.content[1])


async def test_depth_heatmap_needs_the_store():
    async with _client(Backend()) as client:
        result = await client.call_tool("binance_get_depth_heatmap", {"symbol": "BTCUSDT"})
    assert result.is_error and "--data-dir" in result.content[0].text


async def test_depth_heatmap_from_the_store(store):
    async with _client(Backend(store=store)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("binance_get_depth_heatmap",
                                        {"symbol": "BTCUSDT", "minutes": 30, "as_of": (START_S + 1799) * 1000})
        empty = await client.call_tool("binance_get_depth_heatmap",
                                       {"symbol": "BTCUSDT", "minutes": 5, "as_of": (START_S - 600) * 1000})
        bad = await client.call_tool("binance_get_depth_heatmap", {"symbol": "BTCUSDT", "minutes": 1441})
    props = tools["binance_get_depth_heatmap"].input_schema["properties"]
    assert (props["minutes"]["minimum"], props["minutes"]["maximum"], props["minutes"]["default"]) == (1, 1440, 30)
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["window_start_s"] == START_S and answer["seconds_requested"] == 1800
    assert answer["seconds_stored"] == answer["seconds_live"] == 1800
    _png(result.content[1])
    assert empty.is_error and "insufficient_historical_data" in empty.content[0].text
    assert bad.is_error and "minutes 1441" in bad.content[0].text


async def test_live_charts_are_image_resources(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        await client.call_tool("binance_orderbook_l1", {"symbol": "ETHUSDT"})  # tracks it
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        flow = await client.read_resource("obmcp://charts/ETHUSDT/flow.png")
        profile = await client.read_resource("obmcp://charts/ETHUSDT/profile.png")
        with pytest.raises(Exception, match="not tracked"):
            await client.read_resource("obmcp://charts/SOLUSDT/flow.png")
    assert {f"obmcp://charts/{{symbol}}/{k}.png" for k in ("profile", "flow", "heatmap")} <= templates
    for result in (flow, profile):
        content = result.contents[0]
        assert content.mime_type == "image/png"
        data = base64.b64decode(content.blob)
        assert png_size(data) == (800, 500)
