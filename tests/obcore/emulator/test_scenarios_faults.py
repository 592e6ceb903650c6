"""Scenarios produce their advertised behaviour; REST faults; the CLI prints its URLs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import anyio
import httpx
import orjson
import pytest
import websockets

from obcore.emulator import Emulator
from obcore.emulator.scenarios import make_scenario
from obcore.errors import InvalidInputError

pytestmark = pytest.mark.anyio
SRC = Path(__file__).resolve().parents[3] / "src"


async def _collect(emu: Emulator, symbol: str, seconds: float) -> tuple[list, list]:
    depth, trades = [], []
    s = symbol.lower()
    async with websockets.connect(f"{emu.ws_url}/stream?streams={s}@depth@100ms/{s}@trade") as ws:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with anyio.fail_after(max(0.01, deadline - time.monotonic())):
                    frame = orjson.loads(await ws.recv())
            except TimeoutError:
                break
            (depth if frame["stream"].endswith("depth@100ms") else trades).append(frame["data"])
    return depth, trades


async def test_quote_stuffing_rate_and_fill_ratio():
    emu = Emulator(speed=1.0)
    emu.add_scenario("quote_stuffing", "XYZUSDT", seed=7, updates_per_s=1000)
    async with emu:
        depth, trades = await _collect(emu, "XYZUSDT", 1.0)
    updates = sum(len(e["b"]) + len(e["a"]) for e in depth)
    assert updates > 500, updates
    assert len(trades) < 0.1 * updates
    for previous, current in zip(depth, depth[1:]):
        assert current["U"] == previous["u"] + 1


async def test_iceberg_refills_same_level():
    emu = Emulator(speed=10.0)
    emu.add_scenario("iceberg", "ICEUSDT", seed=1, mid="100.00", display_qty="2.0")
    async with emu:
        depth, trades = await _collect(emu, "ICEUSDT", 0.6)
    at_level = [t for t in trades if t["p"] == "100.01000000" and not t["m"]]
    assert len(at_level) >= 5
    refills = [e for e in depth if ["100.01000000", "2.00000000"] in e["a"]]
    assert len(refills) >= 5


async def test_flash_crash_drains_depth_and_widens_spread():
    emu = Emulator(speed=10.0)
    emu.add_scenario("flash_crash", "FCUSDT", seed=1, calm_s=0.5, crash_s=1.0)
    async with emu:
        market = emu.markets["FCUSDT"]
        before_depth = sum(q for _, q in market.sorted_levels("bid", 20)) + sum(q for _, q in market.sorted_levels("ask", 20))
        spread_before = market.best("ask")[0] - market.best("bid")[0]
        depth, _ = await _collect(emu, "FCUSDT", 0.5)
        after_depth = sum(q for _, q in market.sorted_levels("bid", 20)) + sum(q for _, q in market.sorted_levels("ask", 20))
        spread_after = market.best("ask")[0] - market.best("bid")[0]
    assert after_depth < before_depth * Decimal("0.2")
    assert spread_after > spread_before * 10
    crash = [e for e in depth if len(e["b"]) + len(e["a"]) >= 10]
    zeros = sum(1 for e in crash for _, q in e["b"] + e["a"] if Decimal(q) == 0)
    total = sum(len(e["b"]) + len(e["a"]) for e in crash)
    assert total and zeros / total > 0.9


async def test_liquidity_vacuum_has_no_trades_or_asks_in_band():
    emu = Emulator(speed=10.0)
    emu.add_scenario("liquidity_vacuum", "VACUSDT", seed=4, mid="100.00", vacuum_ticks=20)
    async with emu:
        _, trades = await _collect(emu, "VACUSDT", 0.5)
        _, _, asks = emu.true_book("VACUSDT")
    low, high = Decimal("100.03"), Decimal("100.23")
    assert len(trades) > 20
    assert not [t for t in trades if low <= Decimal(t["p"]) <= high]
    assert not [p for p, _ in asks if low <= Decimal(p) <= high]


def test_scenarios_are_deterministic_and_names_checked():
    with pytest.raises(InvalidInputError, match="unknown scenario"):
        make_scenario("tsunami", "BTCUSDT")
    first = make_scenario("calm", "BTCUSDT", seed=5)
    second = make_scenario("calm", "BTCUSDT", seed=5)
    assert [first.qty() for _ in range(20)] == [second.qty() for _ in range(20)]


async def test_rate_limit_fault_429_then_418_with_retry_after():
    emu = Emulator(speed=10.0)
    emu.add_scenario("calm", "BTCUSDT", seed=1)
    async with emu:
        emu.faults.rate_limit(n_429=2, then_418=1, retry_after=7)
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            answers = [await c.get("/api/v3/ping") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 418, 200]
    assert all(a.headers["Retry-After"] == "7" and a.json()["code"] == -1003 for a in answers[:3])
    assert all("X-MBX-USED-WEIGHT-1M" in a.headers for a in answers)


async def test_cli_prints_urls_and_serves():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "obcore.emulator", "--scenario", "calm:BTCUSDT", "--speed", "5",
        stdout=subprocess.PIPE, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    try:
        with anyio.fail_after(20):
            line = await proc.stdout.readline()
        urls = orjson.loads(line)
        assert urls["rest_url"].startswith("http://127.0.0.1:") and urls["ws_url"].startswith("ws://127.0.0.1:")
        async with httpx.AsyncClient(base_url=urls["rest_url"]) as c:
            assert (await c.get("/api/v3/depth", params={"symbol": "BTCUSDT"})).status_code == 200
    finally:
        proc.terminate()
        with anyio.fail_after(10):
            assert await proc.wait() == 0
