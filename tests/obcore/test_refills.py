"""Refill accounting in the book kernel: the Cython kernel and its twin agree, event by event."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

import obcore.book as book_module
from obcore._kernels import _layout, book_implementations
from obcore.counters import N_FIELDS, RefillRing
from obcore.errors import InvalidInputError

IMPLEMENTATIONS = book_implementations()
KERNELS = sorted(IMPLEMENTATIONS)
BID, ASK = _layout.BID, _layout.ASK


def _book(kernel: str, capacity: int = 16):
    ring = np.zeros((N_FIELDS, 2 * 60), dtype=np.int64)
    book = IMPLEMENTATIONS[kernel](2, 3, ring)
    refills = RefillRing(capacity)
    refills.attach(book)
    book.load([10000, 9990], [5000, 5000], [10010, 10020], [5000, 5000], 1)
    return book, refills, ring


def _rows(refills: RefillRing) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in column) for column in refills.latest().T]


@pytest.mark.parametrize("kernel", KERNELS)
def test_refill_in_the_same_event(kernel):
    book, refills, ring = _book(kernel)
    book.add_trade(10010, 2000, 1_000, +1)  # a taker buy takes 2 of the 5 at the best ask
    book.apply_event(2, 2, 1_050, [], [(10010, 5000)])  # ...and the level shows 5 again
    assert _rows(refills) == [(ASK, 10010, 1_050, 2000, 2000, 5000)]
    # The reduction the trade explains is no cancellation (nothing was reduced at all).
    assert ring[_layout.SIDE_FIELDS + _layout.CANCELLATIONS].sum() == 0


@pytest.mark.parametrize("kernel", KERNELS)
def test_hidden_size_counts_in_the_refilled_qty(kernel):
    book, refills, _ = _book(kernel)
    book.add_trade(10000, 12000, 1_000, -1)  # 12 sold into a bid showing 5
    book.apply_event(2, 2, 1_050, [(10000, 4000)], [])
    assert _rows(refills) == [(BID, 10000, 1_050, 12000, 11000, 4000)]


@pytest.mark.parametrize("kernel", KERNELS)
def test_refill_in_a_later_event_within_the_window(kernel):
    book, refills, ring = _book(kernel)
    book.add_trade(10000, 3000, 1_000, -1)
    book.apply_event(2, 2, 1_050, [(10000, 2000)], [])  # traded down, no refill yet
    assert refills.total == 0
    book.apply_event(3, 3, 1_050 + _layout.REFILL_WINDOW_MS, [(10000, 4500)], [])
    assert _rows(refills) == [(BID, 10000, 1_050 + _layout.REFILL_WINDOW_MS, 3000, 2500, 4500)]
    assert ring[_layout.CANCELLATIONS].sum() == 0
    # The hit is used up: a further top-up is an ordinary addition.
    book.apply_event(4, 4, 7_000, [(10000, 6000)], [])
    assert refills.total == 1


@pytest.mark.parametrize("kernel", KERNELS)
def test_no_refill_after_the_window_nor_without_a_trade(kernel):
    book, refills, ring = _book(kernel)
    book.add_trade(10000, 3000, 1_000, -1)
    book.apply_event(2, 2, 1_050, [(10000, 2000)], [])
    book.apply_event(3, 3, 1_051 + _layout.REFILL_WINDOW_MS, [(10000, 4500)], [])  # 1 ms too late
    book.apply_event(4, 4, 7_000, [(9990, 9000)], [])  # growth at a level no trade hit
    book.apply_event(5, 5, 7_100, [(9990, 1000)], [])  # a plain cancel
    assert refills.total == 0
    assert ring[_layout.CANCELLATIONS, :60].sum() == 1  # the ring is mirrored: one half


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_consumed_level_that_reappears_is_a_refill(kernel):
    book, refills, _ = _book(kernel)
    book.add_trade(10010, 5000, 1_000, +1)
    book.apply_event(2, 2, 1_010, [], [(10010, 0)])
    book.apply_event(3, 3, 1_500, [], [(10010, 1000)])
    assert _rows(refills) == [(ASK, 10010, 1_500, 5000, 1000, 1000)]


@pytest.mark.parametrize("kernel", KERNELS)
def test_ring_is_mirrored_and_rescales_with_the_book(kernel):
    book, refills, _ = _book(kernel, capacity=3)
    for k in range(5):
        t = 1_000 * (k + 1)
        book.add_trade(10010, 1000, t, +1)
        book.apply_event(k + 2, k + 2, t, [], [(10010, 5000)])
    assert refills.total == 5 and len(refills) == 3
    assert refills.latest()[_layout.REFILL_TIME].tolist() == [3_000, 4_000, 5_000]
    assert refills.since(4_000)[_layout.REFILL_TIME].tolist() == [4_000, 5_000]
    book.rescale(3, 4)
    assert refills.latest()[_layout.REFILL_PRICE].tolist() == [100100] * 3
    assert refills.latest()[_layout.REFILL_DISPLAYED].tolist() == [50000] * 3


@pytest.mark.parametrize("kernel", KERNELS)
def test_bad_refill_rings_are_refused(kernel):
    book = IMPLEMENTATIONS[kernel](2, 3, np.zeros((N_FIELDS, 4), dtype=np.int64))
    with pytest.raises(InvalidInputError, match="refill ring"):
        book.attach_refills(np.zeros((5, 4), dtype=np.int64), np.zeros(1, dtype=np.int64))
    with pytest.raises(InvalidInputError, match="refill ring"):
        book.attach_refills(np.zeros((6, 3), dtype=np.int64), np.zeros(1, dtype=np.int64))
    with pytest.raises(InvalidInputError):
        RefillRing(0)


def test_compiled_constants_match_the_layout():
    if "cython" not in IMPLEMENTATIONS:
        pytest.skip("compiled kernel not built (twin-only run)")
    from obcore._kernels import _book

    for name in ("REFILL_SIDE", "REFILL_PRICE", "REFILL_TIME", "REFILL_TRADED", "REFILL_QTY",
                 "REFILL_DISPLAYED", "N_REFILL_FIELDS", "MAX_HIT_LEVELS", "REFILL_WINDOW_MS"):  # fmt: skip
        assert getattr(_book, name) == getattr(_layout, name), name


def test_both_kernels_record_the_same_refills_on_real_data(tmp_path):
    """The bundled ETHUSDT recording through a session on each kernel: identical rings."""
    if "cython" not in IMPLEMENTATIONS:
        pytest.skip("compiled kernel not built (twin-only run)")
    from obcore.replay import replay
    from tests.obcore.analytics.conftest import ETH_FILES

    rings = {}
    for kernel in KERNELS:
        sessions: dict = {}
        with mock.patch.object(book_module, "_DepthBook", IMPLEMENTATIONS[kernel]):
            for _ in replay(ETH_FILES, sessions=sessions):
                pass
        session = sessions["ETHUSDT"]
        rings[kernel] = (session.refills.total, session.refills.latest().copy(), session.counters.data.copy())
    (total_c, refills_c, counters_c), (total_p, refills_p, counters_p) = rings["cython"], rings["python"]
    assert total_c == total_p > 100  # an ordinary market refills hit levels all the time
    assert np.array_equal(refills_c, refills_p)
    assert np.array_equal(counters_c, counters_p)
