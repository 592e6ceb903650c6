"""Every branch of Binance's spot sync procedure, through BookSession."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from obcore.counters import FIELD_NAMES
from obcore.errors import InvalidInputError
from obcore.session import BookSession, SyncState


def diff(first, last, bids=(), asks=(), time_ms=1_700_000_000_000):
    return {
        "e": "depthUpdate",
        "E": time_ms,
        "s": "ETHUSDT",
        "U": first,
        "u": last,
        "b": [list(level) for level in bids],
        "a": [list(level) for level in asks],
    }


def snapshot(last_update_id, bids=(("100.00", "1.0"),), asks=(("101.00", "2.0"),)):
    return {"lastUpdateId": last_update_id, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}


@pytest.fixture(params=["dict", "frame"])
def feed(request):
    """Feed payloads as parsed dicts or as raw combined-stream frames (the fast path)."""

    def feed(session, payload):
        if request.param == "dict":
            return session.receive(payload)
        return session.receive_frame(orjson.dumps({"stream": "ethusdt@depth@100ms", "data": payload}))

    return feed


def synced(feed) -> BookSession:
    session = BookSession("ETHUSDT", price_scale=2, qty_scale=1)
    feed(session, diff(5, 10, bids=[("99.5", "3")]))
    assert session.needs_snapshot
    session.receive_snapshot(snapshot(8))
    assert session.state is SyncState.LIVE
    return session


def test_buffers_until_snapshot_then_bridges(feed):
    session = BookSession("ETHUSDT")
    assert session.state is SyncState.SYNCING
    assert not session.needs_snapshot  # nothing buffered yet: buffer first, then fetch
    assert feed(session, diff(1, 4, bids=[("98", "1")])) is False  # older than the snapshot: dropped
    assert feed(session, diff(5, 10, bids=[("99.5", "3")])) is False  # the bridge event
    assert feed(session, diff(11, 12, asks=[("101", "0")])) is False
    assert session.needs_snapshot and session.buffered_events == 3
    session.receive_snapshot(snapshot(8))
    assert session.state is SyncState.LIVE
    assert session.last_update_id == 12
    assert session.events_applied == 2 and session.events_ignored == 1
    # Scales inferred from the numbers seen: "99.5" needs 1 decimal, quantities none.
    assert session.price_scale == 1 and session.qty_scale == 0
    bid_prices, bid_qtys, ask_prices, _ = session.book.top(5)
    assert bid_prices.tolist() == [1000, 995] and bid_qtys.tolist() == [1, 3]
    assert ask_prices.tolist() == []  # the only ask was deleted


def test_snapshot_before_any_diff(feed):
    session = BookSession("ETHUSDT")
    session.receive_snapshot(snapshot(8))
    assert session.state is SyncState.SYNCING and not session.needs_snapshot
    assert feed(session, diff(3, 8)) is False  # u <= lastUpdateId: dropped
    assert feed(session, diff(9, 9, bids=[("100", "5")])) is True
    assert session.state is SyncState.LIVE


def test_stale_snapshot_is_refetched(feed):
    session = BookSession("ETHUSDT")
    feed(session, diff(20, 25))
    session.receive_snapshot(snapshot(10))  # older than the first buffered U - 1
    assert session.stale_snapshot_count == 1
    assert session.needs_snapshot and session.state is SyncState.SYNCING
    session.receive_snapshot(snapshot(22))
    assert session.state is SyncState.LIVE and session.last_update_id == 25


def test_gap_goes_to_resync_and_recovers(feed):
    session = synced(feed)
    assert feed(session, diff(11, 11, bids=[("99", "1")])) is True
    assert feed(session, diff(14, 15)) is False  # 12..13 missed
    assert session.state is SyncState.RESYNCING
    assert session.gap_count == 1 and session.resync_count == 1
    assert "gap" in session.reason and "U=14" in session.reason
    assert session.needs_snapshot
    feed(session, diff(16, 16, asks=[("100.5", "1")]))
    session.receive_snapshot(snapshot(15, bids=[("99", "1")], asks=[("100.75", "4")]))
    assert session.state is SyncState.LIVE
    assert session.last_update_id == 16
    assert session.book.best_ask() == (10050, 10)


def test_duplicate_and_out_of_order_events(feed):
    session = synced(feed)
    feed(session, diff(11, 12, bids=[("99.9", "1")]))
    assert feed(session, diff(11, 12, bids=[("99.9", "7")])) is False  # duplicate: ignored
    bid_prices, bid_qtys, _, _ = session.book.top(5)
    assert dict(zip(bid_prices.tolist(), bid_qtys.tolist()))[9990] == 10  # not 70
    assert session.events_ignored == 1 and session.state is SyncState.LIVE
    # An event from the future arrives before its predecessor: that is a gap.
    assert feed(session, diff(14, 14)) is False
    assert session.state is SyncState.RESYNCING


def test_overlapping_event_is_applied(feed):
    session = synced(feed)
    # U <= bookId < u: Binance's rule applies it (quantities are absolute, so it is exact).
    assert feed(session, diff(9, 13, bids=[("99.7", "2")])) is True
    assert session.last_update_id == 13


def test_crossed_book_resyncs(feed):
    session = synced(feed)
    assert feed(session, diff(11, 11, bids=[("101.5", "1")])) is False
    assert session.state is SyncState.RESYNCING
    assert session.crossed_count == 1 and "crossed" in session.reason


def test_finer_precision_rescales_exactly(feed):
    session = synced(feed)
    assert session.price_scale == 2
    feed(session, diff(11, 11, bids=[("100.00125", "0.5")]))
    assert session.price_scale == 5 and session.qty_scale == 1
    assert session.book.best_bid() == (10000125, 5)
    assert session.book.best_ask() == (10100000, 20)


def test_trades_feed_tape_and_counters(feed):
    session = synced(feed)
    trade = {"e": "aggTrade", "E": 1, "s": "ETHUSDT", "a": 7, "p": "100.00", "q": "0.4", "f": 1, "l": 1,
             "T": 1_700_000_000_500, "m": True, "M": True}  # fmt: skip
    if feed.__name__ == "feed":
        session.receive_frame(orjson.dumps({"stream": "ethusdt@aggTrade", "data": trade}))
    assert len(session.trades) == 1
    tape = session.trades.since(0)
    assert tape["side"].tolist() == [-1]  # buyer is maker: the taker sold
    assert tape["price"].tolist() == [10000] and tape["qty"].tolist() == [4]
    second = 1_700_000_000
    totals = session.counters.totals(second, 1)
    assert totals["sell_trades"] == 1 and totals["sell_qty"] == 4
    # The next diff removes 0.4 at 100.00: a reduction explained by the trade, no cancel.
    feed(session, diff(11, 11, bids=[("100.00", "0.6")], time_ms=1_700_000_000_600))
    totals = session.counters.totals(second, 1)
    assert totals["bid_reductions"] == 1 and totals["bid_cancellations"] == 0


def test_mark_stale_and_back_to_live(feed):
    session = synced(feed)
    now = session.last_event_time_ms
    assert not session.mark_stale(now + 1000)
    assert session.mark_stale(now + 6000)
    assert session.state is SyncState.STALE and session.book_age_ms(now + 6000) == 6000
    feed(session, diff(11, 11, time_ms=now + 7000))
    assert session.state is SyncState.LIVE


def test_reset_requests_a_new_snapshot(feed):
    session = synced(feed)
    session.reset("manual restart")
    assert session.state is SyncState.RESYNCING and session.reason == "manual restart"
    feed(session, diff(30, 31))
    assert session.needs_snapshot


def test_bad_input_names_the_value():
    with pytest.raises(InvalidInputError, match="ethusdt"):
        BookSession("ethusdt")
    session = BookSession("ETHUSDT")
    with pytest.raises(InvalidInputError, match="not JSON"):
        session.receive_frame(b"{oops")
    with pytest.raises(InvalidInputError, match="snapshot"):
        session.receive_snapshot({"bids": []})
    session.receive_snapshot(snapshot(8))
    with pytest.raises(InvalidInputError, match="malformed depthUpdate"):
        session.receive({"e": "depthUpdate", "U": 9})


def test_counter_window_is_a_contiguous_view(feed):
    session = synced(feed)
    base = 1_700_000_000_000
    for k in range(5):
        feed(session, diff(11 + k, 11 + k, bids=[("99.1", str(k + 1))], time_ms=base + 1000 * k))
    window = session.counters.window(1_700_000_004, 5)
    assert window.shape == (len(FIELD_NAMES), 5)
    assert window.base is not None  # a view, not a copy
    assert window[FIELD_NAMES.index("messages")].tolist() == [2, 1, 1, 1, 1]
    future = session.counters.window(1_700_000_006, 3)  # seconds not yet seen read as zero
    assert future[FIELD_NAMES.index("messages")].tolist() == [1, 0, 0]


def test_receive_frames_matches_frame_by_frame(eth_files):
    from obcore.recording import read_messages

    messages = [m for m in read_messages(eth_files[:1]) if m.kind in ("depth", "snapshot", "trade")]
    snapshot_at = next(i for i, m in enumerate(messages) if m.kind == "snapshot")
    one, batch = BookSession("ETHUSDT"), BookSession("ETHUSDT")
    frames = []
    for message in messages:
        if message.kind == "snapshot":
            continue
        frames.append(orjson.dumps({"stream": message.stream, "data": message.payload}))
    # Both see the first diffs, the snapshot, then everything else.
    head = sum(1 for m in messages[:snapshot_at] if m.kind != "snapshot")
    for session in (one, batch):
        for frame in frames[:head]:
            session.receive_frame(frame)
        session.receive_snapshot(messages[snapshot_at].payload)
    applied_one = sum(one.receive_frame(frame) for frame in frames[head:])
    applied_batch = batch.receive_frames(frames[head:])
    assert applied_one == applied_batch > 3000
    assert one.last_update_id == batch.last_update_id
    for a, b in zip(one.book.top(100), batch.book.top(100)):
        assert np.array_equal(a, b)
    assert np.array_equal(one.counters.data, batch.counters.data)
    assert len(one.trades) == len(batch.trades) > 1000


def test_too_many_decimals_names_the_value():
    from obcore.errors import PrecisionError

    session = BookSession("ETHUSDT")
    with pytest.raises(PrecisionError, match="0.0000000000001"):
        session.receive_snapshot(snapshot(8, bids=[("0.0000000000001", "1")]))


def test_gapped_event_bridges_to_an_older_snapshot_with_its_levels(feed):
    """The event that revealed a gap is kept whole: if the fresh snapshot is a little
    older than it, it bridges, and its levels must land in the book."""
    session = synced(feed)
    assert feed(session, diff(14, 15, bids=[("99.3", "4")])) is False  # 11..13 missed
    assert session.state is SyncState.RESYNCING
    session.receive_snapshot(snapshot(14, bids=[("99", "1")], asks=[("100.75", "4")]))
    assert session.state is SyncState.LIVE and session.last_update_id == 15
    bid_prices, bid_qtys, _, _ = session.book.top(5)
    assert dict(zip(bid_prices.tolist(), bid_qtys.tolist())) == {9930: 40, 9900: 10}


def test_counter_window_spanning_a_qty_rescale_is_in_one_scale(feed):
    """Issue 9: the ring's quantity fields follow the book when qty_scale grows.

    Second 0 is counted at qty scale 1; a finer trade in second 1 moves the session to
    scale 3. A window over both seconds must read every quantity in scale 3.
    """
    session = synced(feed)  # scale 1; the bridge event added 3.0 at 99.5 in second 0
    second = 1_700_000_000

    def trade(trade_id, qty, time_ms, maker):
        return {"e": "aggTrade", "E": time_ms, "s": "ETHUSDT", "a": trade_id, "p": "100.00", "q": qty,
                "f": 1, "l": 1, "T": time_ms, "m": maker, "M": True}  # fmt: skip

    feed(session, trade(1, "1.5", second * 1000 + 100, False))  # taker buy of 1.5 in second 0
    feed(session, diff(11, 11, bids=[("99.5", "1.0")], time_ms=second * 1000 + 200))  # reduced by 2.0
    before = session.counters.totals(second, 1)
    assert before["buy_qty"] == 15 and before["bid_reduced_qty"] == 20 and before["bid_cancelled_qty"] == 20
    feed(session, trade(2, "0.125", second * 1000 + 1100, True))  # finer: scale 1 -> 3, second 1
    feed(session, diff(12, 12, asks=[("101.00", "2.5")], time_ms=second * 1000 + 1200))  # added 0.5
    assert session.qty_scale == 3
    totals = session.counters.totals(second + 1, 2)
    assert totals["buy_qty"] == 1500 and totals["sell_qty"] == 125
    assert totals["bid_added_qty"] == 3000  # the bridge event's 3.0, now in thousandths
    assert totals["bid_reduced_qty"] == 2000 and totals["bid_cancelled_qty"] == 2000
    assert totals["ask_added_qty"] == 500
    assert session.counters.totals(second, 1)["buy_qty"] == 1500
    tape = session.trades.since(0)
    assert tape["qty"].tolist() == [1500, 125]


def test_trades_through_the_kernel_equal_the_general_path():
    """Live, trade frames are parsed in the kernel; the tape and counters must be exactly
    what the parsed-payload path gives, across a rescale and old-form trade frames."""
    import random

    rng = random.Random(9)
    second = 1_700_000_000
    payloads = []
    for k in range(400):
        time_ms = second * 1000 + 10 * k
        qty = f"{rng.randint(1, 999)}.{rng.randint(0, 9)}" if k < 300 else f"0.{rng.randint(1, 999):03d}"
        if rng.random() < 0.5:
            payloads.append({"e": "aggTrade", "E": time_ms, "s": "ETHUSDT", "a": k, "p": f"{rng.randint(95, 105)}.00",
                             "q": qty, "f": k, "l": k, "T": time_ms, "m": rng.random() < 0.5, "M": True})  # fmt: skip
        else:
            payloads.append({"e": "trade", "E": time_ms, "s": "ETHUSDT", "t": k, "p": f"{rng.randint(95, 105)}.5",
                             "q": qty, "b": 1, "a": 2, "T": time_ms, "m": rng.random() < 0.5, "M": True})  # fmt: skip
    frames = [orjson.dumps({"stream": "ethusdt@trade", "data": payload}) for payload in payloads]

    def run(feed):
        session = BookSession("ETHUSDT", price_scale=2, qty_scale=1)
        session.receive(diff(5, 10, bids=[("99.5", "3")]))
        session.receive_snapshot(snapshot(8))
        assert session.state is SyncState.LIVE
        general_path = session._receive_trade
        session.general_trades = 0

        def counted(payload):
            session.general_trades += 1
            general_path(payload)

        session._receive_trade = counted
        feed(session)
        return session

    general = run(lambda session: [session.receive(payload) for payload in payloads])
    one_by_one = run(lambda session: [session.receive_frame(frame) for frame in frames])
    batched = run(lambda session: session.receive_frames(frames))
    assert general.qty_scale == 3  # the last 100 trades were finer: one rescale
    expected = general.trades.latest()
    for session in (one_by_one, batched):
        assert session.qty_scale == general.qty_scale and session.price_scale == general.price_scale
        got = session.trades.latest()
        for name in expected:
            assert got[name].tolist() == expected[name].tolist(), name
        assert np.array_equal(session.counters.window(second + 3, 5), general.counters.window(second + 3, 5))
        assert 1 <= session.general_trades <= 3  # only the finer numbers (the rescales) left the kernel
    assert len(expected["qty"]) == 400 and general.general_trades == 400
