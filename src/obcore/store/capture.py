"""The I/O shell that feeds the store: one snapshot per tracked symbol per second.

``capture_snapshots(store, sessions)`` runs on the event loop, wakes just after each
exchange second ends and enqueues ``snapshot_of(session, second)`` for every session
that has seen data. ``store.put`` never blocks (a slow disk drops and counts), so
ingestion is never held up by the store.

The counters of a stored second are exact (they are kept per exchange second by the
kernel); the stored top 20 levels are the book as it stands when the capture wakes,
``delay`` after the second ends — close to, not exactly at, the boundary. Replays
(``obcore.store.recorded``) capture at the exact boundary.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from obcore.session import BookSession
from obcore.store.snapshot import snapshot_of
from obcore.store.store import SnapshotStore

__all__ = ["capture_once", "capture_snapshots"]

logger = logging.getLogger(__name__)


def capture_once(store: SnapshotStore, sessions: Iterable[BookSession], second: int) -> int:
    """Enqueue the snapshot of ``second`` for every session with data; returns how many.

    Parameters
    ----------
    store : SnapshotStore
        Writable store; snapshots are queued with :meth:`SnapshotStore.put`.
    sessions : iterable of BookSession
        Sessions to capture. One without a book yet, or whose ``second`` is not over
        (its counters have not moved past it), is skipped.
    second : int
        The whole second to capture, s since the epoch.

    Returns
    -------
    int
        Snapshots queued (dropped or refused ones are counted in the store's stats).

    Raises
    ------
    StoreError
        The store is closed or read-only.
    """
    queued = 0
    for session in sessions:
        if session.last_event_time_ms == 0 or session.counters.last_second < second:
            continue  # no book yet, or the second is not over for this symbol
        if store.put(snapshot_of(session, second)):
            queued += 1
    return queued


async def capture_snapshots(
    store: SnapshotStore,
    sessions: Callable[[], Iterable[BookSession]],
    *,
    delay: float = 0.05,
    clock: Callable[[], float] = time.time,
) -> None:
    """Capture every second until cancelled.

    Parameters
    ----------
    store : SnapshotStore
        Where snapshots go (enqueued; written by the store's thread).
    sessions : callable
        Returns the sessions to capture now (symbols come and go).
    delay : float
        Seconds after the boundary to wait before capturing.
    clock : callable
        Epoch seconds (exchange-aligned); injectable for tests.
    """
    last_done: dict[str, int] = {}
    while True:
        now = clock()
        await asyncio.sleep(max(0.0, (int(now) + 1 + delay) - now))
        for session in list(sessions()):
            # Capture every whole second this session has completed since the last pass;
            # its newest second with data is still open.
            newest_closed = session.counters.last_second - 1
            start = last_done.get(session.symbol, newest_closed - 1) + 1
            for second in range(max(start, newest_closed - 5), newest_closed + 1):
                capture_once(store, [session], second)
            last_done[session.symbol] = max(newest_closed, last_done.get(session.symbol, newest_closed))
