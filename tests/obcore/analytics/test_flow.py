"""Order flow: the direction bands at their boundaries, the real ETHUSDT replay against an
independent count from the raw messages, CVD against a direct sum over ``m`` flags, live
vs stored answers for the same seconds, withdrawal severities, and bad input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from obcore import counters as f
from obcore.analytics import FlowDirection, flow_direction, order_flow, parse_as_of, stored_order_flow, trade_flow
from obcore.analytics.flow import LOOKBACK_SECONDS, flow_from_counters
from obcore.analytics.tradefiles import read_trades
from obcore.errors import InvalidInputError

from . import reference
from .conftest import ETH_FILES

D = FlowDirection


# ------------------------------------------------------------- direction bands
@pytest.mark.parametrize("bid, ask, direction", [
    (201, 100, D.STRONG_BUY), (2, 1, D.MODERATE_BUY), (199, 100, D.MODERATE_BUY),
    (121, 100, D.MODERATE_BUY), (6, 5, D.NEUTRAL), (119, 100, D.NEUTRAL), (1, 1, D.NEUTRAL),
    (4, 5, D.NEUTRAL), (79, 100, D.MODERATE_SELL), (1, 2, D.MODERATE_SELL), (49, 100, D.STRONG_SELL),
    (0, 7, D.STRONG_SELL), (5, 0, D.STRONG_BUY), (0, 0, D.NEUTRAL),
    # exact where a float would not be: 12/10 is 1.2 exactly, 2**60+1 / 2**59 is just above 2
    (12, 10, D.NEUTRAL), (2**60 + 1, 2**59, D.STRONG_BUY), (2**59 - 1, 2**60, D.STRONG_SELL),
])
def test_direction_bands_and_boundaries(bid, ask, direction):
    got, ratio = flow_direction(bid, ask)
    assert got is direction
    assert ratio == (None if ask == 0 else Fraction(bid, ask))


def test_direction_rejects_negative_counts():
    with pytest.raises(InvalidInputError, match="bid, ask >= 0"):
        flow_direction(-1, 1)


# --------------------------------------------------------- real data, live
@pytest.fixture(scope="module")
def raw_counts():
    return reference.flow_counts(ETH_FILES)


# (300, 350) spans the qty-scale increase at 1723161373: it failed before the counters'
# *_qty fields were rescaled with the book (4eb5964).
@pytest.mark.parametrize("window, back", [(300, 0), (60, 0), (10, 0), (60, 200), (300, 350)])
def test_eth_flow_equals_independent_count(eth_replayed, raw_counts, window, back):
    s = eth_replayed
    end = s.counters.last_second - back
    flow = order_flow(s, window, end_second=end, now_ms=s.last_event_time_ms)
    seconds = range(end - window + 1, end + 1)
    rows = [raw_counts.get(t) for t in seconds]
    total = lambda key: sum(r[key] for r in rows if r)  # noqa: E731
    assert flow.bid_additions == total("bid_add") > 0
    assert flow.bid_cancellations == total("bid_cancel") > 0
    assert flow.ask_additions == total("ask_add") > 0
    assert flow.ask_cancellations == total("ask_cancel") > 0
    assert flow.taker_buy_count == total("buys") and flow.taker_sell_count == total("sells")
    scale = Decimal(10) ** s.qty_scale
    assert Decimal(flow.taker_buy_volume) / scale == total("buy_qty")
    assert Decimal(flow.taker_sell_volume) / scale == total("sell_qty")
    assert flow.bid_flow_rate == (total("bid_add") + total("bid_cancel")) / window
    assert flow.quality.status == "ok" and flow.seconds_covered == window


def test_eth_cvd_is_the_running_sum_over_m_flags(eth_replayed):
    s = eth_replayed
    end = s.counters.last_second
    flow = order_flow(s, 300, end_second=end, now_ms=s.last_event_time_ms)
    raw = [t for path in ETH_FILES for t in reference.raw_trades(path)]
    per_second = {}
    for t in raw:
        per_second[t["T"] // 1000] = per_second.get(t["T"] // 1000, Decimal(0)) + (
            -Decimal(t["q"]) if t["m"] else Decimal(t["q"]))
    running, expected = Decimal(0), []
    for second in range(end - 299, end + 1):
        running += per_second.get(second, Decimal(0))
        expected.append(running)
    scale = Decimal(10) ** s.qty_scale
    assert [Decimal(int(v)) / scale for v in flow.cvd] == expected
    assert Decimal(flow.cumulative_delta) / scale == expected[-1] != 0


def test_eth_withdrawals_are_trailing_minute_cancellations(eth_replayed, raw_counts):
    s = eth_replayed
    end = s.counters.last_second
    flow = order_flow(s, 120, end_second=end, now_ms=s.last_event_time_ms)
    for side in ("bid", "ask"):
        trailing = [sum((raw_counts.get(t) or {}).get(side + "_cancel", 0) for t in range(k - 59, k + 1))
                    for k in range(end - 119, end + 1)]
        events = [w for w in flow.withdrawals if w.side == side]
        above = [k for k, v in zip(range(end - 119, end + 1), trailing) if v > 50]
        assert [(w.start_s, w.end_s) for w in events] == [(above[0], above[-1])]  # one run: busy all along
        assert events[0].peak_per_minute == max(trailing)


def test_live_and_stored_answers_are_equal(eth_replayed, tmp_path):
    from obcore.store import SnapshotStore, snapshot_of
    from obcore.store.recorded import snapshots_from_recording

    s = eth_replayed
    store = SnapshotStore.open(tmp_path / "db", maintenance_interval_s=3600.0)
    try:
        rows = 0
        for snap in snapshots_from_recording(ETH_FILES):
            store.write_now(snap)
            rows += 1
        last = s.counters.last_second
        store.write_now(snapshot_of(s, last))  # the capture writes the last second on close
        assert rows > 600
        for window in (10, 60, 300):
            live = order_flow(s, window, end_second=last, now_ms=s.last_event_time_ms)
            stored = stored_order_flow(store, "ETHUSDT", last * 1000 + 999, window)
            assert live.analysis() == stored.analysis()
            assert stored.quality.status == "ok" and stored.quality.gaps == 0
            assert stored.quality.stored_seconds == window == live.quality.live_seconds
        # a past window: the counter-derived analysis is equal (the live book is newer)
        mid = last - 200
        live = order_flow(s, 60, end_second=mid).analysis()
        stored = stored_order_flow(store, "ETHUSDT", mid * 1000, 60).analysis()
        for name in ("top_bid_volume", "top_ask_volume", "five_level_direction", "five_level_ratio"):
            live.pop(name), stored.pop(name)
        assert live == stored
        # before the recording: nothing stored, said so
        empty = stored_order_flow(store, "ETHUSDT", (last - 5000) * 1000, 60)
        assert empty.seconds_covered == 0 and empty.quality.status == "degraded"
    finally:
        store.close()


def test_trade_flow_from_files_equals_the_session_counters(eth_replayed):
    s = eth_replayed
    end = s.counters.last_second
    from_files = trade_flow(read_trades(ETH_FILES), 300, end_second=end)
    live = order_flow(s, 300, end_second=end)
    factor = 10 ** (live.qty_scale - from_files.qty_scale)  # the book saw finer sizes than the trades
    assert factor >= 1
    assert (from_files.cvd * factor).tolist() == live.cvd.tolist()
    assert from_files.taker_buy_count == live.taker_buy_count
    assert from_files.taker_sell_volume * factor == live.taker_sell_volume
    assert from_files.bid_additions == 0 and from_files.quality.status == "degraded"
    whole = trade_flow(read_trades(ETH_FILES))
    assert whole.taker_buy_count + whole.taker_sell_count == 14_515


# ---------------------------------------------------------- withdrawals
def _matrix(window, bid_cancels):
    counters = np.zeros((f.N_FIELDS, LOOKBACK_SECONDS + window), dtype=np.int64)
    for column, count in bid_cancels.items():
        counters[f.BID_CANCELLATIONS, column] = count
        counters[f.MESSAGES, column] = 1
    return flow_from_counters(counters, 1000, window, 0, top_volumes=None, quality={"source": "live"})


@pytest.mark.parametrize("count, severity", [
    (50, None), (51, "Low"), (100, "Low"), (101, "Medium"), (250, "Medium"), (251, "High"),
    (1000, "High"), (1001, "Critical"),
])
def test_withdrawal_threshold_and_severity_bands(count, severity):
    flow = _matrix(10, {LOOKBACK_SECONDS + 3: count})
    events = flow.withdrawals
    if severity is None:
        assert events == ()
        return
    # the count stays in the trailing minute for the rest of the (10 s) window
    assert [(w.side, w.start_s, w.end_s, w.peak_per_minute, w.severity) for w in events] == [
        ("bid", 994, 1000, count, severity)]


def test_withdrawal_counts_the_minute_before_the_window():
    flow = _matrix(10, {0: 30, LOOKBACK_SECONDS: 21})  # 30 at the window start - 59 s, 21 at its start
    assert [(w.start_s, w.end_s, w.peak_per_minute) for w in flow.withdrawals] == [(991, 991, 51)]
    assert flow.seconds_covered == 10  # data in the minute before: the whole window is covered


def test_covered_seconds_start_at_the_first_data():
    flow = _matrix(10, {LOOKBACK_SECONDS + 4: 1})
    assert flow.seconds_covered == 6
    assert _matrix(10, {}).seconds_covered == 0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("window", [9, 301, 0, True, "60", 60.0])
def test_window_out_of_range(eth_replayed, window):
    with pytest.raises(InvalidInputError, match="window_duration_secs must be an integer 10..300"):
        order_flow(eth_replayed, window)


@pytest.mark.parametrize("value, expected", [
    (1723161600000, 1723161600000), ("1723161600000", 1723161600000),
    ("2024-08-09T00:00:00Z", 1723161600000), ("2024-08-09T00:00:00", 1723161600000),
    ("2024-08-09T02:00:00+02:00", 1723161600000), ("2024-08-09T00:00:00.250Z", 1723161600250),
])
def test_as_of_forms(value, expected):
    assert parse_as_of(value) == expected


@pytest.mark.parametrize("value", ["yesterday", 1723161600, True, None, 3.5, "2024-13-01"])
def test_bad_as_of(value):
    with pytest.raises(InvalidInputError, match="as_of"):
        parse_as_of(value)


def test_bad_counters_and_trades():
    with pytest.raises(InvalidInputError, match="counters must have shape"):
        flow_from_counters(np.zeros((3, 3), dtype=np.int64), 10, 10, 0, top_volumes=None, quality={"source": "x"})
    with pytest.raises(InvalidInputError, match="TradeArrays"):
        trade_flow([1, 2])
    from obcore.analytics import TradeArrays

    with pytest.raises(InvalidInputError, match="no trades"):
        trade_flow(TradeArrays.empty())
