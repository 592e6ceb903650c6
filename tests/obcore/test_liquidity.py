"""obcore.liquidity over a real book synced from the bundled recording, and synthetic sides."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import pytest

from obcore import liquidity
from obcore.book import Book
from obcore.errors import BookNotReadyError, InvalidInputError
from tests.obmcp.conftest import feed_recording


@pytest.fixture(scope="module")
def session():
    return feed_recording()


def test_top_of_book_is_exact_and_matches_book(session):
    book = session.book
    top = liquidity.top_of_book(book)
    bid, ask = book.best_bid(), book.best_ask()
    ps = book.price_scale
    assert (top.bid_price, top.bid_qty, top.ask_price, top.ask_qty) == (*bid, *ask)
    assert Decimal(top.mid).scaleb(-top.mid_scale) == (Decimal(bid[0]) + Decimal(ask[0])).scaleb(-ps) / 2
    assert top.spread == ask[0] - bid[0] and not top.crossed
    assert top.spread_bps == book.spread_bps() and top.microprice == book.microprice()
    with pytest.raises(dataclasses.FrozenInstanceError):
        top.mid = 0  # type: ignore[misc]


def test_top_of_book_of_a_one_sided_book_is_not_ready():
    book = Book(2, 4)
    book.apply(1, 1, 1, np.array([[0, 100_00, 1_0000]], dtype=np.int64))  # one bid, no ask
    with pytest.raises(BookNotReadyError, match="empty ask side"):
        liquidity.top_of_book(book)


def test_book_liquidity_volumes_imbalance_and_sweeps(session):
    book = session.book
    figures = liquidity.book_liquidity(book, top_n=5, notionals=[10_000, 250_000])
    _, bid_qtys, _, ask_qtys = book.top(5)
    assert (figures.bid_volume, figures.ask_volume) == (int(bid_qtys.sum()), int(ask_qtys.sum()))
    assert figures.imbalance == book.imbalance(5)
    assert [(s.side, s.notional) for s in figures.sweeps] == [
        ("buy", 10_000), ("buy", 250_000), ("sell", 10_000), ("sell", 250_000)
    ]
    assert figures.sweeps[0] == book.sweep("buy", 10_000.0)
    assert (figures.bid_levels, figures.ask_levels) == (book.bid_count, book.ask_count)
    bid_prices, bid_qtys, ask_prices, ask_qtys = book.top(100)
    assert figures.walls == liquidity.find_walls(bid_prices, bid_qtys, "bid") + liquidity.find_walls(
        ask_prices, ask_qtys, "ask"
    )


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"top_n": 0}, "top_n 0"),
        ({"top_n": 101}, "top_n 101"),
        ({"top_n": True}, "top_n True"),
        ({"notionals": []}, "notionals"),
        ({"notionals": [float("nan")]}, "notional nan"),
        ({"notionals": [float("inf")]}, "notional inf"),
        ({"notionals": [-5]}, "notional -5"),
        ({"notionals": ["10"]}, "notional '10'"),
    ],
)
def test_book_liquidity_bad_input_names_the_value(session, kwargs, bad):
    with pytest.raises(InvalidInputError, match=bad):
        liquidity.book_liquidity(session.book, **kwargs)


def test_walls_are_levels_far_above_the_median(session):
    prices, qtys = session.book.top(100)[:2]
    median = float(np.median(qtys))
    walls = liquidity.find_walls(prices, qtys, "bid")
    above = [i for i in range(len(qtys)) if qtys[i] > 5 * median]
    expected = sorted(above, key=lambda i: -qtys[i])[:5]
    assert above, "the recording's book has levels far above the median"
    assert [w.price for w in walls] == [int(prices[i]) for i in expected]
    # Synthetic side: one level 20x the others is the only wall.
    synthetic = np.array([10] * 20 + [200] + [10] * 20, dtype=np.int64)
    walls = liquidity.find_walls(np.arange(41, dtype=np.int64), synthetic, "ask")
    assert walls == (liquidity.Wall("ask", 20, 200, 20.0),)


def _numpy_walls(qtys: np.ndarray, limit: int = 5) -> list[tuple[int, float]]:
    """The wall rule written with numpy (the original implementation), as the oracle."""
    window = qtys[: liquidity.WALL_WINDOW]
    if len(window) < 3:
        return []
    median = float(np.median(window))
    if median <= 0:
        return []
    hits = np.nonzero(window > liquidity.WALL_FACTOR * median)[0]
    hits = hits[np.argsort(-window[hits], kind="stable")][:limit]
    return [(int(i), float(window[i]) / median) for i in hits]


@pytest.mark.parametrize("size", [0, 2, 3, 4, 41, 99, 100, 150])
def test_walls_match_the_numpy_rule(size):
    rng = np.random.default_rng(size)
    found = 0
    for _ in range(20):
        # Heavy-tailed sizes with ties (few distinct values), so walls and equal walls occur.
        qtys = (rng.pareto(1.2, size) * 4).astype(np.int64) * 1000
        prices = np.arange(size, dtype=np.int64) + 1000
        walls = liquidity.find_walls(prices, qtys, "ask")
        expected = _numpy_walls(qtys)
        assert [(w.price, w.qty, w.times_median) for w in walls] == [
            (int(prices[i]), int(qtys[i]), t) for i, t in expected
        ]
        found += bool(walls)
        # Lists of ints give the same walls as arrays.
        assert liquidity.find_walls(prices.tolist(), qtys.tolist(), "ask") == walls
    assert found or size < 41, "the draws should include walls"


@pytest.mark.parametrize(
    ("args", "bad"),
    [
        (([1, 2, 3], [1, 2, 3], "buy"), "side 'buy'"),
        (([1, 2, 3], [1, 2, 3], "bid", 0), "limit 0"),
        (([1, 2], [1, 2, 3], "bid"), "differ in length"),
    ],
)
def test_find_walls_bad_input(args, bad):
    with pytest.raises(InvalidInputError, match=bad):
        liquidity.find_walls(*args)


def test_book_version_changes_with_the_book():
    from obcore.recording import read_messages
    from obcore.session import BookSession
    from obmcp.config import BUNDLED_RECORDING

    session = BookSession("ETHUSDT")
    versions = []
    for message in read_messages(BUNDLED_RECORDING):
        if message.kind == "snapshot":
            if session.needs_snapshot:
                session.receive_snapshot(message.payload)
        elif message.kind == "depth":
            before = liquidity.book_version(session) if session.state.name == "LIVE" else None
            session.receive(message.payload)
            if before is not None and session.state.name == "LIVE":
                versions.append((before, liquidity.book_version(session)))
        if len(versions) >= 50:
            break
    assert len(versions) == 50
    assert all(before != after for before, after in versions)
    assert liquidity.book_version(session) == liquidity.book_version(session)
