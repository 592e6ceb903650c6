"""detect_market_anomalies: each detector fires just over its threshold and not just under,
and stays silent on every bundled real recording."""

from __future__ import annotations

import numpy as np
import pytest

from obcore._kernels import _layout as f
from obcore.analytics.anomalies import (
    MIN_BASELINE_SECONDS,
    BookSeries,
    anomalies_answer,
    detect_anomalies,
)
from obcore.errors import InvalidInputError

from .realdata import replayed

END = 1_723_161_600  # an arbitrary exchange second


def _counters(seconds: int, rate: int = 450, trades: int = 20) -> np.ndarray:
    """A steady ordinary market: ``rate`` level changes/s split over both sides."""
    c = np.zeros((f.N_FIELDS, seconds), dtype=np.int64)
    c[f.UPDATES] = rate // 2
    c[f.SIDE_FIELDS + f.UPDATES] = rate - rate // 2
    c[f.CANCELLATIONS] = rate // 4
    c[f.TRADES] = trades
    c[f.MESSAGES] = 10
    return c


def _spike(c: np.ndarray, column: int, rate: int, trades: int) -> None:
    c[f.UPDATES, column] = rate // 2
    c[f.SIDE_FIELDS + f.UPDATES, column] = rate - rate // 2
    c[f.TRADES, column] = trades


# --------------------------------------------------------------- quote stuffing
def test_quote_stuffing_needs_a_baseline():
    c = _counters(MIN_BASELINE_SECONDS - 1 + 60)
    _spike(c, -5, 20_000, 10)
    report = detect_anomalies("ETHUSDT", c, END, 60)
    assert report.anomalies == ()
    assert report.baselines["quote_stuffing"]["status"].startswith("baseline not yet known")
    c = _counters(MIN_BASELINE_SECONDS + 60)
    _spike(c, -5, 20_000, 10)
    assert [a.type for a in detect_anomalies("ETHUSDT", c, END, 60).anomalies] == ["QuoteStuffing"]


@pytest.mark.parametrize(("rate", "trades", "expected"), [
    (4_501, 10, "Medium"),      # just over 10x the 450/s median, fills 0.2 %
    (4_500, 10, None),          # exactly 10x: not over
    (9_001, 10, "High"),        # just over 20x
    (22_501, 10, "Critical"),   # just over 50x
    (22_501, 2_251, None),      # fill rate 10.0 %: not under 10 %
    (22_501, 2_250, "Critical"),  # fill rate just under 10 %
])  # fmt: skip
def test_quote_stuffing_thresholds_and_bands(rate, trades, expected):
    c = _counters(900)
    _spike(c, -10, rate, trades)
    found = detect_anomalies("ETHUSDT", c, END, 60).anomalies
    if expected is None:
        assert found == ()
    else:
        (anomaly,) = found
        assert (anomaly.type, anomaly.severity) == ("QuoteStuffing", expected)
        assert anomaly.confidence >= 0.95 and "100 ms" in anomaly.description
        assert anomaly.timestamp_ms == (END - 9) * 1000
        assert anomaly.baseline["median_updates_per_s"] == 450


def test_quote_stuffing_floors_cap_the_severity():
    """A quiet symbol (median 40/s): 60x its median is only 2,400/s, but 700/s is < 750: Medium."""
    c = _counters(900, rate=40, trades=1)
    _spike(c, -3, 700, 1)
    (anomaly,) = detect_anomalies("XMRBTC", c, END, 60).anomalies
    assert anomaly.severity == "Medium"
    c = _counters(900, rate=40, trades=1)
    _spike(c, -3, 500, 1)  # 12.5x the median but not > 500/s
    assert detect_anomalies("XMRBTC", c, END, 60).anomalies == ()


def test_an_episode_is_one_anomaly():
    c = _counters(900)
    for column in (-20, -19, -18):
        _spike(c, column, 30_000, 10)
    (anomaly,) = detect_anomalies("ETHUSDT", c, END, 60).anomalies
    assert anomaly.baseline["seconds"] == 3 and anomaly.id


# ---------------------------------------------------------------------- iceberg
def _refills(rows: list[tuple[int, int, int, int, int, int]]) -> np.ndarray:
    out = np.zeros((f.N_REFILL_FIELDS, len(rows)), dtype=np.int64)
    for j, row in enumerate(sorted(rows, key=lambda r: r[2])):
        out[:, j] = row
    return out


def _ordinary_refills(seconds: int, levels: int = 5) -> list:
    """One refill every 20 s at each of 5 bid levels, every 10 s at each of 3 ask levels:
    per-minute counts 3 (five times) and 6 (three times): median 3, busiest level 6."""
    rows = []
    start = END - seconds + 1
    for t in range(start, END - 59):
        for level in range(levels):
            if (t + 4 * level) % 20 == 0:
                rows.append((f.BID, 1000 + level, t * 1000, 10, 10, 50))
            if level < 3 and (t + 3 * level) % 10 == 0:
                rows.append((f.ASK, 2000 + level, t * 1000, 10, 10, 50))
    return rows


@pytest.mark.parametrize(("count", "traded", "fires"), [
    (16, 60, True),    # 16 refills > 5x the median (3) and above the busiest ordinary level (6)
    (15, 60, False),   # 15 = 5x the median: not over
    (16, 49, False),   # traded less than the 50 displayed: no hidden size
])  # fmt: skip
def test_iceberg_thresholds(count, traded, fires):
    seconds = 1_260
    rows = _ordinary_refills(seconds)
    per = traded // count
    extra = traded - per * count
    for k in range(count):
        rows.append((f.BID, 1500, (END - 50 + 2 * k) * 1000, per + (extra if k == 0 else 0), per, 50))
    report = detect_anomalies("ETHUSDT", _counters(seconds), END, 60, refills=_refills(rows), price_scale=2)
    info = report.baselines["iceberg"]
    assert info["status"] == "known" and info["median_refills"] == 3.0 and info["sigma"] > 0
    icebergs = [a for a in report.anomalies if a.type == "Iceberg"]
    assert len(icebergs) == int(fires)
    if fires:
        assert icebergs[0].price_levels == ("15",) and icebergs[0].baseline["z_score"] > 1.96


def test_iceberg_needs_ten_minutes_and_twenty_slices():
    rows = _ordinary_refills(599 + 60)
    rows += [(f.BID, 1500, (END - 50 + k) * 1000, 10, 10, 5) for k in range(40)]
    report = detect_anomalies("ETHUSDT", _counters(659), END, 60, refills=_refills(rows))
    assert report.baselines["iceberg"]["status"].startswith("baseline not yet known")
    assert report.anomalies == ()
    # 600 s before a 300-s window: slices start every 50 s, only 7 whole ones fit.
    rows = _ordinary_refills(900) + [(f.BID, 1500, (END - 50 + k) * 1000, 10, 10, 5) for k in range(40)]
    report = detect_anomalies("ETHUSDT", _counters(900), END, 300, refills=_refills(rows), min_baseline_seconds=60)
    assert "7 window slices" in report.baselines["iceberg"]["status"] and report.anomalies == ()


# -------------------------------------------------------------- flash crash risk
def _book(seconds: int) -> BookSeries:
    t = np.arange(END - seconds + 1, END + 1, dtype=np.int64)
    return BookSeries(t, np.full(seconds, 10, dtype=np.int64), np.full(seconds, 1_000_000, dtype=np.int64),
                      np.full(seconds, 100_000, dtype=np.int64), np.full(seconds, 100_010, dtype=np.int64))


@pytest.mark.parametrize(("depth", "spread", "cancels", "fires"), [
    (199_999, 101, 901, True),
    (200_000, 101, 901, False),  # an 80 % drop exactly: not over
    (199_999, 100, 901, False),  # spread exactly 10x
    (199_999, 101, 900, False),  # cancellations exactly 90 % of 1000 updates
])  # fmt: skip
def test_flash_crash_thresholds(depth, spread, cancels, fires):
    seconds = 900
    book = _book(seconds)
    book.depth[-5], book.spread[-5] = depth, spread
    c = _counters(seconds)
    _spike(c, -5, 1000, 5)
    c[f.CANCELLATIONS, -5] = cancels
    c[f.SIDE_FIELDS + f.CANCELLATIONS, -5] = 0
    report = detect_anomalies("ETHUSDT", c, END, 60, book=book, price_scale=2)
    crashes = [a for a in report.anomalies if a.type == "FlashCrashRisk"]
    assert len(crashes) == int(fires)
    assert report.baselines["flash_crash"]["spread_history_seconds"] == seconds - 60
    if fires:
        assert crashes[0].severity == "High" and crashes[0].price_levels == ("1000", "1000.1")


def test_flash_crash_without_the_store_says_so():
    report = detect_anomalies("ETHUSDT", _counters(900), END, 60)
    assert "store" in report.baselines["flash_crash"]["status"]


# ------------------------------------------------------------------- real data
@pytest.mark.parametrize("recording", ["eth", "btc", "multi"])
def test_silent_on_ordinary_real_recordings(recording):
    """Every window of every bundled recording, with the baseline lowered to what the
    recordings hold (they are 30 s to 11 min long): not one anomaly, and the baselines are
    known, so the silence is a judgement and not a lack of data."""
    judged = 0
    for symbol, (session, book) in replayed(recording).items():
        ring = session.counters
        end = ring.last_second
        held = np.flatnonzero(ring.window(end, ring.capacity)[f.MESSAGES] > 0)
        if held.shape[0] == 0:
            continue
        first = end - ring.capacity + 1 + int(held[0])
        length = end - first + 1
        window = 60 if length >= 240 else 10
        baseline = max(10, length - window - 50)  # ~10 windows at the end of each recording
        for e in range(first + baseline + window, end + 1, 5):
            counters = np.array(ring.window(e, e - first + 1))
            report = detect_anomalies(symbol, counters, e, window, refills=session.refills.latest(),
                                      refill_history_start_s=first, book=book, price_scale=session.price_scale,
                                      qty_scale=session.qty_scale, min_baseline_seconds=baseline)
            assert report.anomalies == (), [a.to_dict() for a in report.anomalies]
            judged += report.baselines["quote_stuffing"]["status"] == "known"
    if recording != "multi":  # 30 s each: too short for 20 baseline slices, so not judged
        assert judged > 0


def test_live_answer_on_the_real_replay_says_baseline_not_yet_known():
    session, _ = replayed("eth")["ETHUSDT"]
    report = anomalies_answer("ETHUSDT", session=session, window_secs=60, now_ms=session.last_event_time_ms)
    out = report.to_dict()
    assert out["anomaly_count"] == 0 and out["data_quality"]["source"] == "live"
    assert "baseline not yet known" in out["baselines"]["quote_stuffing"]["status"]  # 11 min < 10 min + window


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize("window", [9, 301, 60.0, True, "60", None])
def test_bad_windows(window):
    with pytest.raises(InvalidInputError, match="window_secs"):
        detect_anomalies("ETHUSDT", _counters(900), END, window)


def test_bad_sources():
    with pytest.raises(InvalidInputError, match="not tracked"):
        anomalies_answer("ETHUSDT", session=None)
    with pytest.raises(InvalidInputError, match="store"):
        anomalies_answer("ETHUSDT", as_of=1_723_161_600_000)
    with pytest.raises(InvalidInputError, match="counters"):
        detect_anomalies("ETHUSDT", np.zeros((3, 100), dtype=np.int64), END, 60)
