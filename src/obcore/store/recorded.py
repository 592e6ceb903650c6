"""Snapshots from a recording: replay a file through ``BookSession`` and take one snapshot
per symbol per exchange second, the way the live writer does.

Used to fill a store from recorded data (``python -m obcore.store import``), by the bench
and by the round-trip tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from obcore.store.snapshot import Snapshot, snapshot_of

__all__ = ["snapshots_from_recording"]


def snapshots_from_recording(
    paths: Iterable[str | Path], symbols: Iterable[str] | None = None
) -> Iterator[Snapshot]:
    """Replay recordings and yield each symbol's snapshot of every completed second.

    Second ``s`` is taken just before the first event of a later second is applied to the
    symbol's session (so the book is exactly the book at the end of ``s``, and the counters
    of ``s`` are complete); seconds with no event repeat the book with zero counters.
    Nothing is emitted before the session first goes live; the last second is not emitted.

    Parameters
    ----------
    paths : iterable of path
        Recording files (any format ``obcore.recording`` reads), interleaved by receive time.
    symbols : iterable of str, optional
        Only these symbols.

    Yields
    ------
    Snapshot
    """
    from obcore.replay import feed, route
    from obcore.session import SyncState

    next_second: dict[str, int] = {}
    for message, session in route(paths, symbols):
        symbol = session.symbol
        if message.kind != "snapshot":
            event_ms = message.payload.get("E") or message.payload.get("T") or 0
            second = int(event_ms) // 1000
            pending = next_second.get(symbol)
            if pending is not None:
                while pending < second:
                    yield snapshot_of(session, pending)
                    pending += 1
                next_second[symbol] = pending
        feed(message, session)
        if symbol not in next_second and session.state is SyncState.LIVE:
            next_second[symbol] = session.last_event_time_ms // 1000
