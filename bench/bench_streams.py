"""Stream-manager recovery figures against the local emulator (real sockets, 127.0.0.1).

- silent-stream detection: time from the emulator going silent (``stall``) to the
  watchdog closing the link, for a given ``watchdog_seconds``;
- back in sync after a drop: time from ``disconnect_all`` to our book being LIVE and equal
  to the emulator's true book, level for level (includes the reconnect backoff);
- planned rotation: rotations done and gaps/resyncs caused (must be zero).

Run ``python bench/bench_streams.py`` for a printed table, or under pytest-benchmark
(``make bench``) for timing statistics.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from obcore.client import BinanceClient  # noqa: E402
from obcore.emulator import Emulator  # noqa: E402
from obcore.numbers import parse_decimal  # noqa: E402
from obcore.session import SyncState  # noqa: E402
from obcore.streams import StreamManager  # noqa: E402

__all__ = ["measure_drop_resync", "measure_rotation", "measure_stall_detection"]

ETH = ROOT / "data" / "binance-ethusdt-2024-08-09" / "ethusdt_20240808.gz"


async def _matches_truth(emu: Emulator, session, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last_update_id, bids, asks = emu.true_book(session.symbol)
        if session.state is SyncState.LIVE and session.last_update_id == last_update_id:
            ps, qs = session.price_scale, session.qty_scale
            bp, bq, ap, aq = session.book.top(max(1, len(bids), len(asks), session.book.bid_count, session.book.ask_count))
            return list(zip(bp.tolist(), bq.tolist())) == [(parse_decimal(p, ps), parse_decimal(q, qs)) for p, q in bids] \
                and list(zip(ap.tolist(), aq.tolist())) == [(parse_decimal(p, ps), parse_decimal(q, qs)) for p, q in asks]
        await asyncio.sleep(0.002)
    return False


async def _with_manager(scenario, **options):
    emu = Emulator(speed=2.0)
    emu.add_replay([ETH])
    async with emu, BinanceClient(emu.rest_url) as rest:
        async with StreamManager(rest, ws_url=emu.ws_url, **options) as manager:
            session = await manager.track("ETHUSDT")
            await manager.wait_live("ETHUSDT", 10)
            return await scenario(emu, manager, session)


def measure_stall_detection(watchdog_seconds: float = 1.0) -> float:
    """Seconds from the stream going silent to the watchdog closing the link."""

    async def scenario(emu, manager, session):
        emu.faults.stall(watchdog_seconds * 3)
        t0 = time.monotonic()
        while manager.health()["connections"][0]["watchdog_closes"] < 1:
            await asyncio.sleep(0.005)
        return time.monotonic() - t0

    return asyncio.run(_with_manager(scenario, watchdog_seconds=watchdog_seconds, backoff_base=0.05))


def measure_drop_resync(backoff_base: float = 1.0) -> float:
    """Seconds from a dropped connection to a LIVE book equal to the true book."""

    async def scenario(emu, manager, session):
        emu.faults.disconnect_all()
        t0 = time.monotonic()
        while manager.health()["connections"][0]["reconnects"] < 1:
            await asyncio.sleep(0.002)
        if not await _matches_truth(emu, session, 30):
            raise AssertionError("book did not come back in sync")
        return time.monotonic() - t0

    return asyncio.run(_with_manager(scenario, backoff_base=backoff_base))


def measure_rotation(age_s: float = 1.0, seconds: float = 6.0) -> dict[str, int]:
    """Rotations in ``seconds`` with a shortened connection age, and the gaps they caused."""

    async def scenario(emu, manager, session):
        await asyncio.sleep(seconds)
        matches = await _matches_truth(emu, session, 5)
        return {
            "rotations": manager.health()["connections"][0]["rotations"],
            "gaps": session.gap_count,
            "resyncs": session.resync_count,
            "book_equals_truth": int(matches),
        }

    return asyncio.run(_with_manager(scenario, max_connection_age=age_s, backoff_base=0.05))


# -- pytest-benchmark entry points ----------------------------------------------------


def test_stall_detection(benchmark):
    latency = benchmark.pedantic(measure_stall_detection, args=(1.0,), rounds=3, iterations=1)
    assert 1.0 <= latency < 1.5


def test_drop_resync_fast_backoff(benchmark):
    latency = benchmark.pedantic(measure_drop_resync, args=(0.05,), rounds=3, iterations=1)
    assert latency < 2.0


def test_planned_rotation_zero_gaps(benchmark):
    result = benchmark.pedantic(measure_rotation, rounds=1, iterations=1)
    assert result["rotations"] >= 3 and result["gaps"] == 0 and result["resyncs"] == 0
    assert result["book_equals_truth"] == 1


if __name__ == "__main__":
    for watchdog in (1.0, 10.0):
        runs = [measure_stall_detection(watchdog) for _ in range(3)]
        print(f"stall detection, watchdog {watchdog:>4} s: median {statistics.median(runs):.3f} s "
              f"(excess over the watchdog {statistics.median(runs) - watchdog:.3f} s)")
    for base in (0.05, 1.0):
        runs = [measure_drop_resync(base) for _ in range(3)]
        print(f"drop -> back in sync (backoff base {base} s): median {statistics.median(runs):.3f} s, "
              f"runs {', '.join(f'{r:.3f}' for r in runs)}")
    print("planned rotation (age 1 s, 6 s):", measure_rotation())
