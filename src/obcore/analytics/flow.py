"""Order flow (SPEC.md, Analytics): flow rates from the diff stream, direction, cumulative
delta from aggressor flags, taker volumes, liquidity-withdrawal events.

Everything is computed from one matrix of per-second counters (``obcore.counters``
layout, ``(N_FIELDS, seconds)``), whichever place it comes from — a live session's ring
(:func:`order_flow`), the store's stored seconds (:func:`stored_order_flow`, the
``as_of`` answer), or trades binned by second (:func:`trade_flow`, files and back-fill,
no depth). One rule over one matrix is why live and stored answers for the same seconds
are equal.

Definitions (where SPEC.md leaves a choice, the choice is stated here once):

- **flow events** of a side = additions + cancellations (``BID_ADDITIONS`` +
  ``BID_CANCELLATIONS``; a new level or size increase, and a decrease not explained by
  trades at that price). ``bid_flow_rate`` = bid events / covered seconds; ``net_flow`` =
  bid rate − ask rate.
- **direction** of a ratio r = bid / ask, compared exactly (fractions, no float):
  r > 2 STRONG_BUY; 1.2 < r <= 2 MODERATE_BUY; 0.8 <= r <= 1.2 NEUTRAL;
  0.5 <= r < 0.8 MODERATE_SELL; r < 0.5 STRONG_SELL — a boundary value belongs to the
  band nearer NEUTRAL. ask = 0: STRONG_BUY when bid > 0 (ratio None: infinite), NEUTRAL
  when both are 0 (ratio None: undefined).
- **five-level direction**: the same rule over the summed quantity of the top 5 bid
  levels vs the top 5 ask levels of the book at the window's end.
- **cumulative delta** = taker buy qty − taker sell qty (``m`` true ⇒ the taker sold);
  ``cvd`` is its running sum at the end of each second of the window.
- **covered seconds**: from the first second of the window that holds data (any counter
  non-zero) to its end — or the whole window when data exists in the minute before it.
- **liquidity withdrawal**: at each second of the window, a side's cancellations over the
  trailing 60 s (that second and the 59 before, which may precede the window); above 50
  is a withdrawal. Adjacent such seconds form one event, reported with its peak and a
  severity by the peak: ``Low`` up to 2× the threshold (51–100/min), ``Medium`` up to 5×
  (101–250), ``High`` up to 20× (251–1000), ``Critical`` beyond.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any

import numpy as np

from obcore import counters as f
from obcore._kernels import _flow as kernels
from obcore._kernels import _flow_py as slots
from obcore.analytics.coverage import STALE_AFTER_MS, WindowQuality
from obcore.analytics.trades import TradeArrays
from obcore.errors import InvalidInputError
from obcore.numbers import format_decimal

__all__ = [
    "FlowDirection",
    "LOOKBACK_SECONDS",
    "LiquidityWithdrawal",
    "MAX_WINDOW_SECONDS",
    "MIN_WINDOW_SECONDS",
    "OrderFlow",
    "WITHDRAWAL_PER_MINUTE",
    "WITHDRAWAL_SEVERITY_BANDS",
    "flow_direction",
    "flow_from_counters",
    "order_flow",
    "parse_as_of",
    "session_flow",
    "stored_order_flow",
    "trade_flow",
]

MIN_WINDOW_SECONDS = 10
MAX_WINDOW_SECONDS = 300
#: Seconds before the window read for the trailing-minute cancellation rate.
LOOKBACK_SECONDS = 59
#: Cancellations per minute on one side above which liquidity is being withdrawn.
WITHDRAWAL_PER_MINUTE = 50
#: Severity by peak cancellations per minute: (name, highest peak of the band or None).
WITHDRAWAL_SEVERITY_BANDS: tuple[tuple[str, int | None], ...] = (
    ("Low", 2 * WITHDRAWAL_PER_MINUTE),
    ("Medium", 5 * WITHDRAWAL_PER_MINUTE),
    ("High", 20 * WITHDRAWAL_PER_MINUTE),
    ("Critical", None),
)
TOP_LEVELS = 5


class FlowDirection(str, Enum):
    STRONG_BUY = "STRONG_BUY"
    MODERATE_BUY = "MODERATE_BUY"
    NEUTRAL = "NEUTRAL"
    MODERATE_SELL = "MODERATE_SELL"
    STRONG_SELL = "STRONG_SELL"


_TWO, _SIX_FIFTHS, _FOUR_FIFTHS, _HALF = Fraction(2), Fraction(6, 5), Fraction(4, 5), Fraction(1, 2)


def flow_direction(bid: int, ask: int) -> tuple[FlowDirection, Fraction | None]:
    """Direction and exact ratio of ``bid / ask`` (see the module docstring for the bands).

    Parameters
    ----------
    bid, ask : int
        Non-negative counts or scaled quantities.

    Returns
    -------
    (FlowDirection, Fraction or None)
        The ratio is None when ``ask`` is 0.
    """
    if bid < 0 or ask < 0:
        raise InvalidInputError(f"flow direction needs bid, ask >= 0, got {bid}, {ask}")
    if ask == 0:
        return (FlowDirection.STRONG_BUY if bid > 0 else FlowDirection.NEUTRAL), None
    ratio = Fraction(bid, ask)
    if ratio > _TWO:
        return FlowDirection.STRONG_BUY, ratio
    if ratio > _SIX_FIFTHS:
        return FlowDirection.MODERATE_BUY, ratio
    if ratio >= _FOUR_FIFTHS:
        return FlowDirection.NEUTRAL, ratio
    if ratio >= _HALF:
        return FlowDirection.MODERATE_SELL, ratio
    return FlowDirection.STRONG_SELL, ratio


def _severity(peak: int) -> str:
    for name, ceiling in WITHDRAWAL_SEVERITY_BANDS:
        if ceiling is None or peak <= ceiling:
            return name
    return WITHDRAWAL_SEVERITY_BANDS[-1][0]  # pragma: no cover


@dataclass(frozen=True, slots=True)
class LiquidityWithdrawal:
    """Seconds ``start_s..end_s`` (inclusive) where a side's trailing-minute cancellations > 50."""

    side: str
    start_s: int
    end_s: int
    peak_per_minute: int
    peak_s: int
    cancellations: int
    cancelled_qty: int
    severity: str


@dataclass(frozen=True, slots=True)
class OrderFlow:
    """Order flow over one window; quantities are scaled ints at ``qty_scale``.

    ``cvd`` (int64, one per window second, read-only) is the cumulative delta at the end
    of each second. ``quality`` is the data-quality block; every other field is the
    analysis and is equal for the same seconds whichever source it was computed from.
    """

    start_s: int
    end_s: int
    window_seconds: int
    seconds_covered: int
    qty_scale: int
    bid_additions: int
    bid_cancellations: int
    ask_additions: int
    ask_cancellations: int
    depth_messages: int
    flow_direction: FlowDirection
    flow_ratio: Fraction | None
    top_bid_volume: int | None
    top_ask_volume: int | None
    five_level_direction: FlowDirection | None
    five_level_ratio: Fraction | None
    taker_buy_volume: int
    taker_sell_volume: int
    taker_buy_count: int
    taker_sell_count: int
    cvd: np.ndarray
    withdrawals: tuple[LiquidityWithdrawal, ...]
    quality: WindowQuality

    @property
    def bid_events(self) -> int:
        return self.bid_additions + self.bid_cancellations

    @property
    def ask_events(self) -> int:
        return self.ask_additions + self.ask_cancellations

    @property
    def bid_flow_rate(self) -> float:
        """Bid events per covered second."""
        return self.bid_events / self.seconds_covered if self.seconds_covered else 0.0

    @property
    def ask_flow_rate(self) -> float:
        """Ask events per covered second."""
        return self.ask_events / self.seconds_covered if self.seconds_covered else 0.0

    @property
    def net_flow(self) -> float:
        return self.bid_flow_rate - self.ask_flow_rate

    @property
    def cumulative_delta(self) -> int:
        return self.taker_buy_volume - self.taker_sell_volume

    def analysis(self) -> dict[str, Any]:
        """Every field but ``quality``, for comparing answers from different sources."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "quality"}
        out["cvd"] = self.cvd.tolist()
        return out

    def to_dict(self, cvd_series: bool = True) -> dict[str, Any]:
        """A JSON-ready view: quantities as exact decimal strings, ratios as floats.

        Parameters
        ----------
        cvd_series : bool
            Include the per-second CVD series.
        """
        qs = self.qty_scale

        def ratio(value: Fraction | None) -> float | None:
            return None if value is None else round(float(value), 6)

        out: dict[str, Any] = {
            "window_start_s": self.start_s,
            "window_end_s": self.end_s,
            "window_duration_secs": self.window_seconds,
            "seconds_covered": self.seconds_covered,
            "bid_flow_rate": round(self.bid_flow_rate, 6),
            "ask_flow_rate": round(self.ask_flow_rate, 6),
            "net_flow": round(self.net_flow, 6),
            "bid_additions": self.bid_additions,
            "bid_cancellations": self.bid_cancellations,
            "ask_additions": self.ask_additions,
            "ask_cancellations": self.ask_cancellations,
            "depth_messages": self.depth_messages,
            "flow_ratio": ratio(self.flow_ratio),
            "flow_direction": self.flow_direction.value,
            "five_level": None if self.five_level_direction is None else {
                "bid_volume": format_decimal(self.top_bid_volume or 0, qs),
                "ask_volume": format_decimal(self.top_ask_volume or 0, qs),
                "ratio": ratio(self.five_level_ratio),
                "direction": self.five_level_direction.value,
            },
            "cumulative_delta": format_decimal(self.cumulative_delta, qs),
            "taker_buy_volume": format_decimal(self.taker_buy_volume, qs),
            "taker_sell_volume": format_decimal(self.taker_sell_volume, qs),
            "taker_buy_count": self.taker_buy_count,
            "taker_sell_count": self.taker_sell_count,
            "liquidity_withdrawals": [
                {"side": w.side, "start_s": w.start_s, "end_s": w.end_s, "peak_per_minute": w.peak_per_minute,
                 "peak_s": w.peak_s, "cancellations": w.cancellations,
                 "cancelled_qty": format_decimal(w.cancelled_qty, qs), "severity": w.severity}
                for w in self.withdrawals
            ],
            "data_quality": self.quality.to_dict(),
        }
        if cvd_series:
            out["cvd"] = [format_decimal(int(v), qs) for v in self.cvd]
        return out


def _check_window(seconds: Any, low: int = MIN_WINDOW_SECONDS, high: int = MAX_WINDOW_SECONDS) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, np.integer)) or not low <= seconds <= high:
        raise InvalidInputError(f"window_duration_secs must be an integer {low}..{high}, got {seconds!r}")
    return int(seconds)


def _withdrawals(side: str, trailing: np.ndarray, cancels: np.ndarray, cancelled_qty: np.ndarray,
                 start_s: int) -> list[LiquidityWithdrawal]:
    """Runs of window seconds whose trailing-minute count is above the threshold."""
    events: list[LiquidityWithdrawal] = []
    above = trailing > WITHDRAWAL_PER_MINUTE
    i, n = 0, above.shape[0]
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1]:
            j += 1
        run = trailing[i : j + 1]
        peak_at = int(np.argmax(run))
        peak = int(run[peak_at])
        events.append(LiquidityWithdrawal(side, start_s + i, start_s + j, peak, start_s + i + peak_at,
                                          int(cancels[i : j + 1].sum()), int(cancelled_qty[i : j + 1].sum()),
                                          _severity(peak)))
        i = j + 1
    return events


def _covered(counters: np.ndarray, window_seconds: int) -> int:
    """Covered seconds (module docstring): from the first with data, or all if the minute before has some."""
    has_data = counters.any(axis=0)
    if has_data[:LOOKBACK_SECONDS].any():
        return window_seconds
    nonzero = np.flatnonzero(has_data[LOOKBACK_SECONDS:])
    return window_seconds - int(nonzero[0]) if nonzero.shape[0] else 0


def flow_from_counters(
    counters: np.ndarray,
    end_second: int,
    window_seconds: int,
    qty_scale: int,
    *,
    top_volumes: tuple[int, int] | None,
    quality: dict[str, Any],
) -> OrderFlow:
    """Order flow from a counters matrix (the one rule every source goes through).

    Parameters
    ----------
    counters : ndarray of int64, shape (N_FIELDS, LOOKBACK_SECONDS + window_seconds)
        Per-second counters (``obcore.counters`` field order) of the window and the 59
        seconds before it, oldest first; seconds without data are zeros.
    end_second : int
        Last second of the window (inclusive).
    window_seconds : int
        Window length in seconds (>= 1).
    qty_scale : int
        Scale of the quantity fields.
    top_volumes : (int, int) or None
        Summed top-5 bid and ask quantity at the window's end; None without a book.
    quality : dict
        Keyword arguments of :class:`WindowQuality` other than the window and coverage.

    Returns
    -------
    OrderFlow
    """
    counters = np.asarray(counters, dtype=np.int64)
    width = LOOKBACK_SECONDS + window_seconds
    if counters.ndim != 2 or counters.shape != (f.N_FIELDS, width):
        raise InvalidInputError(f"counters must have shape ({f.N_FIELDS}, {width}), got {counters.shape}")
    inside = counters[:, LOOKBACK_SECONDS:]
    start_s = end_second - window_seconds + 1
    covered = _covered(counters, window_seconds)
    sums = inside.sum(axis=1)
    bid_add, bid_cancel = int(sums[f.BID_ADDITIONS]), int(sums[f.BID_CANCELLATIONS])
    ask_add, ask_cancel = int(sums[f.ASK_ADDITIONS]), int(sums[f.ASK_CANCELLATIONS])
    direction, ratio = flow_direction(bid_add + bid_cancel, ask_add + ask_cancel)
    if top_volumes is None:
        top_bid = top_ask = None
        five_direction, five_ratio = None, None
    else:
        top_bid, top_ask = int(top_volumes[0]), int(top_volumes[1])
        five_direction, five_ratio = flow_direction(top_bid, top_ask)
    delta = inside[f.BUY_QTY] - inside[f.SELL_QTY]
    cvd = np.cumsum(delta)
    cvd.setflags(write=False)
    withdrawals: list[LiquidityWithdrawal] = []
    for side, count_field, qty_field in (("bid", f.BID_CANCELLATIONS, f.BID_CANCELLED_QTY),
                                         ("ask", f.ASK_CANCELLATIONS, f.ASK_CANCELLED_QTY)):
        running = np.concatenate(([0], np.cumsum(counters[count_field])))
        # trailing 60 s ending at window second k (column LOOKBACK_SECONDS + k)
        trailing = running[LOOKBACK_SECONDS + 1 :] - running[: window_seconds]
        withdrawals += _withdrawals(side, trailing, inside[count_field], inside[qty_field], start_s)
    withdrawals.sort(key=lambda w: (w.start_s, w.side))
    return OrderFlow(
        start_s=start_s, end_s=end_second, window_seconds=window_seconds, seconds_covered=covered,
        qty_scale=qty_scale, bid_additions=bid_add, bid_cancellations=bid_cancel, ask_additions=ask_add,
        ask_cancellations=ask_cancel, depth_messages=int(sums[f.MESSAGES]), flow_direction=direction,
        flow_ratio=ratio, top_bid_volume=top_bid, top_ask_volume=top_ask, five_level_direction=five_direction,
        five_level_ratio=five_ratio, taker_buy_volume=int(sums[f.BUY_QTY]), taker_sell_volume=int(sums[f.SELL_QTY]),
        taker_buy_count=int(sums[f.BUY_TRADES]), taker_sell_count=int(sums[f.SELL_TRADES]), cvd=cvd,
        withdrawals=tuple(withdrawals),
        quality=WindowQuality(start_s=start_s, end_s=end_second, seconds_requested=window_seconds,
                              seconds_covered=covered, **quality),
    )


def order_flow(session: Any, window_duration_secs: int = 60, *, end_second: int | None = None,
               now_ms: int | None = None) -> OrderFlow:
    """Order flow of a live ``BookSession`` over its last ``window_duration_secs`` seconds.

    Parameters
    ----------
    session : obcore.session.BookSession
        Read only (counters ring, book, sync state).
    window_duration_secs : int
        10 to 300 (SPEC.md).
    end_second : int, optional
        Last second of the window (exchange time); default the session's newest second
        (which may still be filling).
    now_ms : int, optional
        Current time for the book age; default the wall clock.

    Returns
    -------
    OrderFlow

    Raises
    ------
    InvalidInputError
        A window outside 10..300 s, or longer than the session's counter history.
    """
    return session_flow(session, _check_window(window_duration_secs), end_second=end_second, now_ms=now_ms)


def session_flow(session: Any, seconds: int, *, end_second: int | None = None, now_ms: int | None = None) -> OrderFlow:
    """:func:`order_flow` for any window of 1 to ``session.counters.capacity`` seconds
    (the offline CLI's whole-recording window); ``seconds`` is not range-checked here."""
    ring = session.counters
    end = ring.last_second if end_second is None else int(end_second)
    width = LOOKBACK_SECONDS + seconds
    if seconds > ring.capacity:
        raise InvalidInputError(f"window of {seconds} s is longer than the {ring.capacity} s of counters kept")
    if width <= ring.capacity:
        counters = np.array(ring.window(end, width))
    else:
        counters = np.zeros((f.N_FIELDS, width), dtype=np.int64)
        counters[:, width - seconds :] = ring.window(end, seconds)
    warnings: list[str] = []
    now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000) if now_ms is None else int(now_ms)
    age = session.book_age_ms(now)
    state = session.state.name
    if not session.is_synced:
        warnings.append(f"book is {state}: {session.reason}; flow rates cover only seconds in sync")
    elif age is not None and age > STALE_AFTER_MS:
        warnings.append(f"book is stale: last depth update {age} ms ago")
    top = None
    if session.is_synced:
        bid_p, bid_q, ask_p, ask_q = session.book.top(TOP_LEVELS)
        top = (int(np.sum(bid_q)), int(np.sum(ask_q)))
    return flow_from_counters(counters, end, seconds, session.qty_scale, top_volumes=top, quality={
        "source": "live", "sync_state": state, "live_seconds": _covered(counters, seconds), "book_age_ms": age, "gap_count_total": session.gap_count,
        "resync_count_total": session.resync_count, "warnings": tuple(warnings)})


def parse_as_of(value: Any) -> int:
    """``as_of`` as Unix ms: an int (epoch ms), a digit string, or ISO-8601 (UTC if naive).

    Raises
    ------
    InvalidInputError
        Anything else, or a time before 2017 (Binance did not exist) — usually seconds
        passed where ms were expected.
    """
    if isinstance(value, bool):
        raise InvalidInputError(f"as_of must be epoch ms or ISO-8601, got {value!r}")
    if isinstance(value, (int, np.integer)) or (isinstance(value, str) and value.strip().isdigit()):
        ms = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"as_of must be epoch ms or ISO-8601 (e.g. 2024-08-09T00:05:00Z), got {value!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        ms = int(moment.timestamp() * 1000)
    else:
        raise InvalidInputError(f"as_of must be epoch ms or ISO-8601, got {value!r}")
    if ms < 1_483_228_800_000:  # 2017-01-01
        raise InvalidInputError(f"as_of {value!r} is before 2017; epoch milliseconds expected")
    return ms


def _counter_matrix(arrays: Any, first_second: int, width: int) -> np.ndarray:
    from obcore.counters import FIELD_NAMES

    out = np.zeros((f.N_FIELDS, width), dtype=np.int64)
    if len(arrays) == 0:
        return out
    columns = arrays.time_s - first_second
    keep = (columns >= 0) & (columns < width)
    names = list(arrays.counter_names)
    for field_index, name in enumerate(FIELD_NAMES):
        if name in names:
            out[field_index, columns[keep]] = arrays.counters[keep, names.index(name)]
    return out


def stored_order_flow(store: Any, symbol: str, as_of: Any, window_duration_secs: int = 60) -> OrderFlow:
    """Order flow of a past window from the store's per-second rows (the ``as_of`` answer).

    The window is the ``window_duration_secs`` seconds ending with the second that holds
    ``as_of``. Seconds not stored count as empty (and not as covered).

    Parameters
    ----------
    store : obcore.store.SnapshotStore
    symbol : str
    as_of : int or str
        Epoch ms or ISO-8601 (see :func:`parse_as_of`).
    window_duration_secs : int
        10 to 300.

    Returns
    -------
    OrderFlow
    """
    seconds = _check_window(window_duration_secs)
    end = parse_as_of(as_of) // 1000
    start = end - seconds + 1
    first = start - LOOKBACK_SECONDS
    arrays = store.range(symbol, max(first, 0), end + 1)
    counters = _counter_matrix(arrays, first, LOOKBACK_SECONDS + seconds)
    warnings: list[str] = []
    in_window = (arrays.time_s >= start) if len(arrays) else np.zeros(0, dtype=bool)
    stored_seconds = int(in_window.sum())
    if stored_seconds < seconds:
        warnings.append(f"{seconds - stored_seconds} of {seconds} seconds are not stored")
    top = None
    state = None
    gaps = resyncs = None
    if stored_seconds:
        rows = np.flatnonzero(in_window)
        last = int(rows[-1])
        state_code = int(arrays.state[last])
        from obcore.store.snapshot import STATE_NAMES

        state = STATE_NAMES[state_code]
        if int(arrays.time_s[last]) != end:
            warnings.append(f"the window's last stored second is {int(arrays.time_s[last])}, not {end}")
        nb, na = int(arrays.bid_levels[last]), int(arrays.ask_levels[last])
        top = (int(arrays.bid_qtys[last, : min(nb, TOP_LEVELS)].sum()),
               int(arrays.ask_qtys[last, : min(na, TOP_LEVELS)].sum()))
        base = int(rows[0]) - 1 if int(rows[0]) > 0 else int(rows[0])
        gaps = int(arrays.gap_count[last] - arrays.gap_count[base])
        resyncs = int(arrays.resync_count[last] - arrays.resync_count[base])
        if state != "LIVE":
            warnings.append(f"book was {state} at the window's end")
        if gaps or resyncs:
            warnings.append(f"{gaps} gaps and {resyncs} resyncs inside the window")
    return flow_from_counters(counters, end, seconds, arrays.qty_scale if len(arrays) else 0, top_volumes=top,
                              quality={"source": "stored", "sync_state": state, "gaps": gaps, "resyncs": resyncs,
                                       "stored_seconds": stored_seconds, "warnings": tuple(warnings)})


def trade_flow(trades: TradeArrays, window_duration_secs: int | None = None, *,
               end_second: int | None = None) -> OrderFlow:
    """Order flow from trades alone (files, back-fill): taker volumes, CVD; no depth fields.

    Parameters
    ----------
    trades : TradeArrays
    window_duration_secs : int, optional
        Seconds ending at ``end_second``; default the whole input (first to last trade's
        second), any length >= 1.
    end_second : int, optional
        Default the last trade's second.

    Returns
    -------
    OrderFlow
        Depth counts are 0, directions NEUTRAL / None, and ``quality`` warns that the
        input has no depth stream.
    """
    if not isinstance(trades, TradeArrays):
        raise InvalidInputError(f"trades must be TradeArrays, got {type(trades).__name__}")
    if len(trades) == 0 and (end_second is None or window_duration_secs is None):
        raise InvalidInputError("no trades: give end_second and window_duration_secs, or trades")
    end = int(trades.time_ms[-1]) // 1000 if end_second is None else int(end_second)
    if window_duration_secs is None:
        seconds = end - int(trades.time_ms[0]) // 1000 + 1
        if seconds < 1:
            raise InvalidInputError(f"end_second {end} is before the first trade's second")
    else:
        seconds = _check_window(window_duration_secs, 1, 10**9)
    width = LOOKBACK_SECONDS + seconds
    first = end - width + 1
    binned = np.zeros((slots.N_TRADE_FIELDS, width), dtype=np.int64)
    kernels.bin_trade_seconds(trades.time_ms, trades.qty, trades.side, first, binned)
    counters = np.zeros((f.N_FIELDS, width), dtype=np.int64)
    counters[f.BUY_QTY] = binned[slots.BUY_QTY]
    counters[f.SELL_QTY] = binned[slots.SELL_QTY]
    counters[f.BUY_TRADES] = binned[slots.BUY_COUNT]
    counters[f.SELL_TRADES] = binned[slots.SELL_COUNT]
    counters[f.TRADES] = binned[slots.BUY_COUNT] + binned[slots.SELL_COUNT]
    return flow_from_counters(counters, end, seconds, trades.qty_scale, top_volumes=None, quality={
        "source": "trades", "warnings": ("trades only: no depth stream, so no flow rates, direction or withdrawals",)})
