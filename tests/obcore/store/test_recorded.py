"""Real data: replay the ETHUSDT recording through BookSession, store every second, and check
the stored top 20 / counters / state equal the in-memory book at each second."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from obcore.counters import FIELD_NAMES
from obcore.recording import merge_by_time
from obcore.session import BookSession, SyncState
from obcore.store import SnapshotStore, snapshot_of
from obcore.store.recorded import snapshots_from_recording
from obcore.store.snapshot import STATE_CODES

ETH = sorted((Path(__file__).parents[3] / "data" / "binance-ethusdt-2024-08-09").glob("*.gz"))


def _book_by_second():
    """In-memory truth, taken straight from the session (not through snapshot_of).

    The book of ``s`` is the book before the first event stamped later than ``s``; the
    counters of ``s`` are read from the ring after the whole replay (a trade stamped in
    ``s`` can arrive after a later second's first event: 51 of the 14,515 trades here),
    so they are in the session's final quantity scale (a rescale moves the ring with the
    book), kept as the last item.
    """
    session = BookSession("ETHUSDT")
    truth = {}
    current = None
    for message in merge_by_time(ETH):
        if message.kind == "snapshot":
            session.receive_snapshot(message.payload)
            continue
        if message.kind not in ("depth", "trade", "aggTrade"):
            continue
        second = message.payload["E"] // 1000
        if current is not None:
            while current < second:
                truth[current] = (
                    [a.copy() for a in session.book.top(20)],
                    None,
                    session.last_update_id,
                    session.book.price_scale,
                    session.book.qty_scale,
                )
                current += 1
        session.receive(message.payload)
        if current is None and session.state is SyncState.LIVE:
            current = session.last_event_time_ms // 1000
    for second, (book, _, *rest) in truth.items():
        truth[second] = (book, session.counters.window(second, 1)[:, 0].copy(), *rest, session.qty_scale)
    return truth


def test_eth_recording_round_trips_exactly(tmp_path):
    truth = _book_by_second()
    with SnapshotStore.open(tmp_path / "eth") as store:
        count = 0
        for snapshot in snapshots_from_recording(ETH):
            assert store.put(snapshot)
            count += 1
        store.flush()
        first, last = min(truth), max(truth)
        arrays = store.range("ETHUSDT", first, last + 1)
    assert count == len(truth) == len(arrays) > 600
    assert arrays.time_s.tolist() == sorted(truth)
    assert arrays.counter_names == FIELD_NAMES
    for row, second in enumerate(arrays.time_s.tolist()):
        (bid_p, bid_q, ask_p, ask_q), counters, update_id, price_scale, qty_scale, ring_qty_scale = truth[second]
        price_factor = 10 ** (arrays.price_scale - price_scale)
        qty_factor = 10 ** (arrays.qty_scale - qty_scale)
        assert len(bid_p) == arrays.bid_levels[row] == 20 and len(ask_p) == arrays.ask_levels[row] == 20
        assert np.array_equal(arrays.bid_prices[row], bid_p * price_factor), second
        assert np.array_equal(arrays.bid_qtys[row], bid_q * qty_factor), second
        assert np.array_equal(arrays.ask_prices[row], ask_p * price_factor), second
        assert np.array_equal(arrays.ask_qtys[row], ask_q * qty_factor), second
        qty_columns = [i for i, name in enumerate(FIELD_NAMES) if name.endswith("_qty")]
        expected = counters.copy()
        expected[qty_columns] *= 10 ** (arrays.qty_scale - ring_qty_scale)
        assert np.array_equal(arrays.counters[row], expected), second
        assert arrays.last_update_id[row] == update_id
        assert arrays.state[row] == STATE_CODES["LIVE"]
    assert np.all(arrays.spread > 0)


def test_snapshot_of_reads_a_session_without_changing_it():
    session = BookSession("ETHUSDT")
    for message in merge_by_time(ETH):
        if message.kind == "snapshot":
            session.receive_snapshot(message.payload)
        elif message.kind == "depth":
            session.receive(message.payload)
            if session.state is SyncState.LIVE and session.events_applied > 50:
                break
    second = session.last_event_time_ms // 1000
    before = session.book.top(20)
    snapshot = snapshot_of(session, second)
    assert snapshot.best_bid == session.book.best_bid()[0]
    assert snapshot.best_ask == session.book.best_ask()[0]
    assert snapshot.bid_count == session.book.bid_count
    assert snapshot.counters[FIELD_NAMES.index("messages")] >= 1
    assert all(np.array_equal(a, b) for a, b in zip(before, session.book.top(20)))
