"""The synthetic stream has the statistics it advertises and obeys Binance's rules."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from obcore.errors import InvalidInputError
from obcore.session import BookSession, SyncState
from obcore.synthetic import generate_stream, payload_rows


@pytest.fixture(scope="module")
def stream():
    return generate_stream(40_000, seed=7)


def _replay_with_dicts(stream):
    """Apply the int rows to two plain dicts, yielding the books and the touch seen by each change."""
    bid_prices, bid_qtys, ask_prices, ask_qtys = stream.snapshot_levels
    books = [dict(zip(bid_prices.tolist(), bid_qtys.tolist())), dict(zip(ask_prices.tolist(), ask_qtys.tolist()))]
    distances, deletes_of_existing, sizes = [], 0, []
    for _, _, _, rows in stream.events:
        best_bid, best_ask = max(books[0]), min(books[1])
        for side, price, qty in rows.tolist():
            distances.append(best_bid - price if side == 0 else price - best_ask)
            if qty == 0:
                deletes_of_existing += price in books[side]
                books[side].pop(price, None)
            else:
                books[side][price] = qty
        assert max(books[0]) < min(books[1]), "the book must never be crossed after an event"
        sizes.append((len(books[0]), len(books[1])))
    return books, np.array(distances), deletes_of_existing, np.array(sizes)


def test_size_and_shape(stream):
    changes = stream.level_changes
    assert 40_000 <= changes < 40_000 + 200  # stops after the event that reaches the size
    per_event = changes / len(stream.events)
    assert 11.0 <= per_event <= 13.0, per_event
    qtys = np.concatenate([rows[:, 2] for *_, rows in stream.events])
    assert 0.09 <= np.mean(qtys == 0) <= 0.13  # ~11 % deletes
    for rows in (rows for *_, rows in stream.events):
        assert rows.dtype == np.int64 and rows.flags.c_contiguous and rows.shape[1] == 3
        keys = list(zip(rows[:, 0].tolist(), rows[:, 1].tolist()))
        assert len(keys) == len(set(keys)), "a price appears at most once per side in an event"


def test_book_statistics(stream):
    books, distances, deletes_of_existing, sizes = _replay_with_dicts(stream)
    n_deletes = sum(int(np.sum(rows[:, 2] == 0)) for *_, rows in stream.events)
    assert deletes_of_existing / n_deletes > 0.95  # deletes are of existing levels, mostly
    assert sizes.min() >= 900 and sizes.max() <= 1100  # ~1000 levels a side throughout
    assert len(stream.snapshot["bids"]) >= 950 and len(stream.snapshot["asks"]) >= 950
    # Activity concentrated near the touch.
    assert np.median(distances) <= 15
    assert np.mean(distances <= 30) >= 0.7
    assert np.mean(distances >= 500) > 0.01  # but the deep book moves too


def test_ids_and_times_follow_binance(stream):
    previous = stream.snapshot["lastUpdateId"]
    times = []
    for (first_id, last_id, time_ms, rows), payload in zip(stream.events, stream.payloads, strict=True):
        assert first_id == previous + 1 and last_id >= first_id + len(rows) - 1
        assert (payload["U"], payload["u"], payload["E"]) == (first_id, last_id, time_ms)
        previous = last_id
        times.append(time_ms)
    steps = np.diff(times)
    assert steps.min() >= 100 and steps.max() <= 102


def test_strings_match_int_rows(stream):
    for text in (stream.payloads[0]["b"] + stream.payloads[0]["a"])[:5]:
        assert all(len(part.split(".")[1]) == 8 for part in text)  # Binance prints 8 decimals
    for (*_, rows), payload in zip(stream.events[:500], stream.payloads[:500], strict=True):
        np.testing.assert_array_equal(payload_rows(payload, stream.price_scale, stream.qty_scale), rows)
    best_bid = stream.snapshot["bids"][0][0]
    assert abs(float(best_bid) - 30000.0) < 1 and stream.snapshot_levels[0][0] == round(float(best_bid) * 100)


def test_session_replays_to_the_same_book(stream):
    books, *_ = _replay_with_dicts(stream)
    session = BookSession("BTCUSDT", price_scale=stream.price_scale, qty_scale=stream.qty_scale)
    session.receive_snapshot(stream.snapshot)
    frames = [orjson.dumps({"stream": "btcusdt@depth@100ms", "data": payload}) for payload in stream.payloads]
    assert session.receive_frames(frames) == len(frames)
    assert session.state is SyncState.LIVE and session.gap_count == 0
    bid_prices, bid_qtys, ask_prices, ask_qtys = session.book.top(5000)
    assert dict(zip(bid_prices.tolist(), bid_qtys.tolist())) == books[0]
    assert dict(zip(ask_prices.tolist(), ask_qtys.tolist())) == books[1]


def test_deterministic_in_seed():
    first, again, other = generate_stream(2_000, seed=3), generate_stream(2_000, seed=3), generate_stream(2_000, seed=4)
    assert first.payloads == again.payloads and first.snapshot == again.snapshot
    assert first.payloads != other.payloads


@pytest.mark.parametrize(
    "kwargs",
    [{"level_changes": 0}, {"levels_per_side": 10}, {"changes_per_event": 0.5}, {"delete_fraction": 0.7}, {"qty_scale": 9}],
)
def test_rejects_bad_arguments(kwargs):
    arguments = {"level_changes": 100, **kwargs}
    with pytest.raises(InvalidInputError):
        generate_stream(**arguments)
