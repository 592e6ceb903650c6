"""The I/O shell that feeds the store: one exact snapshot per tracked symbol per second.

A stored second ``s`` is the book at the end of ``s`` (after its last event, before any
event of a later second) with the counters of ``s``. Live, that moment is known only when
the first frame of a later second arrives, so :class:`LiveCapture` is told then, by the
stream manager, *before* the frame is applied
(``StreamManager(on_second_closed=capture.second_closed)``). It takes the book as it
stands, which is exactly the book at the end of the closed second and of every empty second
after it up to the new frame's second (nothing changed in between).

Two things can only be settled later, and a background pass (:meth:`LiveCapture.run`)
does them:

* **Counters.** A trade stamped in second ``s`` may arrive just after the first depth
  event of ``s + 1``. A captured row waits ``settle`` seconds before it is queued, and its
  counters are read from the session's ring then.
* **Quiet symbols.** A symbol with no event at all for a while has no later frame to close
  its seconds. Its book cannot change without one, so the pass stores it for every second
  that has certainly ended: second ``t`` once ``t - newest + 1 + margin`` seconds of
  monotonic time have passed since data of ``newest`` (the newest second with data) was
  first seen, so a wrong local clock cannot make the pass invent seconds.

``SnapshotStore.put`` never blocks (a slow disk drops and counts), so ingestion is never held up
by the store. Seconds before a session's first sync, or replayed in one go from the sync
buffer, are not stored (the book was not known at their end).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from obcore.session import BookSession
from obcore.store.snapshot import Snapshot, snapshot_of

__all__ = ["LiveCapture"]

logger = logging.getLogger(__name__)

#: Empty seconds one boundary may fill (a symbol silent longer is filled by the quiet pass).
MAX_FILL_SECONDS = 3600


class LiveCapture:
    """Exact 1-s snapshots of live sessions, queued into a store.

    Parameters
    ----------
    put : callable
        Takes each finished row; returns True when it was accepted
        (:meth:`SnapshotStore.put <obcore.store.SnapshotStore.put>`, or ``list.append``
        wrapped for a replay).
    settle : float
        Seconds a captured row waits for late trades before its counters are read.
    margin : float
        Seconds a quiet second must be over (by the monotonic clock) before it is stored.
    clock : callable
        Monotonic seconds; injectable for tests.

    Examples
    --------
    >>> capture = LiveCapture(store.put)                                   # doctest: +SKIP
    >>> manager = StreamManager(client, on_second_closed=capture.second_closed)  # doctest: +SKIP
    >>> task = asyncio.create_task(capture.run(lambda: sessions))      # doctest: +SKIP
    """

    def __init__(
        self,
        put: Callable[[Snapshot], bool],
        *,
        settle: float = 1.0,
        margin: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.put = put
        self.settle = settle
        self.margin = margin
        self.clock = clock
        self._pending: deque[tuple[float, BookSession, Snapshot]] = deque()
        self._done: dict[str, int] = {}  # newest second captured, per symbol
        self._newest: dict[str, tuple[int, float]] = {}  # newest second with data, first seen at
        self.queued = 0

    # -- called by the stream manager, on the event loop ------------------------------

    def second_closed(self, session: BookSession, closed: int, next_second: int) -> None:
        """Capture ``closed`` and the empty seconds after it, up to ``next_second - 1``.

        Called just before the first frame of ``next_second`` is applied to ``session``,
        whose newest second with data is ``closed``.
        """
        if session.last_event_time_ms == 0:
            return  # no book yet
        self._capture(session, closed, min(next_second - 1, closed + MAX_FILL_SECONDS - 1))
        self._newest[session.symbol] = (next_second, self.clock())

    # -- the background pass -----------------------------------------------------------

    def capture_quiet(self, sessions: Iterable[BookSession]) -> None:
        """Store the seconds of quiet sessions that have certainly ended."""
        now = self.clock()
        for session in sessions:
            newest = session.counters.last_second
            if newest < 0 or session.last_event_time_ms == 0:
                continue
            seen = self._newest.get(session.symbol)
            if seen is None or seen[0] != newest:
                self._newest[session.symbol] = seen = (newest, now)
            # Data in ``newest`` was first seen at ``seen[1]``, so by then the exchange
            # clock had reached ``newest``: second ``t`` has surely ended (with ``margin``
            # for frames in flight) once ``t - newest + 1 + margin`` seconds have passed.
            ended = newest + math.floor(now - seen[1] - self.margin) - 1
            if ended >= newest:
                self._capture(session, newest, min(ended, newest + MAX_FILL_SECONDS - 1))

    def queue_settled(self, *, everything: bool = False) -> int:
        """Queue the rows that have waited ``settle`` seconds (all with ``everything``).

        Their counters are read from the session's ring now. Returns how many were queued.
        """
        now = self.clock()
        queued = 0
        while self._pending and (everything or now - self._pending[0][0] >= self.settle):
            _, session, row = self._pending.popleft()
            counters = np.asarray(session.counters.window(row.time_s, 1), dtype=np.int64)[:, 0]
            if self.put(dataclasses.replace(row, counters=counters)):
                queued += 1
        self.queued += queued
        return queued

    async def run(self, sessions: Callable[[], Iterable[BookSession]], interval: float = 0.25) -> None:
        """Every ``interval`` seconds: capture quiet sessions and queue settled rows.

        Runs until cancelled; on cancellation the rows still waiting are queued.
        """
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    self.capture_quiet(list(sessions()))
                    self.queue_settled()
                except Exception:  # the capture must not die with one bad pass
                    logger.exception("snapshot capture pass failed")
        finally:
            self.queue_settled(everything=True)

    # -- internals ---------------------------------------------------------------------

    def _capture(self, session: BookSession, first: int, last: int) -> None:
        """Rows for seconds ``first..last`` from the book as it stands (the book at the end
        of each of them); seconds already captured are skipped."""
        symbol = session.symbol
        start = max(first, self._done.get(symbol, first - 1) + 1)
        if start > last:
            return
        row = snapshot_of(session, start)
        stamp = self.clock()
        for second in range(start, last + 1):
            self._pending.append((stamp, session, row if second == start else _at(row, second)))
        self._done[symbol] = last


def _at(row: Snapshot, second: int) -> Snapshot:
    return dataclasses.replace(row, time_s=second)
