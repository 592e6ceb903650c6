"""``python -m obcore.store``: inspect, export and fill a snapshot store.

Commands::

    stats  --data-dir DIR
        JSON: symbols with first/last second and snapshot count, size from RocksDB's
        properties vs the cap, bytes per snapshot (on disk, and of the stored values).
    export --data-dir DIR --symbol S [--start SECOND] [--end SECOND] --out FILE
        NDJSON, one snapshot a line, oldest first (``--out -`` for stdout)::

            {"symbol": "ETHUSDT", "time_s": 1723161300, "state": "LIVE",
             "bids": [["2683.8", "3.0292"], ...], "asks": [[price, qty], ...],
             "counters": {"bid_updates": 190, ..., "bid_added_qty": "344.9457", ...},
             "last_update_id": ..., "last_event_time_ms": ..., "gap_count": 0,
             "resync_count": 0, "bid_count": 4121, "ask_count": 3868}

        Prices, sizes and quantity counters are exact decimal strings (Binance style).
        ``--start`` / ``--end`` are epoch seconds, ``end`` exclusive.
    import --data-dir DIR FILE [FILE ...]
        Replay recordings (any format ``obcore.recording`` reads) through ``BookSession``
        and store one snapshot per symbol per second.

Stats and export open the store read-only, so they work while a server is writing it.
Every command keeps the store of ``--data-dir DIR`` in ``DIR/snapshots``, as ``obmcp serve
--data-dir DIR`` does (stats and export also read a ``DIR`` that is a store itself).
Files are owner-only (0600, directory 0700), as the server's. Errors exit 2;
``export --out - | head`` exits 0 quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import IO, Sequence

import orjson

from obcore.errors import InvalidInputError, ObcoreError, StoreError
from obcore.numbers import format_decimal
from obcore.store.snapshot import STATE_NAMES, SnapshotArrays
from obcore.store.store import SnapshotStore

from obcore.validation import check_symbol

__all__ = ["export_lines", "main", "store_directory"]

# Where `obmcp serve --data-dir DIR` keeps its store (obmcp.backend._open_store).
SERVER_SUBDIR = "snapshots"


def _is_store(directory: Path) -> bool:
    return (directory / "CURRENT").is_file()  # every RocksDB directory has one


def store_directory(data_dir: str | os.PathLike[str], *, create: bool = False) -> Path:
    """The store of ``--data-dir DIR``: ``DIR/snapshots``, the one rule for every command.

    It is where ``obmcp serve --data-dir DIR`` keeps its store, and where ``import``
    creates one. A ``DIR`` that is itself a store (a store directory named directly) is
    read as such when ``DIR/snapshots`` holds none.

    Parameters
    ----------
    data_dir : str or PathLike
        A data directory (holding ``snapshots/``), or a store directory itself.
    create : bool
        When no store exists yet, return ``DIR/snapshots`` (a new store goes there)
        instead of raising.

    Returns
    -------
    Path
        ``DIR/snapshots`` when it is a store (or ``create``), else ``DIR`` when that is one.

    Raises
    ------
    StoreError
        When neither is a store and ``create`` is False; the message names both places.
    """
    directory = Path(data_dir)
    nested = directory / SERVER_SUBDIR
    if _is_store(nested):
        return nested
    if _is_store(directory):
        return directory
    if create:
        return nested
    raise StoreError(f"no snapshot store at {nested} nor at {directory} (no RocksDB CURRENT file in either)")


def export_lines(arrays: SnapshotArrays, out: IO[bytes]) -> int:
    """Write ``arrays`` as NDJSON (format in the module docstring); returns rows written."""
    qty_fields = {i for i, name in enumerate(arrays.counter_names) if name.endswith("_qty")}
    ps, qs = arrays.price_scale, arrays.qty_scale
    for i in range(len(arrays)):
        nb, na = int(arrays.bid_levels[i]), int(arrays.ask_levels[i])
        counters = {
            name: format_decimal(int(value), qs) if index in qty_fields else int(value)
            for index, (name, value) in enumerate(zip(arrays.counter_names, arrays.counters[i].tolist()))
        }
        record = {
            "symbol": arrays.symbol,
            "time_s": int(arrays.time_s[i]),
            "state": STATE_NAMES[int(arrays.state[i])],
            "bids": [[format_decimal(p, ps), format_decimal(q, qs)] for p, q in
                     zip(arrays.bid_prices[i, :nb].tolist(), arrays.bid_qtys[i, :nb].tolist())],
            "asks": [[format_decimal(p, ps), format_decimal(q, qs)] for p, q in
                     zip(arrays.ask_prices[i, :na].tolist(), arrays.ask_qtys[i, :na].tolist())],
            "counters": counters,
            "last_update_id": int(arrays.last_update_id[i]),
            "last_event_time_ms": int(arrays.last_event_time_ms[i]),
            "gap_count": int(arrays.gap_count[i]),
            "resync_count": int(arrays.resync_count[i]),
            "bid_count": int(arrays.bid_count[i]),
            "ask_count": int(arrays.ask_count[i]),
        }
        out.write(orjson.dumps(record) + b"\n")
    return len(arrays)


def _stats(args: argparse.Namespace) -> int:
    with SnapshotStore.open(store_directory(args.data_dir), read_only=True, warm=False) as store:
        info = store.info()
    info["percent_of_cap"] = round(100.0 * info["size_bytes"] / info["max_bytes"], 3)
    sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _export(args: argparse.Namespace) -> int:
    symbol = check_symbol(args.symbol.strip().upper())
    with SnapshotStore.open(store_directory(args.data_dir), read_only=True, warm=False) as store:
        stored = store.symbols()
        if symbol not in stored:  # else a typo exports 0 rows and looks like success
            raise InvalidInputError(
                f"symbol {symbol!r} is not in the store; stored symbols: {', '.join(stored) or 'none'}"
            )
        start = 0 if args.start is None else args.start
        end = 2**62 if args.end is None else args.end
        arrays = store.range(symbol, start, end)
    if args.out == "-":
        count = export_lines(arrays, sys.stdout.buffer)
        sys.stdout.buffer.flush()  # a closed pipe shows here, inside main's BrokenPipeError handler
    else:
        with open(args.out, "wb") as handle:
            count = export_lines(arrays, handle)
    sys.stderr.write(f"exported {count} snapshots of {symbol}\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    from obcore.replay import expand_paths
    from obcore.store.recorded import snapshots_from_recording

    files = expand_paths(args.files)  # checked before the store is created
    count = 0
    sessions: dict = {}
    # RocksDB creates files (WAL, SSTs) all along, with the process umask: owner-only for
    # the whole write, as the server does (obmcp.backend), not only around the open.
    old_umask = os.umask(0o077)
    try:
        with SnapshotStore.open(store_directory(args.data_dir, create=True)) as store:
            for snapshot in snapshots_from_recording(files, sessions=sessions):
                if not store.put(snapshot):  # queue full: a file is faster than the writer
                    store.write_now(snapshot)
                count += 1
            store.flush()
            written = store.stats.written
    finally:
        os.umask(old_umask)
    sys.stderr.write(f"stored {written} of {count} snapshots\n")
    never_synced = sorted(symbol for symbol, session in sessions.items() if session.last_event_time_ms == 0)
    if never_synced:
        sys.stderr.write(
            f"note: nothing stored for {', '.join(never_synced)}: the input has no REST depth "
            "snapshot its diffs bridge to, so the book was never known\n"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m obcore.store``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m obcore.store", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    stats = commands.add_parser("stats", help="symbols, time range, counts, size vs cap")
    stats.add_argument("--data-dir", required=True)
    export = commands.add_parser("export", help="one symbol's snapshots as NDJSON")
    export.add_argument("--data-dir", required=True)
    export.add_argument("--symbol", required=True)
    export.add_argument("--start", type=int, help="first epoch second (inclusive)")
    export.add_argument("--end", type=int, help="last epoch second (exclusive)")
    export.add_argument("--out", required=True, help="output file, or - for stdout")
    fill = commands.add_parser("import", help="replay recordings into the store")
    fill.add_argument("--data-dir", required=True)
    fill.add_argument("files", nargs="+", help="recording files, or directories of them")
    args = parser.parse_args(argv)
    try:
        return {"stats": _stats, "export": _export, "import": _import}[args.command](args)
    except ObcoreError as exc:
        sys.stderr.write(f"error ({exc.code}): {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. `export --out - | head`: the reader has what it wanted
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
