"""The Book facade's reads, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from obcore.book import Book
from obcore.errors import InvalidInputError


@pytest.fixture
def book() -> Book:
    book = Book(price_scale=2, qty_scale=3)
    # bids 100.00 x1, 99.99 x2, 99.50 x4; asks 100.02 x3, 100.05 x1, 101.00 x10
    book._kernel.load([10000, 9999, 9950], [1000, 2000, 4000], [10002, 10005, 10100], [3000, 1000, 10000], 1)
    return book


def test_best_mid_spread_microprice(book):
    assert book.best_bid() == (10000, 1000)
    assert book.best_ask() == (10002, 3000)
    assert book.mid() == pytest.approx(100.01)
    assert book.spread_bps() == pytest.approx(0.02 / 100.01 * 1e4)
    # (100.00·3 + 100.02·1) / 4
    assert book.microprice() == pytest.approx((100.00 * 3 + 100.02 * 1) / 4)
    assert book.format_price(10002) == "100.02" and book.format_qty(1000) == "1"


def test_top_and_imbalance(book):
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(2)
    assert bid_prices.tolist() == [10000, 9999] and bid_qtys.tolist() == [1000, 2000]
    assert ask_prices.tolist() == [10002, 10005] and ask_qtys.tolist() == [3000, 1000]
    assert book.imbalance(2) == pytest.approx((3 - 4) / 7)
    with pytest.raises(InvalidInputError, match="n >= 1"):
        book.top(0)


def test_depth_within_bps(book):
    # mid 100.01; 5 bps -> [99.96, 100.06]
    assert book.depth_within_bps(5) == (3000, 4000)
    assert book.depth_within_bps(0) == (0, 0)
    assert book.depth_within_bps(1000) == (7000, 14000)
    with pytest.raises(InvalidInputError, match="bps"):
        book.depth_within_bps(-1)


def test_sweep_buy_and_sell(book):
    result = book.sweep("buy", 400.0)
    # 3 @ 100.02 = 300.06, then 99.94 / 100.05 of the next level
    assert result.complete and result.levels == 2
    assert result.filled_notional == pytest.approx(400.0)
    assert result.worst_price == pytest.approx(100.05)
    assert result.avg_price == pytest.approx(400.0 / (3 + 99.94 / 100.05))
    assert result.slippage_bps > 0
    sell = book.sweep("sell", 10_000_000.0)
    assert not sell.complete and sell.filled_qty == pytest.approx(7.0)
    with pytest.raises(InvalidInputError, match="side"):
        book.sweep("hold", 1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="notional"):
        book.sweep("buy", 0)


def test_empty_book_reads():
    book = Book(2, 2)
    assert book.best_bid() is None and book.mid() is None and book.microprice() is None
    assert book.imbalance() is None and book.depth_within_bps(10) == (0, 0)
    assert book.sweep("buy", 100).filled_qty == 0
    with pytest.raises(InvalidInputError, match="price_scale"):
        Book(13, 0)


def test_apply_and_apply_batch_agree_with_per_event_reads():
    from obcore.book import APPLIED, GAP, NOT_RUN, DepthBatch

    rng = np.random.default_rng(7)
    events = []
    for u in range(2, 60):
        n = int(rng.integers(1, 15))
        sides = rng.integers(0, 2, n)
        prices = np.where(sides == 0, rng.integers(9_900, 10_000, n), rng.integers(10_001, 10_100, n))
        qtys = rng.integers(0, 5, n)
        events.append((u, u, 1_000 * u, np.ascontiguousarray(np.stack([sides, prices, qtys], axis=1), dtype=np.int64)))
    one, many = Book(2, 0), Book(2, 0)
    for book in (one, many):
        book._kernel.load([9_950], [1], [10_050], [1], 1)
    expected = []
    for u, last, time_ms, levels in events:
        assert one.apply(u, last, time_ms, levels) == APPLIED
        bids, bid_qtys, asks, ask_qtys = one.top(5)
        row = np.zeros((4, 5), dtype=np.int64)
        for i, values in enumerate((bids, bid_qtys, asks, ask_qtys)):
            row[i, : len(values)] = values
        expected.append(row)
    statuses, tops = many.apply_batch(DepthBatch.from_events(events), top_n=5)
    assert (statuses == APPLIED).all()
    assert np.array_equal(tops, np.array(expected))
    assert np.array_equal(one.counters.data, many.counters.data)
    # A gap stops the batch; the rest is reported as not run.
    gap_events = [(60, 60, 60_000, events[0][3]), (70, 70, 70_000, events[0][3]), (71, 71, 71_000, events[0][3])]
    statuses, _ = many.apply_batch(DepthBatch.from_events(gap_events))
    assert statuses.tolist() == [APPLIED, GAP, NOT_RUN]


def test_read_top_fills_both_sides_in_one_call(book):
    out = np.full((4, 4), -1, dtype=np.int64)
    assert book.read_top(out) == (3, 3)
    assert out[:, :3].tolist() == [[10000, 9999, 9950], [1000, 2000, 4000], [10002, 10005, 10100], [3000, 1000, 10000]]
    assert out[:, 3].tolist() == [-1, -1, -1, -1]  # past the depth: untouched
    with pytest.raises(InvalidInputError, match="int64"):
        book.read_top(np.zeros((4, 3), dtype=np.float64))
    with pytest.raises(InvalidInputError, match="3 columns"):
        book.apply(2, 2, 0, np.zeros((1, 2), dtype=np.int64))


@pytest.mark.parametrize(
    "row", [[2, 100, 5], [-1, 100, 5], [0, 100, -5], [1, 0, 5], [1, -3, 5]], ids=str
)
def test_bad_rows_are_refused_before_anything_is_applied(book, row):
    """A side other than 0/1 would index outside the kernel's arrays: it must be refused."""
    levels = np.array([[0, 9_998, 7], row], dtype=np.int64)
    with pytest.raises(InvalidInputError, match="level row 1"):
        book.apply(2, 2, 0, levels)
    assert book.last_update_id == 1 and book.best_bid() == (10000, 1000)  # nothing applied
    from obcore.book import DepthBatch

    with pytest.raises(InvalidInputError, match="level row 1"):
        book.apply_batch(DepthBatch.from_events([(2, 2, 0, levels)]))
    for side in (2, -1):
        with pytest.raises(InvalidInputError, match="side"):
            book.top_into(np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64), side)
        with pytest.raises(InvalidInputError, match="side"):
            book._kernel.best(side)


def test_sweep_inside_the_best_level_has_zero_slippage():
    book = Book(price_scale=2, qty_scale=4)
    book._kernel.load([268319], [230901], [268320], [80369], 1)  # 2683.19 x 23.0901 | 2683.20 x 8.0369
    for notional in (1.0, 333.33, 10_000.0, 12_345.67):
        for side in ("buy", "sell"):
            result = book.sweep(side, notional)
            assert result.levels == 1 and result.slippage_bps == 0.0
            assert str(result.slippage_bps) == "0.0"  # never "-0.0"
