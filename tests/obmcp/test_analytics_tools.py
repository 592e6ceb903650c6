"""The analytics tools through the SDK's in-memory client: get_order_flow on a replayed
session, get_volume_profile back-filled from the emulator over real sockets with MCP
progress notifications, argument refusals."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from mcp import Client

from obcore.analytics import order_flow
from obcore.analytics.service import volume_profile_answer
from obcore.client import BinanceClient
from obcore.emulator import Emulator
from obcore.replay import replay
from obcore.session import BookSession

from obmcp.backend import Backend
from obmcp.config import BUNDLED_RECORDING, ServerSettings
from obmcp.server import build_server
from obmcp.tools.analytics import ANALYTICS_TOOLS
from tests.obmcp.conftest import FakeStreams

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def replayed() -> BookSession:
    sessions: dict = {}
    for _ in replay(BUNDLED_RECORDING, sessions=sessions):
        pass
    return sessions["ETHUSDT"]


@pytest.fixture(scope="module")
def eth_trades() -> list[dict]:
    rows = []
    for path in BUNDLED_RECORDING:
        with gzip.open(path, "rt") as handle:
            rows += [json.loads(line.partition(" ")[2])["data"] for line in handle if "@trade" in line]
    return rows


def _client(backend):
    return Client(build_server(ServerSettings(), backend), mode="legacy")


async def test_tools_are_listed_with_schemas(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ANALYTICS_TOOLS:
        tool = tools[f"binance_{name}"]
        assert tool.output_schema["type"] == "object" and tool.annotations.read_only_hint
    props = tools["binance_get_order_flow"].input_schema["properties"]
    assert (props["window_duration_secs"]["minimum"], props["window_duration_secs"]["maximum"]) == (10, 300)
    props = tools["binance_get_volume_profile"].input_schema["properties"]
    assert (props["duration_hours"]["minimum"], props["duration_hours"]["maximum"]) == (1, 168)
    assert props["detail"]["enum"] == ["summary", "full"]


async def test_get_order_flow_is_obcores_answer(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        result = await client.call_tool("binance_get_order_flow", {"symbol": "ETHUSDT", "window_duration_secs": 120})
    assert not result.is_error, result.content
    answer = result.structured_content
    expected = order_flow(replayed, 120).to_dict()
    for key in ("bid_additions", "ask_cancellations", "cumulative_delta", "flow_direction", "five_level", "cvd",
                "liquidity_withdrawals", "taker_buy_count"):
        assert answer[key] == expected[key], key
    assert answer["data_quality"]["source"] == "live"
    assert "order flow over 120/120 s" in result.content[0].text


@pytest.mark.parametrize("arguments, match", [
    ({"symbol": "ETHUSDT", "window_duration_secs": 5}, "window_duration_secs"),
    ({"symbol": "ETHUSDT", "window_duration_secs": "60"}, "window_duration_secs"),
    ({"symbol": "ETHUSDT", "as_of": "2024-08-09T00:05:00Z"}, "as_of needs the snapshot store"),
    ({"symbol": "ethusdt"}, "symbol"),
    ({"symbol": "ETHUSDT", "window": 60}, "window"),
])
async def test_get_order_flow_refusals(replayed, arguments, match):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        result = await client.call_tool("binance_get_order_flow", arguments)
    assert result.is_error and match in result.content[0].text


async def test_get_volume_profile_backfills_with_progress(eth_trades, tmp_path):
    path = tmp_path / "ETHUSDT-aggTrades-2024-08-09.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for t in eth_trades:
            writer.writerow([t["t"], t["p"], t["q"], t["t"], t["t"], t["T"], t["m"], True])
    emu = Emulator()
    emu.add_agg_trades([path])
    await emu.start()
    rest = BinanceClient(base_url=emu.rest_url)
    try:
        backend = Backend(client=rest, streams=FakeStreams({}))
        as_of = eth_trades[-1]["T"] + 1
        notes = []

        async def on_progress(progress, total, message):
            notes.append((progress, total, message))

        async with _client(backend) as client:
            result = await client.call_tool(
                "binance_get_volume_profile", {"symbol": "ETHUSDT", "duration_hours": 1, "as_of": as_of, "detail": "full"},
                progress_callback=on_progress)
            bad = await client.call_tool("binance_get_volume_profile", {"symbol": "ETHUSDT", "duration_hours": 200})
        assert not result.is_error, result.content
        answer = result.structured_content
        expected = (await volume_profile_answer("ETHUSDT", session=BookSession("ETHUSDT"), client=rest,
                                                duration_hours=1, as_of=as_of)).to_dict("full")
        for key in ("poc", "value_area", "liquidity_vacuums", "histogram", "trade_count", "tick_size"):
            assert answer[key] == expected[key], key
        assert answer["trade_count"] == len(eth_trades) and answer["backfill"]["pages"] == 15
        assert len(notes) >= 15 and notes[-1][0] == notes[-1][1]
        assert bad.is_error and "duration_hours" in bad.content[0].text
    finally:
        await rest.aclose()
        await emu.stop()


async def test_open_backend_warms_the_analytics_kernels(monkeypatch):
    from obcore._kernels import _flow, _numba, _profile

    from obmcp import backend as backend_module

    ran = []
    monkeypatch.setattr(_numba, "warm_up", lambda: ran.append(list(_numba._WARM_UPS)) or len(_numba._WARM_UPS))
    await backend_module._warm_up_kernels()
    assert ran and {_profile._warm_up, _flow._warm_up} <= set(ran[0])
    # and the server's start-up runs it before the backend is handed out
    started = []

    async def recorded():
        started.append(True)

    monkeypatch.setattr(backend_module, "_warm_up_kernels", recorded)
    async with backend_module.open_backend(ServerSettings(mode="http", source="emulator")) as backend:
        assert started == [True] and backend.client is not None


async def test_detect_market_anomalies_through_mcp(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        result = await client.call_tool("binance_detect_market_anomalies", {"symbol": "ETHUSDT", "window_secs": 60})
        bad = await client.call_tool("binance_detect_market_anomalies", {"symbol": "ETHUSDT", "window_secs": 301})
        stored = await client.call_tool("binance_detect_market_anomalies",
                                        {"symbol": "ETHUSDT", "as_of": "2024-08-09T00:05:00Z"})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["anomaly_count"] == 0 and answer["data_quality"]["source"] == "live"
    assert answer["baselines"]["quote_stuffing"]["status"].startswith("baseline not yet known")
    assert "0 anomalies" in result.content[0].text
    assert bad.is_error and "window_secs" in bad.content[0].text
    assert stored.is_error and "as_of needs the snapshot store" in stored.content[0].text


async def test_get_microstructure_health_through_mcp(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        result = await client.call_tool("binance_get_microstructure_health", {"symbol": "ETHUSDT"})
        bad = await client.call_tool("binance_get_microstructure_health", {"symbol": "ETH-USDT"})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["band"] == "Unknown" and answer["health_score"] is None  # 11 min of replay: < 10 min of history
    assert "0.35*liquidity_depth" in answer["formula"] and set(answer["components"]) == {
        "spread_stability", "liquidity_depth", "flow_balance", "update_rate"}
    assert "health unknown" in result.content[0].text
    assert bad.is_error and "symbol" in bad.content[0].text


async def test_get_liquidity_vacuums_through_mcp(replayed):
    async with _client(Backend(streams=FakeStreams({"ETHUSDT": replayed}))) as client:
        result = await client.call_tool("binance_get_liquidity_vacuums",
                                        {"symbol": "ETHUSDT", "lookback_minutes": 30, "tick_size": "0.01"})
        bad = await client.call_tool("binance_get_liquidity_vacuums", {"symbol": "ETHUSDT", "lookback_minutes": 5})
    assert not result.is_error, result.content
    answer = result.structured_content
    assert answer["tick_size"] == "0.01" and answer["wall_rule"]["k"] == 5
    assert answer["stop_advice"]["long_stop"]["price"] in answer["stop_advice"]["text"]
    assert "liquidity map (30 min" in result.content[0].text
    assert bad.is_error and "lookback_minutes" in bad.content[0].text
