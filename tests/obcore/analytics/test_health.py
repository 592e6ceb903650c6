"""get_microstructure_health: components at their edges, the bands, the weights, real data."""

from __future__ import annotations

import numpy as np
import pytest

from obcore._kernels import _layout as f
from obcore.analytics.anomalies import BookSeries
from obcore.analytics.health import WEIGHTS, band_of, health_answer, microstructure_health
from obcore.errors import InvalidInputError

from .realdata import replayed


def _counters(seconds: int, bid: int = 100, ask: int = 100, updates: int = 400) -> np.ndarray:
    c = np.zeros((f.N_FIELDS, seconds), dtype=np.int64)
    c[f.ADDITIONS], c[f.SIDE_FIELDS + f.ADDITIONS] = bid, ask
    c[f.UPDATES] = updates // 2
    c[f.SIDE_FIELDS + f.UPDATES] = updates - updates // 2
    c[f.MESSAGES] = 10
    return c


def _varied(seconds: int) -> np.ndarray:
    """History whose bid/ask balance and rate wander (a different mix every 10 s)."""
    c = _counters(seconds)
    rng = np.random.default_rng(7)
    for start in range(0, seconds, 10):
        c[f.ADDITIONS, start : start + 10] = rng.integers(50, 150)
        c[f.UPDATES, start : start + 10] = rng.integers(100, 300)
    return c


def test_flow_balance_and_update_rate_edges():
    c = _varied(720)
    # The last 60 s: perfectly balanced at the history's median rate -> better than all history.
    c[f.ADDITIONS, -60:] = 100
    c[f.SIDE_FIELDS + f.ADDITIONS, -60:] = 100
    h = microstructure_health("ETHUSDT", c)
    rate_now = h.components["update_rate"]["updates_per_s_now"]
    assert h.components["flow_balance"]["value"] > 99 and h.components["flow_balance"]["imbalance_now"] == 0
    # One-sided: every event on the bid -> worse than every slice of the history.
    c[f.SIDE_FIELDS + f.ADDITIONS, -60:] = 0
    assert microstructure_health("ETHUSDT", c).components["flow_balance"]["value"] == 0
    # A frozen book (1 change/s) is further from the usual rate than any history slice.
    c[f.UPDATES, -60:] = 1
    c[f.SIDE_FIELDS + f.UPDATES, -60:] = 0
    assert microstructure_health("ETHUSDT", c).components["update_rate"]["value"] == 0
    assert rate_now > 100


def test_a_constant_history_scores_fifty_and_the_weights_renormalise():
    h = microstructure_health("ETHUSDT", _counters(720))
    assert h.components["flow_balance"]["value"] == 50 and h.components["update_rate"]["value"] == 50
    assert h.components["spread_stability"]["value"] is None and "store" in h.components["spread_stability"]["status"]
    assert h.score == 50 and h.band == "Fair" and h.to_dict()["weights_renormalised"]


def test_not_yet_known_under_ten_minutes():
    h = microstructure_health("ETHUSDT", _counters(659))
    assert h.score is None and h.band == "Unknown"
    assert "599 s of counter history" in h.components["flow_balance"]["status"]


def _book(seconds: int, spread: np.ndarray | None = None, depth: np.ndarray | None = None) -> BookSeries:
    t = np.arange(1_700_000_000 - seconds + 1, 1_700_000_001, dtype=np.int64)
    rng = np.random.default_rng(3)
    s = rng.integers(1, 4, seconds) if spread is None else spread
    d = rng.integers(1_000, 2_000, seconds) if depth is None else depth
    return BookSeries(t, s.astype(np.int64), d.astype(np.int64), np.full(seconds, 1000), 1000 + s)


def test_spread_and_depth_edges_and_the_full_weighted_score():
    book = _book(720)
    book.spread[-60:] = 2  # a perfectly steady spread: sigma 0, better than any jittery slice
    book.depth[-1] = 10_000  # deeper than ever
    h = microstructure_health("ETHUSDT", _counters(720), book=book)
    assert h.components["spread_stability"]["value"] == 100
    assert h.components["liquidity_depth"]["value"] == 100
    expected = 0.25 * 100 + 0.35 * 100 + 0.25 * 50 + 0.15 * 50
    assert h.score == pytest.approx(expected) and h.band == "Excellent"
    assert not h.to_dict()["weights_renormalised"] and sum(WEIGHTS.values()) == pytest.approx(1)
    h = microstructure_health("ETHUSDT", _counters(720), book=book, depth_now=0)  # the live book is empty
    assert h.components["liquidity_depth"]["value"] == 0 and h.components["liquidity_depth"]["source_now"] == "live book"


@pytest.mark.parametrize(("score", "band"), [(100, "Excellent"), (80, "Excellent"), (79.99, "Good"), (60, "Good"),
                                             (59.9, "Fair"), (40, "Fair"), (39.9, "Poor"), (20, "Poor"),
                                             (19.99, "Critical"), (0, "Critical")])
def test_bands(score, band):
    assert band_of(score) == band


def test_bad_input():
    with pytest.raises(InvalidInputError, match="0..100"):
        band_of(100.5)
    with pytest.raises(InvalidInputError, match="counters"):
        microstructure_health("ETHUSDT", np.zeros((4, 10), dtype=np.int64))
    with pytest.raises(InvalidInputError, match="not tracked"):
        health_answer("ETHUSDT")
    with pytest.raises(InvalidInputError, match="store"):
        health_answer("ETHUSDT", as_of="2024-08-09T00:05:00Z")


def test_real_eth_replay():
    """The real recording (11 min): every component judged once the history rule is lowered."""
    session, book = replayed("eth")["ETHUSDT"]
    ring = session.counters
    counters = np.array(ring.window(ring.last_second, ring.capacity))
    h = microstructure_health("ETHUSDT", counters, book=book, min_history_seconds=300)
    assert all(c["value"] is not None and 0 <= c["value"] <= 100 for c in h.components.values())
    assert 0 <= h.score <= 100 and h.band in {"Excellent", "Good", "Fair", "Poor", "Critical"}
    live = health_answer("ETHUSDT", session=session, now_ms=session.last_event_time_ms).to_dict()
    assert live["components"]["flow_balance"]["value"] is None  # 591 s of history < 600 s
    assert live["data_quality"]["source"] == "live"
