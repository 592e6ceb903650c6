"""Real BTCUSDT data without a REST snapshot: a book built from the diffs alone (an empty
stand-in snapshot just before the first diff), stored every second, must come back from the
store exactly, and its best levels must equal Binance's bookTicker wherever the update ids
meet."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from obcore.counters import FIELD_NAMES
from obcore.numbers import format_decimal, parse_decimal
from obcore.recording import Message, merge_by_time
from obcore.replay import feed, l1_record
from obcore.session import BookSession, SyncState
from obcore.store import SnapshotStore, snapshot_of
from obcore.store.snapshot import STATE_CODES

BTC = Path(__file__).parents[3] / "data" / "binance-btcusdt-2023-04-05" / "btcusdt_20230405.dat.gz"


def _diff_only(path):
    """The recording's book messages, an empty snapshot (lastUpdateId = U - 1) before the first diff."""
    started = False
    for message in merge_by_time([path]):
        if message.kind not in ("depth", "trade", "aggTrade"):
            continue
        if not started and message.kind == "depth":
            stand_in = {"lastUpdateId": int(message.payload["U"]) - 1, "bids": [], "asks": []}
            yield Message(message.receive_time_ns, None, "BTCUSDT", "snapshot", stand_in)
            started = True
        yield message


def _replay_by_second(path):
    """Each completed second's snapshot and the in-memory truth read straight from the session."""
    session = BookSession("BTCUSDT")
    snapshots, truth = [], {}
    current = None
    for message in _diff_only(path):
        if message.kind != "snapshot":
            second = int(message.payload["E"]) // 1000
            while current is not None and current < second:
                snapshots.append(snapshot_of(session, current))
                truth[current] = (
                    [a.copy() for a in session.book.top(20)],
                    session.counters.window(current, 1)[:, 0].copy(),
                    session.last_update_id,
                    session.book.price_scale,
                    session.book.qty_scale,
                )
                current += 1
        feed(message, session)
        if current is None and session.state is SyncState.LIVE:
            current = session.last_event_time_ms // 1000
    assert session.gap_count == session.resync_count == 0
    return snapshots, truth


def test_btc_diff_only_round_trips_exactly(tmp_path):
    snapshots, truth = _replay_by_second(BTC)
    with SnapshotStore.open(tmp_path / "btc", maintenance_interval_s=3600.0) as store:
        for snapshot in snapshots:
            assert store.put(snapshot)
        store.flush()
        arrays = store.range("BTCUSDT", min(truth), max(truth) + 1)
    assert len(snapshots) == len(truth) == len(arrays) > 400
    assert arrays.time_s.tolist() == sorted(truth)
    qty_columns = [i for i, name in enumerate(FIELD_NAMES) if name.endswith("_qty")]
    for row, second in enumerate(arrays.time_s.tolist()):
        (bid_p, bid_q, ask_p, ask_q), counters, update_id, price_scale, qty_scale = truth[second]
        price_factor = 10 ** (arrays.price_scale - price_scale)
        qty_factor = 10 ** (arrays.qty_scale - qty_scale)
        assert arrays.bid_levels[row] == len(bid_p) and arrays.ask_levels[row] == len(ask_p), second
        assert np.array_equal(arrays.bid_prices[row, : len(bid_p)], bid_p * price_factor), second
        assert np.array_equal(arrays.bid_qtys[row, : len(bid_q)], bid_q * qty_factor), second
        assert np.array_equal(arrays.ask_prices[row, : len(ask_p)], ask_p * price_factor), second
        assert np.array_equal(arrays.ask_qtys[row, : len(ask_q)], ask_q * qty_factor), second
        assert not arrays.bid_qtys[row, len(bid_q) :].any() and not arrays.ask_qtys[row, len(ask_q) :].any()
        expected = counters.copy()
        expected[qty_columns] *= qty_factor
        assert np.array_equal(arrays.counters[row], expected), second
        assert arrays.last_update_id[row] == update_id
        assert arrays.state[row] == STATE_CODES["LIVE"]
    # The diff-only book fills quickly: after the first second both top 20s are full.
    assert np.all(arrays.bid_levels[1:] == 20) and np.all(arrays.ask_levels[1:] == 20)


def test_btc_diff_only_book_matches_every_book_ticker():
    path = BTC

    def normal(text: str) -> str:
        return format_decimal(parse_decimal(text, 12), 12)

    tickers = {int(m.payload["u"]): m.payload for m in merge_by_time([path]) if m.kind == "bookTicker"}
    session = BookSession("BTCUSDT")
    compared = 0
    mismatches = []
    for message in _diff_only(path):
        if not feed(message, session) or session.last_update_id not in tickers:
            continue
        ticker, ours = tickers[session.last_update_id], l1_record(session)
        theirs = {"bid": normal(ticker["b"]), "bid_qty": normal(ticker["B"]),
                  "ask": normal(ticker["a"]), "ask_qty": normal(ticker["A"])}
        compared += 1
        if any(ours[key] != value for key, value in theirs.items()):
            mismatches.append((session.last_update_id, ours, theirs))
    assert not mismatches, mismatches[:3]
    assert compared == 890  # bookTickers whose u is the u of an applied diff, in this recording
