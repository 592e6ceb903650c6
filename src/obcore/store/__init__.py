"""obcore.store: 1-second snapshots of every tracked book in embedded RocksDB.

::

    from obcore.store import SnapshotStore, snapshot_of

    store = SnapshotStore.open("data/snapshots")          # 7-day retention, 1 GB cap
    store.put(snapshot_of(session, second))               # non-blocking, from the event loop
    arrays = store.range("ETHUSDT", start_s, end_s)       # SnapshotArrays (numpy)
    store.close()

Layout, format and figures: ``obcore.store.codec`` (block format), ``obcore.store.keys``
(key layout), ``python -m obcore.store --help`` (stats / export / import CLI).
"""

from __future__ import annotations

from obcore.store.snapshot import DEPTH, Snapshot, SnapshotArrays, snapshot_of
from obcore.store.store import SnapshotStore

__all__ = ["DEPTH", "Snapshot", "SnapshotArrays", "SnapshotStore", "snapshot_of"]
