"""The live capture: one exact snapshot per tracked symbol per second."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import orjson
import pytest

from obcore.recording import merge_by_time
from obcore.session import BookSession, frame_second
from obcore.store import capture as capture_module
from obcore.store.capture import LiveCapture
from obcore.store.recorded import snapshots_from_recording
from obcore.store.snapshot import Snapshot

ETH = sorted((Path(__file__).parents[3] / "data" / "binance-ethusdt-2024-08-09").glob("*.gz"))


def _same(a: Snapshot, b: Snapshot) -> bool:
    return (
        a.time_s == b.time_s
        and all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("bid_prices", "bid_qtys", "ask_prices", "ask_qtys", "counters"))
        and (a.state, a.last_update_id, a.last_event_time_ms) == (b.state, b.last_update_id, b.last_event_time_ms)
    )


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _frames(limit: int | None = None):
    """The ETH recording as the stream manager sees it: raw combined-stream frames."""
    for index, message in enumerate(merge_by_time(ETH)):
        if limit is not None and index >= limit:
            return
        if message.kind == "snapshot":
            yield message, None
        elif message.kind in ("depth", "trade"):
            yield message, orjson.dumps({"stream": message.stream, "data": message.payload})


def test_frames_through_the_hook_give_the_replayed_rows():
    """Raw frames, the stream manager's hook rule and ``receive_frame`` (the live path)
    store exactly what the dict-fed replay stores, second for second."""
    rows: list[Snapshot] = []
    clock = FakeClock()
    capture = LiveCapture(lambda row: rows.append(row) or True, settle=2, clock=clock)
    session = BookSession("ETHUSDT")
    for message, raw in _frames():
        if raw is None:
            session.receive_snapshot(message.payload)
            continue
        second = frame_second(raw)
        clock.now = max(clock.now, second)
        closed = session.last_event_time_ms // 1000
        if message.kind == "depth" and 0 < closed < second:  # what StreamManager does
            capture.second_closed(session, closed, second)
        session.receive_frame(raw)
        capture.queue_settled()
    capture.queue_settled(everything=True)
    replayed = list(snapshots_from_recording(ETH))
    assert len(rows) == len(replayed) > 600
    assert [r.time_s for r in rows] == list(range(rows[0].time_s, rows[0].time_s + len(rows)))
    assert all(_same(a, b) for a, b in zip(rows, replayed))
    assert capture.queued == len(rows) and capture.dropped == capture.failed == 0


def _live_session(seconds: int) -> BookSession:
    """A session fed the first ``seconds`` seconds of the recording after it went live."""
    session = BookSession("ETHUSDT")
    start = None
    for message, raw in _frames():
        if raw is None:
            session.receive_snapshot(message.payload)
            continue
        second = frame_second(raw)
        if session.last_event_time_ms:
            start = second if start is None else start
            if second - start >= seconds:
                break
        session.receive_frame(raw)
    return session


def _collector(**options):
    rows: list[Snapshot] = []
    return rows, LiveCapture(lambda row: rows.append(row) or True, clock=FakeClock(), **options)


def test_a_quiet_symbol_is_stored_once_its_connection_has_moved_two_seconds_past():
    session = _live_session(3)
    newest = session.last_event_time_ms // 1000
    rows, capture = _collector()
    capture.capture_quiet([(session, newest + 1)])  # frames of `newest` may still be on the way
    assert capture.queue_settled(everything=True) == 0
    capture.capture_quiet([(session, newest + 2)])
    capture.capture_quiet([(session, newest + 4)])
    capture.capture_quiet([(session, newest + 4)])  # nothing new
    assert capture.queue_settled(everything=True) == 3
    assert [r.time_s for r in rows] == [newest, newest + 1, newest + 2]
    bids = session.book.top(20)[0]
    assert all(np.array_equal(r.bid_prices, bids) for r in rows)
    assert np.array_equal(rows[0].counters, session.counters.window(newest, 1)[:, 0])
    assert rows[0].counters.sum() > 0
    # The next depth frame is of newest + 5: only the seconds not stored yet are added.
    capture.second_closed(session, newest, newest + 5)
    capture.queue_settled(everything=True)
    assert [r.time_s for r in rows] == list(range(newest, newest + 5))


def test_a_stalled_connection_stores_nothing_however_long_it_stalls():
    """Only exchange time moves the quiet pass: the local clock running on while the
    connection delivers nothing (a stall, a dead socket) never stores a guessed book."""
    session = _live_session(3)
    newest = session.last_event_time_ms // 1000
    clock = FakeClock()
    rows: list[Snapshot] = []
    capture = LiveCapture(lambda row: rows.append(row) or True, clock=clock)
    for step in range(100):
        clock.now = float(step)
        capture.capture_quiet([(session, newest + 1)])
        capture.queue_settled()
    assert rows == []


def test_seconds_before_the_first_boundary_are_not_invented():
    session = _live_session(2)
    newest = session.last_event_time_ms // 1000
    rows, capture = _collector()
    capture.second_closed(session, newest, newest + 1)
    capture.second_closed(session, newest, newest + 1)  # repeated: stored once
    capture.second_closed(session, newest - 3, newest)  # older than what is stored: nothing
    capture.queue_settled(everything=True)
    assert [r.time_s for r in rows] == [newest]


def test_nothing_is_stored_while_a_session_is_not_synced():
    rows, capture = _collector()
    fresh = BookSession("ETHUSDT")  # no book yet
    capture.second_closed(fresh, 5, 6)
    capture.capture_quiet([(fresh, 100)])
    session = _live_session(2)
    newest = session.last_event_time_ms // 1000
    session.reset("test: stream restarted")  # book thrown away, waiting for a snapshot
    assert not session.is_synced and session.last_event_time_ms
    capture.second_closed(session, newest, newest + 3)
    capture.capture_quiet([(session, newest + 10)])
    assert capture.queue_settled(everything=True) == 0 and rows == []


def test_a_long_silence_is_filled_in_bounded_steps_without_a_hole(monkeypatch):
    monkeypatch.setattr(capture_module, "MAX_FILL_SECONDS", 4)
    session = _live_session(2)
    newest = session.last_event_time_ms // 1000
    rows, capture = _collector()
    for _ in range(3):
        capture.capture_quiet([(session, newest + 12)])
    capture.second_closed(session, newest, newest + 20)  # 4 more of the 9 left
    capture.queue_settled(everything=True)
    assert [r.time_s for r in rows] == list(range(newest, newest + 15))  # 4 + 4 + 3, then 4


def test_a_failing_or_refusing_store_costs_only_its_rows(monkeypatch):
    session = _live_session(2)
    newest = session.last_event_time_ms // 1000
    taken: list[int] = []

    def put(row: Snapshot) -> bool:
        if row.time_s == newest + 1:
            raise RuntimeError("disk on fire")
        if row.time_s == newest + 2:
            return False  # refused (queue full or over the cap)
        taken.append(row.time_s)
        return True

    capture = LiveCapture(put, clock=FakeClock())
    capture.second_closed(session, newest, newest + 4)
    assert capture.queue_settled(everything=True) == 2
    assert taken == [newest, newest + 3]
    assert (capture.queued, capture.failed, capture.dropped) == (2, 1, 1)
    monkeypatch.setattr(capture_module, "MAX_PENDING", 3)
    capture.second_closed(session, newest + 3, newest + 9)  # 5 rows, room for 3
    assert capture.dropped == 3
    capture.queue_settled(everything=True)
    assert taken[-3:] == [newest + 6, newest + 7, newest + 8]


def test_run_queues_what_is_still_settling_when_cancelled():
    session = _live_session(2)
    newest = session.last_event_time_ms // 1000
    rows: list[Snapshot] = []
    capture = LiveCapture(lambda row: rows.append(row) or True, settle=3600.0)

    async def run() -> None:
        task = asyncio.create_task(capture.run(lambda: [(session, -1)], interval=0.01))
        capture.second_closed(session, newest, newest + 2)
        await asyncio.sleep(0.05)
        assert rows == []  # still settling
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert [r.time_s for r in rows] == [newest, newest + 1]
    assert capture.queued == 2


@pytest.mark.parametrize(
    ("raw", "second"),
    [
        (b'{"stream":"ethusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161600999,"s":"ETHUSDT"}}', 1723161600),
        (b'{"e":"trade","E":1723161601002,"s":"ETHUSDT","t":1,"T":1723161600999,"m":true}', 1723161600),
        ('{"e":"aggTrade","E":1723161601002,"a":5,"T":1723161601000}', 1723161601),
        (b'{"result":null,"id":1}', None),
    ],
)
def test_frame_second_is_the_second_the_counters_use(raw, second):
    assert frame_second(raw) == second
