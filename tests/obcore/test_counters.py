"""SecondCounters windows and the TradeTape ring."""

from __future__ import annotations

import numpy as np
import pytest

from obcore.book import Book
from obcore.counters import FIELD_NAMES, MESSAGES, N_FIELDS, SecondCounters, TradeTape
from obcore.errors import InvalidInputError


def _book_with_seconds(capacity: int, seconds: list[int]) -> Book:
    book = Book(0, 0, SecondCounters(capacity))
    book._kernel.load([100], [1], [101], [1], 0)
    for u, second in enumerate(seconds, start=1):
        book.apply(u, u, second * 1000 + 5, np.array([[0, 99, u]], dtype=np.int64))
    return book


def test_window_is_oldest_first_and_wraps_without_copy():
    book = _book_with_seconds(4, [10, 11, 11, 12, 13, 14, 14, 14])
    counters = book.counters
    assert counters.last_second == 14
    window = counters.window(14, 4)
    assert window[MESSAGES].tolist() == [2, 1, 1, 3]  # seconds 11..14
    assert np.shares_memory(window, counters.data)
    assert counters.totals(14, 2)["messages"] == 4
    assert len(counters.totals(14, 1)) == N_FIELDS == len(FIELD_NAMES)


def test_window_outside_the_ring_reads_zero():
    counters = _book_with_seconds(4, [10, 11, 12, 13, 14]).counters
    # Seconds 9..10 are older than the ring keeps (it holds 11..14): zeros, not stale data.
    assert counters.window(11, 3)[MESSAGES].tolist() == [0, 0, 1]
    assert counters.window(16, 3)[MESSAGES].tolist() == [1, 0, 0]
    assert counters.window(30, 2)[MESSAGES].tolist() == [0, 0]
    empty = SecondCounters(4)
    assert empty.last_second == -1 and empty.window(5, 2).sum() == 0


def test_window_limits_are_checked():
    counters = SecondCounters(4)
    with pytest.raises(InvalidInputError, match="window of 5 s"):
        counters.window(10, 5)
    with pytest.raises(InvalidInputError, match="capacity"):
        SecondCounters(0)


def test_trade_tape_keeps_the_newest_and_finds_by_time():
    tape = TradeTape(capacity=3)
    for i in range(5):
        tape.append(price=100 + i, qty=i + 1, time_ms=1_000 * i, side=1 if i % 2 else -1, trade_id=i)
    assert len(tape) == 3 and tape.total == 5
    latest = tape.latest()
    assert latest["trade_id"].tolist() == [2, 3, 4] and latest["side"].tolist() == [-1, 1, -1]
    assert tape.since(3_000)["price"].tolist() == [103, 104]
    assert tape.latest(1)["qty"].tolist() == [5]
    tape.rescale(10, 100)
    assert tape.latest(1)["price"].tolist() == [1040] and tape.latest(1)["qty"].tolist() == [500]
    with pytest.raises(InvalidInputError, match="capacity"):
        TradeTape(0)
