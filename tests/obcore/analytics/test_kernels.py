"""Analytics kernels: every build (Numba and the plain-Python twin) against each other and
against a direct statement of the rule, on random inputs (hypothesis)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obcore._kernels import _flow, _flow_py, _profile, _profile_py

PROFILE = _profile.implementations()
FLOW = _flow.implementations()


def test_numba_build_is_present():
    # Without it every "compiled vs twin" test below would compare the twin with itself.
    if os.environ.get("OBCORE_NO_EXTENSIONS") == "1":
        assert _profile.IMPLEMENTATION == _flow.IMPLEMENTATION == "python"  # the twin-only run
        return
    assert _profile.IMPLEMENTATION == "numba" and "numba" in PROFILE
    assert _flow.IMPLEMENTATION == "numba" and "numba" in FLOW


trades = st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 10**12)), min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(trades, st.integers(1, 700))
def test_bin_trades_all_builds_agree_with_the_rule(rows, bin_size):
    prices = np.array([p for p, _ in rows], dtype=np.int64)
    qtys = np.array([q for _, q in rows], dtype=np.int64)
    first = int(prices.min()) // bin_size
    n = int(prices.max()) // bin_size - first + 1
    expected_v = [0] * n
    expected_c = [0] * n
    for p, q in rows:
        expected_v[p // bin_size - first] += q
        expected_c[p // bin_size - first] += 1
    for name, build in PROFILE.items():
        volumes = np.zeros(n, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        assert build["bin_trades"](prices, qtys, first, bin_size, volumes, counts) == len(rows), name
        assert volumes.tolist() == expected_v, name
        assert counts.tolist() == expected_c, name


def test_bin_trades_skips_and_does_not_count_outside_trades():
    for name, build in PROFILE.items():
        volumes = np.zeros(2, dtype=np.int64)
        counts = np.zeros(2, dtype=np.int64)
        n = build["bin_trades"](np.array([5, 15, 25, 99], dtype=np.int64), np.ones(4, dtype=np.int64),
                                1, 10, volumes, counts)
        assert n == 2 and volumes.tolist() == [1, 1], name


def _value_area_rule(volumes: list[int]) -> tuple[int, int, int, int]:
    """SPEC.md's walk, stated directly with fractions."""
    from fractions import Fraction

    total = sum(volumes)
    poc = volumes.index(max(volumes))
    low = high = poc
    area = volumes[poc]
    while Fraction(area, total) < Fraction(7, 10):
        below = volumes[low - 1] if low > 0 else None
        above = volumes[high + 1] if high < len(volumes) - 1 else None
        if above is not None and (below is None or above >= below):
            high += 1
            area += above
        else:
            low -= 1
            area += below
    return poc, low, high, area


volumes_lists = st.lists(st.integers(0, 50), min_size=1, max_size=60).filter(lambda v: sum(v) > 0)


@settings(max_examples=300, deadline=None)
@given(volumes_lists)
def test_value_area_all_builds_agree_with_the_rule(volumes):
    expected = _value_area_rule(volumes)
    for name, build in PROFILE.items():
        out = np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64)
        assert build["value_area"](np.array(volumes, dtype=np.int64), out) == _profile_py.STATUS_OK, name
        got = (out[_profile_py.POC], out[_profile_py.AREA_LOW], out[_profile_py.AREA_HIGH], out[_profile_py.AREA_VOLUME])
        assert tuple(int(x) for x in got) == expected, (name, volumes)
        assert out[_profile_py.TOTAL] == sum(volumes)


def test_value_area_needs_no_product_that_overflows():
    # total near 2**63: 10 * area would overflow int64; the kernel must still be exact.
    big = (2**63 - 1) // 3
    volumes = np.array([big, big, big - 5], dtype=np.int64)
    for name, build in PROFILE.items():
        out = np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64)
        build["value_area"](volumes, out)
        # one bin is 33 %, two are 67 % (< 70 %), three are 100 %
        assert (out[_profile_py.AREA_LOW], out[_profile_py.AREA_HIGH]) == (0, 2), name


def test_value_area_empty_status():
    for name, build in PROFILE.items():
        out = np.zeros(_profile_py.N_AREA_FIELDS, dtype=np.int64)
        assert build["value_area"](np.zeros(3, dtype=np.int64), out) == _profile_py.STATUS_EMPTY, name
        assert build["value_area"](np.zeros(0, dtype=np.int64), out) == _profile_py.STATUS_EMPTY, name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=80), st.integers(0, 200))
def test_find_vacuums_all_builds_agree_with_the_rule(volumes, median_twice):
    runs = []
    i = 0
    while i < len(volumes):
        if 10 * volumes[i] < median_twice:
            j = i
            while j + 1 < len(volumes) and 10 * volumes[j + 1] < median_twice:
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    for name, build in PROFILE.items():
        starts = np.zeros((len(volumes) + 1) // 2, dtype=np.int64)
        ends = np.zeros_like(starts)
        found = build["find_vacuums"](np.array(volumes, dtype=np.int64), median_twice, starts, ends)
        assert found == len(runs), name
        assert list(zip(starts[:found].tolist(), ends[:found].tolist())) == runs, name


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20_000), st.integers(1, 10**9), st.sampled_from([1, -1])), max_size=200),
       st.integers(-2, 25), st.integers(1, 30))
def test_bin_trade_seconds_all_builds_agree_with_the_rule(rows, first_second, width):
    rows.sort()
    times = np.array([t for t, _, _ in rows], dtype=np.int64)
    qtys = np.array([q for _, q, _ in rows], dtype=np.int64)
    sides = np.array([s for _, _, s in rows], dtype=np.int8)
    expected = np.zeros((_flow_py.N_TRADE_FIELDS, width), dtype=np.int64)
    inside = 0
    for t, q, s in rows:
        column = t // 1000 - first_second
        if 0 <= column < width:
            inside += 1
            if s > 0:
                expected[_flow_py.BUY_QTY, column] += q
                expected[_flow_py.BUY_COUNT, column] += 1
            else:
                expected[_flow_py.SELL_QTY, column] += q
                expected[_flow_py.SELL_COUNT, column] += 1
    for name, build in FLOW.items():
        out = np.zeros((_flow_py.N_TRADE_FIELDS, width), dtype=np.int64)
        assert build["bin_trade_seconds"](times, qtys, sides, first_second, out) == inside, name
        assert np.array_equal(out, expected), name


@pytest.mark.parametrize("module", [_profile, _flow])
def test_warm_up_registered(module):
    from obcore._kernels import _numba

    assert module._warm_up in _numba._WARM_UPS
    module._warm_up()  # a valid call: compiles (or loads) without error


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**62), min_size=1, max_size=100))
def test_price_range_all_builds(prices):
    for name, build in PROFILE.items():
        out = np.zeros(2, dtype=np.int64)
        assert build["price_range"](np.array(prices, dtype=np.int64), out) == len(prices), name
        assert out.tolist() == [min(prices), max(prices)], name


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(2**55, 2**55 + 10**6), min_size=1, max_size=50), st.integers(1, 1000))
def test_bin_trades_is_exact_where_a_float_quotient_is_not(prices, bin_size):
    # above 2**53 a double cannot hold every price: the integer check must decide the bin
    prices_arr = np.array(sorted(prices), dtype=np.int64)
    first = int(prices_arr[0]) // bin_size
    n = int(prices_arr[-1]) // bin_size - first + 1
    expected = np.zeros(n, dtype=np.int64)
    for p in prices_arr.tolist():
        expected[p // bin_size - first] += 1
    for name, build in PROFILE.items():
        volumes = np.zeros(n, dtype=np.int64)
        counts = np.zeros(n, dtype=np.int64)
        build["bin_trades"](prices_arr, np.ones(len(prices), dtype=np.int64), first, bin_size, volumes, counts)
        assert counts.tolist() == expected.tolist(), name
