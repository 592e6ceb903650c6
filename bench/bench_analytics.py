"""Analytics bench: volume profile of 10 M trades (bins + POC + value area) — ours vs numpy
(``bincount`` + the value-area walk) vs the PyPI ``MarketProfile`` package — order
flow over a 300-s window, and (analytics II) the anomaly detectors and the health score
over a 300-s window with one hour of baseline built from the real ETHUSDT replay.

Run: ``PYTHONPATH=src .venv/bin/python -m pytest -q bench/bench_analytics.py -s`` (``-s``
prints the table; ``--benchmark-only`` leaves out the HTTP p50 run, which times itself).
Targets: profile ≤ 30 ms, order flow ≤ 1 ms, each tool's p50 ≤ 5 ms when no back-fill is
needed. Tool calls: in process through ``MCPServer.call_tool``, and over Streamable HTTP
(real sockets, in-process Hypercorn; the httpx client shares the process, so its own cost
is in the figure).

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


# ------------------------------------------------------------------ tool calls
def _tool_server():
    """The MCP server with a replayed ETHUSDT session (order flow) and a 2-h aggTrade tape
    of synthetic trades (profile without back-fill)."""
    from obmcp.backend import Backend
    from obmcp.config import ServerSettings
    from obmcp.server import build_server

    from obcore.session import BookSession

    class Streams:  # the part of StreamManager the analytics tools use
        def __init__(self, sessions):
            self.sessions = sessions

        async def track(self, symbol):
            return self.sessions[symbol]

    tape = BookSession("SYNUSDT")
    rng = np.random.default_rng(7)
    price = 268_000 + np.cumsum(rng.integers(-1, 2, 20_000))
    start = 1_723_161_600_000
    for i, p in enumerate(price.tolist()):
        tape.receive({"e": "aggTrade", "E": start + i * 360, "s": "SYNUSDT", "a": i + 1, "p": f"{p / 100:.2f}",
                      "q": f"{int(rng.integers(1, 5000)) / 1000:.3f}", "f": i + 1, "l": i + 1, "T": start + i * 360,
                      "m": bool(i % 3), "M": True})
    backend = Backend(streams=Streams({"ETHUSDT": eth_session(), "SYNUSDT": tape}))
    return build_server(ServerSettings(), backend), start + 20_000 * 360


TOOL_CALLS = 100


@pytest.mark.parametrize("tool", ["order_flow_300s", "volume_profile_1h_summary", "volume_profile_1h_full"])
def test_tool_call_in_process(benchmark, tool):
    import anyio

    _numba.warm_up()
    server, tape_end = _tool_server()
    name, args = {
        "order_flow_300s": ("binance_get_order_flow", {"symbol": "ETHUSDT", "window_duration_secs": 300}),
        "volume_profile_1h_summary": ("binance_get_volume_profile", {"symbol": "SYNUSDT", "duration_hours": 1,
                                                                     "as_of": tape_end, "tick_size": "0.01"}),
        "volume_profile_1h_full": ("binance_get_volume_profile", {"symbol": "SYNUSDT", "duration_hours": 1,
                                                                  "as_of": tape_end, "tick_size": "0.01",
                                                                  "detail": "full"}),
    }[tool]

    def calls():
        async def run():
            result = None
            for _ in range(TOOL_CALLS):
                result = await server.call_tool(name, args)
            return result

        return anyio.run(run)

    calls()
    result = benchmark.pedantic(calls, rounds=10)
    assert not result.is_error, result.content
    TABLE[f"tool call in process: {tool} ({name})"] = (
        benchmark.stats.stats.median / TOOL_CALLS * 1000, "per call: validation + service + summary + dump")


def test_tool_p50_over_http():
    """p50 of each analytics tool over Streamable HTTP (real sockets, in-process Hypercorn)."""
    import statistics
    import time

    import anyio
    import httpx

    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from obmcp.config import ServerSettings
    from tests.obmcp.conftest import running_http

    _numba.warm_up()
    server, tape_end = _tool_server()
    backend = server.tool_context.backend
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}
    calls = {
        "get_order_flow (300 s)": {"name": "binance_get_order_flow",
                                   "arguments": {"symbol": "ETHUSDT", "window_duration_secs": 300}},
        "get_volume_profile (1 h, summary, no back-fill)": {
            "name": "binance_get_volume_profile",
            "arguments": {"symbol": "SYNUSDT", "duration_hours": 1, "as_of": tape_end, "tick_size": "0.01"}},
    }

    async def run() -> dict[str, float]:
        out = {}
        async with running_http(ServerSettings(), backend) as url, httpx.AsyncClient(timeout=30) as http:
            r = await http.post(url, json=init, headers=headers)
            session = {**headers, "mcp-session-id": r.headers["mcp-session-id"],
                       "mcp-protocol-version": "2025-11-25"}
            await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
            for label, params in calls.items():
                times = []
                for i in range(300):
                    body = {"jsonrpc": "2.0", "id": i + 2, "method": "tools/call", "params": params}
                    started = time.perf_counter()
                    r = await http.post(url, json=body, headers=session)
                    times.append(time.perf_counter() - started)
                    answer = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
                    assert r.status_code == 200 and answer is not None and not answer["result"].get("isError"), r.text[:300]
                out[label] = statistics.median(times[50:]) * 1000
        return out

    for label, ms in anyio.run(run).items():
        TABLE[f"tool p50 over HTTP: {label}"] = (ms, "target ≤ 5 ms; in-process Hypercorn, HTTP/1.1, JSON answers")


# ------------------------------------------------- anomalies, health (analytics II)
@functools.cache
def hour_of_eth():
    """One hour of per-second inputs built from the real ETHUSDT replay (651 s) repeated:
    the counter ring, the refill ring (times shifted per copy) and the 1-s book series —
    so a 300-s window has the 10-min baseline the detectors need."""
    from obcore._kernels import _layout
    from obcore.analytics.anomalies import BookSeries
    from obcore.store.recorded import snapshots_from_recording

    rows = list(snapshots_from_recording(ETH))
    session = eth_session()
    ring = session.counters
    end = ring.last_second
    real = np.array(ring.window(end, ring.capacity))
    held = np.flatnonzero(real[_layout.MESSAGES] > 0)
    real = real[:, held[0]:]
    span = real.shape[1]
    copies = -(-3600 // span)
    counters = np.tile(real, copies)[:, -3600:]
    refills = session.refills.latest()
    parts = []
    for k in range(copies):
        part = refills.copy()
        part[_layout.REFILL_TIME] += (k - copies + 1) * span * 1000
        parts.append(part)
    refills = np.concatenate(parts, axis=1)
    refills = refills[:, refills[_layout.REFILL_TIME] > (end - 3600) * 1000]
    t = np.array([r.time_s for r in rows])
    book = BookSeries(np.concatenate([t + (k - copies + 1) * span for k in range(copies)]),
                      np.tile(np.array([r.spread or 0 for r in rows]), copies),
                      np.tile(np.array([r.bid_depth + r.ask_depth for r in rows]), copies),
                      np.tile(np.array([r.best_bid or 0 for r in rows]), copies),
                      np.tile(np.array([r.best_ask or 0 for r in rows]), copies))
    return session, end, counters, refills, book


def test_anomalies_300s(benchmark):
    from obcore.analytics.anomalies import detect_anomalies

    session, end, counters, refills, book = hour_of_eth()

    def run():
        return detect_anomalies("ETHUSDT", counters, end, 300, refills=refills, refill_history_start_s=end - 3599,
                                book=book, price_scale=session.price_scale, qty_scale=session.qty_scale)

    report = run()
    assert all(b["status"] == "known" for b in report.baselines.values()), report.baselines
    assert report.anomalies == ()
    benchmark(run)
    _note(benchmark, "detect_anomalies, 300-s window, 1 h of baseline (3 detectors)",
          f"{refills.shape[1]} refills, {book.time_s.shape[0]} snapshots; target ≤ 1 ms")


@pytest.mark.parametrize("detector", ["quote_stuffing", "iceberg", "flash_crash"])
def test_each_detector_300s(benchmark, detector):
    from obcore.analytics import anomalies as a

    session, end, counters, refills, book = hour_of_eth()
    calls = {
        "quote_stuffing": lambda: a._quote_stuffing(counters, end, 300, 600, book, session.price_scale),
        "iceberg": lambda: a._iceberg(refills, end, 300, end - 3599, 600, session.price_scale, session.qty_scale),
        "flash_crash": lambda: a._flash_crash(counters, end, 300, book, 600, session.price_scale),
    }
    found, info = calls[detector]()
    assert info["status"] == "known" and found == []
    benchmark(calls[detector])
    _note(benchmark, f"detector {detector}, 300-s window, 1 h baseline", "target ≤ 1 ms")


def test_health(benchmark):
    from obcore.analytics.health import microstructure_health

    session, end, counters, refills, book = hour_of_eth()
    result = microstructure_health("ETHUSDT", counters, book=book)
    assert result.score is not None and all(c["value"] is not None for c in result.components.values())
    benchmark(microstructure_health, "ETHUSDT", counters, book=book)
    _note(benchmark, "microstructure health, 1 h of counters + snapshots", "target ≤ 1 ms")
