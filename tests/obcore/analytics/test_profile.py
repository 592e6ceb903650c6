"""Volume profile: SPEC.md's rules at their edges, and the whole profile against an
independent Decimal implementation on the real recorded trades."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from obcore.analytics import TradeArrays, default_bin_size, volume_profile
from obcore.analytics.tradefiles import read_trade_file, read_trades
from obcore.errors import InsufficientDataError, InvalidInputError, PrecisionError
from obcore.numbers import format_decimal

from . import reference
from .conftest import BTC_FILE, ETH_FILES


def trades(rows, price_scale=2, qty_scale=0, side=1):
    """TradeArrays from (price_int, qty_int) rows, one ms apart."""
    n = len(rows)
    return TradeArrays(
        np.array([p for p, _ in rows], dtype=np.int64), np.array([q for _, q in rows], dtype=np.int64),
        np.arange(n, dtype=np.int64) + 1_700_000_000_000, np.full(n, side, dtype=np.int8),
        np.arange(n, dtype=np.int64), price_scale, qty_scale)


def by_bin(volumes, bin_ticks=10, base=1000):
    """One trade per non-zero bin volume, at each bin's lower edge (price scale 2, tick 1)."""
    return trades([(base + i * bin_ticks, v) for i, v in enumerate(volumes) if v > 0])


def profile_of(volumes, **kwargs):
    kwargs.setdefault("minimum_trades", 1)
    return volume_profile(by_bin(volumes), "0.01", bin_size="0.10", **kwargs)


# ------------------------------------------------------------------ real data
def _compare(ours, ref, price_scale, qty_scale):
    d = lambda value, scale: Decimal(format_decimal(int(value), scale))  # noqa: E731
    assert d(ours.bin_size, price_scale) == ref["bin_size"]
    assert [d(ours.price_level(i), price_scale) for i in range(ours.n_bins)] == ref["levels"]
    assert [d(v, qty_scale) for v in ours.volumes] == ref["volumes"]
    assert ours.trade_counts.tolist() == ref["counts"]
    assert d(ours.total_volume, qty_scale) == ref["total"]
    assert d(ours.poc_price, price_scale) == ref["poc"]
    assert d(ours.value_area_low, price_scale) == ref["val"]
    assert d(ours.value_area_high, price_scale) == ref["vah"]
    assert d(ours.value_area_volume, qty_scale) == ref["area"]
    assert Decimal(ours.median_twice) / 2 / Decimal(10) ** qty_scale == ref["median"]
    assert len(ours.vacuums) == len(ref["vacuums"])
    for mine, theirs in zip(ours.vacuums, ref["vacuums"]):
        assert d(mine.price_low, price_scale) == theirs["low"]
        assert d(mine.price_high, price_scale) == theirs["high"]
        assert mine.bins == theirs["bins"]
        assert d(mine.volume, qty_scale) == theirs["volume"]
        assert mine.volume_deficit_pct == pytest.approx(float(theirs["deficit"]), abs=1e-4)


def _raw(paths):
    rows = [t for path in paths for t in reference.raw_trades(path)]
    return [(Decimal(t["p"]), Decimal(t["q"])) for t in rows]


@pytest.mark.parametrize("bin_size", [None, "0.05", "0.01", "1.37"])
def test_eth_profile_equals_decimal_reference(bin_size):
    raw = _raw(ETH_FILES)
    assert len(raw) == 14_515  # the README's count: every trade of both files
    ours = volume_profile(read_trades(ETH_FILES), "0.01", bin_size=bin_size)
    ref = reference.profile(raw, Decimal("0.01"), None if bin_size is None else Decimal(bin_size))
    assert ours.trade_count == len(raw)
    assert ours.vacuums or bin_size == "1.37"  # the real data has vacuums at these sizes
    _compare(ours, ref, ours.price_scale, ours.qty_scale)


@pytest.mark.parametrize("bin_size", [None, "0.5", "0.01"])
def test_btc_profile_equals_decimal_reference(bin_size):
    raw = _raw([BTC_FILE])
    assert len(raw) > 3000
    ours = volume_profile(read_trade_file(BTC_FILE), "0.01", bin_size=bin_size)
    ref = reference.profile(raw, Decimal("0.01"), None if bin_size is None else Decimal(bin_size))
    _compare(ours, ref, ours.price_scale, ours.qty_scale)


def test_live_tape_profile_equals_file_profile(eth_replayed):
    from obcore.analytics import trades_from_tape

    s = eth_replayed
    live = volume_profile(trades_from_tape(s.trades, s.price_scale, s.qty_scale), "0.01")
    files = volume_profile(read_trades(ETH_FILES), "0.01")
    assert live.to_dict("full") == files.to_dict("full")


# -------------------------------------------------------------------- rules
def test_poc_is_the_lowest_bin_on_a_tie():
    p = profile_of([5, 9, 1, 9, 2])
    assert p.poc_index == 1 and p.poc_price == 1010


def test_value_area_takes_the_upper_bin_on_a_tie():
    p = profile_of([1, 4, 10, 4, 1])  # total 20, need 14: POC 10, then 4 vs 4 -> upper
    assert (p.value_area_low_index, p.value_area_high_index) == (2, 3)
    assert p.value_area_volume == 14


def test_value_area_takes_the_larger_neighbour():
    p = profile_of([1, 5, 10, 4, 1])  # 5 > 4: lower first
    assert (p.value_area_low_index, p.value_area_high_index) == (1, 2)


def test_value_area_at_an_edge_takes_the_only_neighbour():
    p = profile_of([10, 1, 3, 6])  # POC at the lowest bin: only upward (need 14 of 20)
    assert (p.value_area_low_index, p.value_area_high_index) == (0, 2)
    p = profile_of([6, 3, 1, 10])  # POC at the highest bin: only downward
    assert (p.value_area_low_index, p.value_area_high_index) == (1, 3)


def test_value_area_stops_at_exactly_70_percent():
    p = profile_of([70, 30])
    assert (p.value_area_low_index, p.value_area_high_index) == (0, 0)
    p = profile_of([69, 31])
    assert (p.value_area_low_index, p.value_area_high_index) == (0, 1)
    p = profile_of([7, 0, 3])  # an empty bin inside the walk adds nothing but is crossed
    assert p.value_area_high_index == 0


def test_val_vah_are_edges():
    p = profile_of([1, 4, 10, 4, 1])
    assert p.value_area_low == 1020 and p.value_area_high == 1040  # 10.30 + one bin of 0.10


def test_one_bin():
    rows = [(123456, 1)] * 1000
    p = volume_profile(trades(rows), "0.01")
    assert p.n_bins == 1 and p.bin_size == 10  # range 0: 10 ticks
    assert p.first_price_level == 123450 and p.value_area_low == 123450 and p.value_area_high == 123460
    assert p.vacuums == () and p.poc_volume == 1000


def test_empty_bins_are_listed_and_are_vacuums():
    p = profile_of([10, 0, 0, 10, 10])
    assert p.volumes.tolist() == [10, 0, 0, 10, 10]
    assert [(v.price_low, v.price_high, v.bins, v.volume, v.volume_deficit_pct) for v in p.vacuums] == [
        (1010, 1030, 2, 0, 100.0)]


def test_a_price_on_a_bin_edge_is_in_the_upper_bin():
    p = volume_profile(trades([(1000, 1), (1009, 1), (1010, 5)]), "0.01", bin_size="0.10", minimum_trades=1)
    assert p.volumes.tolist() == [2, 5] and p.first_price_level == 1000
    p = volume_profile(trades([(999, 1), (1010, 1)]), "0.01", bin_size="0.10", minimum_trades=1)
    assert p.first_price_level == 990 and p.volumes.tolist() == [1, 0, 1]


def test_default_bin_size_rounds_up_to_a_whole_tick():
    assert default_bin_size(0, 1) == 10
    assert default_bin_size(1000, 1) == 10
    assert default_bin_size(1001, 1) == 11  # 10.01 ticks -> 11
    assert default_bin_size(100_000, 7) == 143 * 7  # 142.86 ticks -> 143
    p = volume_profile(trades([(100_000 + i, 1) for i in range(1000)] + [(150_000, 1)]), "0.05")
    assert p.bin_size == 500  # range 50000 / 100 = 500 = 100 ticks of 5


def test_tick_finer_than_the_trades_scale_is_exact():
    rows = [(26835, 1)] * 999 + [(26900, 1)]  # price scale 1: 2683.5 .. 2690.0
    p = volume_profile(trades(rows, price_scale=1), "0.01")
    assert p.price_scale == 2 and p.bin_size == 10  # range 6.5 = 650 ticks / 100 -> 7 ticks < 10
    assert p.first_price_level == 268350


def test_median_of_an_even_count_is_the_mean_of_the_two_middle_bins():
    # non-empty [5, 20, 31, 100]: median 25.5, 20 % = 5.1, so 5 is a vacuum (the lower
    # middle, 20, would give 4 and no vacuum)
    p = profile_of([5, 20, 31, 100])
    assert p.median_twice == 51
    assert [v.volume for v in p.vacuums] == [5]
    assert p.vacuums[0].volume_deficit_pct == pytest.approx(100 * (1 - 5 / 25.5), abs=1e-4)
    # [5, 21, 29, 100]: median 25, 20 % = 5: 5 is not below it (the upper middle would say it is)
    assert profile_of([5, 21, 29, 100]).vacuums == ()


def test_fewer_than_1000_trades_is_the_spec_error():
    with pytest.raises(InsufficientDataError, match=r"insufficient data .*999 trades.*minimum 1000 trades") as info:
        volume_profile(trades([(1000, 1)] * 999), "0.01")
    assert info.value.code == "insufficient_historical_data" and info.value.count == 999
    assert volume_profile(trades([(1000, 1)] * 1000), "0.01").trade_count == 1000


def test_window_is_half_open():
    t = trades([(1000 + i, 1) for i in range(10)])
    p = volume_profile(t, "0.01", start_ms=int(t.time_ms[2]), end_ms=int(t.time_ms[7]), minimum_trades=1)
    assert p.trade_count == 5 and p.first_trade_ms == int(t.time_ms[2]) and p.last_trade_ms == int(t.time_ms[6])


def test_summary_and_full():
    volumes = list(range(1, 31))
    p = profile_of(volumes)
    summary, full = p.to_dict("summary"), p.to_dict("full")
    assert len(summary["heaviest_bins"]) == 20 and "histogram" not in summary
    assert [b["volume"] for b in summary["heaviest_bins"]] == [str(v) for v in range(30, 10, -1)]
    assert len(full["histogram"]) == 30 and "heaviest_bins" not in full
    assert full["poc"]["price_level"] == "12.9" and summary["value_area"] == full["value_area"]
    tie = profile_of([3, 5, 5, 1])
    assert [b.price_level for b in tie.heaviest(2)] == [1010, 1020]  # lower price first on a tie


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("tick, bin_size, error, match", [
    ("0", None, InvalidInputError, "tick_size must be > 0"),
    ("-0.01", None, InvalidInputError, "tick_size"),
    ("abc", None, InvalidInputError, "tick_size must be a decimal"),
    (0.01, None, InvalidInputError, "tick_size must be a decimal string"),
    ("0.01", "0.015", InvalidInputError, "whole number of ticks"),
    ("0.01", "0", InvalidInputError, "positive whole number"),
    ("0.01", "x", InvalidInputError, "bin_size must be a decimal"),
    ("0.0000000000001", None, PrecisionError, "more than 12 decimals"),
])
def test_bad_sizes(tick, bin_size, error, match):
    with pytest.raises(error, match=match):
        volume_profile(trades([(1000, 1)] * 1000), tick, bin_size=bin_size)


def test_too_many_bins_and_bad_windows():
    with pytest.raises(InvalidInputError, match="at most 1000000"):
        volume_profile(trades([(0, 1)] * 999 + [(10**9, 1)]), "0.01", bin_size="0.01")
    with pytest.raises(InvalidInputError, match="before its start"):
        volume_profile(trades([(1, 1)] * 1000), "0.01", start_ms=5, end_ms=4)
    with pytest.raises(InvalidInputError, match="TradeArrays"):
        volume_profile([(1, 1)], "0.01")
    with pytest.raises(InvalidInputError, match="minimum_trades"):
        volume_profile(trades([(1, 1)]), "0.01", minimum_trades=0)
    with pytest.raises(InvalidInputError, match="detail"):
        profile_of([1, 2]).to_dict("everything")


@pytest.mark.parametrize("change, match", [
    ({"price": [-1]}, "negative"),
    ({"qty": [0]}, "not > 0"),
    ({"side": [0]}, r"not \+1 or -1"),
    ({"time_ms": [5, 4]}, "non-decreasing"),
    ({"price": [1, 2]}, "differ in length"),
    ({"price_scale": 13}, "price_scale"),
    ({"price": [[1]]}, "1-d"),
])
def test_bad_trade_arrays(change, match):
    fields = {"price": [1], "qty": [1], "time_ms": [1], "side": [1], "trade_id": [1], "price_scale": 2,
              "qty_scale": 0}
    fields.update(change)
    if "time_ms" in change:
        fields.update({k: fields[k] * 2 for k in ("price", "qty", "side", "trade_id")})
    with pytest.raises(InvalidInputError, match=match):
        TradeArrays(**fields)
