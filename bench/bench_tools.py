"""Tool-call bench in process: one catalog tool call through ``MCPServer.call_tool`` (argument
validation, service, summary, result dump), no transport, on a real ETHUSDT book synced from
the bundled recording.

- ``orderbook_l1`` on an unchanged book (the answer comes from the per-server l1 cache;
  ``data_quality`` is still computed per call), and on a book that moved since the last call
  (cache cleared before each call: the full ``obcore.liquidity`` read and its conversion);
- ``orderbook_l2`` (100 levels a side) and ``get_avg_price`` (fake REST client: the fixed
  cost of a tool call).

Run: ``PYTHONPATH=src python -m pytest bench/bench_tools.py -o python_files='bench_*.py'
--benchmark-only``. Each bench checks its answer, so a call that fails fast fails the bench.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from obmcp import book_service  # noqa: E402
from obmcp.backend import Backend  # noqa: E402
from obmcp.config import ServerSettings  # noqa: E402
from obmcp.server import build_server  # noqa: E402
from tests.obmcp.conftest import FakeStreams, feed_recording  # noqa: E402
from tests.obmcp.fakes import FakeRestClient  # noqa: E402

CALLS = 200


@pytest.fixture(scope="module")
def server():
    session = feed_recording()
    clock = book_service._now_ms
    book_service._now_ms = lambda: session.last_event_time_ms + 100
    mcp = build_server(ServerSettings(), Backend(client=FakeRestClient(), streams=FakeStreams({"ETHUSDT": session})))
    yield mcp
    book_service._now_ms = clock


def _run(server, name, args, *, clear_cache=False):
    cache = server.tool_context.l1_cache

    async def calls():
        result = None
        for _ in range(CALLS):
            if clear_cache:
                cache.clear()
            result = await server.call_tool(name, args)
        return result

    return anyio.run(calls)


@pytest.mark.parametrize(
    ("name", "args", "clear_cache"),
    [
        ("binance_orderbook_l1", {"symbol": "ETHUSDT"}, False),
        ("binance_orderbook_l1", {"symbol": "ETHUSDT"}, True),
        ("binance_orderbook_l2", {"symbol": "ETHUSDT", "depth": 100}, False),
        ("binance_get_avg_price", {"symbol": "ETHUSDT"}, False),
    ],
    ids=["l1-unchanged-book", "l1-moved-book", "l2-100", "avg_price"],
)
def test_tool_call(benchmark, server, name, args, clear_cache):
    _run(server, name, args, clear_cache=clear_cache)  # warm-up (and the first l1 subscribes)
    result = benchmark.pedantic(_run, args=(server, name, args), kwargs={"clear_cache": clear_cache}, rounds=15)
    assert not result.is_error, result.content
    assert result.structured_content["symbol"] == "ETHUSDT"
    benchmark.extra_info["calls_per_round"] = CALLS
    benchmark.extra_info["us_per_call"] = round(benchmark.stats.stats.min / CALLS * 1e6, 1)
