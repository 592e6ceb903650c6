"""Book engine benches: ours (compiled kernel and Python twin) against the peer libraries.

Figure (a): apply each message, then read the best bid/ask and the top 20 a side, through
each library's public API. Ours gets int64 rows (side, price, qty) in scaled integers;
the peers get (price, qty) float pairs parsed beforehand from the same strings.

Figure (b): raw combined-stream JSON bytes -> book. Ours: ``BookSession.receive_frame`` /
``receive_frames`` (parse in C, continuity check, book, per-second counters). Peers:
``orjson.loads`` + ``float()`` + continuity check + book (no counters: less work than ours).
Baselines: ``orjson.loads`` alone, and ``orjson.loads`` + ``float()`` with no book.

Every bench checks its final top-20 against a plain-dict replay of the exact int rows, so
a bench that computes the wrong thing fast fails. Run: ``make bench``.
"""

from __future__ import annotations

import heapq
import statistics
import subprocess
import sys
from unittest import mock

import numpy as np
import orjson
import pytest
from order_book import SortedDict as CSortedDict
from sortedcontainers import SortedDict

import obcore.book as book_module
from obcore._kernels import book_implementations
from obcore.book import APPLIED, ASK, BID, DepthBatch
from obcore.session import BookSession, SyncState

from conftest import IMPORT_TIMES, PEER, TOP_N, BenchStream, record_result  # noqa: E402

FAST_ROUNDS = 25
SLOW_ROUNDS = 5
IMPLEMENTATIONS = book_implementations()
# The compiled kernel on the whole stream and on the peers' slice; the twin (~100x
# slower) on the slice only.
KERNEL_SCOPES = [("cython", "full"), ("cython", "slice"), ("python", "slice")]


def _session(stream: BenchStream, kernel: str = "cython") -> BookSession:
    """A live session on the stream's snapshot, with the chosen DepthBook kernel."""
    # Book binds its hot methods to the kernel it builds, so the twin is chosen at
    # construction (the module-level name Book.__init__ uses; benches only).
    with mock.patch.object(book_module, "_DepthBook", IMPLEMENTATIONS[kernel]):
        session = BookSession(stream.symbol, price_scale=stream.price_scale, qty_scale=stream.qty_scale)
    assert type(session.book._kernel) is IMPLEMENTATIONS[kernel]
    session.receive_snapshot(stream.snapshot)
    return session


def _check_ours(stream: BenchStream, book, n_events: int) -> None:
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(TOP_N)
    ours = (bid_prices.tolist(), bid_qtys.tolist(), ask_prices.tolist(), ask_qtys.tolist())
    assert ours == stream.reference_top(n_events)
    assert book.last_update_id == stream.events[n_events - 1][1]


# ============================================================ (a) apply + read
def _ours_top_into(book, events):
    apply, best_bid, best_ask, top_into = book.apply, book.best_bid, book.best_ask, book.top_into
    prices = np.empty(TOP_N, dtype=np.int64)
    qtys = np.empty(TOP_N, dtype=np.int64)
    bad = 0
    for first_id, last_id, time_ms, levels in events:
        bad += apply(first_id, last_id, time_ms, levels) != APPLIED
        best_bid()
        best_ask()
        top_into(prices, qtys, BID)
        top_into(prices, qtys, ASK)
    return bad


def _ours_read_top(book, events):
    apply, best_bid, best_ask, read_top = book.apply, book.best_bid, book.best_ask, book.read_top
    out = np.empty((4, TOP_N), dtype=np.int64)
    bad = 0
    for first_id, last_id, time_ms, levels in events:
        bad += apply(first_id, last_id, time_ms, levels) != APPLIED
        best_bid()
        best_ask()
        read_top(out)
    return bad


def _ours_top(book, events):
    apply, best_bid, best_ask, top = book.apply, book.best_bid, book.best_ask, book.top
    bad = 0
    for first_id, last_id, time_ms, levels in events:
        bad += apply(first_id, last_id, time_ms, levels) != APPLIED
        best_bid()
        best_ask()
        top(TOP_N)
    return bad


@pytest.mark.parametrize("read", ["top_into", "read_top", "top"])
@pytest.mark.parametrize(("kernel", "scope"), KERNEL_SCOPES)
def test_a_ours_per_message(benchmark, stream, kernel, read, scope):
    n_events = len(stream.events) if scope == "full" else stream.slice_events
    events = stream.events[:n_events]
    body = {"top_into": _ours_top_into, "read_top": _ours_read_top, "top": _ours_top}[read]
    books = []

    def setup():
        books.append(_session(stream, kernel).book)
        return (books[-1], events), {}

    rounds = FAST_ROUNDS if kernel == "cython" else SLOW_ROUNDS
    bad = benchmark.pedantic(body, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    assert bad == 0
    _check_ours(stream, books[-1], n_events)
    record_result(benchmark, "a", stream, f"ours {kernel}: apply + best + {read}", n_events)


@pytest.mark.parametrize(("kernel", "scope"), KERNEL_SCOPES)
def test_a_ours_batch(benchmark, stream, kernel, scope):
    n_events = len(stream.events) if scope == "full" else stream.slice_events
    batch = DepthBatch.from_events(stream.events[:n_events])  # built outside the timed body
    books = []

    def setup():
        books.append(_session(stream, kernel).book)
        return (batch,), {"top_n": TOP_N}

    def body(batch, top_n):
        return books[-1].apply_batch(batch, top_n=top_n)

    rounds = FAST_ROUNDS if kernel == "cython" else SLOW_ROUNDS
    statuses, tops = benchmark.pedantic(body, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    assert (statuses == APPLIED).all()
    _check_ours(stream, books[-1], n_events)
    # The last row written by the batch is the same top-20.
    bid_prices, bid_qtys, ask_prices, ask_qtys = stream.reference_top(n_events)
    assert tops[-1, 0, : len(bid_prices)].tolist() == bid_prices and tops[-1, 3, : len(ask_qtys)].tolist() == ask_qtys
    record_result(benchmark, "a", stream, f"ours {kernel}: apply_batch(top_n=20)", n_events)


def _c_sorted_dict(messages, bids, asks):
    # order-book's SortedDict keeps its order lazily: reading by index after a change
    # sorts the keys again. ``keys()[:20]`` + lookups was the fastest top-20 read
    # (``index(i)`` x 20 was as fast; ``to_list()`` 3x slower).
    for bid_levels, ask_levels in messages:
        for price, qty in bid_levels:
            if qty == 0.0:
                try:
                    del bids[price]
                except KeyError:
                    pass
            else:
                bids[price] = qty
        for price, qty in ask_levels:
            if qty == 0.0:
                try:
                    del asks[price]
                except KeyError:
                    pass
            else:
                asks[price] = qty
        bids.index(0)
        asks.index(0)
        top_bids = [(price, bids[price]) for price in bids.keys()[:TOP_N]]
        top_asks = [(price, asks[price]) for price in asks.keys()[:TOP_N]]
    return top_bids, top_asks


def _sortedcontainers(messages, bids, asks):
    for bid_levels, ask_levels in messages:
        for price, qty in bid_levels:
            if qty == 0.0:
                bids.pop(price, None)
            else:
                bids[price] = qty
        for price, qty in ask_levels:
            if qty == 0.0:
                asks.pop(price, None)
            else:
                asks[price] = qty
        bids.peekitem(-1)
        asks.peekitem(0)
        top_bids = bids.items()[-TOP_N:][::-1]
        top_asks = asks.items()[:TOP_N]
    return top_bids, top_asks


def _plain_dict(messages, bids, asks):
    for bid_levels, ask_levels in messages:
        for price, qty in bid_levels:
            if qty == 0.0:
                bids.pop(price, None)
            else:
                bids[price] = qty
        for price, qty in ask_levels:
            if qty == 0.0:
                asks.pop(price, None)
            else:
                asks[price] = qty
        max(bids)
        min(asks)
        top_bids = heapq.nlargest(TOP_N, bids.items())
        top_asks = heapq.nsmallest(TOP_N, asks.items())
    return top_bids, top_asks


def _peer_books(name: str, stream: BenchStream):
    bids, asks = stream.float_snapshot
    if name == PEER:
        c_bids, c_asks = CSortedDict(ordering="DESC"), CSortedDict(ordering="ASC")
        for price, qty in bids:
            c_bids[price] = qty
        for price, qty in asks:
            c_asks[price] = qty
        return c_bids, c_asks
    if name == "sortedcontainers":
        return SortedDict(bids), SortedDict(asks)
    return dict(bids), dict(asks)


PEERS_A = {PEER: _c_sorted_dict, "sortedcontainers": _sortedcontainers, "dict": _plain_dict}


@pytest.mark.parametrize("peer", list(PEERS_A))
def test_a_peer(benchmark, stream, peer):
    n_events = stream.slice_events
    messages = stream.float_messages[:n_events]

    def setup():
        return (messages, *_peer_books(peer, stream)), {}

    top_bids, top_asks = benchmark.pedantic(PEERS_A[peer], setup=setup, rounds=SLOW_ROUNDS, iterations=1, warmup_rounds=1)
    assert stream.float_top_to_ints(top_bids, top_asks) == stream.reference_top(n_events)
    record_result(benchmark, "a", stream, peer, n_events)


# ============================================================ (b) raw bytes -> book
def _ours_receive_frame(session, frames):
    receive_frame = session.receive_frame
    applied = 0
    for raw in frames:
        applied += receive_frame(raw)
    return applied


def _ours_receive_frames(session, frames):
    return session.receive_frames(frames)


@pytest.mark.parametrize("call", ["receive_frame", "receive_frames"])
@pytest.mark.parametrize(("kernel", "scope"), KERNEL_SCOPES)
def test_b_ours(benchmark, stream, kernel, call, scope):
    n_events = len(stream.events) if scope == "full" else stream.slice_events
    frames = stream.frames[:n_events]
    body = _ours_receive_frame if call == "receive_frame" else _ours_receive_frames
    sessions = []

    def setup():
        sessions.append(_session(stream, kernel))
        return (sessions[-1], frames), {}

    rounds = FAST_ROUNDS if kernel == "cython" else SLOW_ROUNDS
    applied = benchmark.pedantic(body, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    session = sessions[-1]
    assert applied == n_events and session.state is SyncState.LIVE and session.gap_count == 0
    _check_ours(stream, session.book, n_events)
    assert session.events_applied == n_events
    record_result(benchmark, "b", stream, f"ours {kernel}: {call}", n_events)


# ============================================================ (c) trade frames
TRADES_PER_EVENT = 2


def _with_trades(stream: BenchStream, n_events: int) -> tuple[list[bytes], int, int]:
    """The first ``n_events`` depth frames with TRADES_PER_EVENT aggTrade frames after each
    (price and size taken from the event's own levels, stamped at its time). Returns the
    frames, the trade count and the exact sum of their sizes (scaled, via Decimal)."""
    from decimal import Decimal

    frames: list[bytes] = []
    trade_id, total_qty = 0, Decimal(0)
    stream_name = f"{stream.symbol.lower()}@aggTrade"
    for payload, frame in zip(stream.payloads[:n_events], stream.frames[:n_events]):
        frames.append(frame)
        levels = [level for level in payload["b"] + payload["a"] if Decimal(level[1]) > 0]
        for k in range(TRADES_PER_EVENT if levels else 0):
            price, qty = levels[k % len(levels)][:2]
            trade_id += 1
            total_qty += Decimal(qty)
            trade = {"e": "aggTrade", "E": payload["E"], "s": stream.symbol, "a": trade_id, "p": price, "q": qty,
                     "f": trade_id, "l": trade_id, "T": payload["E"], "m": k % 2 == 0, "M": True}  # fmt: skip
            frames.append(orjson.dumps({"stream": stream_name, "data": trade}))
    return frames, trade_id, int(total_qty.scaleb(stream.qty_scale))


@pytest.mark.parametrize("call", ["receive_frame", "receive_frames"])
def test_c_trades(benchmark, stream, call):
    """Depth and aggTrade frames interleaved (2 trades per depth event), compiled kernel:
    trades reach the tape and the counters; the book must still equal the oracle."""
    n_events = stream.slice_events
    frames, n_trades, total_qty = _with_trades(stream, n_events)
    body = _ours_receive_frame if call == "receive_frame" else _ours_receive_frames
    sessions = []

    def setup():
        sessions.append(_session(stream, "cython"))
        return (sessions[-1], frames), {}

    applied = benchmark.pedantic(body, setup=setup, rounds=SLOW_ROUNDS, iterations=1, warmup_rounds=1)
    session = sessions[-1]
    assert applied == n_events and session.state is SyncState.LIVE
    _check_ours(stream, session.book, n_events)
    assert len(session.trades) == session.trades.total == n_trades
    assert int(session.trades.latest()["qty"].sum()) == total_qty
    benchmark.extra_info["frames"] = len(frames)
    benchmark.extra_info["trades"] = n_trades


def _loads_only(frames, *_):
    loads = orjson.loads
    for raw in frames:
        loads(raw)


def _loads_float(frames, *_):
    loads = orjson.loads
    for raw in frames:
        data = loads(raw)["data"]
        for price, qty in data["b"]:
            float(price)
            float(qty)
        for price, qty in data["a"]:
            float(price)
            float(qty)


def _json_into_c_sorted_dict(frames, last_id, bids, asks):
    loads = orjson.loads
    for raw in frames:
        data = loads(raw)["data"]
        if data["u"] <= last_id:
            continue
        if data["U"] > last_id + 1:
            raise AssertionError(f"gap at U={data['U']}")
        for price, qty in data["b"]:
            price, qty = float(price), float(qty)
            if qty == 0.0:
                try:
                    del bids[price]
                except KeyError:
                    pass
            else:
                bids[price] = qty
        for price, qty in data["a"]:
            price, qty = float(price), float(qty)
            if qty == 0.0:
                try:
                    del asks[price]
                except KeyError:
                    pass
            else:
                asks[price] = qty
        last_id = data["u"]
    return [(price, bids[price]) for price in bids.keys()[:TOP_N]], [(price, asks[price]) for price in asks.keys()[:TOP_N]]


def _json_into_mapping(frames, last_id, bids, asks):
    # The same body serves sortedcontainers.SortedDict and dict (both have .pop).
    loads = orjson.loads
    for raw in frames:
        data = loads(raw)["data"]
        if data["u"] <= last_id:
            continue
        if data["U"] > last_id + 1:
            raise AssertionError(f"gap at U={data['U']}")
        for price, qty in data["b"]:
            price, qty = float(price), float(qty)
            if qty == 0.0:
                bids.pop(price, None)
            else:
                bids[price] = qty
        for price, qty in data["a"]:
            price, qty = float(price), float(qty)
            if qty == 0.0:
                asks.pop(price, None)
            else:
                asks[price] = qty
        last_id = data["u"]
    return heapq.nlargest(TOP_N, bids.items()), heapq.nsmallest(TOP_N, asks.items())


PEERS_B = {
    PEER: _json_into_c_sorted_dict,
    "sortedcontainers": _json_into_mapping,
    "dict": _json_into_mapping,
    "baseline: orjson.loads + float() (no book)": _loads_float,
    "baseline: orjson.loads only": _loads_only,
}


@pytest.mark.parametrize("peer", list(PEERS_B))
def test_b_peer(benchmark, stream, peer):
    baseline = peer.startswith("baseline")
    n_events = len(stream.events) if baseline else stream.slice_events
    frames = stream.frames[:n_events]
    last_id = int(stream.snapshot["lastUpdateId"])

    def setup():
        books = _peer_books(peer, stream) if not baseline else (None, None)
        return (frames, last_id, *books), {}

    result = benchmark.pedantic(
        PEERS_B[peer], setup=setup, rounds=FAST_ROUNDS if baseline else SLOW_ROUNDS, iterations=1, warmup_rounds=1
    )
    if not baseline:
        assert stream.float_top_to_ints(*result) == stream.reference_top(n_events)
    record_result(benchmark, "b", stream, peer, n_events)


# ============================================================ import time
_IMPORTS = {
    "import obcore": "import obcore",
    "from obcore import BookSession (numpy, orjson, the kernel)": "from obcore import BookSession",
}


@pytest.mark.parametrize("what", list(_IMPORTS))
def test_import_time(benchmark, what):
    code = f"import time; t = time.perf_counter(); {_IMPORTS[what]}; print(time.perf_counter() - t)"
    seconds = []

    def run():
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        seconds.append(float(out.stdout))

    benchmark.pedantic(run, rounds=7, iterations=1, warmup_rounds=1)
    IMPORT_TIMES[what] = statistics.median(seconds)
    if what == "import obcore":
        assert IMPORT_TIMES[what] < 0.5  # the target
