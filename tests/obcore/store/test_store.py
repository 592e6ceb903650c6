"""SnapshotStore: writes through the writer thread, range reads, retention, cap, lock, modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from obcore.errors import StorageLimitExceededError, StoreError, StoreLockedError
from obcore.store import SnapshotStore
from obcore.store._synthetic import synthetic_snapshots
from obcore.store.keys import data_key, parse_data_key

START = 1_723_161_600  # a multiple of every block length used here


def _assert_same(arrays, snapshots):
    assert arrays.time_s.tolist() == [s.time_s for s in snapshots]
    for index, snapshot in enumerate(snapshots):
        assert arrays.row(index).equals(snapshot.at_scales(arrays.price_scale, arrays.qty_scale)), index


def test_put_flush_range_round_trip_across_blocks(open_store):
    store = open_store(block_seconds=60)
    btc = list(synthetic_snapshots("BTCUSDT", START, 250, seed=1))
    eth = list(synthetic_snapshots("ETHUSDT", START, 250, seed=2, gap_every=5))
    for snapshot in btc + eth:
        assert store.put(snapshot)
    store.flush()
    assert store.stats.written == len(btc) + len(eth) and store.stats.dropped == 0
    _assert_same(store.range("BTCUSDT", START, START + 250), btc)
    _assert_same(store.range("ETHUSDT", START, START + 250), eth)
    window = store.range("BTCUSDT", START + 55, START + 125)  # straddles two block edges
    _assert_same(window, btc[55:125])
    assert len(store.range("BTCUSDT", START + 1000, START + 2000)) == 0
    assert len(store.range("XRPUSDT", START, START + 10)) == 0
    assert sorted(store.symbols()) == ["BTCUSDT", "ETHUSDT"]


def test_symbol_prefixes_do_not_collide(open_store):
    store = open_store(block_seconds=60)
    short = list(synthetic_snapshots("ETHBTC", START, 30, seed=3))
    longer = list(synthetic_snapshots("ETHBTCX", START, 30, seed=4))
    for a, b in zip(short, longer):
        store.put(a)
        store.put(b)
    store.flush()
    _assert_same(store.range("ETHBTC", START, START + 30), short)
    _assert_same(store.range("ETHBTCX", START, START + 30), longer)
    assert parse_data_key(data_key("ETHBTC", 60)) == ("ETHBTC", 60)


def test_reopen_continues_a_partial_block(tmp_path):
    snapshots = list(synthetic_snapshots("BTCUSDT", START, 100, seed=5))
    with SnapshotStore.open(tmp_path / "db", block_seconds=300) as store:
        for snapshot in snapshots[:40]:
            store.put(snapshot)
    with SnapshotStore.open(tmp_path / "db") as store:
        assert store.block_seconds == 300
        for snapshot in snapshots[40:]:
            store.put(snapshot)
        store.flush()
        _assert_same(store.range("BTCUSDT", START, START + 100), snapshots)


def test_write_now_and_a_full_queue_drops_without_blocking(open_store):
    store = open_store(queue_size=1)
    snapshots = list(synthetic_snapshots("BTCUSDT", START, 300, seed=6))
    results = [store.put(s) for s in snapshots]
    store.flush()
    stats = store.stats
    assert stats.dropped == results.count(False)
    assert stats.written == results.count(True)
    assert stats.written + stats.dropped == len(snapshots)
    extra = next(synthetic_snapshots("ADAUSDT", START, 1, seed=7))
    store.write_now(extra)
    _assert_same(store.range("ADAUSDT", START, START + 1), [extra])


def test_retention_deletes_old_blocks(open_store):
    store = open_store(block_seconds=10, retention_s=30)
    snapshots = list(synthetic_snapshots("BTCUSDT", START, 100, seed=8))
    for snapshot in snapshots:
        store.put(snapshot)
    store.flush()
    deleted = store.apply_retention()
    # newest second is START + 99: blocks ending at or before START + 69 go.
    assert deleted == 7
    kept = store.range("BTCUSDT", START, START + 100)
    assert kept.time_s[0] == START + 70
    _assert_same(kept, snapshots[70:])


def test_size_cap_refuses_writes_and_keeps_reads(open_store):
    store = open_store(block_seconds=300, max_bytes=1_400_000)
    stream = synthetic_snapshots("BTCUSDT", START, 20_000, seed=9)
    refused_at = None
    for index, snapshot in enumerate(stream):
        if not store.put(snapshot):
            refused_at = index
            break
        if index % 50 == 0:
            store.flush()
    assert refused_at is not None, "the cap was never reached"
    assert store.over_limit and store.stats.refused >= 1
    with pytest.raises(StorageLimitExceededError, match="cap of 1400000 bytes") as info:
        store.write_now(snapshot)
    assert info.value.code == "storage_limit_exceeded"
    assert len(store.range("BTCUSDT", START, START + 20_000)) > 0


def test_second_process_gets_store_locked(open_store, tmp_path):
    open_store("locked")
    code = (
        "import sys\n"
        "from obcore.store import SnapshotStore\n"
        "from obcore.errors import StoreLockedError\n"
        "try:\n"
        f"    SnapshotStore.open({str(tmp_path / 'locked')!r}, warm=False)\n"
        "except StoreLockedError as exc:\n"
        "    print('LOCKED', exc.code, exc)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.startswith("LOCKED store_locked"), out.stderr
    assert "already open in another process" in out.stdout
    # In the same process, too
    with pytest.raises(StoreLockedError):
        SnapshotStore.open(tmp_path / "locked", warm=False)


def test_read_only_open_reads_a_live_store(open_store, tmp_path):
    store = open_store("live")
    snapshots = list(synthetic_snapshots("BTCUSDT", START, 20, seed=10))
    for snapshot in snapshots:
        store.put(snapshot)
    store.flush()
    with SnapshotStore.open(tmp_path / "live", read_only=True) as reader:
        _assert_same(reader.range("BTCUSDT", START, START + 20), snapshots)
        with pytest.raises(StoreError, match="read-only"):
            reader.put(snapshots[0])


def test_directory_and_files_are_private(open_store, tmp_path):
    store = open_store("private")
    for snapshot in synthetic_snapshots("BTCUSDT", START, 20):
        store.put(snapshot)
    store.flush()
    store.maintain({})
    assert stat.S_IMODE(os.stat(tmp_path / "private").st_mode) == 0o700
    modes = {entry.name: stat.S_IMODE(entry.stat().st_mode) for entry in os.scandir(tmp_path / "private")}
    assert modes and all(mode == 0o600 for mode in modes.values()), modes


def test_closed_store_and_bad_arguments(tmp_path):
    with pytest.raises(Exception, match="retention_s must be > 0, got 0"):
        SnapshotStore.open(tmp_path / "x", retention_s=0)
    store = SnapshotStore.open(tmp_path / "y", warm=False)
    with pytest.raises(Exception, match=r"time range \[10, 5\)"):
        store.range("BTCUSDT", 10, 5)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.range("BTCUSDT", 0, 5)


def test_reads_are_fast_enough_to_notice_regressions(open_store):
    # Not a benchmark (see bench/bench_store.py): a loose sanity bound only.
    store = open_store()
    for snapshot in synthetic_snapshots("BTCUSDT", START, 900, seed=12):
        store.put(snapshot)
    store.flush()
    store.range("BTCUSDT", START, START + 300)
    began = time.perf_counter()
    arrays = store.range("BTCUSDT", START + 300, START + 600)
    assert time.perf_counter() - began < 0.5
    assert len(arrays) == 300 and np.all(np.diff(arrays.time_s) == 1)
