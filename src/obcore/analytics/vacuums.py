"""Liquidity maps (``get_liquidity_vacuums``, SPEC.md Liquidity vacuums and the order-flow
absorption events): where price would move fast, where size sits, who absorbs, and where
a stop survives. The analytics room; no I/O.

- **Vacuums** come from two measures binned the same way, the volume profile's exact bins
  (``obcore.analytics.profile``: bin = max(10 ticks, range / 100) rounded up to a tick,
  a bin is a vacuum when its value < 20 % of the median of the non-empty bins, adjacent
  bins merged, ``deficit = 100 × (1 − mean / median)``):
  traded volume by price over the lookback (the live tape), and resting depth by price
  (the live book's top ``DEPTH_LEVELS`` levels a side, each side binned on its own so the
  spread is not a vacuum; the two edge bins of a side, only partly inside the levels
  read, are left out). Overlapping or touching ranges of the two are merged.
- **Severity** by the merged range's deficit. Within one measure a vacuum's deficit is
  always > 80 % by definition (< 20 % of the median), so SPEC's Medium/High bands could
  never occur; the merged range's deficit is therefore the *mean* of the two measures'
  deficits over the range (a measure that is not thin there counts as 0 %): thin in
  both → > 80 % Critical; thin in one only → 40–50 % Medium or High. > 80 Critical,
  50–80 High, 20–50 Medium. Impact: FastMovement (Critical/High), ModerateMovement.
- **Walls**: ``obcore.liquidity.find_walls`` — a level > ``WALL_FACTOR`` (k = 5) × the
  median size of its side's first ``WALL_WINDOW`` (N = 100) levels.
- **Absorption**: from the book kernel's refill ring over the lookback: a level whose
  traded qty exceeds the largest size it displayed while it kept refilling (≥ 2 refills),
  the traded qty > ``ABSORPTION_MULTIPLE`` (5) × the median size of its side's book levels,
  and no trade printed through it (below a bid, above an ask) from its first refill to
  the end of the lookback. Bid → Accumulation, ask → Distribution. Suspected entity:
  Whale when the absorbed qty > 20 × that median, MarketMaker when it refilled ≥ 5
  times with displayed sizes within ±20 % of their mean (a steady quote), else Unknown.
- **Stop advice**: a long's stop goes one tick below the nearest bid wall, a short's one
  tick above the nearest ask wall (without a wall: one bin beyond the touch); a stop
  that falls inside a vacuum moves past the vacuum's far edge (one tick beyond), again
  until it is in none. Prices are rounded to the tick, away from the market.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from obcore._kernels import _layout as f
from obcore._kernels import _profile as _kernels
from obcore.analytics.profile import default_bin_size
from obcore.errors import InvalidInputError
from obcore.liquidity import WALL_FACTOR, WALL_WINDOW, find_walls
from obcore.numbers import format_decimal

__all__ = ["LiquidityMap", "MAX_LOOKBACK_MINUTES", "MIN_LOOKBACK_MINUTES", "check_lookback", "liquidity_map",
           "vacuums_answer"]

MIN_LOOKBACK_MINUTES = 10
MAX_LOOKBACK_MINUTES = 1440
DEPTH_LEVELS = WALL_WINDOW
ABSORPTION_MULTIPLE = 5
WHALE_MULTIPLE = 20
SEVERITY = ((80.0, "Critical"), (50.0, "High"), (20.0, "Medium"))


def check_lookback(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, (int, np.integer)) or not (
            MIN_LOOKBACK_MINUTES <= minutes <= MAX_LOOKBACK_MINUTES):
        raise InvalidInputError(
            f"lookback_minutes must be an integer {MIN_LOOKBACK_MINUTES}..{MAX_LOOKBACK_MINUTES}, got {minutes!r}")
    return int(minutes)


def _runs(values: np.ndarray) -> list[tuple[int, int, float]]:
    """The profile's vacuum rule on one binned measure: (first bin, last bin, deficit %)."""
    filled = np.sort(values[values > 0])
    if filled.shape[0] == 0:
        return []
    middle = filled.shape[0] // 2
    median_twice = 2 * int(filled[middle]) if filled.shape[0] % 2 else int(filled[middle - 1]) + int(filled[middle])
    starts = np.zeros((values.shape[0] + 1) // 2 + 1, dtype=np.int64)
    ends = np.zeros_like(starts)
    found = _kernels.find_vacuums(np.ascontiguousarray(values, dtype=np.int64), median_twice, starts, ends)
    out = []
    for k in range(min(found, starts.shape[0])):
        a, b = int(starts[k]), int(ends[k])
        bins = b - a + 1
        deficit = 100 * (1 - Fraction(2 * int(values[a : b + 1].sum()), bins * median_twice))
        out.append((a, b, float(deficit)))
    return out


def _binned(prices: np.ndarray, qtys: np.ndarray, size: int) -> tuple[int, np.ndarray]:
    first = int(prices.min()) // size
    last = int(prices.max()) // size
    out = np.zeros(last - first + 1, dtype=np.int64)
    np.add.at(out, prices // size - first, qtys)
    return first, out


def _deficit_over(low: int, high: int, first_bin: int, values: np.ndarray, size: int) -> float:
    """Mean deficit (vs the measure's median, clipped at 0) of the bins in [low, high)."""
    filled = values[values > 0]
    if filled.shape[0] == 0:
        return 0.0
    median = float(np.median(filled))
    a, b = low // size - first_bin, (high - 1) // size - first_bin
    a, b = max(a, 0), min(b, values.shape[0] - 1)
    if a > b:
        return 0.0
    return max(0.0, 100.0 * (1.0 - float(values[a : b + 1].mean()) / median))


@dataclass(frozen=True, slots=True)
class LiquidityMap:
    """The answer: vacuums, walls, absorption events and stop advice (JSON-ready dict)."""

    symbol: str
    content: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, **self.content}


def liquidity_map(symbol: str, *, tick: int, price_scale: int, qty_scale: int,
                  trade_prices: np.ndarray | None = None, trade_qtys: np.ndarray | None = None,
                  trade_times: np.ndarray | None = None,
                  bids: tuple[np.ndarray, np.ndarray] | None = None, asks: tuple[np.ndarray, np.ndarray] | None = None,
                  refills: np.ndarray | None = None, start_ms: int = 0, end_ms: int = 2**62,
                  depth_source: str = "live book") -> LiquidityMap:
    """The liquidity map from trades, book levels (best first) and refills (pure).

    Parameters
    ----------
    symbol : str
    tick : int
        Tick size as a scaled integer at ``price_scale``.
    price_scale, qty_scale : int
    trade_prices, trade_qtys, trade_times : ndarray of int64, optional
        The lookback's trades, oldest first.
    bids, asks : (prices, qtys), optional
        Book levels best first.
    refills : ndarray (N_REFILL_FIELDS, m), optional
        The refill ring's rows, oldest first.
    start_ms, end_ms : int
        The lookback, half-open.
    depth_source : str
        Where the book levels come from (named in the answer).

    Returns
    -------
    LiquidityMap
    """
    if tick <= 0:
        raise InvalidInputError(f"tick must be > 0, got {tick}")

    def px(value: int) -> str:
        return format_decimal(int(value), price_scale)

    def qx(value: float) -> str:
        return format_decimal(int(value), qty_scale)

    bid_p, bid_q = (np.zeros(0, np.int64), np.zeros(0, np.int64)) if bids is None else (np.asarray(bids[0]), np.asarray(bids[1]))
    ask_p, ask_q = (np.zeros(0, np.int64), np.zeros(0, np.int64)) if asks is None else (np.asarray(asks[0]), np.asarray(asks[1]))
    bid_p, bid_q, ask_p, ask_q = bid_p[:DEPTH_LEVELS], bid_q[:DEPTH_LEVELS], ask_p[:DEPTH_LEVELS], ask_q[:DEPTH_LEVELS]
    have_trades = trade_prices is not None and len(trade_prices) > 0
    lows = [int(a.min()) for a in (bid_p, ask_p) if a.shape[0]]
    highs = [int(a.max()) for a in (bid_p, ask_p) if a.shape[0]]
    if have_trades:
        lows.append(int(trade_prices.min()))
        highs.append(int(trade_prices.max()))
    notes: list[str] = []
    if not lows:
        raise InvalidInputError(f"{symbol}: no trades in the lookback and no book levels: nothing to map")
    size = default_bin_size(max(highs) - min(lows), tick)
    ranges: list[dict[str, Any]] = []  # raw per-measure vacuums: low, high (scaled), source
    measures: list[tuple[str, int, np.ndarray]] = []
    if have_trades:
        first, volumes = _binned(np.asarray(trade_prices), np.asarray(trade_qtys), size)
        measures.append(("traded_volume", first, volumes))
        for a, b, deficit in _runs(volumes):
            ranges.append({"low": (first + a) * size, "high": (first + b + 1) * size, "source": "traded_volume"})
    else:
        notes.append("no trades in the lookback: traded-volume vacuums not measured")
    for side, p, q in (("bid", bid_p, bid_q), ("ask", ask_p, ask_q)):
        if p.shape[0] < 3:
            notes.append(f"fewer than 3 {side} levels: {side} depth vacuums not measured")
            continue
        first, depth = _binned(p, q, size)
        if depth.shape[0] < 3:
            notes.append(f"the {side} levels span fewer than 3 bins: {side} depth vacuums not measured")
            continue
        # The two edge bins are only partly inside the levels read (the touch, the
        # DEPTH_LEVELS-th level): a thin edge is the window's cut, not a vacuum.
        first, depth = first + 1, depth[1:-1]
        measures.append((f"{side}_depth", first, depth))
        for a, b, deficit in _runs(depth):
            ranges.append({"low": (first + a) * size, "high": (first + b + 1) * size, "source": f"{side}_depth"})
    ranges.sort(key=lambda r: r["low"])
    merged: list[dict[str, Any]] = []
    for r in ranges:
        if merged and r["low"] <= merged[-1]["high"]:
            merged[-1]["high"] = max(merged[-1]["high"], r["high"])
            merged[-1]["sources"].add(r["source"])
        else:
            merged.append({"low": r["low"], "high": r["high"], "sources": {r["source"]}})
    vacuums = []
    for m in merged:
        per = {}
        for name, first, values in measures:
            lo, hi = first * size, (first + values.shape[0]) * size
            if m["high"] <= lo or m["low"] >= hi:
                continue  # the measure does not span this range (a book side far from it)
            per[name] = round(_deficit_over(m["low"], m["high"], first, values, size), 2)
        judged = [v for k, v in per.items() if k == "traded_volume" or k.endswith("_depth")]
        deficit = float(np.mean(judged)) if judged else 0.0
        severity = next((name for floor, name in SEVERITY if deficit > floor), None)
        if severity is None:
            continue
        vacuums.append({"price_low": px(m["low"]), "price_high": px(m["high"]), "low": m["low"], "high": m["high"],
                        "sources": sorted(m["sources"]), "volume_deficit_pct": round(deficit, 2),
                        "deficit_by_measure": per, "severity": severity,
                        "expected_impact": "FastMovement" if severity in ("Critical", "High") else "ModerateMovement"})
    walls = [w for side, p, q in (("bid", bid_p, bid_q), ("ask", ask_p, ask_q)) for w in find_walls(p, q, side)]
    # ------------------------------------------------------------ absorption
    absorption = []
    if refills is not None and refills.shape[1]:
        t = refills[f.REFILL_TIME]
        rows = refills[:, (t >= start_ms) & (t < end_ms)]
        if rows.shape[1]:
            levels, inverse = np.unique(rows[[f.REFILL_SIDE, f.REFILL_PRICE]], axis=1, return_inverse=True)
            inverse = inverse.reshape(-1)
            for j in range(levels.shape[1]):
                side_code, price = int(levels[0, j]), int(levels[1, j])
                mine = rows[:, inverse == j]
                count = mine.shape[1]
                absorbed = int(mine[f.REFILL_TRADED].sum())
                shown = mine[f.REFILL_DISPLAYED]
                book_q = bid_q if side_code == f.BID else ask_q
                median = float(np.median(book_q)) if book_q.shape[0] else 0.0
                if count < 2 or absorbed <= int(shown.max()) or median <= 0 or absorbed <= ABSORPTION_MULTIPLE * median:
                    continue
                since = int(mine[f.REFILL_TIME, 0])
                if have_trades:
                    later = np.asarray(trade_times) >= since
                    through = (np.asarray(trade_prices)[later] < price) if side_code == f.BID else (
                        np.asarray(trade_prices)[later] > price)
                    if through.any():
                        continue
                mean_shown = float(shown.mean())
                if absorbed > WHALE_MULTIPLE * median:
                    entity = "Whale"
                elif count >= 5 and np.all(np.abs(shown - mean_shown) <= 0.2 * mean_shown):
                    entity = "MarketMaker"
                else:
                    entity = "Unknown"
                absorption.append({
                    "side": "bid" if side_code == f.BID else "ask", "price": px(price),
                    "direction": "Accumulation" if side_code == f.BID else "Distribution",
                    "absorbed_volume": qx(absorbed), "refill_count": count, "max_displayed": qx(int(shown.max())),
                    "times_median_level": round(absorbed / median, 2), "suspected_entity": entity,
                    "first_ms": since, "last_ms": int(mine[f.REFILL_TIME, -1])})
    # ----------------------------------------------------------- stop advice
    def inside(price: int) -> dict[str, Any] | None:
        for v in vacuums:
            if v["low"] <= price < v["high"]:
                return v
        return None

    advice: dict[str, Any] = {}
    for kind, side, touch in (("long_stop", "bid", bid_p), ("short_stop", "ask", ask_p)):
        if touch.shape[0] == 0:
            advice[kind] = None
            continue
        side_walls = [w for w in walls if w.side == side]
        if side_walls:
            nearest = max(side_walls, key=lambda w: w.price) if side == "bid" else min(side_walls, key=lambda w: w.price)
            stop = nearest.price - tick if side == "bid" else nearest.price + tick
            basis = f"one tick beyond the nearest {side} wall at {px(nearest.price)}"
        else:
            stop = int(touch[0]) - size if side == "bid" else int(touch[0]) + size
            basis = f"no {side} wall: one bin ({px(size)}) beyond the touch"
        avoided = []
        for _ in range(len(vacuums) + 1):
            v = inside(stop)
            if v is None:
                break
            avoided.append(f"{v['price_low']}-{v['price_high']}")
            stop = v["low"] - tick if side == "bid" else v["high"]
        stop = (stop // tick) * tick if side == "bid" else -((-stop) // tick) * tick  # away from the market
        while inside(stop) is not None:  # rounding cannot land in a vacuum either
            stop = stop - tick if side == "bid" else stop + tick
        advice[kind] = {"price": px(stop), "basis": basis, "moved_out_of": avoided}
    avoid = ", ".join(f"{v['price_low']}-{v['price_high']}" for v in vacuums[:3])
    uses = " or ".join(a["price"] for a in advice.values() if a)
    advice["text"] = (f"avoid {avoid}, use {uses}" if avoid else f"no vacuum near the market; use {uses}") if uses else \
        "no book: no stop advice"
    return LiquidityMap(symbol, {
        "bin_size": px(size), "tick_size": px(tick),
        "vacuums": [{k: v for k, v in vac.items() if k not in ("low", "high")} for vac in vacuums],
        "vacuum_rule": "a bin < 20% of the median non-empty bin (profile bins), per measure; merged ranges; severity by "
                       "the mean deficit of traded volume and resting depth over the range",
        "order_walls": [{"side": w.side, "price": px(w.price), "qty": qx(w.qty), "times_median": round(w.times_median, 2)}
                        for w in walls],
        "wall_rule": {"k": WALL_FACTOR, "N": WALL_WINDOW, "text": f"size > {WALL_FACTOR:g} x the median of the top {WALL_WINDOW} levels"},
        "absorption_events": absorption,
        "stop_advice": advice, "depth_source": depth_source, "notes": notes,
    })


def vacuums_answer(symbol: str, *, session: Any = None, store: Any = None, lookback_minutes: int = 30,
                   tick_size: str | None = None, as_of: Any = None, now_ms: int | None = None) -> LiquidityMap:
    """``get_liquidity_vacuums``: live (tape, book, refill ring), or at a past second
    (``as_of``: the stored 1-s snapshot's top 20 levels; trades and refills are not stored).

    Raises
    ------
    InvalidInputError
        Bad arguments, ``as_of`` without a store, or a live call without a session.
    """
    import time

    from obcore.analytics.flow import parse_as_of
    from obcore.numbers import parse_decimal

    minutes = check_lookback(lookback_minutes)
    if as_of is None:
        if session is None:
            raise InvalidInputError(f"{symbol} is not tracked live: no session to read")
        scale = session.price_scale
        tick = parse_decimal(tick_size, scale) if tick_size is not None else 1
        end = (int(time.time() * 1000) if now_ms is None else int(now_ms)) + 1
        start = end - minutes * 60_000
        trades = session.trades.since(start)
        bp, bq, ap, aq = session.book.top(DEPTH_LEVELS) if session.is_synced else (None,) * 4
        out = liquidity_map(symbol, tick=max(tick, 1), price_scale=scale, qty_scale=session.qty_scale,
                            trade_prices=trades["price"], trade_qtys=trades["qty"], trade_times=trades["time_ms"],
                            bids=None if bp is None else (bp, bq), asks=None if ap is None else (ap, aq),
                            refills=session.refills.latest(), start_ms=start, end_ms=end)
        out.content["lookback_minutes"] = minutes
        out.content["resolution"] = "every trade and depth event (live)"
        if tick_size is None:
            out.content["notes"].append(f"tick assumed to be the book's price unit {format_decimal(1, scale)}")
        return out
    if store is None:
        raise InvalidInputError("as_of needs the snapshot store (start the server with a data directory)")
    second = parse_as_of(as_of) // 1000
    arrays = store.range(symbol, second - 60, second + 1)
    if len(arrays) == 0:
        raise InvalidInputError(f"no stored {symbol} snapshot in the minute before {second}")
    row = len(arrays) - 1
    scale = arrays.price_scale
    tick = parse_decimal(tick_size, scale) if tick_size is not None else 1
    nb, na = int(arrays.bid_levels[row]), int(arrays.ask_levels[row])
    out = liquidity_map(symbol, tick=max(tick, 1), price_scale=scale, qty_scale=arrays.qty_scale,
                        bids=(arrays.bid_prices[row, :nb], arrays.bid_qtys[row, :nb]),
                        asks=(arrays.ask_prices[row, :na], arrays.ask_qtys[row, :na]),
                        depth_source=f"stored snapshot of second {int(arrays.time_s[row])} (top 20)")
    out.content["lookback_minutes"] = minutes
    out.content["resolution"] = "1-s snapshots, top 20 levels; trades and refills are not stored"
    return out
