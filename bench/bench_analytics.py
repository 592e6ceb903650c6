"""Analytics bench: volume profile of 10 M trades (bins + POC + value area) — ours vs numpy
(``bincount`` + the value-area walk) vs the PyPI ``MarketProfile`` package — and order
flow over a 300-s window.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest -q bench/bench_analytics.py --benchmark-only -s``
(``-s`` prints the table). Targets: profile ≤ 30 ms, order flow ≤ 1 ms.

Trades: 10 M synthetic ETHUSDT-like trades — the price a random walk of ±1 tick (0.01)
from 2680.00, quantities drawn from the real recorded ETHUSDT trade sizes, sides from
the real ``m`` flags — so the histogram has ~100 bins, as on a real day. Every
implementation gets the same arrays; JIT compilation happens before timing. The Python
twin runs on the first 200 000 trades (its row says so). Order flow: the real ETHUSDT
recording replayed through ``BookSession``; the window is its last 300 s.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from obcore._kernels import _numba, _profile, _profile_py
from obcore.analytics import TradeArrays, order_flow, volume_profile
from obcore.analytics.tradefiles import read_trades

DATA = Path(__file__).parents[1] / "data"
ETH = sorted((DATA / "binance-ethusdt-2024-08-09").glob("*.gz"))
N_TRADES = 10_000_000
TWIN_SLICE = 200_000
TABLE: dict[str, tuple[float, str]] = {}


@functools.cache
def ten_million() -> TradeArrays:
    real = read_trades(ETH)
    rng = np.random.default_rng(20240809)
    steps = rng.integers(-1, 2, N_TRADES)
    price = (268_000 + np.cumsum(steps)).astype(np.int64)
    pick = rng.integers(0, len(real), N_TRADES)
    return TradeArrays(price, real.qty[pick], np.arange(N_TRADES, dtype=np.int64) + 1_723_161_600_000,
                       real.side[pick], np.arange(N_TRADES, dtype=np.int64), real.price_scale, real.qty_scale)


def numpy_profile(prices: np.ndarray, qtys: np.ndarray, tick: int):
    """The numpy peer: same bin rule, ``np.bincount`` (float64 weights), Python VA walk."""
    low, high = int(prices.min()), int(prices.max())
    size = max(10, -(-(high - low) // (100 * tick))) * tick
    first = low // size
    volumes = np.bincount(prices // size - first, weights=qtys)
    poc = int(np.argmax(volumes))
    total = volumes.sum()
    lo = hi = poc
    area = volumes[poc]
    while area < 0.7 * total:
        below = volumes[lo - 1] if lo > 0 else -1.0
        above = volumes[hi + 1] if hi < len(volumes) - 1 else -1.0
        if above >= below:
            hi += 1
            area += above
        else:
            lo -= 1
            area += below
    return (first + poc) * size, (first + lo) * size, (first + hi + 1) * size, volumes


def _note(benchmark, name: str, unit_note: str = "") -> None:
    TABLE[name] = (benchmark.stats.stats.median * 1000, unit_note)


@pytest.fixture(scope="module", autouse=True)
def _print_table():
    yield
    if TABLE:
        print("\n| analytics bench | median ms | note |\n|---|---:|---|")
        for name, (ms, note) in TABLE.items():
            print(f"| {name} | {ms:.2f} | {note} |")


def test_profile_ours(benchmark):
    trades = ten_million()
    _numba.warm_up()
    volume_profile(trades, "0.01")
    result = benchmark(volume_profile, trades, "0.01")
    peer = numpy_profile(trades.price, trades.qty, 1)
    assert (result.poc_price, result.value_area_low, result.value_area_high) == peer[:3]
    assert result.volumes.tolist() == peer[3].astype(np.int64).tolist()  # volumes < 2**53: float exact here
    _note(benchmark, f"volume profile, ours ({_profile.IMPLEMENTATION}), 10 M trades", f"{result.n_bins} bins; target ≤ 30 ms")


def test_profile_ours_kernels_only(benchmark):
    trades = ten_million()
    size = volume_profile(trades, "0.01").bin_size
    first = int(trades.price.min()) // size
    n = int(trades.price.max()) // size - first + 1

    def kernels():
        volumes = np.zeros(n, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        _profile.bin_trades(trades.price, trades.qty, first, size, volumes, counts)
        _profile.value_area(volumes, np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64))

    benchmark(kernels)
    _note(benchmark, "volume profile, ours: bin_trades + value_area kernels only", "no range pass, no vacuums")


def test_profile_numpy(benchmark):
    trades = ten_million()
    benchmark(numpy_profile, trades.price, trades.qty, 1)
    _note(benchmark, "volume profile, numpy bincount + VA walk, 10 M trades", "float64 volumes")


def test_profile_python_twin(benchmark):
    trades = ten_million()
    prices, qtys = trades.price[:TWIN_SLICE], trades.qty[:TWIN_SLICE]
    first = int(prices.min()) // 10
    n = int(prices.max()) // 10 - first + 1

    def twin():
        volumes = np.zeros(n, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        _profile_py.bin_trades(prices, qtys, first, 10, volumes, counts)
        _profile_py.value_area(volumes, np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64))

    benchmark.pedantic(twin, rounds=3, iterations=1)
    _note(benchmark, f"volume profile kernels, Python twin, {TWIN_SLICE:,} trades", "×50 for 10 M")


def test_profile_marketprofile(benchmark):
    market_profile = pytest.importorskip("market_profile")
    import pandas as pd

    trades = ten_million()
    frame = pd.DataFrame({"Close": trades.price / 100.0, "Volume": trades.qty / 10.0 ** trades.qty_scale},
                         index=pd.to_datetime(trades.time_ms, unit="ms"))
    profile = market_profile.MarketProfile(frame, tick_size=0.12, mode="vol")

    def run():
        built = profile[frame.index[0] : frame.index[-1]]
        return built.poc_price, built.value_area

    benchmark.pedantic(run, rounds=1, iterations=1)
    _note(benchmark, "volume profile, MarketProfile 0.2.0 (pandas), 10 M trades", "row size 0.12, float bins")


@functools.cache
def eth_session():
    from obcore.replay import replay

    sessions: dict = {}
    for _ in replay(ETH, sessions=sessions):
        pass
    return sessions["ETHUSDT"]


def test_order_flow_300s(benchmark):
    session = eth_session()
    now = session.last_event_time_ms
    order_flow(session, 300, now_ms=now)
    result = benchmark(order_flow, session, 300, now_ms=now)
    assert result.seconds_covered == 300 and result.bid_additions > 0
    _note(benchmark, "order flow, live session, 300-s window (ETHUSDT replay)", "target ≤ 1 ms")


def test_order_flow_300s_to_dict(benchmark):
    session = eth_session()
    now = session.last_event_time_ms
    benchmark(lambda: order_flow(session, 300, now_ms=now).to_dict())
    _note(benchmark, "order flow + JSON-ready dict (with the 300-point CVD)", "what a tool serializes")
