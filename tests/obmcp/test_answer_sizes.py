"""Every tool's answer within client budgets, measured against the emulator (the whole
catalog: a later tool is covered without touching this test; scripts/answer_sizes.py).

Default arguments: at most DEFAULT_BUDGET_TOKENS (chars / 4) and a text part that is a
summary, not a second copy of the structured payload. The largest explicit arguments:
under Claude Code's 25,000-token limit even at chars / 3.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from mcp import Client

from obmcp.tools import CATALOG

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("answer_sizes", ROOT / "scripts" / "answer_sizes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["answer_sizes"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_every_answer_within_its_budget():
    sizes = _load_script()
    async with sizes.emulator_server() as url, Client(url) as client:
        rows = await sizes.measure(client)
    defaults = [row for row in rows if row.default]
    assert len(defaults) == len(CATALOG)
    from obmcp.tools.analytics import ANALYTICS_TOOLS

    for row in defaults:
        if row.is_error and row.tool.removeprefix("binance_") in ANALYTICS_TOOLS:
            continue  # no history in a short emulator run: measured by test_analytics_answers_within_budget
        assert not row.is_error, row
        assert row.tokens <= sizes.DEFAULT_BUDGET_TOKENS, (row.tool, row.tokens)
        if row.tool in sizes.TEXT_IS_THE_PAYLOAD:
            continue  # ChatGPT's connector contract: the text is the result object, JSON-encoded
        # The text is a summary: never more than a quarter of the answer, nor 2,000 chars.
        assert row.text_chars <= max(400, min(2_000, row.chars // 4)), (row.tool, row.text_chars, row.chars)
    for row in rows:
        assert not row.is_error or row.tool.removeprefix("binance_") in ANALYTICS_TOOLS, row
        assert row.tokens_conservative < sizes.CLIENT_LIMIT_TOKENS, (row.tool, row.arguments, row.tokens_conservative)
    # The growing lists were projected from items actually returned.
    assert any(row.projected_chars > row.chars for row in rows)


# The analytics tools need history the 12-minute live emulator run does not have (a 60-s
# window of stored books, 1,000 trades): they are measured here in process, on the whole
# replayed recording and on its trades served by the emulator as aggTrades (the set-up of
# test_analytics_tools), at their defaults and their largest arguments.
from tests.obmcp.test_analytics_tools import eth_trades, replayed  # noqa: E402,F401  (fixtures)

ANALYTICS_CALLS = {
    "get_order_flow": [({}, True), ({"window_duration_secs": 300}, False)],
    "get_volume_profile": [({}, True), ({"detail": "full"}, False), ({"duration_hours": 168, "detail": "full"}, False)],
    "get_liquidity_vacuums": [({}, True)],
    "get_microstructure_health": [({}, True)],
    "detect_market_anomalies": [({}, True)],
}


@pytest.mark.anyio
async def test_analytics_answers_within_budget(replayed, eth_trades, tmp_path):
    import csv

    from obcore.client import BinanceClient
    from obcore.emulator import Emulator

    from obmcp.backend import Backend
    from obmcp.config import ServerSettings
    from obmcp.server import build_server
    from obmcp.tools.analytics import ANALYTICS_TOOLS
    from tests.obmcp.conftest import FakeStreams

    assert set(ANALYTICS_CALLS) == set(ANALYTICS_TOOLS), "measure every analytics tool here"
    sizes = _load_script()
    path = tmp_path / "ETHUSDT-aggTrades-2024-08-09.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for t in eth_trades:
            writer.writerow([t["t"], t["p"], t["q"], t["t"], t["t"], t["T"], t["m"], True])
    emu = Emulator()
    emu.add_agg_trades([path])
    await emu.start()
    rest = BinanceClient(base_url=emu.rest_url)
    rows = []
    try:
        backend = Backend(client=rest, streams=FakeStreams({"ETHUSDT": replayed}))
        as_of = eth_trades[-1]["T"] + 1
        async with Client(build_server(ServerSettings(), backend), mode="legacy") as client:
            for name, calls in ANALYTICS_CALLS.items():
                for extra, default in calls:
                    arguments = {"symbol": "ETHUSDT", **extra}
                    if name == "get_volume_profile":
                        arguments["as_of"] = as_of  # the recording's trades are from 2024
                    result = await client.call_tool(f"binance_{name}", arguments)
                    assert not result.is_error, (name, arguments, result.content)
                    chars, text = sizes.result_chars(result)
                    rows.append(sizes.Measurement(f"binance_{name}", arguments, default, chars, text, False, chars))
    finally:
        await rest.aclose()
        await emu.stop()
    print("\n" + sizes.table(rows))
    for row in rows:
        if row.default:
            assert row.tokens <= sizes.DEFAULT_BUDGET_TOKENS, (row.tool, row.tokens)
            assert row.text_chars <= max(400, min(2_000, row.chars // 4)), (row.tool, row.text_chars, row.chars)
        assert row.tokens_conservative < sizes.CLIENT_LIMIT_TOKENS, (row.tool, row.arguments, row.tokens_conservative)
