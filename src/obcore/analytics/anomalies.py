"""Market anomalies (``detect_market_anomalies``, SPEC.md Anomalies): quote stuffing,
iceberg refills and flash-crash risk, each judged against the symbol's OWN measured
history, never against an assumed σ. The analytics room; no I/O.

Every detector needs a baseline of at least ``MIN_BASELINE_SECONDS`` (10 min) of history
*before* the window; without one it says "baseline not yet known" and reports nothing.
Confidence is always an empirical CDF: the fraction of the baseline's samples strictly
below the observed value, over ``n + 1`` (so it never claims certainty from a finite
sample). Only confidence ≥ ``MIN_CONFIDENCE`` (0.95) is reported.

- **Quote stuffing**: level changes per second from the diff stream (bid + ask updates of
  the counter ring), fill rate = trades / updates. A second qualifies when its rate is
  > 500/s AND > 10 × the median rate of the baseline's covered seconds, with fill rate
  < 10 %. Consecutive qualifying seconds are one episode. Its confidence is the peak's
  place among the busiest second of each window-long baseline slice (≥ 20 slices): on
  real BTCUSDT 2023 (median 51 changes/s) an ordinary second reaches 736/s, 14x the
  median, so the per-second ECDF alone would cry wolf on the window's busiest second. Severity by the multiple of the
  median (``STUFFING_BANDS``: 10× Medium, 20× High, 50× Critical), capped by the seed's
  floors (≥ 500/s Medium, ≥ 750/s High, ≥ 1000/s Critical).
- **Iceberg**: from the book kernel's refill ring. A level's refill rate is its refills
  in a window; the baseline distribution is the per-level refill counts over the
  window-long slices of the baseline (levels that refilled at least once; slices start
  every window/6 s). A level fires when its count > 5 × that median, its z-score
  (measured mean and σ) > 1.96, and the qty traded at it exceeds the largest size it
  displayed (hidden size). Measured on real ETHUSDT the per-level median is 1 refill a
  minute, so SPEC's rule alone fires on the touch level of ordinary minutes (19 times in
  5 min): many levels are tested at once. Confidence is therefore taken against the
  distribution of the *busiest* level of each baseline slice, which is the right null
  for "the busiest level now is unusual" (needs ≥ 20 slices of baseline).
- **Flash-crash risk**: per second from 1-s book snapshots (the store): top-20 depth
  (both sides) drops > 80 % from the previous second, spread > 10 × its mean over the
  baseline (up to 24 h, at least 10 min; the answer says how much), and cancellations
  > 90 % of that second's updates — all three at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from obcore._kernels import _layout as f
from obcore.analytics.coverage import STALE_AFTER_MS, WindowQuality
from obcore.errors import InvalidInputError

__all__ = [
    "Anomaly",
    "AnomalyReport",
    "BookSeries",
    "MIN_BASELINE_SECONDS",
    "MIN_CONFIDENCE",
    "anomalies_answer",
    "book_series_from_arrays",
    "detect_anomalies",
]

MIN_WINDOW_SECONDS = 10
MAX_WINDOW_SECONDS = 300
MIN_BASELINE_SECONDS = 600
SPREAD_HISTORY_SECONDS = 86_400
MIN_CONFIDENCE = 0.95
COALESCING_NOTE = (
    "Binance's diff stream coalesces 100 ms: repeated changes of one level inside 100 ms are invisible, "
    "so the true update rate can only be higher")

STUFFING_MIN_RATE = 500
STUFFING_MULTIPLE = 10.0
STUFFING_MAX_FILL = 0.10
#: (multiple of the median rate, severity); the seed's floors cap each band.
STUFFING_BANDS = ((10.0, "Medium"), (20.0, "High"), (50.0, "Critical"))
STUFFING_FLOORS = {"Medium": 500, "High": 750, "Critical": 1000}
ICEBERG_MULTIPLE = 5.0
ICEBERG_MIN_Z = 1.96
ICEBERG_MIN_SAMPLES = 30
ICEBERG_MIN_SLICES = 20  # so the busiest-level ECDF can reach 0.95 (19/20)
ICEBERG_SLICE_DIVISOR = 6  # baseline slices start every window/6 s
ICEBERG_BANDS = ((5.0, "Medium"), (10.0, "High"), (20.0, "Critical"))
CRASH_DEPTH_DROP = 0.80
CRASH_SPREAD_MULTIPLE = 10.0
CRASH_CANCEL_SHARE = 0.90
_ORDER = ("Low", "Medium", "High", "Critical")


@dataclass(frozen=True, slots=True)
class BookSeries:
    """Per-second book facts (1-s snapshots): spread and top-20 depth, scaled ints.

    ``spread`` and ``depth`` are -1 where a second has no two-sided book.
    """

    time_s: np.ndarray
    spread: np.ndarray
    depth: np.ndarray
    best_bid: np.ndarray
    best_ask: np.ndarray


def book_series_from_arrays(arrays: Any) -> BookSeries:
    """A :class:`BookSeries` from the store's ``SnapshotArrays`` (top-20 levels a row)."""
    n = len(arrays)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return BookSeries(empty, empty, empty, empty, empty)
    has_bid = arrays.bid_levels > 0
    has_ask = arrays.ask_levels > 0
    both = has_bid & has_ask
    bid = np.where(has_bid, arrays.bid_prices[:, 0], 0)
    ask = np.where(has_ask, arrays.ask_prices[:, 0], 0)
    spread = np.where(both, ask - bid, -1)
    depth = np.where(both, arrays.bid_qtys.sum(axis=1) + arrays.ask_qtys.sum(axis=1), -1)
    return BookSeries(np.asarray(arrays.time_s, dtype=np.int64), spread.astype(np.int64), depth.astype(np.int64),
                      bid.astype(np.int64), ask.astype(np.int64))


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One reported anomaly (SPEC.md's fields, plus the baseline it was judged against)."""

    type: str
    severity: str
    confidence: float
    timestamp_ms: int
    price_levels: tuple[str, ...]
    description: str
    recommended_action: str
    baseline: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "severity": self.severity,
                "confidence": round(self.confidence, 4), "timestamp_ms": self.timestamp_ms,
                "affected_price_levels": list(self.price_levels), "description": self.description,
                "recommended_action": self.recommended_action, "baseline": self.baseline}


@dataclass(frozen=True, slots=True)
class AnomalyReport:
    """What ``detect_market_anomalies`` answers."""

    symbol: str
    window_seconds: int
    end_s: int
    anomalies: tuple[Anomaly, ...]
    baselines: dict[str, dict[str, Any]]
    quality: WindowQuality | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "window_seconds": self.window_seconds,
                "window_end_s": self.end_s, "anomaly_count": len(self.anomalies),
                "anomalies": [a.to_dict() for a in self.anomalies], "baselines": self.baselines,
                "min_confidence": MIN_CONFIDENCE, "resolution": "1-s counters and 1-s book snapshots",
                "data_quality": None if self.quality is None else self.quality.to_dict()}


def _check_window(seconds: Any) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, np.integer)) or not (
            MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS):
        raise InvalidInputError(
            f"window_secs must be an integer {MIN_WINDOW_SECONDS}..{MAX_WINDOW_SECONDS}, got {seconds!r}")
    return int(seconds)


def _ecdf(sorted_baseline: np.ndarray, value: float) -> float:
    """Fraction of the baseline strictly below ``value``, over n + 1."""
    below = int(np.searchsorted(sorted_baseline, value, side="left"))
    return below / (sorted_baseline.shape[0] + 1)


def _band(multiple: float, bands: tuple[tuple[float, str], ...]) -> str:
    out = "Low"
    for threshold, name in bands:
        if multiple >= threshold:
            out = name
    return out


def _price(value: int, scale: int) -> str:
    text = str(abs(int(value))).rjust(scale + 1, "0")
    whole, frac = (text[:-scale], text[-scale:]) if scale else (text, "")
    frac = frac.rstrip("0")
    return ("-" if value < 0 else "") + whole + ("." + frac if frac else "")


def _quote_stuffing(counters: np.ndarray, end_s: int, window: int, min_baseline: int,
                    book: BookSeries | None, price_scale: int) -> tuple[list[Anomaly], dict[str, Any]]:
    updates = counters[f.UPDATES] + counters[f.SIDE_FIELDS + f.UPDATES]
    trades = counters[f.TRADES]
    covered = counters[f.MESSAGES] > 0
    base_rates = np.sort(updates[:-window][covered[:-window]]).astype(np.float64)
    n_base = int(base_rates.shape[0])
    info: dict[str, Any] = {"baseline_seconds": n_base, "min_baseline_seconds": min_baseline,
                            "rule": f"rate > {STUFFING_MIN_RATE}/s and > {STUFFING_MULTIPLE:g}x the median, fill rate "
                                    f"< {STUFFING_MAX_FILL:.0%}", "bands": {n: f">= {m:g}x median and >= {STUFFING_FLOORS[n]}/s"
                                                                             for m, n in STUFFING_BANDS},
                            "note": COALESCING_NOTE}
    if n_base < min_baseline:
        info["status"] = f"baseline not yet known: {n_base} s of history before the window, {min_baseline} s needed"
        return [], info
    median = float(np.median(base_rates))
    # The null of "the busiest second of this window is extreme": the busiest second of
    # each window-long slice of the baseline (slices start every window/6 s).
    step = max(1, window // ICEBERG_SLICE_DIVISOR)
    history = updates[:-window].astype(np.float64)
    starts = np.arange(history.shape[0] - window, -1, -step)[::-1]
    if starts.shape[0] < ICEBERG_MIN_SLICES:
        info["status"] = (f"baseline not yet known: {starts.shape[0]} window slices of history, "
                          f"{ICEBERG_MIN_SLICES} needed")
        return [], info
    maxima = np.sort(np.array([history[a : a + window].max() for a in starts]))
    info.update(status="known", median_updates_per_s=median, p90_updates_per_s=float(np.quantile(base_rates, 0.9)),
                max_updates_per_s=float(base_rates[-1]), slices=int(maxima.shape[0]),
                busiest_second_p95=float(np.quantile(maxima, 0.95)))
    rates = updates[-window:].astype(np.float64)
    fills = trades[-window:].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        fill_rate = np.where(rates > 0, fills / rates, 1.0)
    qualify = (rates > STUFFING_MIN_RATE) & (rates > STUFFING_MULTIPLE * median) & (fill_rate < STUFFING_MAX_FILL)
    out: list[Anomaly] = []
    first_s = end_s - window + 1
    k = 0
    while k < window:
        if not qualify[k]:
            k += 1
            continue
        j = k
        while j + 1 < window and qualify[j + 1]:
            j += 1
        peak = k + int(np.argmax(rates[k : j + 1]))
        rate = float(rates[peak])
        confidence = _ecdf(maxima, rate)
        multiple = rate / median if median > 0 else float("inf")
        by_multiple = _band(multiple, STUFFING_BANDS)
        by_floor = _band(rate, tuple((float(v), n) for n, v in STUFFING_FLOORS.items()))
        severity = _ORDER[min(_ORDER.index(by_multiple), _ORDER.index(by_floor))]
        if confidence >= MIN_CONFIDENCE and severity != "Low":
            second = first_s + peak
            levels: tuple[str, ...] = ()
            if book is not None and book.time_s.shape[0]:
                row = int(np.searchsorted(book.time_s, second, side="right")) - 1
                if row >= 0 and book.spread[row] >= 0:
                    levels = (_price(book.best_bid[row], price_scale), _price(book.best_ask[row], price_scale))
            out.append(Anomaly(
                "QuoteStuffing", severity, confidence, (first_s + k) * 1000, levels,
                f"{j - k + 1} s of quote stuffing: peak {rate:.0f} level changes/s ({multiple:.1f}x the symbol's median "
                f"{median:.0f}/s over {n_base} s) with fill rate {fill_rate[peak]:.1%}. {COALESCING_NOTE}.",
                "Widen quotes or pause quoting; do not trust top-of-book sizes until the rate falls back",
                {"median_updates_per_s": median, "baseline_seconds": n_base, "multiple": round(multiple, 2),
                 "peak_rate": rate, "seconds": j - k + 1}))
        k = j + 1
    return out, info


def _iceberg(refills: np.ndarray, end_s: int, window: int, baseline_start_s: int, min_baseline: int,
             price_scale: int, qty_scale: int) -> tuple[list[Anomaly], dict[str, Any]]:
    start_ms = (end_s - window + 1) * 1000
    end_ms = (end_s + 1) * 1000
    times = refills[f.REFILL_TIME]
    # The baseline: window-long slices before the window, one starting every ``step``
    # seconds, as far back as refills are complete.
    step = max(1, window // ICEBERG_SLICE_DIVISOR)
    span = int((end_s - window + 1) - baseline_start_s)
    buckets = max(0, span // step)
    slices = max(0, buckets - window // step + 1)
    info: dict[str, Any] = {"baseline_seconds": buckets * step, "min_baseline_seconds": min_baseline,
                            "rule": f"refills in the window > {ICEBERG_MULTIPLE:g}x the median per-level refill count, "
                                    f"z > {ICEBERG_MIN_Z} (measured mean and sigma), traded qty > the largest displayed "
                                    "size; confidence = where the count sits among the baseline's busiest level per "
                                    "window (the null of the busiest level, not of any level)",
                            "bands": {n: f">= {m:g}x median" for m, n in ICEBERG_BANDS}}
    if buckets * step < min_baseline or slices < ICEBERG_MIN_SLICES:
        info["status"] = (f"baseline not yet known: {buckets * step} s of refill history ({slices} window slices), "
                          f"{max(min_baseline, (ICEBERG_MIN_SLICES + window // step - 1) * step)} s needed")
        return [], info
    base_start_ms = start_ms - buckets * step * 1000
    base = (times >= base_start_ms) & (times < start_ms)
    per = window // step
    if base.any():
        # One int64 key a level (price * 2 + side), then one bincount over (level, bucket).
        keys = refills[f.REFILL_PRICE, base] * 2 + refills[f.REFILL_SIDE, base]
        _, level_of = np.unique(keys, return_inverse=True)
        width = buckets + 1
        cells = level_of * width + 1 + (times[base] - base_start_ms) // (step * 1000)
        grid = np.bincount(cells, minlength=(int(level_of.max()) + 1) * width).reshape(-1, width)
        sums = np.cumsum(grid, axis=1)
        sliding = sums[:, per:] - sums[:, :-per]  # (levels, slices): refills per window-long slice
        samples = sliding[sliding > 0].astype(np.float64)  # unsorted: only median, mean and sigma are read
        maxima = np.sort(sliding.max(axis=0).astype(np.float64))
    else:
        samples = maxima = np.zeros(0)
    if samples.shape[0] < ICEBERG_MIN_SAMPLES:
        info["status"] = (f"baseline not yet known: {samples.shape[0]} per-level refill samples, "
                          f"{ICEBERG_MIN_SAMPLES} needed")
        return [], info
    median = float(np.median(samples))
    mean = float(samples.mean())
    sigma = float(samples.std(ddof=1))
    info.update(status="known", samples=int(samples.shape[0]), slices=int(maxima.shape[0]), median_refills=median,
                mean_refills=mean, sigma=sigma, busiest_level_p95=float(np.quantile(maxima, 0.95)),
                busiest_level_max=float(maxima[-1]))
    inside = (times >= start_ms) & (times < end_ms)
    out: list[Anomaly] = []
    if not inside.any():
        return out, info
    sides, prices = refills[f.REFILL_SIDE, inside], refills[f.REFILL_PRICE, inside]
    traded, displayed = refills[f.REFILL_TRADED, inside], refills[f.REFILL_DISPLAYED, inside]
    refilled, when = refills[f.REFILL_QTY, inside], times[inside]
    level_keys, inverse, counts = np.unique(prices * 2 + sides, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = (counts - mean) / sigma if sigma > 0 else np.where(counts > mean, np.inf, 0.0)
    for j in np.flatnonzero((counts > ICEBERG_MULTIPLE * median) & (zs > ICEBERG_MIN_Z)):
        c, z = float(counts[j]), float(zs[j])
        mine = inverse == j
        traded_total, shown = int(traded[mine].sum()), int(displayed[mine].max())
        if traded_total <= shown:
            continue
        confidence = _ecdf(maxima, c)
        multiple = c / median
        if confidence < MIN_CONFIDENCE:
            continue
        side = "bid" if int(level_keys[j]) % 2 == f.BID else "ask"
        price = _price(int(level_keys[j]) // 2, price_scale)
        q = 10.0 ** qty_scale
        out.append(Anomaly(
            "Iceberg", _band(multiple, ICEBERG_BANDS), confidence, int(when[mine][0]), (price,),
            f"{side} {price} refilled {int(c)} times in {window} s ({multiple:.1f}x the median {median:g}, z={z:.2f} against "
            f"{samples.shape[0]} measured per-level samples); {traded_total / q:g} traded against at most {shown / q:g} "
            f"displayed, {int(refilled[mine].sum()) / q:g} refilled",
            f"Expect hidden size at {price}: a {'bid' if side == 'bid' else 'ask'} there absorbs more than it shows",
            {"median_refills": median, "mean_refills": mean, "sigma": sigma, "samples": int(samples.shape[0]),
             "z_score": round(z, 3), "refills": int(c), "traded_qty": traded_total / q,
             "max_displayed_qty": shown / q}))
    return out, info


def _flash_crash(counters: np.ndarray, end_s: int, window: int, book: BookSeries | None, min_baseline: int,
                 price_scale: int) -> tuple[list[Anomaly], dict[str, Any]]:
    info: dict[str, Any] = {"min_baseline_seconds": min_baseline,
                            "rule": f"top-20 depth drop > {CRASH_DEPTH_DROP:.0%} within 1 s, spread > "
                                    f"{CRASH_SPREAD_MULTIPLE:g}x its rolling mean (<= 24 h), cancellations > "
                                    f"{CRASH_CANCEL_SHARE:.0%} of updates"}
    if book is None:
        info.update(baseline_seconds=0, status="baseline not yet known: needs the 1-s book snapshots of the store")
        return [], info
    first_s = end_s - window + 1
    t = book.time_s
    base = (t < first_s) & (t >= first_s - SPREAD_HISTORY_SECONDS) & (book.spread > 0)
    n_base = int(base.sum())
    info["baseline_seconds"] = n_base
    if n_base < min_baseline:
        info["status"] = f"baseline not yet known: {n_base} s of spread history, {min_baseline} s needed"
        return [], info
    spreads = book.spread[base].astype(np.float64)  # sorted below only when a second qualifies
    mean_spread = float(spreads.mean())
    info.update(status="known", mean_spread=_price(int(round(mean_spread)), price_scale) if mean_spread else "0",
                spread_history_seconds=n_base, spread_history_note=f"mean over {n_base / 3600:.2f} h of 1-s snapshots")
    updates = counters[f.UPDATES] + counters[f.SIDE_FIELDS + f.UPDATES]
    cancels = counters[f.CANCELLATIONS] + counters[f.SIDE_FIELDS + f.CANCELLATIONS]
    # Depth drops of consecutive stored seconds of the baseline, for the confidence.
    out: list[Anomaly] = []
    rows = np.flatnonzero((t >= first_s) & (t <= end_s))
    rows = rows[rows > 0]
    prev = rows - 1
    valid = (t[prev] == t[rows] - 1) & (book.depth[prev] > 0) & (book.depth[rows] >= 0)
    rows, prev = rows[valid], prev[valid]
    drop_all = 1.0 - book.depth[rows] / np.where(book.depth[prev] > 0, book.depth[prev], 1)
    columns = t[rows] - end_s - 1  # counters end at end_s
    u_all, c_all = updates[columns], cancels[columns]
    share_all = np.where(u_all > 0, c_all / np.maximum(u_all, 1), 0.0)
    hit = ((drop_all > CRASH_DEPTH_DROP) & (book.spread[rows] > CRASH_SPREAD_MULTIPLE * mean_spread)
           & (share_all > CRASH_CANCEL_SHARE))
    if hit.any():
        spreads = np.sort(spreads)
        # Depth drops of consecutive stored seconds of the baseline, for the confidence.
        both = (book.depth[1:] > 0) & (book.depth[:-1] > 0) & (t[1:] == t[:-1] + 1) & base[1:]
        drops = np.sort(1.0 - book.depth[1:][both] / book.depth[:-1][both])
    for k in np.flatnonzero(hit):
        row = int(rows[k])
        drop, spread, share = float(drop_all[k]), float(book.spread[row]), float(share_all[k])
        u = int(u_all[k])
        confidence = min(_ecdf(spreads, spread), _ecdf(drops, drop) if drops.shape[0] else spreads.shape[0] / (spreads.shape[0] + 1))
        if confidence < MIN_CONFIDENCE:
            continue
        multiple = spread / mean_spread
        severity = "Critical" if drop > 0.95 or multiple > 50 else "High"
        levels = (_price(book.best_bid[row], price_scale), _price(book.best_ask[row], price_scale))
        out.append(Anomaly(
            "FlashCrashRisk", severity, confidence, int(t[row]) * 1000, levels,
            f"top-20 depth fell {drop:.0%} in 1 s, spread {_price(int(spread), price_scale)} is {multiple:.1f}x its mean over "
            f"{n_base / 3600:.2f} h, cancellations {share:.0%} of {u} updates",
            "Stop sending market orders; cancel resting stops near the touch; wait for depth to return",
            {"mean_spread": mean_spread / 10**price_scale, "spread_history_seconds": n_base,
             "depth_drop": round(drop, 4), "spread_multiple": round(multiple, 2), "cancel_share": round(share, 4)}))
    return out, info


def detect_anomalies(symbol: str, counters: np.ndarray, end_s: int, window_secs: int = 60, *,
                     refills: np.ndarray | None = None, refill_history_start_s: int | None = None,
                     book: BookSeries | None = None, price_scale: int = 0, qty_scale: int = 0,
                     min_baseline_seconds: int = MIN_BASELINE_SECONDS,
                     quality: WindowQuality | None = None) -> AnomalyReport:
    """Run the three detectors over the window ending at ``end_s`` (pure: arrays in, report out).

    Parameters
    ----------
    symbol : str
    counters : ndarray of int64, shape (N_FIELDS, n)
        Per-second counters of the ``n`` seconds ending at ``end_s`` (window plus baseline).
    end_s : int
        The window's last second.
    window_secs : int
        10 to 300.
    refills : ndarray, shape (N_REFILL_FIELDS, m), optional
        The refill ring's rows, oldest first (without them iceberg is not judged).
    refill_history_start_s : int, optional
        Since when the refills are complete (the ring's oldest kept second).
    book : BookSeries, optional
        Per-second spread and depth (without it flash-crash risk is not judged).
    price_scale, qty_scale : int
    min_baseline_seconds : int
        History needed before the window (default 600; tests on short recordings lower it).
    quality : WindowQuality, optional

    Returns
    -------
    AnomalyReport
    """
    window = _check_window(window_secs)
    if counters.ndim != 2 or counters.shape[0] != f.N_FIELDS or counters.shape[1] < window:
        raise InvalidInputError(f"counters must be ({f.N_FIELDS}, >= {window}), got {counters.shape}")
    found: list[Anomaly] = []
    baselines: dict[str, dict[str, Any]] = {}
    stuffing, baselines["quote_stuffing"] = _quote_stuffing(counters, end_s, window, min_baseline_seconds, book, price_scale)
    found += stuffing
    if refills is None:
        baselines["iceberg"] = {"status": "baseline not yet known: no refill ring (refills are not stored; live only)"}
    else:
        start = refill_history_start_s if refill_history_start_s is not None else end_s - counters.shape[1] + 1
        icebergs, baselines["iceberg"] = _iceberg(refills, end_s, window, start, min_baseline_seconds,
                                                  price_scale, qty_scale)
        found += icebergs
    crashes, baselines["flash_crash"] = _flash_crash(counters, end_s, window, book, min_baseline_seconds, price_scale)
    found += crashes
    found.sort(key=lambda a: a.timestamp_ms)
    return AnomalyReport(symbol, window, end_s, tuple(found), baselines, quality)


def _live_quality(session: Any, end_s: int, window: int, counters: np.ndarray, now_ms: int | None) -> WindowQuality:
    import time

    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    age = session.book_age_ms(now)
    warnings = []
    if not session.is_synced:
        warnings.append(f"book is {session.state.name}: {session.reason}")
    elif age is not None and age > STALE_AFTER_MS:
        warnings.append(f"book is stale: last depth update {age} ms ago")
    covered = int((counters[f.MESSAGES, -window:] > 0).sum())
    return WindowQuality(source="live", start_s=end_s - window + 1, end_s=end_s, seconds_requested=window,
                         seconds_covered=covered, sync_state=session.state.name, book_age_ms=age,
                         gap_count_total=session.gap_count, resync_count_total=session.resync_count,
                         live_seconds=covered, warnings=tuple(warnings))


def anomalies_answer(symbol: str, *, session: Any = None, store: Any = None, window_secs: int = 60,
                     as_of: Any = None, now_ms: int | None = None,
                     min_baseline_seconds: int = MIN_BASELINE_SECONDS) -> AnomalyReport:
    """``detect_market_anomalies``: live (counter ring, refill ring, store snapshots for the
    book series) or for a past window (``as_of``: the store's 1-s rows; no refills there).

    Raises
    ------
    InvalidInputError
        Bad arguments, ``as_of`` without a store, or a live call without a session.
    """
    from obcore.analytics.flow import _counter_matrix, parse_as_of

    window = _check_window(window_secs)
    if as_of is None:
        if session is None:
            raise InvalidInputError(f"{symbol} is not tracked live: no session to read")
        ring = session.counters
        end = ring.last_second
        held = ring.capacity
        counters = np.array(ring.window(end, held)) if end >= 0 else np.zeros((f.N_FIELDS, window), dtype=np.int64)
        book = None
        if store is not None and end >= 0:
            book = book_series_from_arrays(store.range(symbol, max(end - SPREAD_HISTORY_SECONDS, 0), end + 1))
        kept = session.refills.latest()
        wrapped = session.refills.total > session.refills.capacity
        start = int(kept[f.REFILL_TIME, 0]) // 1000 + 1 if wrapped and kept.shape[1] else end - held + 1
        quality = _live_quality(session, end, window, counters, now_ms)
        return detect_anomalies(symbol, counters, end, window, refills=kept, refill_history_start_s=start, book=book,
                                price_scale=session.price_scale, qty_scale=session.qty_scale,
                                min_baseline_seconds=min_baseline_seconds, quality=quality)
    if store is None:
        raise InvalidInputError("as_of needs the snapshot store (start the server with a data directory)")
    end = parse_as_of(as_of) // 1000
    width = max(window + min_baseline_seconds, min(SPREAD_HISTORY_SECONDS, 3600))
    arrays = store.range(symbol, max(end - SPREAD_HISTORY_SECONDS, 0), end + 1)
    counters = _counter_matrix(arrays, end - width + 1, width)
    in_window = int(((arrays.time_s > end - window) & (arrays.time_s <= end)).sum()) if len(arrays) else 0
    warnings = () if in_window == window else (f"{window - in_window} of {window} seconds are not stored",)
    quality = WindowQuality(source="stored", start_s=end - window + 1, end_s=end, seconds_requested=window,
                            seconds_covered=in_window, stored_seconds=in_window, warnings=warnings)
    return detect_anomalies(symbol, counters, end, window, refills=None, book=book_series_from_arrays(arrays),
                            price_scale=arrays.price_scale if len(arrays) else 0,
                            qty_scale=arrays.qty_scale if len(arrays) else 0,
                            min_baseline_seconds=min_baseline_seconds, quality=quality)
