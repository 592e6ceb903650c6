"""Charts bench: render time of each PNG and what the first chart costs in import time.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest -q bench/bench_charts.py -s``.
Targets: ≤ 300 ms for a 24-h volume profile and a 30-min depth heatmap.

Inputs (built before timing, not timed): the 24-h profile is 2 M synthetic ETHUSDT-like
trades (±1-tick random walk from 2680.00 over 24 h) profiled by SPEC's bin rule (~100
bins); the heatmap reads 1800 synthetic 1-s snapshots (``obcore.store._synthetic``,
20 levels per side) back from a real store, and its figure includes building the
time × price grid; order flow is the bundled ETHUSDT recording's last 300 s, counters
taken from the replayed session. The import cost is measured in fresh interpreters
(median of 5): ``import obcore.charts`` alone, and the first ``volume_profile_png`` call
(which imports matplotlib) minus a later call in the same process.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from obcore.analytics import TradeArrays, volume_profile
from obcore.charts import (depth_heatmap_png, flow_counters_from_session, order_flow_png, png_size,
                           volume_profile_png)

ROOT = Path(__file__).resolve().parents[1]
ETH = sorted((ROOT / "src" / "obmcp" / "data" / "binance-ethusdt-2024-08-09").glob("*.gz"))
START_S = 1_723_161_600
TABLE: dict[str, str] = {}


@functools.cache
def day_profile():
    n = 2_000_000
    rng = np.random.default_rng(20240809)
    price = (268_000 + np.cumsum(rng.integers(-1, 2, n))).astype(np.int64)
    time_ms = np.linspace(START_S * 1000, (START_S + 86_400) * 1000 - 1, n).astype(np.int64)
    trades = TradeArrays(price, rng.integers(1, 50_000, n).astype(np.int64), time_ms,
                         np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8), np.arange(n, dtype=np.int64), 2, 4)
    return volume_profile(trades, "0.01", start_ms=START_S * 1000, end_ms=(START_S + 86_400) * 1000)


@pytest.fixture(scope="module")
def heatmap_arrays(tmp_path_factory):
    from obcore.store import SnapshotStore
    from obcore.store._synthetic import synthetic_snapshots

    store = SnapshotStore.open(tmp_path_factory.mktemp("bench") / "db", maintenance_interval_s=3600.0)
    for snap in synthetic_snapshots("BTCUSDT", START_S, 1800, seed=5):
        store.put(snap)
    store.flush()
    arrays = store.range("BTCUSDT", START_S, START_S + 1800)
    store.close()
    return arrays


@pytest.fixture(scope="module")
def replayed_flow():
    from obcore.analytics.flow import order_flow
    from obcore.replay import replay

    sessions: dict = {}
    for _ in replay(ETH, sessions=sessions):
        pass
    session = sessions["ETHUSDT"]
    flow = order_flow(session, 300, now_ms=session.last_event_time_ms)
    return flow, flow_counters_from_session(session, flow)


def _record(name: str, benchmark, png: bytes) -> None:
    assert png_size(png) == (800, 500)
    TABLE[name] = f"{benchmark.stats.stats.median * 1000:.0f} ms, {len(png) // 1024} KB"


def test_profile_24h(benchmark):
    profile = day_profile()
    volume_profile_png(profile, "ETHUSDT", last_price=profile.poc_price)  # matplotlib imported, fonts cached
    png = benchmark.pedantic(volume_profile_png, args=(profile, "ETHUSDT"), kwargs={"last_price": profile.poc_price},
                             rounds=10, iterations=1)
    _record(f"volume profile, 24 h ({profile.n_bins} bins, {profile.trade_count:,} trades)", benchmark, png)


def test_heatmap_30min(benchmark, heatmap_arrays):
    depth_heatmap_png(heatmap_arrays, START_S, 1800)
    png = benchmark.pedantic(depth_heatmap_png, args=(heatmap_arrays, START_S, 1800), rounds=10, iterations=1)
    _record("depth heatmap, 30 min (1800 snapshots × 40 levels), grid + render", benchmark, png)


def test_order_flow_300s(benchmark, replayed_flow):
    flow, counters = replayed_flow
    order_flow_png(flow, counters, "ETHUSDT")
    png = benchmark.pedantic(order_flow_png, args=(flow, counters, "ETHUSDT"), rounds=10, iterations=1)
    _record("order flow, 300 s (real ETHUSDT replay)", benchmark, png)


_FIRST_CHART = """
import json, time
t0 = time.perf_counter()
import obcore.charts
t1 = time.perf_counter()
import numpy as np
from obcore.analytics import TradeArrays, volume_profile
n = 20000
rng = np.random.default_rng(1)
trades = TradeArrays((268000 + np.cumsum(rng.integers(-1, 2, n))).astype(np.int64), np.ones(n, dtype=np.int64),
                     np.arange(n, dtype=np.int64) + 1723161600000, np.ones(n, dtype=np.int8), np.arange(n), 2, 4)
profile = volume_profile(trades, "0.01")
t2 = time.perf_counter()
obcore.charts.volume_profile_png(profile, "X")
t3 = time.perf_counter()
obcore.charts.volume_profile_png(profile, "X")
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t3 - t2, "second": t4 - t3}))
"""


def test_first_chart_import_cost():
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", _FIRST_CHART], check=True, capture_output=True, text=True,
                             env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
        runs.append(json.loads(out.stdout))
    imp = statistics.median(r["import"] for r in runs) * 1000
    first = statistics.median(r["first"] for r in runs) * 1000
    second = statistics.median(r["second"] for r in runs) * 1000
    TABLE["`import obcore.charts` (fresh interpreter; matplotlib not loaded)"] = f"{imp:.0f} ms"
    TABLE["first chart in a process (imports matplotlib) / a later one"] = f"{first:.0f} ms / {second:.0f} ms"
    TABLE["so the first chart costs extra"] = f"{first - second:.0f} ms"


def teardown_module() -> None:
    print("\n| chart bench | median |\n|---|---:|")
    for name, value in TABLE.items():
        print(f"| {name} | {value} |")
