"""The store's background writer: one thread, fed by a bounded queue, owning every open block.

Ingestion (the event loop) only ever does ``queue.put_nowait``: a full queue drops the
snapshot and counts it, a store over its size cap refuses it and counts it; nothing here
raises into the caller. The thread drains whatever is queued, adds each snapshot to its
symbol's open block and writes every touched block in one RocksDB ``WriteBatch`` (WAL
on), so a kill -9 loses only what was still queued (well under a second when the disk
keeps up). A block is rewritten as it grows (fast zstd) and rewritten once more with
strong zstd when the symbol moves on to the next block ("sealed").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rocksdict import WriteBatch

from obcore.errors import ObcoreError, StorageLimitExceededError
from obcore.store.codec import BlockBuilder
from obcore.store.keys import data_key
from obcore.store.snapshot import Snapshot

if TYPE_CHECKING:  # pragma: no cover
    from obcore.store.store import SnapshotStore

__all__ = ["OPEN_LEVEL", "SEALED_LEVEL", "StoreWriter", "WriterStats"]

log = logging.getLogger("obcore.store")

#: zstd level while a block is still growing (rewritten every second: cheap).
OPEN_LEVEL = 3
#: zstd level of a finished block (written once).
SEALED_LEVEL = 19
_DRAIN = 4096


@dataclass(slots=True)
class WriterStats:
    """Running totals of the writer (read without a lock; ints are updated atomically)."""

    written: int = 0  # snapshots written to RocksDB
    dropped: int = 0  # queue full: never reached the writer
    refused: int = 0  # store over its size cap
    rejected: int = 0  # invalid or failing snapshots (logged)
    batches: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Sync:
    """A marker in the queue: wake the caller once everything before it is written."""

    snapshot: Snapshot | None = None
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


_STOP = object()


class StoreWriter:
    """Background writer of one :class:`SnapshotStore` (created and owned by the store).

    Parameters
    ----------
    store : SnapshotStore
        The store whose database this thread writes.
    queue_size : int
        Capacity of the snapshot queue; :meth:`offer` drops when it is full.
    maintenance_interval_s : float
        Seconds between maintenance passes.
    """

    def __init__(self, store: "SnapshotStore", queue_size: int, maintenance_interval_s: float) -> None:
        self._store = store
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self.stats = WriterStats()
        self._builders: dict[str, BlockBuilder] = {}
        self._maintenance_interval_s = maintenance_interval_s
        self._next_maintenance = time.monotonic() + maintenance_interval_s
        self._thread = threading.Thread(target=self._run, name="obcore-store-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ----------------------------------------------------------------- producer side
    def offer(self, snapshot: Snapshot) -> bool:
        """Enqueue without blocking; False (and counted) if refused or dropped."""
        if self._store.over_limit:
            self.stats.refused += 1
            return False
        try:
            self.queue.put_nowait(snapshot)
        except queue.Full:
            self.stats.dropped += 1
            return False
        return True

    def sync(self, snapshot: Snapshot | None, timeout: float) -> None:
        """Block until everything queued so far (and ``snapshot``) is written; re-raise its error.

        Parameters
        ----------
        snapshot : Snapshot or None
            Written by the writer thread before the caller wakes; None only waits.
        timeout : float
            Seconds to wait to enqueue, and again for the writer to finish.

        Raises
        ------
        queue.Full
            The queue stayed full for ``timeout`` seconds.
        TimeoutError
            The writer did not reach the marker within ``timeout`` seconds.
        Exception
            Whatever writing this batch raised in the writer thread (e.g.
            :class:`StorageLimitExceededError`), re-raised as is.
        """
        marker = _Sync(snapshot)
        self.queue.put(marker, timeout=timeout)
        if not marker.done.wait(timeout):
            raise TimeoutError(f"snapshot store writer did not finish within {timeout} s")
        if marker.error is not None:
            raise marker.error

    def stop(self, timeout: float) -> None:
        """Write what is queued, seal every open block, and end the thread."""
        if self._thread.is_alive():
            self.queue.put(_STOP, timeout=timeout)
            self._thread.join(timeout)

    # ------------------------------------------------------------------ writer side
    def _run(self) -> None:
        while True:
            try:
                item = self.queue.get(timeout=min(1.0, self._maintenance_interval_s))
            except queue.Empty:
                item = None
            items = [] if item is None else [item]
            while len(items) < _DRAIN:
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(i is _STOP for i in items)
            try:
                self._process([i for i in items if i is not _STOP])
            except Exception as exc:  # the thread must outlive any single bad batch
                self.stats.rejected += sum(1 for i in items if isinstance(i, Snapshot))
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("snapshot store writer: batch failed")
                for i in items:
                    if isinstance(i, _Sync) and not i.done.is_set():
                        i.error = exc
                        i.done.set()
            if stop:
                self._seal_all()
                return
            if time.monotonic() >= self._next_maintenance:
                self._next_maintenance = time.monotonic() + self._maintenance_interval_s
                self._maintain()

    def _process(self, items: list[Any]) -> None:
        """Write a drained run of items; sync markers split it so each gets its own result."""
        pending: list[Snapshot] = []
        for item in items:
            if isinstance(item, _Sync):
                if item.snapshot is not None:
                    try:
                        self._write(pending, strict=False)
                        pending = []
                        self._write([item.snapshot], strict=True)
                    except BaseException as exc:  # handed to the waiting caller
                        item.error = exc
                else:
                    self._write(pending, strict=False)
                    pending = []
                item.done.set()
            else:
                pending.append(item)
        self._write(pending, strict=False)

    def _write(self, snapshots: list[Snapshot], *, strict: bool) -> None:
        """Add ``snapshots`` to their blocks and write the touched blocks in one batch.

        With ``strict`` errors are raised (``write_now``); otherwise counted and logged.
        """
        if not snapshots:
            return
        store = self._store
        try:
            store.check_capacity()
        except StorageLimitExceededError as exc:
            self.stats.refused += len(snapshots)
            self.stats.last_error = str(exc)
            if strict:
                raise
            return
        batch = WriteBatch(raw_mode=True)
        touched: dict[str, BlockBuilder] = {}
        accepted = 0
        for snapshot in snapshots:
            try:
                builder = self._builder_for(snapshot, batch)
                builder.add(snapshot)
            except ObcoreError as exc:
                self.stats.rejected += 1
                self.stats.last_error = str(exc)
                log.warning("snapshot store: %s", exc)
                if strict:
                    raise
                continue
            touched[snapshot.symbol] = builder
            accepted += 1
        for builder in touched.values():
            batch.put(data_key(builder.symbol, builder.block_start_s), builder.encode(OPEN_LEVEL))
        if batch.len():
            try:
                store.write_batch(batch)
            except ObcoreError as exc:
                self.stats.rejected += accepted
                self.stats.last_error = str(exc)
                log.warning("snapshot store: %s", exc)
                if strict:
                    raise
                return
        self.stats.written += accepted
        self.stats.batches += 1
        store.note_newest(max(builder.last_time_s for builder in touched.values()) if touched else -1)

    def _builder_for(self, snapshot: Snapshot, batch: WriteBatch) -> BlockBuilder:
        """The open block for ``snapshot``; seals the symbol's previous block into ``batch``."""
        start = self._store.block_start(snapshot.time_s)
        builder = self._builders.get(snapshot.symbol)
        if builder is not None and builder.block_start_s == start:
            return builder
        if builder is not None and len(builder):
            batch.put(data_key(builder.symbol, builder.block_start_s), builder.encode(SEALED_LEVEL))
        # The block may already hold seconds from before a restart (or an older block may
        # be revisited): continue from what is stored, never overwrite it.
        builder = self._store.load_block(snapshot.symbol, start)
        self._builders[snapshot.symbol] = builder
        return builder

    def _seal_all(self) -> None:
        batch = WriteBatch(raw_mode=True)
        for builder in self._builders.values():
            if len(builder):
                batch.put(data_key(builder.symbol, builder.block_start_s), builder.encode(SEALED_LEVEL))
        self._builders.clear()
        if batch.len():
            try:
                self._store.write_batch(batch)
            except ObcoreError as exc:  # closing: keep the faster-compressed copies
                log.warning("snapshot store: sealing blocks on close failed: %s", exc)

    def _maintain(self) -> None:
        try:
            self._store.maintain(self._builders)
        except ObcoreError as exc:
            self.stats.last_error = str(exc)
            log.warning("snapshot store maintenance: %s", exc)
