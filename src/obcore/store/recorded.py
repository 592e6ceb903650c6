"""Snapshots from a recording: replay a file through ``BookSession`` and take one snapshot
per symbol per exchange second, the way the live capture does.

Used to fill a store from recorded data (``python -m obcore.store import``), by the bench
and by the round-trip tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from obcore.recording import Message
from obcore.session import BookSession, event_second
from obcore.store.capture import LiveCapture
from obcore.store.snapshot import Snapshot

__all__ = ["snapshots_from_recording", "snapshots_from_routed"]

#: Exchange seconds a row waits for late trades (a trade counts at its trade time, which
#: may precede the event time of frames already applied).
SETTLE_SECONDS = 2


def snapshots_from_recording(
    paths: Iterable[str | Path],
    symbols: Iterable[str] | None = None,
    sessions: dict[str, BookSession] | None = None,
) -> Iterator[Snapshot]:
    """Replay recordings and yield each symbol's snapshot of every completed second.

    The book of second ``s`` is taken just before the first depth event of a later second
    is applied to the symbol's session (so it is exactly the book at the end of ``s``);
    seconds with no event repeat that book with zero counters. The counters of ``s`` are
    read once the replay is :data:`SETTLE_SECONDS` past ``s``, so a trade stamped in ``s``
    but received after a later second's first event is counted. Nothing is emitted before
    the session first has a book, nor while it is resyncing; the last second is not
    emitted. This is
    :class:`~obcore.store.capture.LiveCapture` driven by the recording's own clock.

    Parameters
    ----------
    paths : iterable of path
        Recording files (any format ``obcore.recording`` reads), interleaved by receive time.
    symbols : iterable of str, optional
        Only these symbols.
    sessions : dict, optional
        Filled with symbol -> session as symbols are seen (to report afterwards, e.g. a
        symbol that never synced because the recording has no REST snapshot for it).

    Yields
    ------
    Snapshot
        In order of completion: by time within a symbol.
    """
    from obcore.replay import route

    yield from snapshots_from_routed(route(paths, symbols, sessions))


def snapshots_from_routed(routed: Iterable[tuple[Message, BookSession]]) -> Iterator[Snapshot]:
    """:func:`snapshots_from_recording` for messages already paired with their sessions.

    For input that is not simply a set of files, e.g. a recording without a REST snapshot
    led by a stand-in one (the bench's diff-only BTCUSDT book).

    Parameters
    ----------
    routed : iterable of (Message, BookSession)
        In receive order, unfed (as :func:`obcore.replay.route` yields them).

    Yields
    ------
    Snapshot
    """
    from obcore.replay import feed

    rows: list[Snapshot] = []
    clock = [0.0]  # newest exchange second seen

    def keep(row: Snapshot) -> bool:
        rows.append(row)
        return True

    capture = LiveCapture(keep, settle=SETTLE_SECONDS, clock=lambda: clock[0])
    for message, session in routed:
        if message.kind != "snapshot":
            second = event_second(message.payload)
            if second is not None:
                clock[0] = max(clock[0], second)
                closed = session.last_event_time_ms // 1000
                if message.kind == "depth" and 0 < closed < second:
                    capture.second_closed(session, closed, second)
        feed(message, session)
        if capture.queue_settled():
            yield from rows
            rows.clear()
    capture.queue_settled(everything=True)
    yield from rows
