"""The live capture loop: one snapshot per tracked symbol per completed second."""

from __future__ import annotations

import asyncio

import numpy as np

from obcore.replay import replay
from obcore.store import SnapshotStore
from obcore.store.capture import capture_once, capture_snapshots


def _replayed_session(eth_files, seconds: int):
    sessions: dict = {}
    start = None
    for step in replay(eth_files, sessions=sessions):
        if step.applied:
            second = step.session.counters.last_second
            start = second if start is None else start
            if second - start >= seconds:
                break
    return sessions["ETHUSDT"], start


def test_capture_once_stores_the_session_as_it_stands(tmp_path, eth_files):
    session, start = _replayed_session(eth_files, 3)
    store = SnapshotStore.open(tmp_path / "snapshots")
    try:
        second = session.counters.last_second - 1
        assert capture_once(store, [session], second) == 1
        assert capture_once(store, [session], second + 5) == 0  # not over yet: skipped
        store.flush()
        arrays = store.range("ETHUSDT", second, second + 1)
        assert arrays.time_s.tolist() == [second]
        bid_prices, bid_qtys, _, _ = session.book.top(20)
        assert np.array_equal(arrays.bid_prices[0, : len(bid_prices)], bid_prices)
        assert np.array_equal(arrays.counters[0], session.counters.window(second, 1)[:, 0])
    finally:
        store.close()


def test_capture_loop_runs_each_second(tmp_path, eth_files):
    session, _ = _replayed_session(eth_files, 6)
    store = SnapshotStore.open(tmp_path / "snapshots")
    newest = session.counters.last_second
    ticks = iter(range(10))

    def clock() -> float:
        return 1_000.99 + next(ticks, 9)  # each pass sleeps ~0.06 s of real time

    async def run() -> None:
        task = asyncio.create_task(capture_snapshots(store, lambda: [session], delay=0.0, clock=clock))
        await asyncio.sleep(0.3)
        task.cancel()

    try:
        asyncio.run(run())
        store.flush()
        arrays = store.range("ETHUSDT", newest - 10, newest + 1)
        # The first pass captures the newest closed second; the data does not move after that.
        assert arrays.time_s.tolist() == [newest - 1]
    finally:
        store.close()
