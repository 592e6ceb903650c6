"""``python -m obcore.charts heatmap RECORDING... --png OUT``: a depth heatmap from recordings.

::

    python -m obcore.charts heatmap RECORDING... --png OUT.png [--symbol S] [--from T0] [--to T1]

The recordings (``obcore.recording`` formats, with depth diffs and a snapshot) are
replayed through ``BookSession`` into 1-s snapshots the way the live capture takes them
(``obcore.store.recorded``), kept in a temporary store and drawn. Without ``--from`` /
``--to`` the window is the whole recording. The volume-profile and order-flow charts are
``python -m obcore.analytics volume-profile|order-flow ... --png OUT``. A bad file or
argument prints ``error: ...`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from obcore.errors import InvalidInputError, ObcoreError

__all__ = ["main"]


def _time(text: str) -> int:
    from obcore.analytics.flow import parse_as_of

    try:
        return parse_as_of(text) // 1000
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m obcore.charts", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    heatmap = commands.add_parser("heatmap", help="depth heatmap of recorded books")
    heatmap.add_argument("files", nargs="+", metavar="RECORDING")
    heatmap.add_argument("--png", type=Path, required=True, metavar="OUT", help="the PNG file to write")
    heatmap.add_argument("--symbol", default=None, help="which symbol of a multi-symbol recording")
    heatmap.add_argument("--from", dest="start", type=_time, default=None, help="window start (epoch ms or ISO-8601)")
    heatmap.add_argument("--to", dest="end", type=_time, default=None, help="window end, exclusive")
    return parser


def heatmap_from_recordings(files: list[str], symbol: str | None, start_s: int | None, end_s: int | None) -> bytes:
    """Replay recordings into 1-s snapshots and draw the depth heatmap of ``[start_s, end_s)``."""
    from obcore.charts import depth_heatmap_png
    from obcore.replay import expand_paths
    from obcore.store import SnapshotStore
    from obcore.store.recorded import snapshots_from_recording

    paths = expand_paths(files)
    chosen = symbol.upper() if symbol else None
    with tempfile.TemporaryDirectory(prefix="obcore-heatmap-") as tmp:
        store = SnapshotStore.open(Path(tmp) / "db", maintenance_interval_s=3600.0)
        try:
            seen: set[str] = set()
            for snap in snapshots_from_recording(paths, [chosen] if chosen else None):
                seen.add(snap.symbol)
                store.put(snap)
            store.flush()
            if chosen is None:
                if len(seen) != 1:
                    raise InvalidInputError(f"the recordings hold {len(seen)} symbols ({', '.join(sorted(seen))}); "
                                            f"choose one with --symbol")
                chosen = next(iter(seen))
            arrays = store.range(chosen, 0 if start_s is None else start_s, 2**40 if end_s is None else end_s)
        finally:
            store.close()
    if len(arrays) == 0:
        raise InvalidInputError(f"no snapshot of {chosen} in the recordings for that window")
    first = int(arrays.time_s[0]) if start_s is None else start_s
    last = int(arrays.time_s[-1]) + 1 if end_s is None else end_s
    return depth_heatmap_png(arrays, first, last - first, symbol=chosen)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0, or 2 for bad input)."""
    args = _parser().parse_args(argv)
    try:
        png = heatmap_from_recordings(args.files, args.symbol, args.start, args.end)
    except ObcoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    args.png.write_bytes(png)
    sys.stdout.write(f"{args.png}: {len(png)} bytes\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
