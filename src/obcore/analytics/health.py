"""Microstructure health (``get_microstructure_health``, SPEC.md Health): one 0-100 score
from four components, each measured against the symbol's OWN history. The analytics
room; no I/O.

    score = 0.25·spread_stability + 0.35·liquidity_depth + 0.25·flow_balance + 0.15·update_rate

Each component is 0-100: the share of the symbol's history that was *worse* than now
(ties count half), so 100 = better than every moment of its history, 50 = typical, 0 =
worse than ever. "Now" is the last ``WINDOW_SECONDS`` (60 s); the history is every
60-s slice (one starting every 10 s) of what is held before it — the counter ring (up to
its capacity) and the store's 1-s snapshots (up to 24 h) — and must span at least
``MIN_HISTORY_SECONDS`` (10 min).

- spread_stability: σ of the 1-s spread over the last 60 s; worse = a larger σ.
- liquidity_depth: top-20 depth (both sides) now (the live book, else the last snapshot);
  history = the 1-s snapshots' top-20 depth; worse = smaller.
- flow_balance: |bid events − ask events| / (bid + ask events) over 60 s, events =
  additions + cancellations from the diff stream; worse = more one-sided.
- update_rate: level changes per second over 60 s, as |ln(rate / history median)|;
  worse = further from the symbol's usual rate either way (frantic or frozen).

A component without enough history is ``None`` with the reason; the score is then the
weighted mean of the known components (weights renormalised, said in the answer).
Bands: Excellent 80-100, Good 60-79, Fair 40-59, Poor 20-39, Critical 0-19.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from obcore._kernels import _layout as f
from obcore.analytics.anomalies import SPREAD_HISTORY_SECONDS, BookSeries, book_series_from_arrays
from obcore.analytics.coverage import WindowQuality
from obcore.errors import InvalidInputError

__all__ = ["WEIGHTS", "HealthReport", "band_of", "health_answer", "microstructure_health"]

WEIGHTS = {"spread_stability": 0.25, "liquidity_depth": 0.35, "flow_balance": 0.25, "update_rate": 0.15}
WINDOW_SECONDS = 60
STEP_SECONDS = 10
MIN_HISTORY_SECONDS = 600
BANDS = ((80, "Excellent"), (60, "Good"), (40, "Fair"), (20, "Poor"), (0, "Critical"))
FORMULA = ("score = 0.25*spread_stability + 0.35*liquidity_depth + 0.25*flow_balance + 0.15*update_rate; "
           "each component = 100 * share of the symbol's own 60-s history slices worse than the last 60 s "
           "(ties half)")


def band_of(score: float) -> str:
    """Excellent 80-100, Good 60-79, Fair 40-59, Poor 20-39, Critical 0-19."""
    if not 0 <= score <= 100:
        raise InvalidInputError(f"a health score is 0..100, got {score}")
    for floor, name in BANDS:
        if score >= floor:
            return name
    return "Critical"  # pragma: no cover - unreachable


def _share_worse(history: np.ndarray, now: float, worse_is_higher: bool) -> float:
    """100 × share of ``history`` worse than ``now`` (ties half)."""
    worse = (history > now) if worse_is_higher else (history < now)
    ties = history == now
    return float(100.0 * (worse.sum() + 0.5 * ties.sum()) / history.shape[0])


def _rolling_sum(x: np.ndarray, width: int) -> np.ndarray:
    c = np.concatenate(([0.0], np.cumsum(x, dtype=np.float64)))
    return c[width:] - c[:-width]


def _slices(n: int, width: int) -> np.ndarray:
    """Start indices of the history slices: width-long, every STEP_SECONDS, ending before the last ``width``."""
    last_start = n - 2 * width
    if last_start < 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(last_start, -1, -STEP_SECONDS)[::-1]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The score, its band and each component with the inputs that drove it."""

    symbol: str
    score: float | None
    band: str
    components: dict[str, dict[str, Any]]
    quality: WindowQuality | None = None

    def to_dict(self) -> dict[str, Any]:
        known = [k for k, c in self.components.items() if c["value"] is not None]
        return {"symbol": self.symbol, "health_score": None if self.score is None else round(self.score, 2),
                "band": self.band, "formula": FORMULA, "weights": WEIGHTS, "components": self.components,
                "weights_renormalised": len(known) < len(WEIGHTS),
                "data_quality": None if self.quality is None else self.quality.to_dict()}


def microstructure_health(symbol: str, counters: np.ndarray, *, book: BookSeries | None = None,
                          depth_now: int | None = None, min_history_seconds: int = MIN_HISTORY_SECONDS,
                          quality: WindowQuality | None = None) -> HealthReport:
    """The health score from per-second counters and (optionally) 1-s book snapshots.

    Parameters
    ----------
    symbol : str
    counters : ndarray of int64, shape (N_FIELDS, n)
        Per-second counters ending with the last second (covered or not).
    book : BookSeries, optional
        1-s spreads and depths (the store); without it spread and depth are not judged
        unless ``depth_now`` and a history exist.
    depth_now : int, optional
        Top-20 depth of the live book now (default: the last snapshot's).
    min_history_seconds : int
        History needed before the last 60 s (default 600).
    quality : WindowQuality, optional

    Returns
    -------
    HealthReport
    """
    if counters.ndim != 2 or counters.shape[0] != f.N_FIELDS:
        raise InvalidInputError(f"counters must be ({f.N_FIELDS}, n), got {counters.shape}")
    w = WINDOW_SECONDS
    components: dict[str, dict[str, Any]] = {}
    # Trim to the covered span (seconds before the first message are not history).
    covered = np.flatnonzero(counters[f.MESSAGES] > 0)
    c = counters[:, int(covered[0]):] if covered.shape[0] else counters[:, :0]
    n = c.shape[1]
    history_seconds = max(0, n - w)
    starts = _slices(n, w)
    enough = history_seconds >= min_history_seconds and starts.shape[0] > 0
    why = f"not yet known: {history_seconds} s of counter history before the last {w} s, {min_history_seconds} s needed"
    bid_events = (c[f.ADDITIONS] + c[f.CANCELLATIONS]).astype(np.float64)
    ask_events = (c[f.SIDE_FIELDS + f.ADDITIONS] + c[f.SIDE_FIELDS + f.CANCELLATIONS]).astype(np.float64)
    updates = (c[f.UPDATES] + c[f.SIDE_FIELDS + f.UPDATES]).astype(np.float64)
    if enough:
        bid_sum, ask_sum = _rolling_sum(bid_events, w), _rolling_sum(ask_events, w)
        total = bid_sum + ask_sum
        with np.errstate(divide="ignore", invalid="ignore"):
            imbalance = np.where(total > 0, np.abs(bid_sum - ask_sum) / total, 1.0)
        now = float(imbalance[-1])
        components["flow_balance"] = {
            "value": _share_worse(imbalance[starts], now, True), "imbalance_now": round(now, 4),
            "bid_events": int(bid_sum[-1]), "ask_events": int(ask_sum[-1]),
            "history_median_imbalance": round(float(np.median(imbalance[starts])), 4),
            "history_slices": int(starts.shape[0]), "history_seconds": history_seconds}
        rate = _rolling_sum(updates, w) / w
        median = float(np.median(rate[starts]))
        with np.errstate(divide="ignore"):
            dev = np.abs(np.log(np.maximum(rate, 0.5) / max(median, 0.5)))
        components["update_rate"] = {
            "value": _share_worse(dev[starts], float(dev[-1]), True), "updates_per_s_now": round(float(rate[-1]), 2),
            "history_median_updates_per_s": round(median, 2), "history_slices": int(starts.shape[0]),
            "history_seconds": history_seconds}
    else:
        components["flow_balance"] = {"value": None, "status": why}
        components["update_rate"] = {"value": None, "status": why}
    # Spread and depth from the 1-s snapshots (rows in order; gaps in time are skipped).
    if book is None or book.time_s.shape[0] == 0:
        reason = "not yet known: needs the 1-s book snapshots of the store"
        components["spread_stability"] = {"value": None, "status": reason}
        components["liquidity_depth"] = {"value": None, "status": reason}
    else:
        ok = book.spread >= 0
        spreads = book.spread[ok].astype(np.float64)
        depths = book.depth[ok].astype(np.float64)
        m = spreads.shape[0]
        rows_why = f"not yet known: {max(0, m - w)} s of snapshot history before the last {w} s, {min_history_seconds} s needed"
        sstarts = _slices(m, w)
        if m - w >= min_history_seconds and sstarts.shape[0]:
            mean = _rolling_sum(spreads, w) / w
            var = np.maximum(_rolling_sum(spreads * spreads, w) / w - mean * mean, 0.0)
            sigma = np.sqrt(var)
            components["spread_stability"] = {
                "value": _share_worse(sigma[sstarts], float(sigma[-1]), True), "spread_sigma_now": float(sigma[-1]),
                "spread_mean_now": float(mean[-1]), "history_median_sigma": float(np.median(sigma[sstarts])),
                "history_slices": int(sstarts.shape[0]), "history_seconds": m - w,
                "units": "scaled price integers (10**price_scale)"}
            now_depth = float(depths[-1] if depth_now is None else depth_now)
            history = depths[: m - w]
            components["liquidity_depth"] = {
                "value": _share_worse(history, now_depth, False), "depth_now": now_depth,
                "history_median_depth": float(np.median(history)), "history_seconds": m - w,
                "source_now": "live book" if depth_now is not None else "last snapshot",
                "units": "scaled qty integers (10**qty_scale), top 20 levels a side"}
        else:
            components["spread_stability"] = {"value": None, "status": rows_why}
            components["liquidity_depth"] = {"value": None, "status": rows_why}
    components = {name: components[name] for name in WEIGHTS}
    for name, component in components.items():
        component["weight"] = WEIGHTS[name]
    known = {k: v["value"] for k, v in components.items() if v["value"] is not None}
    if not known:
        return HealthReport(symbol, None, "Unknown", components, quality)
    weight = sum(WEIGHTS[k] for k in known)
    score = sum(WEIGHTS[k] * v for k, v in known.items()) / weight
    score = min(100.0, max(0.0, score))
    return HealthReport(symbol, score, band_of(score), components, quality)


def health_answer(symbol: str, *, session: Any = None, store: Any = None, as_of: Any = None,
                  now_ms: int | None = None, min_history_seconds: int = MIN_HISTORY_SECONDS) -> HealthReport:
    """``get_microstructure_health``: live (counter ring, live book, store snapshots) or for
    a past moment (``as_of``: the store's 1-s rows alone).

    Raises
    ------
    InvalidInputError
        ``as_of`` without a store, or a live call without a session.
    """
    from obcore.analytics.anomalies import _live_quality
    from obcore.analytics.flow import _counter_matrix, parse_as_of

    if as_of is None:
        if session is None:
            raise InvalidInputError(f"{symbol} is not tracked live: no session to read")
        ring = session.counters
        end = ring.last_second
        counters = (np.array(ring.window(end, ring.capacity)) if end >= 0
                    else np.zeros((f.N_FIELDS, 1), dtype=np.int64))
        book = None
        if store is not None and end >= 0:
            book = book_series_from_arrays(store.range(symbol, max(end - SPREAD_HISTORY_SECONDS, 0), end + 1))
        depth_now = None
        if session.is_synced:
            _, bid_q, _, ask_q = session.book.top(20)
            depth_now = int(np.sum(bid_q)) + int(np.sum(ask_q))
        quality = _live_quality(session, end, min(WINDOW_SECONDS, counters.shape[1]), counters, now_ms)
        return microstructure_health(symbol, counters, book=book, depth_now=depth_now,
                                     min_history_seconds=min_history_seconds, quality=quality)
    if store is None:
        raise InvalidInputError("as_of needs the snapshot store (start the server with a data directory)")
    end = parse_as_of(as_of) // 1000
    arrays = store.range(symbol, max(end - SPREAD_HISTORY_SECONDS, 0), end + 1)
    width = 3600
    counters = _counter_matrix(arrays, end - width + 1, width)
    stored = int(((arrays.time_s > end - WINDOW_SECONDS) & (arrays.time_s <= end)).sum()) if len(arrays) else 0
    warnings = () if stored == WINDOW_SECONDS else (f"{WINDOW_SECONDS - stored} of {WINDOW_SECONDS} seconds are not stored",)
    quality = WindowQuality(source="stored", start_s=end - WINDOW_SECONDS + 1, end_s=end,
                            seconds_requested=WINDOW_SECONDS, seconds_covered=stored, stored_seconds=stored,
                            warnings=warnings)
    return microstructure_health(symbol, counters, book=book_series_from_arrays(arrays),
                                 min_history_seconds=min_history_seconds, quality=quality)
