"""get_liquidity_vacuums: vacuums from trades and depth, severity, walls, absorption, stop advice."""

from __future__ import annotations

import numpy as np
import pytest

from obcore._kernels import _layout as f
from obcore.analytics.vacuums import liquidity_map, vacuums_answer
from obcore.errors import InvalidInputError
from obcore.numbers import parse_decimal

from .realdata import replayed

TICK = 1  # prices in ticks (price_scale 2: 1 = 0.01)


def _book(levels: int = 100, mid: int = 100_000, size: int = 100):
    bids = (mid - 1 - np.arange(levels), np.full(levels, size))
    asks = (mid + 1 + np.arange(levels), np.full(levels, size))
    return [np.asarray(a, dtype=np.int64) for a in bids], [np.asarray(a, dtype=np.int64) for a in asks]


def _trades(prices):
    p = np.asarray(prices, dtype=np.int64)
    return p, np.full(p.shape[0], 10, dtype=np.int64), np.arange(p.shape[0], dtype=np.int64)


def _in_vacuum(out, price: str) -> bool:
    value = parse_decimal(price, 2)
    return any(parse_decimal(v["price_low"], 2) <= value < parse_decimal(v["price_high"], 2) for v in out["vacuums"])


def test_a_hole_in_both_measures_is_critical_and_in_one_is_medium_or_high():
    bids, asks = _book()
    # Remove bid levels 99,960..99,979 (two 10-tick bins) from the book; trades avoid them too.
    keep = (bids[0] < 99_960) | (bids[0] >= 99_980)
    bids = [bids[0][keep], bids[1][keep]]
    trade_prices = [p for p in range(99_900, 100_100) if not 99_960 <= p < 99_980 for _ in range(3)]
    # A second hole in the traded volume only, where the asks rest normally.
    trade_prices = [p for p in trade_prices if not 100_050 <= p < 100_060]
    out = liquidity_map("ETHUSDT", tick=TICK, price_scale=2, qty_scale=0, bids=bids, asks=asks,
                        **dict(zip(("trade_prices", "trade_qtys", "trade_times"), _trades(trade_prices)))).to_dict()
    by_low = {v["price_low"]: v for v in out["vacuums"]}
    both = by_low["999.6"]
    assert both["price_high"] == "999.8" and both["severity"] == "Critical" and both["expected_impact"] == "FastMovement"
    assert set(both["sources"]) == {"bid_depth", "traded_volume"} and both["volume_deficit_pct"] == 100
    one = by_low["1000.5"]
    assert one["sources"] == ["traded_volume"] and one["severity"] == "Medium"
    assert one["deficit_by_measure"] == {"traded_volume": 100.0, "ask_depth": 0.0}
    assert out["wall_rule"]["k"] == 5 and out["wall_rule"]["N"] == 100


def test_stop_goes_beyond_the_nearest_wall_and_out_of_vacuums():
    bids, asks = _book()
    bids[1][9] = 5_000  # a bid wall at 99,990 (50x the median)
    asks[1][5] = 5_000  # an ask wall at 100,006
    keep = (bids[0] < 99_960) | (bids[0] >= 99_990)  # depth hole just below the bid wall
    bids = [bids[0][keep], bids[1][keep]]
    out = liquidity_map("ETHUSDT", tick=TICK, price_scale=2, qty_scale=0, bids=bids, asks=asks).to_dict()
    long_stop, short_stop = out["stop_advice"]["long_stop"], out["stop_advice"]["short_stop"]
    assert "999.9" in long_stop["basis"] and long_stop["moved_out_of"] == ["999.6-999.9"]
    assert long_stop["price"] == "999.59" and not _in_vacuum(out, long_stop["price"])
    assert short_stop["price"] == "1000.07" and short_stop["moved_out_of"] == []
    assert out["stop_advice"]["text"] == "avoid 999.6-999.9, use 999.59 or 1000.07"


@pytest.mark.parametrize("seed", range(40))
def test_stop_advice_is_never_inside_a_vacuum(seed):
    rng = np.random.default_rng(seed)
    bids, asks = _book(size=0)
    bids[1][:] = rng.integers(0, 300, 100) * (rng.random(100) > 0.3)
    asks[1][:] = rng.integers(0, 300, 100) * (rng.random(100) > 0.3)
    bids[1][rng.integers(0, 100)] = 20_000
    bids = [bids[0][bids[1] > 0], bids[1][bids[1] > 0]]
    asks = [asks[0][asks[1] > 0], asks[1][asks[1] > 0]]
    trades = rng.integers(99_850, 100_150, 3_000)
    out = liquidity_map("ETHUSDT", tick=3, price_scale=2, qty_scale=0, bids=bids, asks=asks,
                        **dict(zip(("trade_prices", "trade_qtys", "trade_times"), _trades(trades)))).to_dict()
    for kind in ("long_stop", "short_stop"):
        price = out["stop_advice"][kind]["price"]
        assert not _in_vacuum(out, price), (kind, price, out["vacuums"])
        assert parse_decimal(price, 2) % 3 == 0  # on the tick


def _refill_rows(price: int, side: int, count: int, traded: int, displayed: int, t0: int = 1_000):
    rows = np.zeros((f.N_REFILL_FIELDS, count), dtype=np.int64)
    rows[f.REFILL_SIDE], rows[f.REFILL_PRICE] = side, price
    rows[f.REFILL_TIME] = t0 + 100 * np.arange(count)
    rows[f.REFILL_TRADED], rows[f.REFILL_QTY], rows[f.REFILL_DISPLAYED] = traded, traded, displayed
    return rows


@pytest.mark.parametrize(("count", "traded", "through", "expected"), [
    (6, 100, False, "MarketMaker"),  # 600 absorbed > 5x the 100 median, steady 100 displayed
    (6, 83, False, None),            # 498 absorbed: not > 5x the median (500)
    (6, 100, True, None),            # a trade printed below the bid: price moved through
    (3, 700, False, "Whale"),        # 2,100 > 20x the median
    (1, 800, False, None),           # one refill is no absorption
])  # fmt: skip
def test_absorption(count, traded, through, expected):
    bids, asks = _book()
    refills = _refill_rows(99_990, f.BID, count, traded, 100)
    prices = [99_995] * 20 + ([99_980] if through else [])
    p, q, _ = _trades(prices)
    times = np.full(p.shape[0], 2_000, dtype=np.int64)
    out = liquidity_map("ETHUSDT", tick=TICK, price_scale=2, qty_scale=0, bids=bids, asks=asks, refills=refills,
                        trade_prices=p, trade_qtys=q, trade_times=times).to_dict()
    events = out["absorption_events"]
    if expected is None:
        assert events == []
    else:
        (event,) = events
        assert event["direction"] == "Accumulation" and event["price"] == "999.9"
        assert event["suspected_entity"] == expected and event["refill_count"] == count
        assert event["absorbed_volume"] == str(count * traded)


@pytest.mark.parametrize("minutes", [9, 1441, "30", True, 30.0])
def test_bad_lookbacks(minutes):
    session, _ = replayed("eth")["ETHUSDT"]
    with pytest.raises(InvalidInputError, match="lookback_minutes"):
        vacuums_answer("ETHUSDT", session=session, lookback_minutes=minutes)


def test_bad_sources_and_tick():
    with pytest.raises(InvalidInputError, match="not tracked"):
        vacuums_answer("ETHUSDT")
    with pytest.raises(InvalidInputError, match="store"):
        vacuums_answer("ETHUSDT", as_of="2024-08-09T00:05:00Z")
    with pytest.raises(InvalidInputError, match="tick"):
        liquidity_map("ETHUSDT", tick=0, price_scale=2, qty_scale=0)
    with pytest.raises(InvalidInputError, match="nothing to map"):
        liquidity_map("ETHUSDT", tick=1, price_scale=2, qty_scale=0)


def test_real_eth_replay():
    session, _ = replayed("eth")["ETHUSDT"]
    out = vacuums_answer("ETHUSDT", session=session, lookback_minutes=30, tick_size="0.01",
                         now_ms=session.last_event_time_ms).to_dict()
    assert out["bin_size"] == "0.12" and out["order_walls"] and out["lookback_minutes"] == 30
    for kind in ("long_stop", "short_stop"):
        assert not _in_vacuum(out, out["stop_advice"][kind]["price"])
    best_bid, best_ask = session.book.best_bid()[0], session.book.best_ask()[0]
    assert parse_decimal(out["stop_advice"]["long_stop"]["price"], 2) < best_bid
    assert parse_decimal(out["stop_advice"]["short_stop"]["price"], 2) > best_ask
