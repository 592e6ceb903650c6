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

    A second is complete once an event of a later second has been applied to that symbol;
    then every second from the previous snapshot up to the one before is emitted (seconds
    with no event repeat the book and carry zero counters). Nothing is emitted before the
    session first goes live; the last, possibly partial, second is not emitted.

    Parameters
    ----------
    paths : iterable of path
        Recording files (any format ``obcore.recording`` reads).
    symbols : iterable of str, optional
        Only these symbols.

    Yields
    ------
    Snapshot
    """
    from obcore.replay import replay

    next_second: dict[str, int] = {}
    for step in replay(paths, symbols):
        if not step.applied:
            continue
        session = step.session
        second = session.last_event_time_ms // 1000
        pending = next_second.get(session.symbol)
        if pending is None:
            next_second[session.symbol] = second
            continue
        while pending < second:
            yield snapshot_of(session, pending)
            pending += 1
        next_second[session.symbol] = pending
