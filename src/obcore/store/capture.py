"""The I/O shell that feeds the store: one exact snapshot per tracked symbol per second.

A stored second ``s`` is the book at the end of ``s`` (after its last depth event, before
any depth event of a later second) with the counters of ``s``. Live, that moment is known
only when the first depth frame of a later second arrives, so :class:`LiveCapture` is told
then, by the stream manager, *before* the frame is applied
(``StreamManager(on_second_closed=capture.second_closed)``). It takes the book as it
stands: exactly the book at the end of the closed second and of every empty second after
it up to the new frame's second (only depth events change a book).

Three things are settled by a background pass (:meth:`LiveCapture.run`):

* **Counters.** A trade stamped in second ``s`` may arrive after the first depth event of
  ``s + 1``. A captured row waits ``settle`` seconds before it is queued, and its counters
  are read from the session's ring then.
* **Quiet symbols.** A symbol with no depth event for a while has no later frame to close
  its seconds. The pass stores its book for every second ``t`` the connection carrying it
  has moved ``lag`` seconds past (a frame of any symbol stamped ``t + lag`` or later has
  arrived on it): frames on one connection arrive in order, so no depth event of ``t`` can
  still be on its way. Exchange time is used throughout, so neither a wrong local clock
  nor a stalled connection makes the pass store a book too early.
* **Unsynced books.** Seconds that end while a session is not synced (before its first
  snapshot, or between a gap and the snapshot that repairs it) are not stored: the book
  at their end was not known.

``SnapshotStore.put`` never blocks (a slow disk drops and counts), so ingestion is never
held up by the store; rows waiting to settle are bounded (:data:`MAX_PENDING`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from obcore.session import BookSession
from obcore.store.snapshot import Snapshot, snapshot_of

__all__ = ["LiveCapture"]

logger = logging.getLogger(__name__)

#: Seconds one call stores at most (a silence longer than this, with nothing else on the
#: connection to move the quiet pass along, leaves the excess seconds unstored).
MAX_FILL_SECONDS = 3600
#: Rows waiting to settle at most; beyond it the oldest are dropped and counted.
MAX_PENDING = 100_000


class LiveCapture:
    """Exact 1-s snapshots of live sessions, handed to a store.

    Parameters
    ----------
    put : callable
        Takes each finished row; returns True when it was accepted
        (:meth:`SnapshotStore.put <obcore.store.SnapshotStore.put>`, or ``list.append``
        wrapped for a replay).
    settle : float
        Seconds (of ``clock``) a captured row waits for late trades before its counters
        are read.
    lag : int
        Exchange seconds a connection must have moved past a quiet second before it is
        stored.
    clock : callable
        Seconds, for ``settle``; monotonic by default, injectable (a replay passes its own).

    Attributes
    ----------
    queued, dropped, failed : int
        Rows the store accepted; rows dropped (refused by the store, or over
        :data:`MAX_PENDING`); rows whose hand-over raised.

    Examples
    --------
    >>> capture = LiveCapture(store.put)                                   # doctest: +SKIP
    >>> manager = StreamManager(client, on_second_closed=capture.second_closed)  # doctest: +SKIP
    >>> task = asyncio.create_task(capture.run(manager.capture_targets))   # doctest: +SKIP
    """

    def __init__(
        self,
        put: Callable[[Snapshot], bool],
        *,
        settle: float = 1.0,
        lag: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.put = put
        self.settle = settle
        self.lag = lag
        self.clock = clock
        self._pending: deque[tuple[float, BookSession, Snapshot]] = deque()
        self._done: dict[str, int] = {}  # newest second captured, per symbol
        self.queued = 0
        self.dropped = 0
        self.failed = 0

    # -- called by the stream manager, on the event loop ------------------------------

    def second_closed(self, session: BookSession, closed: int, next_second: int) -> None:
        """Capture ``closed`` and the empty seconds after it, up to ``next_second - 1``.

        Called just before the first depth frame of ``next_second`` is applied to
        ``session``, whose last applied depth event is of second ``closed``.
        """
        self._capture(session, closed, next_second - 1)

    # -- the background pass -----------------------------------------------------------

    def capture_quiet(self, targets: Iterable[tuple[BookSession, int]]) -> None:
        """Store the seconds of quiet sessions that have certainly ended.

        Parameters
        ----------
        targets : iterable of (BookSession, int)
            Each session with the newest exchange second of any frame delivered on the
            connection carrying it (-1 if none).
        """
        for session, connection_second in targets:
            if session.last_event_time_ms:
                newest = session.last_event_time_ms // 1000
                self._capture(session, newest, connection_second - self.lag)

    def queue_settled(self, *, everything: bool = False) -> int:
        """Hand over the rows that have waited ``settle`` (all with ``everything``).

        Their counters are read from the session's ring now. Returns how many the store
        accepted.
        """
        now = self.clock()
        accepted = 0
        while self._pending and (everything or now - self._pending[0][0] >= self.settle):
            _, session, row = self._pending.popleft()
            try:
                counters = np.asarray(session.counters.window(row.time_s, 1), dtype=np.int64)[:, 0]
                # The ring is in the session's scales of now (a rescale since the row was
                # taken moved its quantities): bring the row's levels there too.
                row = row.at_scales(max(row.price_scale, session.price_scale), max(row.qty_scale, session.qty_scale))
                if self.put(dataclasses.replace(row, counters=counters)):
                    accepted += 1
                else:
                    self.dropped += 1
            except Exception:  # one bad row must not hold up the rest
                self.failed += 1
                if self.failed == 1 or self.failed % 1000 == 0:
                    logger.exception("%s: storing second %d failed (%d so far)", row.symbol, row.time_s, self.failed)
        self.queued += accepted
        return accepted

    async def run(self, targets: Callable[[], Iterable[tuple[BookSession, int]]], interval: float = 0.25) -> None:
        """Every ``interval`` seconds: capture quiet sessions and hand over settled rows.

        ``targets()`` gives what :meth:`capture_quiet` takes. Runs until cancelled; on
        cancellation the rows still settling are handed over.
        """
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    self.capture_quiet(list(targets()))
                except Exception:  # the capture must not die with one bad pass
                    logger.exception("snapshot capture: quiet pass failed")
                self.queue_settled()
        finally:
            self.queue_settled(everything=True)

    # -- internals ---------------------------------------------------------------------

    def _capture(self, session: BookSession, first: int, last: int) -> None:
        """Rows for seconds ``first..last`` (at most :data:`MAX_FILL_SECONDS`, skipping
        those already captured) from the book as it stands, the book at the end of each."""
        if not session.is_synced or session.last_event_time_ms == 0:
            return  # the book at the end of these seconds is not known
        symbol = session.symbol
        start = max(first, self._done.get(symbol, first - 1) + 1)
        last = min(last, start + MAX_FILL_SECONDS - 1)
        if start > last:
            return
        row = snapshot_of(session, start)
        stamp = self.clock()
        for second in range(start, last + 1):
            self._pending.append((stamp, session, row if second == start else dataclasses.replace(row, time_s=second)))
        self._done[symbol] = last
        excess = len(self._pending) - MAX_PENDING
        for _ in range(max(0, excess)):
            self._pending.popleft()
            self.dropped += 1
