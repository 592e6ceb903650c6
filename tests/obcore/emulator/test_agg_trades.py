"""``/api/v3/aggTrades`` from trade files (``--agg-trades``) and live trades: Binance's
selection rules, limit, weight and errors, over real sockets."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from obcore.emulator import Emulator
from obcore.errors import InvalidInputError

from .helpers import ETH_DIR

pytestmark = pytest.mark.anyio

SRC = str(Path(__file__).resolve().parents[3] / "src")


def _eth_trades() -> list[dict]:
    import gzip

    rows = []
    for path in sorted(ETH_DIR.glob("ethusdt_*.gz")):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                if "@trade" in line:
                    rows.append(json.loads(line.partition(" ")[2])["data"])
    return rows


@pytest.fixture(scope="module")
def eth_csv(tmp_path_factory) -> tuple[Path, list[dict]]:
    """A Binance Vision style CSV of the recorded ETHUSDT trades (a = f = l = t), no header."""
    trades = _eth_trades()
    path = tmp_path_factory.mktemp("agg") / "ETHUSDT-aggTrades-2024-08-09.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        for t in trades:
            writer.writerow([t["t"], t["p"], t["q"], t["t"], t["t"], t["T"], t["m"], True])
    return path, trades


async def _get(client: httpx.AsyncClient, **params):
    r = await client.get("/api/v3/aggTrades", params={"symbol": "ETHUSDT", **params})
    return r, r.json()


async def test_history_pages_by_from_id_and_time(eth_csv):
    path, trades = eth_csv
    emu = Emulator()
    assert emu.add_agg_trades([path]) == {"ETHUSDT": len(trades)}
    await emu.start()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r, rows = await _get(c, fromId=trades[0]["t"], limit=1000)
            assert r.status_code == 200 and len(rows) == 1000
            assert set(rows[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
            assert [x["a"] for x in rows] == [t["t"] for t in trades[:1000]]
            assert rows[0]["p"] == trades[0]["p"] and rows[0]["q"] == trades[0]["q"] and rows[0]["m"] is trades[0]["m"]
            # walking fromId = last + 1 returns every trade once
            seen, next_id, pages = [], trades[0]["t"], 0
            while True:
                r, rows = await _get(c, fromId=next_id, limit=1000)
                if not rows:
                    break
                pages += 1
                seen += [x["a"] for x in rows]
                next_id = rows[-1]["a"] + 1
            assert seen == [t["t"] for t in trades] and pages == 15
            # time range: inclusive at both ends, oldest first, at most limit
            start, end = trades[100]["T"], trades[400]["T"]
            r, rows = await _get(c, startTime=start, endTime=end, limit=1000)
            expected = [t["t"] for t in trades if start <= t["T"] <= end]
            assert [x["a"] for x in rows] == expected and len(expected) > 300
            r, rows = await _get(c, startTime=start, limit=7)
            assert [x["a"] for x in rows] == [t["t"] for t in trades if t["T"] >= start][:7]
            r, rows = await _get(c, endTime=trades[3]["T"])
            assert [x["a"] for x in rows] == [t["t"] for t in trades if t["T"] <= trades[3]["T"]]
            # no selector: the most recent 500 (default limit)
            r, rows = await _get(c)
            assert [x["a"] for x in rows] == [t["t"] for t in trades[-500:]]
            # weight 4 per request
            before = int(r.headers["X-MBX-USED-WEIGHT-1M"])
            r, _ = await _get(c, limit=1)
            assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) == before + 4
    finally:
        await emu.stop()


@pytest.mark.parametrize("params, status, code", [
    ({"limit": 1001}, 400, -1100), ({"limit": 0}, 400, -1100), ({"fromId": "x"}, 400, -1100),
    ({"fromId": 1, "startTime": 1}, 400, -1128), ({"fromId": 1, "endTime": 1}, 400, -1128),
    ({"symbol": "NOPEUSDT"}, 400, -1121), ({"symbol": ""}, 400, -1102),
])
async def test_errors(eth_csv, params, status, code):
    path, _ = eth_csv
    emu = Emulator()
    emu.add_agg_trades([f"ETHUSDT={path}"])
    await emu.start()
    try:
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            r = await c.get("/api/v3/aggTrades", params={"symbol": "ETHUSDT", **params})
            assert r.status_code == status and r.json()["code"] == code
    finally:
        await emu.stop()


async def test_history_then_live_trades_form_one_id_sequence(eth_csv):
    path, trades = eth_csv
    emu = Emulator(speed=20.0)
    emu.add_scenario("calm", "ETHUSDT", seed=3, mid="2680.00", tick="0.01", step="0.0001")
    emu.add_agg_trades([path])
    await emu.start()
    try:
        await anyio.sleep(1.0)
        emu.pause()
        async with httpx.AsyncClient(base_url=emu.rest_url) as c:
            live = list(emu.market("ETHUSDT").agg_trades)
            assert live and live[0].id == trades[-1]["t"] + 1  # ids continue after the files
            r, rows = await _get(c, fromId=trades[-2]["t"], limit=3)
            assert [x["a"] for x in rows] == [trades[-2]["t"], trades[-1]["t"], live[0].id]
            r, rows = await _get(c, limit=len(live) + 2)
            assert [x["a"] for x in rows] == [trades[-2]["t"], trades[-1]["t"]] + [t.id for t in live]
    finally:
        await emu.stop()


def test_bad_trade_files(tmp_path):
    emu = Emulator()
    nameless = tmp_path / "trades.json"
    nameless.write_text(json.dumps([{"a": 1, "p": "1.0", "q": "1.0", "T": 5, "m": False}]))
    with pytest.raises(InvalidInputError, match="names no symbol; pass it as SYMBOL="):
        emu.add_agg_trades([nameless])
    bad = tmp_path / "ETHUSDT-aggTrades-x.csv"
    bad.write_text("1,2.0,1.0,1,1,1700000000000,True,True\n2,2.0,oops,2,2,1700000000001,True,True\n")
    with pytest.raises(InvalidInputError, match=f"{bad}:2: bad aggTrade row"):
        emu.add_agg_trades([bad])
    clash = tmp_path / "ETHUSDT-aggTrades-y.csv"
    clash.write_text("1,2.0,1.0,1,1,1700000000000,True,True\n1,3.0,1.0,1,1,1700000000000,True,True\n")
    with pytest.raises(InvalidInputError, match="id 1 appears twice"):
        emu.add_agg_trades([clash])


def test_command_line_serves_the_files(eth_csv, tmp_path):
    path, trades = eth_csv
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen([sys.executable, "-m", "obcore.emulator", "--agg-trades", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        urls = json.loads(proc.stdout.readline())
        assert urls["symbols"] == ["ETHUSDT"]
        rows = httpx.get(urls["rest_url"] + "/api/v3/aggTrades",
                         params={"symbol": "ETHUSDT", "fromId": trades[0]["t"], "limit": 2}, timeout=10).json()
        assert [r["a"] for r in rows] == [trades[0]["t"], trades[1]["t"]]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    done = subprocess.run([sys.executable, "-m", "obcore.emulator", "--agg-trades", f"ETHUSDT={bad}"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and f"{bad}:1:" in done.stderr
