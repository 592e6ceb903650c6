"""kill -9 of a writing process: the store reopens intact, losing at most the last second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from obcore.store import SnapshotStore
from obcore.store._synthetic import synthetic_snapshots

START = 1_723_161_600
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")

WRITER = """
import sys, time
from obcore.store import SnapshotStore
from obcore.store._synthetic import synthetic_snapshots
store = SnapshotStore.open(sys.argv[1], block_seconds=60, warm=False)
streams = [synthetic_snapshots(symbol, {start}, 100000, seed=i) for i, symbol in enumerate({symbols})]
for second in range(100000):
    for stream in streams:
        store.put(next(stream))
    time.sleep(0.02)  # one "second" of the feed
    print(second, flush=True)
"""


def test_sigkill_mid_stream_loses_at_most_the_last_second(tmp_path):
    path = tmp_path / "crash"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    code = WRITER.format(start=START, symbols=SYMBOLS)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    last_printed = -1
    deadline = time.monotonic() + 60
    try:
        while last_printed < 150 and time.monotonic() < deadline:  # crosses two block edges
            line = proc.stdout.readline()
            if not line:
                break
            last_printed = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert last_printed >= 150, proc.stderr.read()
    with SnapshotStore.open(path) as store:
        for index, symbol in enumerate(SYMBOLS):
            arrays = store.range(symbol, START, START + 100_000)
            count = len(arrays)
            # contiguous from the start, nothing corrupt, at most the last printed second lost
            assert arrays.time_s.tolist() == list(range(START, START + count))
            assert count >= last_printed, f"{symbol}: {count} seconds stored, {last_printed + 1} fed"
            expected = list(synthetic_snapshots(symbol, START, count, seed=index))
            for row, snapshot in enumerate(expected):
                assert arrays.row(row).equals(snapshot.at_scales(arrays.price_scale, arrays.qty_scale)), row
            # and the store keeps working after the crash
            resumed = list(synthetic_snapshots(symbol, START, count + 5, seed=index))[count:]
            for snapshot in resumed:
                store.put(snapshot)
        store.flush()
        for index, symbol in enumerate(SYMBOLS):
            arrays = store.range(symbol, START, START + 100_000)
            assert arrays.time_s.tolist() == list(range(START, START + len(arrays)))
