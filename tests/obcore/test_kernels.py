"""Every DepthBook implementation against a plain dict reference, and against each other."""

from __future__ import annotations

import os
from decimal import Decimal
import subprocess
import sys

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obcore import _kernels
from obcore._kernels import _layout
from obcore.counters import FIELD_NAMES, N_FIELDS
from obcore.numbers import format_decimal, to_decimal

EIGHT = Decimal("0.00000001")

IMPLEMENTATIONS = _kernels.book_implementations()


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_book(request):
    cls = IMPLEMENTATIONS[request.param]

    def make(price_scale=2, qty_scale=4, capacity=16):
        return cls(price_scale, qty_scale, np.zeros((N_FIELDS, 2 * capacity), dtype=np.int64))

    return make


def test_compiled_kernels_are_built_in_ci():
    if os.environ.get("OBCORE_NO_EXTENSIONS") == "1":
        assert _kernels.IMPLEMENTATION == "python"
    elif os.environ.get("CI"):
        assert _kernels.IMPLEMENTATION == "cython", "the Cython extension did not build"
    assert "python" in IMPLEMENTATIONS


def test_compiled_kernel_constants_equal_the_layout():
    """The Cython kernel's C enums are the numbers of ``_layout`` (it cannot import them)."""
    if "cython" not in IMPLEMENTATIONS:
        pytest.skip("compiled kernel not built (OBCORE_NO_EXTENSIONS=1)")
    from obcore._kernels import _book

    def numeric(value):
        return isinstance(value, int) or (isinstance(value, tuple) and all(isinstance(v, int) for v in value))

    shared = [name for name in _layout.__all__ if numeric(getattr(_layout, name))]
    assert "STATUS_APPLIED" in shared and "QTY_FIELDS" in shared and "SIDE_FIELDS" in shared
    for name in shared:
        assert getattr(_book, name) == getattr(_layout, name), name
    assert _book.N_FIELDS == _layout.N_FIELDS == len(FIELD_NAMES)


def test_status_codes_are_defined_once():
    """The facades re-export the layout's codes; the twin defines none of its own."""
    from obcore import book
    from obcore._kernels import _book_py

    assert (book.APPLIED, book.STALE, book.GAP, book.CROSSED) == (
        _layout.STATUS_APPLIED, _layout.STATUS_STALE, _layout.STATUS_GAP, _layout.STATUS_CROSSED)
    assert sorted(_layout.STATUS_NAMES) == list(range(len(_layout.STATUS_NAMES)))
    assert _book_py.__all__ == ["DepthBook"]


level = st.tuples(st.integers(1, 400), st.integers(0, 50))
message = st.tuples(st.lists(level, max_size=12), st.lists(level, max_size=12))


def _reference_apply(reference, side_levels):
    for side, levels in enumerate(side_levels):
        for price, qty in levels:
            if qty == 0:
                reference[side].pop(price, None)
            else:
                reference[side][price] = qty


def _book_levels(book, side):
    prices = np.zeros(book.count(side), dtype=np.int64)
    qtys = np.zeros(book.count(side), dtype=np.int64)
    n = book.top(side, prices, qtys)
    return list(zip(prices[:n].tolist(), qtys[:n].tolist()))


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(message, max_size=40))
def test_random_messages_match_dict_reference(messages):
    for cls in IMPLEMENTATIONS.values():
        book = cls(2, 4, np.zeros((N_FIELDS, 32), dtype=np.int64))
        reference = [{}, {}]
        for number, (bids, asks) in enumerate(messages, start=1):
            # Bids below 200, asks from 200 up, so the book is never crossed.
            bids = [(p % 200 + 1, q) for p, q in bids]
            asks = [(p % 200 + 201, q) for p, q in asks]
            status = book.apply_event(number, number, 1_000 * number, bids, asks)
            assert status == _layout.STATUS_APPLIED
            _reference_apply(reference, (bids, asks))
        expected_bids = sorted(reference[0].items(), reverse=True)
        expected_asks = sorted(reference[1].items())
        assert _book_levels(book, 0) == expected_bids
        assert _book_levels(book, 1) == expected_asks
        assert book.best(0) == (expected_bids[0] if expected_bids else None)
        assert book.best(1) == (expected_asks[0] if expected_asks else None)


def _frame(first, last, time_ms, bids, asks, envelope, spaces):
    payload = {
        "e": "depthUpdate",
        "E": time_ms,
        "s": "TESTUSDT",
        "U": first,
        "u": last,
        # Binance pads to 8 decimals; the kernels must read both spellings alike.
        "b": [[format(to_decimal(p, 2).quantize(EIGHT), "f"), format(to_decimal(q, 4).quantize(EIGHT), "f")] for p, q in bids],
        "a": [[format_decimal(p, 2), format_decimal(q, 4)] for p, q in asks],
    }
    if envelope:
        payload = {"stream": "testusdt@depth@100ms", "data": payload}
    if spaces:
        import json

        return json.dumps(payload, indent=1).encode()
    return orjson.dumps(payload)


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(message, min_size=1, max_size=25), envelope=st.booleans(), spaces=st.booleans())
def test_apply_json_equals_apply_event_and_counters_match(messages, envelope, spaces):
    results = []
    for cls in IMPLEMENTATIONS.values():
        for mode in ("json", "event"):
            book = cls(2, 4, np.zeros((N_FIELDS, 32), dtype=np.int64))
            for number, (bids, asks) in enumerate(messages, start=1):
                bids = [(p % 200 + 1, q) for p, q in bids]
                asks = [(p % 200 + 201, q) for p, q in asks]
                if mode == "json":
                    status = book.apply_json(_frame(number, number, 700 * number, bids, asks, envelope, spaces))
                else:
                    status = book.apply_event(number, number, 700 * number, bids, asks)
                assert status == _layout.STATUS_APPLIED
                if number % 5 == 0:
                    book.add_trade(150, 3, 700 * number + 1, -1)
            results.append((_book_levels(book, 0), _book_levels(book, 1), book.ring.copy(), book.current_second))
    first = results[0]
    for other in results[1:]:
        assert other[0] == first[0] and other[1] == first[1]
        assert np.array_equal(other[2], first[2])
        assert other[3] == first[3]


def test_continuity_statuses(make_book):
    book = make_book()
    book.load([100], [5], [101], [7], 10)
    assert book.apply_event(5, 10, 1000, [(100, 1)], []) == _layout.STATUS_STALE
    assert book.apply_event(13, 14, 1000, [(100, 1)], []) == _layout.STATUS_GAP
    assert book.apply_event(8, 12, 1000, [(100, 1)], []) == _layout.STATUS_APPLIED  # bridge event
    assert book.last_update_id == 12
    assert book.apply_event(13, 13, 1000, [(101, 2)], []) == _layout.STATUS_CROSSED
    assert book.best(0) == (101, 2)


def test_json_statuses(make_book):
    book = make_book(price_scale=2, qty_scale=4)
    book.load([], [], [], [], 0)
    assert book.apply_json(b'{"e":"aggTrade","E":1}') == _layout.STATUS_NOT_DEPTH
    assert book.apply_json(b"not json") == _layout.STATUS_PARSE_ERROR
    assert book.apply_json(b'{"e":"depthUpdate","E":1,"U":1,"u":1,"b":[["1.234","1"]],"a":[]}') == (
        _layout.STATUS_PRECISION
    )
    assert book.count(0) == 0  # nothing applied on a precision failure
    assert book.apply_json(b'{"e":"depthUpdate","E":1,"U":1,"u":1,"b":[["1.x","1"]],"a":[]}') == (
        _layout.STATUS_PARSE_ERROR
    )
    assert book.apply_json(b'{"e":"depthUpdate","E":1,"U":1,"u":1,"b":[["1.23","1"]],"a":[]}') == (
        _layout.STATUS_APPLIED
    )
    assert book.best(0) == (123, 10000)


def test_counters_classify_additions_reductions_cancellations(make_book):
    book = make_book(price_scale=0, qty_scale=0, capacity=8)
    book.load([100, 99], [10, 10], [101], [10], 1)
    ring = book.ring
    fields = {name: i for i, name in enumerate(FIELD_NAMES)}
    # A taker sell of 4 at 100 explains 4 of the 6 removed at 100: 1 reduction, 2 cancelled.
    book.add_trade(100, 4, 5_000, -1)
    status = book.apply_event(2, 2, 5_010, [(100, 4), (99, 12), (98, 1)], [(101, 0), (102, 3)])
    assert status == _layout.STATUS_APPLIED
    column = 5 % 8
    row = {name: int(ring[i, column]) for name, i in fields.items()}
    assert row["bid_updates"] == 3
    assert row["bid_additions"] == 2 and row["bid_added_qty"] == 3
    assert row["bid_reductions"] == 1 and row["bid_reduced_qty"] == 6
    assert row["bid_cancellations"] == 1 and row["bid_cancelled_qty"] == 2
    assert row["ask_reductions"] == 1 and row["ask_cancelled_qty"] == 10
    assert row["ask_additions"] == 1
    assert row["trades"] == 1 and row["sell_trades"] == 1 and row["sell_qty"] == 4
    assert row["messages"] == 1
    # The mirror column holds the same second.
    assert np.array_equal(ring[:, column], ring[:, column + 8])
    # Skipping seconds zeroes them: second 14 reuses column 6 after a wrap.
    book.apply_event(3, 3, 14_000, [(97, 1)], [])
    assert ring[fields["bid_updates"], 5] == 0  # second 13 -> column 5 was zeroed on the way
    assert ring[fields["bid_updates"], 14 % 8] == 1


def test_far_levels_survive(make_book):
    book = make_book(price_scale=2, qty_scale=0)
    bids = list(range(100_000, 100_000 - 5000, -1)) + [1]  # 5000 levels plus one far away
    asks = list(range(100_001, 105_001)) + [10**12]
    book.load(bids, [1] * len(bids), asks, [1] * len(asks), 1)
    for u in range(2, 200):
        book.apply_event(u, u, u, [(100_000 + (u % 3) - 1, u)], [(100_002 + u % 5, u)])
    bid_levels = _book_levels(book, 0)
    ask_levels = _book_levels(book, 1)
    assert bid_levels[-1] == (1, 1) and ask_levels[-1] == (10**12, 1)


def test_rescale_keeps_values(make_book):
    book = make_book(price_scale=0, qty_scale=0)
    book.load([100], [5], [101], [7], 1)
    book.rescale(2, 3)
    assert book.best(0) == (10_000, 5_000)
    assert book.best(1) == (10_100, 7_000)


def test_sweep_and_depth(make_book):
    book = make_book(price_scale=0, qty_scale=0)
    book.load([100, 99, 98], [1, 2, 3], [101, 102, 103], [1, 2, 3], 1)
    qty, notional, worst, used = book.sweep(1, 101 + 204, 1.0, 1.0)
    assert (qty, notional, worst, used) == (3.0, 305.0, 102.0, 2)
    assert book.depth_until(0, 99) == 3
    assert book.depth_until(1, 102) == 3
    assert book.depth_until(1, 1000) == 6


@pytest.mark.skipif(os.environ.get("OBCORE_NO_EXTENSIONS") == "1", reason="this test starts the twin-only run")
def test_twin_only_run_passes():
    """The kernel, session, book and store-codec tests also pass with the twins only and
    Numba's JIT off (so the Numba decoder runs as plain Python)."""
    env = dict(os.environ, OBCORE_NO_EXTENSIONS="1", NUMBA_DISABLE_JIT="1")
    here = os.path.dirname(__file__)
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            os.path.join(here, "test_kernels.py"), os.path.join(here, "test_session.py"),
            os.path.join(here, "test_book.py"), os.path.join(here, "store", "test_codec.py"),
        ],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize(
    "frame",
    [
        b'{"e":"depthUpdate","E":5,"s":"X","U":2,"u":2,"b":[["1.5","2"]],"a":[["2.5","3"]]}',
        b'{"a":[["2.5","3"]],"b":[["1.5","2"]],"u":2,"U":2,"E":5,"e":"depthUpdate"}',
        b'{"e":"depthUpdate","a":[["2.5","3"]],"E":5,"b":[["1.50000000","2.0"]],"U":2,"u":2}',
        b'{"data":{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[["1.5","2","x"]],"a":[[ "2.5" , "3" ]]},"stream":"x@depth"}',
    ],
    ids=["binance-order", "reversed", "mixed", "envelope-after"],
)
def test_apply_json_any_key_order(make_book, frame):
    book = make_book(price_scale=1, qty_scale=0)
    book.load([], [], [], [], 1)
    assert book.apply_json(frame) == _layout.STATUS_APPLIED
    assert book.best(0) == (15, 2) and book.best(1) == (25, 3)
    assert book.last_update_id == 2 and book.last_event_time == 5


@pytest.mark.parametrize(
    "frame",
    [
        b'{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[["1..5","2"]],"a":[]}',
        b'{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[[".","2"]],"a":[]}',
        b'{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[["1.5","2"]]}',
        b'{"e":"depthUpdate","E":5,"U":2,"b":[],"a":[]}',
        b'{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[["1.5","2"],"a":[]}',
        b'{"e":"depthUpdate","E":5,"U":2,"u":2,"b":[["99999999999999999999","2"]],"a":[]}',
    ],
    ids=["two-dots", "lone-dot", "no-asks", "no-u", "unbalanced", "overflow"],
)
def test_apply_json_malformed_is_a_parse_error(make_book, frame):
    book = make_book(price_scale=1, qty_scale=0)
    book.load([], [], [], [], 1)
    assert book.apply_json(frame) == _layout.STATUS_PARSE_ERROR
    assert book.count(0) == 0 and book.last_update_id == 1


def test_rescale_moves_the_ring_quantities_to_the_new_scale(make_book):
    """Every quantity already in the ring is multiplied with the book (issue 9)."""
    book = make_book(price_scale=2, qty_scale=1, capacity=4)
    book.load([10000], [10], [10100], [20], 1)
    book.add_trade(10100, 15, 1_000, 1)  # second 1: taker buy 1.5
    assert book.apply_event(2, 2, 1_500, [(10000, 5)], [(10100, 5)]) == _layout.STATUS_APPLIED
    counts_before = book.ring[[0, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 19]].copy()
    book.rescale(3, 3)
    assert book.apply_event(3, 3, 2_500, [], [(101000, 5500)]) == _layout.STATUS_APPLIED
    ring = book.ring
    capacity = ring.shape[1] // 2
    for column in (1 % capacity, 1 % capacity + capacity):
        assert ring[17, column] == 1500  # buy qty 1.5
        assert ring[5, column] == 500  # bid reduced 0.5
        assert ring[6, column] == 500  # bid cancelled 0.5
        assert ring[12, column] == 1500  # ask reduced 1.5, explained by the trade
        assert ring[13, column] == 0
    assert ring[11, 2 % capacity] == 5000  # 0.5 -> 5.5 after the rescale, second 2
    np.testing.assert_array_equal(book.ring[[0, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 19]][:, [1, 5]],
                                  counts_before[:, [1, 5]])  # counts are not quantities


def _tape(capacity=8):
    from obcore.counters import TradeTape

    return TradeTape(capacity)


AGG = {"e": "aggTrade", "E": 2_001, "s": "ETHUSDT", "a": 41, "p": "100.50", "q": "0.125", "f": 1, "l": 2,
       "T": 2_000, "m": True, "M": True}  # fmt: skip


@pytest.mark.parametrize("envelope", [False, True])
def test_trade_frames_are_parsed_counted_and_taped(make_book, envelope):
    book = make_book(price_scale=2, qty_scale=4)
    tape = _tape()
    tape.attach(book)

    def frame(payload):
        return orjson.dumps({"stream": "ethusdt@trade", "data": payload} if envelope else payload)

    assert book.apply_json(frame(AGG)) == _layout.STATUS_TRADE
    # A trade stream frame: its id is "t"; the old form's "b"/"a" order ids are not ids.
    trade = {"e": "trade", "E": 3_001, "s": "ETHUSDT", "t": 77, "p": "101", "q": "2", "b": 5, "a": 6,
             "T": 3_000, "m": False, "M": True}  # fmt: skip
    assert book.apply_json(frame(trade)) == _layout.STATUS_TRADE
    reordered = {"T": 3_500, "q": "0.5", "m": False, "p": "99.99", "a": 78, "e": "aggTrade", "E": 3_600}
    assert book.apply_json(frame(reordered)) == _layout.STATUS_TRADE
    got = tape.latest()
    assert got["price"].tolist() == [10050, 10100, 9999]
    assert got["qty"].tolist() == [1250, 20000, 5000]
    assert got["time_ms"].tolist() == [2_000, 3_000, 3_500]
    assert got["side"].tolist() == [-1, 1, 1]
    assert got["trade_id"].tolist() == [41, 77, 78]
    ring = book.ring
    assert ring[_layout.SELL_TRADES, 2] == 1 and ring[_layout.SELL_QTY, 2] == 1250
    assert ring[_layout.BUY_TRADES, 3] == 2 and ring[_layout.BUY_QTY, 3] == 25000 and ring[_layout.TRADES, 3] == 2
    # The taped trade explains the depth reduction it caused (not a cancel).
    book.load([10000], [10000], [10050], [5000], 1)
    book.apply_json(frame({**AGG, "T": 4_000, "E": 4_000, "m": False, "p": "100.50", "q": "0.2"}))
    assert book.apply_event(2, 2, 4_100, [], [(10050, 3000)]) == _layout.STATUS_APPLIED
    assert ring[_layout.SIDE_FIELDS + _layout.REDUCED_QTY, 4] == 2000
    assert ring[_layout.SIDE_FIELDS + _layout.CANCELLED_QTY, 4] == 0


def test_trade_frames_the_kernel_leaves_to_the_facade(make_book):
    book = make_book(price_scale=2, qty_scale=4)
    assert book.apply_json(orjson.dumps(AGG)) == _layout.STATUS_NOT_DEPTH  # no tape attached
    tape = _tape()
    tape.attach(book)
    cases = {
        _layout.STATUS_PRECISION: [{**AGG, "q": "0.00001"}, {**AGG, "p": "100.505"}],
        _layout.STATUS_PARSE_ERROR: [
            {**AGG, "m": "yes"}, {**AGG, "T": "2000"}, {**AGG, "T": 2000.5}, {**AGG, "a": -1},
            {**AGG, "q": 0.5}, {k: v for k, v in AGG.items() if k != "q"}, {k: v for k, v in AGG.items() if k != "a"},
            {**AGG, "p": "1e5"}, {**AGG, "e": "trade"},  # a trade frame has no "t" here
        ],
    }
    for status, payloads in cases.items():
        for payload in payloads:
            assert book.apply_json(orjson.dumps(payload)) == status, payload
    assert tape.total == 0 and not book.ring.any()


def test_the_batch_runs_through_trade_frames(make_book):
    book = make_book(price_scale=2, qty_scale=4)
    tape = _tape()
    tape.attach(book)
    book.load([10000], [10000], [10100], [10000], 1)
    depth = {"e": "depthUpdate", "E": 2_000, "s": "ETHUSDT", "U": 2, "u": 2, "b": [["100.00", "0.5"]], "a": []}
    frames = [orjson.dumps(AGG), orjson.dumps(depth), orjson.dumps({**AGG, "a": 42}), orjson.dumps({**AGG, "q": "1e"})]
    assert book.apply_json_batch(frames) == (4, _layout.STATUS_PARSE_ERROR, 1)
    assert tape.total == 2 and tape.latest()["trade_id"].tolist() == [41, 42]
