"""``SnapshotStore``: 1-second book history of every tracked symbol in embedded RocksDB.

Writes go through a background thread (:mod:`obcore.store.writer`); reads decode blocks
straight from RocksDB (:mod:`obcore.store.decode`). Retention and the size cap are
enforced by the writer's periodic maintenance and a check before every batch, measured
from RocksDB's own size properties.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path
from typing import Any, Iterator

import msgpack
from rocksdict import (
    AccessType,
    CompactOptions,
    DBCompressionType,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
)

from obcore.errors import InvalidInputError, StorageLimitExceededError, StoreError, StoreLockedError
from obcore.store.codec import BlockBuilder, read_header
from obcore.store.decode import decode_values, warm_up
from obcore.store.keys import META_PREFIX, data_key, parse_data_key, symbol_prefix, symbol_upper_bound
from obcore.store.snapshot import Snapshot, SnapshotArrays
from obcore.store.writer import StoreWriter, WriterStats

__all__ = ["DEFAULT_BLOCK_SECONDS", "SnapshotStore"]

log = logging.getLogger("obcore.store")

DEFAULT_BLOCK_SECONDS = 300
_META_KEY = META_PREFIX + b"meta"
DEFAULT_RETENTION_S = 7 * 86400
DEFAULT_MAX_BYTES = 1 << 30
_SIZE_PROPERTIES = ("rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables")


def _counter_names() -> tuple[str, ...]:
    from obcore.counters import FIELD_NAMES

    return tuple(FIELD_NAMES)


def _options() -> Options:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    # Values are zstd blocks already; compressing them again only costs CPU.
    options.set_compression_type(DBCompressionType.none())
    options.set_write_buffer_size(8 << 20)
    options.set_max_write_buffer_number(2)
    options.set_max_total_wal_size(32 << 20)
    options.set_keep_log_file_num(2)
    options.set_max_log_file_size(1 << 20)
    options.set_max_background_jobs(2)
    return options


def _private(path: Path) -> None:
    """Make the store's files owner-only (RocksDB creates them with the process umask)."""
    try:
        os.chmod(path, 0o700)
        for entry in os.scandir(path):
            if entry.is_file(follow_symlinks=False) and stat.S_IMODE(entry.stat().st_mode) != 0o600:
                os.chmod(entry.path, 0o600)
    except FileNotFoundError:  # a file removed by compaction meanwhile
        pass


class SnapshotStore:
    """1-second snapshots of many symbols, with retention and a hard size cap.

    Use :meth:`open`; the store is a context manager.

    Attributes
    ----------
    path : Path
    retention_s : int
    max_bytes : int
    block_seconds : int
        Seconds per stored block (fixed when the store is created).
    """

    def __init__(self, path: Path, db: Rdict, *, retention_s: int, max_bytes: int, block_seconds: int,
                 read_only: bool) -> None:
        self.path = path
        self._db = db
        self.retention_s = retention_s
        self.max_bytes = max_bytes
        self.block_seconds = block_seconds
        self.read_only = read_only
        self.over_limit = False
        self._closed = False
        self._db_lock = threading.Lock()
        self._newest_s = -1
        self._writer: StoreWriter | None = None

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        retention_s: int | None = None,
        max_bytes: int | None = None,
        block_seconds: int = DEFAULT_BLOCK_SECONDS,
        queue_size: int = 8192,
        maintenance_interval_s: float = 30.0,
        read_only: bool = False,
        warm: bool = True,
    ) -> "SnapshotStore":
        """Open (or create) the store at ``path`` and start its writer thread.

        Parameters
        ----------
        path : path
            Data directory (created 0700; files made 0600).
        retention_s : int, optional
            Data older than this many seconds before the newest stored second is deleted
            (at block granularity) by the background maintenance. Default 7 days.
        max_bytes : int, optional
            Hard size cap; writes beyond it are refused (``storage_limit_exceeded``).
            Default 1 GiB.

            A writable open records the limits it is given in the store; an open without
            them uses the recorded ones (so ``stats`` shows the server's cap, and an
            ``import`` into the server's store keeps its limits).
        block_seconds : int
            Seconds per block for a new store (an existing store keeps its own).
        queue_size : int
            Snapshots the writer queue holds; beyond it ``put`` drops and counts.
        maintenance_interval_s : float
            Seconds between retention / cap / permission passes.
        read_only : bool
            Open without a writer (and without taking RocksDB's lock).
        warm : bool
            Compile / load the Numba decoder now rather than on the first read.

        Raises
        ------
        StoreLockedError
            If another process has the store open for writing.
        InvalidInputError
            For a bad argument.
        """
        if retention_s is not None and retention_s <= 0:
            raise InvalidInputError(f"retention_s must be > 0, got {retention_s}")
        if max_bytes is not None and max_bytes <= 0:
            raise InvalidInputError(f"max_bytes must be > 0, got {max_bytes}")
        if not 1 <= block_seconds <= 3600:
            raise InvalidInputError(f"block_seconds must be in 1..3600, got {block_seconds}")
        if queue_size <= 0:
            raise InvalidInputError(f"queue_size must be > 0, got {queue_size}")
        directory = Path(path)
        if read_only and not (directory / "CURRENT").exists():
            raise StoreError(f"no snapshot store at {directory}")
        old_umask = os.umask(0o077)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            access = AccessType.read_only() if read_only else AccessType.read_write()
            db = Rdict(str(directory), _options(), access_type=access)
        except Exception as exc:  # rocksdict raises bare Exception
            message = str(exc)
            if "lock" in message.lower():
                raise StoreLockedError(
                    f"snapshot store {directory} is already open in another process "
                    f"(RocksDB lock file {directory / 'LOCK'} is held); close it or use read_only=True"
                ) from exc
            raise StoreError(f"cannot open snapshot store {directory}: {message}") from exc
        finally:
            os.umask(old_umask)
        if not read_only:
            _private(directory)
        store = cls(directory, db, retention_s=retention_s or DEFAULT_RETENTION_S,
                    max_bytes=max_bytes or DEFAULT_MAX_BYTES, block_seconds=block_seconds, read_only=read_only)
        try:
            store._load_meta(block_seconds, retention_s, max_bytes)
            store._newest_s = store._scan_newest()
            if warm:
                warm_up()
            if not read_only:
                store._writer = StoreWriter(store, queue_size, maintenance_interval_s)
                store.over_limit = store.size_bytes() >= store.max_bytes
                store._writer.start()
        except BaseException:
            db.close()
            raise
        return store

    def _load_meta(self, block_seconds: int, retention_s: int | None, max_bytes: int | None) -> None:
        """Read (or, for a new store, write) the metadata; a writer records its limits."""
        raw = self._db.get(_META_KEY)
        if raw is None:
            if self.read_only:
                raise StoreError(f"{self.path} has no snapshot-store metadata")
            meta = {"format": 1, "block_seconds": block_seconds}
        else:
            meta = msgpack.unpackb(raw)
            if meta.get("format") != 1:
                raise StoreError(f"{self.path}: snapshot-store format {meta.get('format')!r} is not supported")
        self.block_seconds = int(meta["block_seconds"])
        # Limits: given ones win, then the recorded ones, then the defaults; a writer
        # records the ones it was given (an open without them, e.g. an import, keeps the
        # server's limits instead of imposing the defaults).
        self.retention_s = retention_s or int(meta.get("retention_s", DEFAULT_RETENTION_S))
        self.max_bytes = max_bytes or int(meta.get("max_bytes", DEFAULT_MAX_BYTES))
        given = {k: v for k, v in (("retention_s", retention_s), ("max_bytes", max_bytes)) if v}
        if not self.read_only and (raw is None or any(meta.get(k) != v for k, v in given.items())):
            meta.update(given)
            self._db.put(_META_KEY, msgpack.packb(meta))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, seal open blocks, and close RocksDB."""
        if self._closed:
            return
        if self._writer is not None:
            self._writer.stop(timeout)
        self._closed = True
        with self._db_lock:
            self._db.close()

    def __enter__(self) -> "SnapshotStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"snapshot store {self.path} is closed")

    # --------------------------------------------------------------------- writing
    def put(self, snapshot: Snapshot) -> bool:
        """Queue ``snapshot`` for writing; never blocks, never raises for a full or capped store.

        Returns
        -------
        bool
            True if queued; False if dropped (queue full: ``stats.dropped``) or refused
            (over the size cap: ``stats.refused``).
        """
        self._check_open()
        if self._writer is None:
            raise StoreError(f"snapshot store {self.path} is read-only")
        return self._writer.offer(snapshot)

    def write_now(self, snapshot: Snapshot, timeout: float = 30.0) -> None:
        """Write ``snapshot`` (after everything queued before it) and wait for it.

        Raises
        ------
        StorageLimitExceededError
            If the store is at or over its size cap.
        """
        self._check_open()
        if self._writer is None:
            raise StoreError(f"snapshot store {self.path} is read-only")
        if self.over_limit:
            self._writer.stats.refused += 1
            self.check_capacity()
        self._writer.sync(snapshot, timeout)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until every snapshot queued so far is written to RocksDB (WAL)."""
        self._check_open()
        if self._writer is not None:
            self._writer.sync(None, timeout)

    @property
    def stats(self) -> WriterStats:
        """Writer totals: written, dropped (queue full), refused (size cap), rejected."""
        return self._writer.stats if self._writer is not None else WriterStats()

    # ------------------------------------------------------- writer-side helpers
    def block_start(self, second: int) -> int:
        """First second of the block holding ``second``."""
        return second - second % self.block_seconds

    def load_block(self, symbol: str, block_start_s: int) -> BlockBuilder:
        """A builder holding what is stored for that block (empty if nothing is)."""
        builder = BlockBuilder(symbol, block_start_s)
        value = self._db.get(data_key(symbol, block_start_s))
        if value is not None:
            arrays = decode_values(symbol, [value], _counter_names())
            for index in range(len(arrays)):
                builder.add(arrays.row(index))
        return builder

    def size_bytes(self) -> int:
        """Store size from RocksDB's properties: SST files plus memtables (which the WAL mirrors)."""
        total = 0
        with self._db_lock:
            for name in _SIZE_PROPERTIES:
                total += self._db.property_int_value(name) or 0
        return total

    def check_capacity(self) -> None:
        """Raise StorageLimitExceededError if the store is at or over ``max_bytes``."""
        size = self.size_bytes()
        self.over_limit = size >= self.max_bytes
        if self.over_limit:
            raise StorageLimitExceededError(
                f"snapshot store {self.path} holds {size} bytes, at or over its cap of {self.max_bytes} bytes; "
                "new snapshots are not stored until retention frees space (the live book is unaffected)"
            )

    def write_batch(self, batch: WriteBatch) -> None:
        """Write a batch (WAL on); RocksDB errors become StoreError."""
        try:
            with self._db_lock:
                self._check_open()
                self._db.write(batch)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"snapshot store {self.path}: write failed: {exc}") from exc

    def note_newest(self, second: int) -> None:
        """Record the newest stored second (retention is measured back from it)."""
        if second > self._newest_s:
            self._newest_s = second

    def maintain(self, builders: dict[str, BlockBuilder]) -> int:
        """One maintenance pass: retention, capacity flag, file modes. Returns blocks deleted."""
        deleted = self.apply_retention(builders)
        try:
            self.check_capacity()
        except StorageLimitExceededError:
            pass
        _private(self.path)
        return deleted

    def apply_retention(self, builders: dict[str, BlockBuilder] | None = None) -> int:
        """Delete every block that ended more than ``retention_s`` before the newest second.

        Returns
        -------
        int
            Number of blocks deleted.
        """
        self._check_open()
        if self._newest_s < 0:
            return 0
        cutoff = self._newest_s - self.retention_s
        # Blocks that end at or before the cutoff go; the one straddling it stays whole.
        first_kept = self.block_start(cutoff + 1) if cutoff + 1 > 0 else 0
        if first_kept <= 0:
            return 0
        deleted = 0
        for symbol in self.symbols():
            begin, end = data_key(symbol, 0), data_key(symbol, first_kept)
            count = sum(1 for _ in self._keys_between(begin, end))
            if not count:
                continue
            with self._db_lock:
                self._db.delete_range(begin, end)
                self._db.compact_range(begin, end, CompactOptions())
            deleted += count
            if builders is not None:
                builder = builders.get(symbol)
                if builder is not None and builder.block_start_s < first_kept:
                    del builders[symbol]
        return deleted

    # --------------------------------------------------------------------- reading
    def _keys_between(self, begin: bytes, end: bytes) -> Iterator[bytes]:
        options = ReadOptions()
        options.set_iterate_upper_bound(end)
        it = self._db.iter(options)
        it.seek(begin)
        while it.valid():
            yield it.key()
            it.next()

    def symbols(self) -> list[str]:
        """Symbols with stored data, sorted by key (length, then name)."""
        self._check_open()
        found = []
        it = self._db.iter()
        it.seek(b"\x01")
        while it.valid():
            symbol, _ = parse_data_key(it.key())
            found.append(symbol)
            it.seek(symbol_upper_bound(symbol))
        return found

    def _scan_newest(self) -> int:
        newest = -1
        for symbol in self.symbols():
            it = self._db.iter()
            it.seek_for_prev(symbol_upper_bound(symbol))
            if it.valid():
                header = read_header(it.value())
                if header.n_rows:
                    # the last row is within the block; its exact second needs a decode
                    last = decode_values(symbol, [it.value()], ()).time_s[-1]
                    newest = max(newest, int(last))
        return newest

    def _values(self, symbol: str, start_s: int, end_s: int) -> list[bytes]:
        """Stored blocks of ``symbol`` that may hold seconds in ``[start_s, end_s)``."""
        options = ReadOptions()
        options.set_iterate_upper_bound(data_key(symbol, max(end_s, 0)))
        it = self._db.iter(options)
        it.seek_for_prev(data_key(symbol, start_s))
        if not it.valid() or not it.key().startswith(symbol_prefix(symbol)):
            it.seek(data_key(symbol, start_s))
        values = []
        while it.valid():
            values.append(it.value())
            it.next()
        return values

    def range(self, symbol: str, start_s: int, end_s: int) -> SnapshotArrays:
        """Snapshots of ``symbol`` for seconds ``start_s <= t < end_s`` (stored ones only).

        Parameters
        ----------
        symbol : str
        start_s, end_s : int
            Exchange seconds, half-open range.

        Returns
        -------
        SnapshotArrays
            One row per stored second, oldest first (missing seconds are simply absent).
        """
        self._check_open()
        symbol_prefix(symbol)
        if start_s < 0 or end_s < start_s:
            raise InvalidInputError(f"time range [{start_s}, {end_s}) is not a range of seconds >= 0")
        values = self._values(symbol, start_s, end_s)
        arrays = decode_values(symbol, values, _counter_names())
        if len(arrays) and (arrays.time_s[0] < start_s or arrays.time_s[-1] >= end_s):
            keep = (arrays.time_s >= start_s) & (arrays.time_s < end_s)
            arrays = _select(arrays, keep)
        return arrays

    def info(self) -> dict[str, Any]:
        """Per-symbol time range and counts plus size figures (reads every block header).

        ``projected_bytes_at_retention`` is what a full retention period of every stored
        symbol takes at that symbol's bytes per snapshot so far (one row a second), and
        ``projected_fits_cap`` whether that stays within ``max_bytes``.
        """
        self._check_open()
        symbols: dict[str, dict[str, int]] = {}
        total = 0
        for symbol in self.symbols():
            it = self._db.iter()
            it.seek(symbol_prefix(symbol))
            count = blocks = value_bytes = 0
            first_block = last_block = -1
            while it.valid() and it.key().startswith(symbol_prefix(symbol)):
                key, value = it.key(), it.value()
                _, start = parse_data_key(key)
                count += read_header(value).n_rows
                blocks += 1
                value_bytes += len(key) + len(value)
                first_block = start if first_block < 0 else first_block
                last_block = start
                it.next()
            first = self.range(symbol, first_block, first_block + self.block_seconds).time_s
            last = self.range(symbol, last_block, last_block + self.block_seconds).time_s
            symbols[symbol] = {
                "snapshots": count,
                "blocks": blocks,
                "first_s": int(first[0]) if len(first) else -1,
                "last_s": int(last[-1]) if len(last) else -1,
                "value_bytes": value_bytes,
                "bytes_per_snapshot": round(value_bytes / count, 1) if count else None,
            }
            total += count
        size = self.size_bytes()
        # What the configured retention will hold at each symbol's rate so far: the
        # question behind the cap ("do N symbols x 7 days fit?").
        projected = sum(s["value_bytes"] / s["snapshots"] for s in symbols.values() if s["snapshots"]) * self.retention_s
        return {
            "path": str(self.path),
            "symbols": symbols,
            "snapshots": total,
            "size_bytes": size,
            "max_bytes": self.max_bytes,
            "bytes_per_snapshot": (size / total) if total else None,
            "value_bytes_per_snapshot": (sum(s["value_bytes"] for s in symbols.values()) / total) if total else None,
            "block_seconds": self.block_seconds,
            "retention_s": self.retention_s,
            "projected_bytes_at_retention": round(projected),
            "projected_fits_cap": projected <= self.max_bytes,
        }


def _select(arrays: SnapshotArrays, keep: Any) -> SnapshotArrays:
    """Rows of ``arrays`` where ``keep`` is True."""
    fields = {}
    for name in arrays.__slots__:  # type: ignore[attr-defined]
        value = getattr(arrays, name)
        fields[name] = value[keep] if hasattr(value, "shape") and value.shape[:1] == keep.shape else value
    return SnapshotArrays(**fields)
