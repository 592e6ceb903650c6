"""Plain-Python twin of ``_book.pyx``: the readable specification, the fallback
(``OBCORE_NO_EXTENSIONS=1``) and the test oracle of the compiled kernel.

One ``DepthBook`` holds a symbol's two book sides, Binance's update-id continuity, the
per-second counter ring and the trades not yet seen in the depth stream.

Layout: each side is a sorted list of prices with the **best level last** — bids as
prices ascending, asks as *negated* prices ascending — so both sides share one insert
routine and the frequent near-touch changes touch the end of the list. There is no
price window, so no level is ever lost however far it is from the mid.

The kernel validates nothing beyond what it must to stay memory-safe; it reports
outcomes as status codes (``STATUS_*`` of ``_layout``) and leaves errors to the facade.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np
import orjson

from obcore._kernels._layout import (
    ADDED_QTY,
    ADDITIONS,
    ASK,
    BID,
    BUY_QTY,
    BUY_TRADES,
    CANCELLATIONS,
    CANCELLED_QTY,
    MAX_HIT_LEVELS,
    MAX_PENDING_TRADES,
    MESSAGES,
    N_REFILL_FIELDS,
    QTY_FIELDS,
    REDUCED_QTY,
    REDUCTIONS,
    REFILL_DISPLAYED,
    REFILL_PRICE,
    REFILL_QTY,
    REFILL_SIDE,
    REFILL_TIME,
    REFILL_TRADED,
    REFILL_WINDOW_MS,
    SELL_QTY,
    SELL_TRADES,
    SIDE_FIELDS,
    STATUS_APPLIED,
    STATUS_CROSSED,
    STATUS_GAP,
    STATUS_NOT_DEPTH,
    STATUS_PARSE_ERROR,
    STATUS_PRECISION,
    STATUS_STALE,
    STATUS_TRADE,
    TRADES,
    UPDATES,
)
from obcore.errors import InvalidInputError

__all__ = ["DepthBook"]


def _parse_scaled(text: str, scale: int) -> int | None:
    """Exact decimal -> scaled int; None if finer than ``scale`` or malformed."""
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) > scale or not (whole or fraction):
        return None
    digits = (whole or "0") + fraction.ljust(scale, "0")
    if not digits.isdigit() or not digits.isascii():
        return None
    value = int(digits)
    return value if value < 2**63 else None


def _check_side(side: int) -> None:
    if side not in (BID, ASK):
        raise InvalidInputError(f"side must be 0 (bid) or 1 (ask), got {side}")


def _check_rows(rows) -> None:
    for index, (side, price, qty) in enumerate(rows):
        if side not in (BID, ASK) or price <= 0 or qty < 0:
            raise InvalidInputError(
                f"level row {index} (side {side}, price {price}, qty {qty}): side must be 0 (bid) or 1 (ask), "
                "price > 0 and qty >= 0"
            )


def _failure(price_text: str, price_scale: int, qty_text: str, qty_scale: int) -> int:
    """Why a level did not parse: too fine for the scale (PRECISION) or malformed/too big."""
    finer = False
    for text, scale in ((price_text, price_scale), (qty_text, qty_scale)):
        whole, _, fraction = text.partition(".")
        digits = whole + fraction
        if not digits or not digits.isdigit() or not digits.isascii():
            return STATUS_PARSE_ERROR
        if len(fraction.rstrip("0")) > scale:
            finer = True
        elif _parse_scaled(text, scale) is None:
            return STATUS_PARSE_ERROR  # does not fit in int64
    return STATUS_PRECISION if finer else STATUS_PARSE_ERROR


class DepthBook:
    """One symbol's book, continuity state and per-second counters (twin)."""

    def __init__(self, price_scale: int, qty_scale: int, ring: np.ndarray):
        self.price_scale = price_scale
        self.qty_scale = qty_scale
        self.keys: list[list[int]] = [[], []]  # BID: prices, ASK: negated prices; best last
        self.qtys: list[list[int]] = [[], []]
        self.ring = ring  # int64 (N_FIELDS, 2 * capacity), written at slot and slot+capacity
        self.capacity = ring.shape[1] // 2
        self.current_second = -1
        self.last_update_id = 0
        self.last_event_time = 0
        # The ids and time of the last event parsed by apply_json, whatever its status.
        self.event_first_id = 0
        self.event_last_id = 0
        self.event_time = 0
        self.events_applied = 0
        self.events_stale = 0
        self.pending: list[list[int]] = []  # [price, qty_left, time_ms, side_hit]
        self.tape: tuple | None = None  # (price, qty, time_ms, side, trade_id, total) arrays
        # Levels a trade hit and that were not topped up yet: [side, price, traded, time_ms].
        self.hits: list[list[int]] = []
        self.refills: tuple | None = None  # (ring (N_REFILL_FIELDS, 2 * cap), total) arrays

    def attach_refills(self, ring, total) -> None:
        """Write the refills the book sees into ``ring`` (int64, (N_REFILL_FIELDS, 2 *
        capacity)): column ``total[0] % capacity`` and ``+ capacity``, then ``total[0] += 1``."""
        if (
            not isinstance(ring, np.ndarray) or ring.dtype != np.int64 or ring.ndim != 2
            or ring.shape[0] != N_REFILL_FIELDS or ring.shape[1] < 2 or ring.shape[1] % 2
            or len(total) != 1
        ):  # fmt: skip
            raise InvalidInputError(
                f"refill ring must be int64 ({N_REFILL_FIELDS}, 2 * capacity) with a 1-cell total, "
                f"got {getattr(ring, 'dtype', None)} {getattr(ring, 'shape', None)} and {len(total)} totals"
            )
        self.refills = (ring, total)

    def attach_tape(self, price, qty, time_ms, side, trade_id, total) -> None:
        """Write the trades ``apply_json`` parses into these arrays (a ``TradeTape``'s):
        row ``total[0] % len(price)``, then ``total[0] += 1``."""
        self.tape = (price, qty, time_ms, side, trade_id, total)

    # ----------------------------------------------------------------- loading
    def load(self, bid_prices, bid_qtys, ask_prices, ask_qtys, last_update_id: int) -> None:
        """Replace the book with a snapshot given best-first (as Binance sends it)."""
        bids = sorted(zip((int(p) for p in bid_prices), (int(q) for q in bid_qtys)))
        asks = sorted(zip((-int(p) for p in ask_prices), (int(q) for q in ask_qtys)))
        bids = [level for level in bids if level[1] > 0]
        asks = [level for level in asks if level[1] > 0]
        self.keys = [[p for p, _ in bids], [p for p, _ in asks]]
        self.qtys = [[q for _, q in bids], [q for _, q in asks]]
        self.last_update_id = int(last_update_id)
        self.pending.clear()
        self.hits.clear()

    def clear(self) -> None:
        self.keys = [[], []]
        self.qtys = [[], []]
        self.pending.clear()
        self.hits.clear()

    def rescale(self, price_scale: int, qty_scale: int) -> None:
        """Move to finer scales (both must be >= the current ones).

        Every stored quantity moves with the book: the levels, the pending trades and the
        quantity fields of every second in the ring, so a window spanning the rescale
        reads one scale.
        """
        price_factor = 10 ** (price_scale - self.price_scale)
        qty_factor = 10 ** (qty_scale - self.qty_scale)
        if qty_factor != 1:
            for field in QTY_FIELDS:
                self.ring[field] *= qty_factor
        for side in (BID, ASK):
            self.keys[side] = [p * price_factor for p in self.keys[side]]
            self.qtys[side] = [q * qty_factor for q in self.qtys[side]]
        for trade in self.pending:
            trade[0] *= price_factor
            trade[1] *= qty_factor
        for hit in self.hits:
            hit[1] *= price_factor
            hit[2] *= qty_factor
        if self.refills is not None:
            ring = self.refills[0]
            ring[REFILL_PRICE] *= price_factor
            for field in (REFILL_TRADED, REFILL_QTY, REFILL_DISPLAYED):
                ring[field] *= qty_factor
        self.price_scale = price_scale
        self.qty_scale = qty_scale

    # ---------------------------------------------------------------- counters
    def _slot(self, second: int) -> int:
        """Ring column for ``second``; -1 if older than the ring holds."""
        ring, capacity = self.ring, self.capacity
        if second > self.current_second:
            # Zero every second we skip so a quiet second reads as zero, not as old data.
            start = max(self.current_second + 1, second - capacity + 1)
            for s in range(start, second + 1):
                column = s % capacity
                ring[:, column] = 0
                ring[:, column + capacity] = 0
            self.current_second = second
        elif self.current_second - second >= capacity:
            return -1
        return second % capacity

    def _count(self, column: int, field: int, amount: int) -> None:
        if column >= 0:
            self.ring[field, column] += amount
            self.ring[field, column + self.capacity] += amount

    # ------------------------------------------------------------------ trades
    def add_trade(self, price: int, qty: int, time_ms: int, taker_side: int) -> None:
        """Count a trade; remember it so the depth reduction it causes is not a cancel.

        ``taker_side`` is +1 for a taker buy (it consumes asks), -1 for a taker sell.
        """
        column = self._slot(time_ms // 1000)
        self._count(column, TRADES, 1)
        if taker_side > 0:
            self._count(column, BUY_TRADES, 1)
            self._count(column, BUY_QTY, qty)
        else:
            self._count(column, SELL_TRADES, 1)
            self._count(column, SELL_QTY, qty)
        if len(self.pending) >= MAX_PENDING_TRADES:
            self.pending.pop(0)
        self.pending.append([price, qty, time_ms, ASK if taker_side > 0 else BID])

    def _traded_at(self, side: int, price: int, event_time: int) -> int:
        """Take (and return) the qty of the pending trades at this level the event reflects."""
        traded = 0
        for trade in self.pending:
            if trade[3] == side and trade[0] == price and trade[2] <= event_time and trade[1] > 0:
                traded += trade[1]
                trade[1] = 0
        return traded

    def _record_refill(self, side: int, price: int, time_ms: int, traded: int, refilled: int, displayed: int) -> None:
        if self.refills is None:
            return
        ring, total = self.refills
        capacity = ring.shape[1] // 2
        column = int(total[0]) % capacity
        for field, value in (
            (REFILL_SIDE, side), (REFILL_PRICE, price), (REFILL_TIME, time_ms),
            (REFILL_TRADED, traded), (REFILL_QTY, refilled), (REFILL_DISPLAYED, displayed),
        ):  # fmt: skip
            ring[field, column] = value
            ring[field, column + capacity] = value
        total[0] += 1

    def _refill(self, side: int, price: int, old: int, qty: int, traded: int, event_time: int) -> None:
        """Refill accounting for one level change (``traded``: qty the event's trades took).

        A level a trade hit is refilled when its new size is above ``old - traded`` (in the
        same event; the refilled qty is ``qty - (old - traded)``, which counts size hidden
        behind the displayed one) or, in a later event within ``REFILL_WINDOW_MS`` of the
        last trade, when it grows (refilled ``qty - old``). A hit not refilled yet is
        remembered (at most ``MAX_HIT_LEVELS``, the oldest dropped).
        """
        hits = self.hits
        hit = None
        for index, entry in enumerate(hits):
            if entry[0] == side and entry[1] == price:
                hit = index
                break
        if hit is not None and event_time - hits[hit][3] > REFILL_WINDOW_MS:
            del hits[hit]
            hit = None
        if traded > 0:
            prior = hits[hit][2] if hit is not None else 0
            refilled = qty - (old - traded)
            if refilled > 0:
                self._record_refill(side, price, event_time, prior + traded, refilled, qty)
                if hit is not None:
                    del hits[hit]
            elif hit is not None:
                hits[hit][2] += traded
                hits[hit][3] = event_time
            else:
                if len(hits) >= MAX_HIT_LEVELS:
                    del hits[0]
                hits.append([side, price, traded, event_time])
        elif hit is not None and qty > old:
            self._record_refill(side, price, event_time, hits[hit][2], qty - old, qty)
            del hits[hit]

    def _drop_seen_trades(self, event_time: int) -> None:
        # A depth event at time E already reflects every trade up to E.
        self.pending = [trade for trade in self.pending if trade[2] > event_time]

    # ------------------------------------------------------------------- depth
    def _set_level(self, side: int, price: int, qty: int, column: int, event_time: int) -> None:
        keys, qtys = self.keys[side], self.qtys[side]
        key = price if side == BID else -price
        i = bisect_left(keys, key)
        found = i < len(keys) and keys[i] == key
        old = qtys[i] if found else 0
        base = side * SIDE_FIELDS
        traded = self._traded_at(side, price, event_time) if self.pending else 0
        if traded or self.hits:
            self._refill(side, price, old, qty, traded, event_time)
        self._count(column, base + UPDATES, 1)
        if qty > old:
            self._count(column, base + ADDITIONS, 1)
            self._count(column, base + ADDED_QTY, qty - old)
        elif qty < old:
            reduced = old - qty
            self._count(column, base + REDUCTIONS, 1)
            self._count(column, base + REDUCED_QTY, reduced)
            cancelled = reduced - min(traded, reduced)
            if cancelled > 0:
                self._count(column, base + CANCELLATIONS, 1)
                self._count(column, base + CANCELLED_QTY, cancelled)
        if qty == 0:
            if found:
                del keys[i]
                del qtys[i]
        elif found:
            qtys[i] = qty
        else:
            keys.insert(i, key)
            qtys.insert(i, qty)

    def apply_event(self, first_id: int, last_id: int, event_time: int, bids, asks) -> int:
        """Apply one parsed depthUpdate (levels as (price_int, qty_int) pairs).

        Binance spot rule: ignore ``u <= lastUpdateId``; ``U > lastUpdateId + 1`` is a gap;
        otherwise apply every level (``0`` deletes) and set lastUpdateId = ``u``.
        """
        rows = [(BID, p, q) for p, q in bids] + [(ASK, p, q) for p, q in asks]
        return self._apply_rows(first_id, last_id, event_time, rows)

    def _apply_rows(self, first_id: int, last_id: int, event_time: int, rows) -> int:
        _check_rows(rows)
        if last_id <= self.last_update_id:
            self.events_stale += 1
            return STATUS_STALE
        if first_id > self.last_update_id + 1:
            return STATUS_GAP
        column = self._slot(event_time // 1000)
        self._count(column, MESSAGES, 1)
        for side, price, qty in rows:
            self._set_level(int(side), int(price), int(qty), column, event_time)
        self._drop_seen_trades(event_time)
        self.last_update_id = last_id
        self.last_event_time = event_time
        self.events_applied += 1
        if self.keys[BID] and self.keys[ASK] and self.keys[BID][-1] >= -self.keys[ASK][-1]:
            return STATUS_CROSSED
        return STATUS_APPLIED

    def apply_levels(self, first_id: int, last_id: int, event_time: int, levels: np.ndarray) -> int:
        """Apply one event whose levels are rows (side 0 bid / 1 ask, price, qty)."""
        if not isinstance(levels, np.ndarray) or levels.dtype != np.int64 or levels.ndim != 2 or levels.shape[1] != 3:
            raise InvalidInputError(f"expected an int64 array with 3 columns, got {getattr(levels, 'shape', levels)!r}")
        return self._apply_rows(first_id, last_id, event_time, levels.tolist())

    def apply_batch(self, ids, offsets, levels, tops_out, statuses_out) -> int:
        """Apply many events; after each, write the top levels into ``tops_out``.

        ``ids`` rows are (U, u, E); event k's levels are rows offsets[k]:offsets[k+1] of
        ``levels``; ``tops_out[k]`` gets (bid prices, bid qtys, ask prices, ask qtys), zero
        padded. Stops after the first gap or crossed book; returns events processed.
        """
        if len(offsets) != len(ids) + 1 or levels.ndim != 2 or levels.shape[1] != 3:
            raise InvalidInputError(f"batch shapes disagree: {len(ids)} events, {len(offsets)} offsets")
        rows = levels.tolist()
        _check_rows(rows)
        for k in range(len(ids)):
            first_id, last_id, event_time = (int(v) for v in ids[k])
            status = self._apply_rows(first_id, last_id, event_time, rows[offsets[k] : offsets[k + 1]])
            statuses_out[k] = status
            tops_out[k] = 0
            self.top(BID, tops_out[k, 0], tops_out[k, 1])
            self.top(ASK, tops_out[k, 2], tops_out[k, 3])
            if status in (STATUS_GAP, STATUS_CROSSED):
                return k + 1
        return len(ids)

    def apply_json_batch(self, frames: list, start: int = 0) -> tuple[int, int, int]:
        """Apply ``frames[start:]`` until a frame needs the caller (any status but
        APPLIED, STALE or TRADE) or the end. Returns (next_index, last_status, applied)."""
        before = self.events_applied
        status = STATUS_APPLIED
        for i in range(start, len(frames)):
            status = self.apply_json(frames[i])
            if status not in (STATUS_APPLIED, STATUS_STALE, STATUS_TRADE):
                return i + 1, status, self.events_applied - before
        return len(frames), status, self.events_applied - before

    def apply_json(self, raw: bytes | str) -> int:
        """Parse a depthUpdate frame (bare payload or combined envelope) and apply it; with
        a tape attached, a trade frame (``aggTrade`` / ``trade``) is counted and taped."""
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return STATUS_PARSE_ERROR
        if not isinstance(obj, dict):
            return STATUS_PARSE_ERROR
        data = obj.get("data")
        if isinstance(data, dict):
            obj = data
        event = obj.get("e")
        if event != "depthUpdate":
            if event in ("aggTrade", "trade") and self.tape is not None:
                return self._apply_trade(obj, event)
            return STATUS_NOT_DEPTH if "e" in obj else STATUS_PARSE_ERROR
        try:
            first_id, last_id, event_time = int(obj["U"]), int(obj["u"]), int(obj["E"])
            sides = []
            for name in ("b", "a"):
                levels = []
                for price_text, qty_text, *_ in obj[name]:
                    price = _parse_scaled(price_text, self.price_scale)
                    qty = _parse_scaled(qty_text, self.qty_scale)
                    if price is None or qty is None:
                        return _failure(price_text, self.price_scale, qty_text, self.qty_scale)
                    levels.append((price, qty))
                sides.append(levels)
        except (KeyError, TypeError, ValueError, AttributeError):
            return STATUS_PARSE_ERROR
        self.event_first_id, self.event_last_id, self.event_time = first_id, last_id, event_time
        return self.apply_event(first_id, last_id, event_time, sides[0], sides[1])

    def _apply_trade(self, obj: dict, event: str) -> int:
        """Count a parsed trade payload and write it to the tape; anything but the exact
        Binance form (quoted decimals, integer ``T`` and id, boolean ``m``) is PARSE_ERROR,
        left to the facade's general path."""
        try:
            price_text, qty_text, time_ms, maker = obj["p"], obj["q"], obj["T"], obj["m"]
            trade_id = obj["a"] if event == "aggTrade" else obj["t"]
        except KeyError:
            return STATUS_PARSE_ERROR
        if not (isinstance(price_text, str) and isinstance(qty_text, str) and type(maker) is bool):
            return STATUS_PARSE_ERROR
        if type(time_ms) is not int or type(trade_id) is not int or not (0 <= time_ms < 2**63 and 0 <= trade_id < 2**63):
            return STATUS_PARSE_ERROR
        price = _parse_scaled(price_text, self.price_scale)
        qty = _parse_scaled(qty_text, self.qty_scale)
        if price is None or qty is None:
            return _failure(price_text, self.price_scale, qty_text, self.qty_scale)
        side = -1 if maker else 1  # m: the buyer is the maker, so the taker sold
        self.add_trade(price, qty, time_ms, side)
        prices, qtys, times, sides, ids, total = self.tape
        row = int(total[0]) % len(prices)
        prices[row], qtys[row], times[row], sides[row], ids[row] = price, qty, time_ms, side, trade_id
        total[0] += 1
        return STATUS_TRADE

    # ------------------------------------------------------------------- reads
    def count(self, side: int) -> int:
        _check_side(side)
        return len(self.keys[side])

    def best(self, side: int) -> tuple[int, int] | None:
        _check_side(side)
        keys = self.keys[side]
        if not keys:
            return None
        price = keys[-1] if side == BID else -keys[-1]
        return price, self.qtys[side][-1]

    def best_bid(self) -> tuple[int, int] | None:
        return self.best(BID)

    def best_ask(self) -> tuple[int, int] | None:
        return self.best(ASK)

    def top(self, side: int, prices_out: np.ndarray, qtys_out: np.ndarray) -> int:
        """Fill the OUT arrays best-first; return how many levels were written."""
        _check_side(side)
        keys, qtys = self.keys[side], self.qtys[side]
        n = min(len(keys), len(prices_out))
        sign = 1 if side == BID else -1
        for j in range(n):
            prices_out[j] = sign * keys[-1 - j]
            qtys_out[j] = qtys[-1 - j]
        return n

    def read_top(self, out: np.ndarray) -> tuple[int, int]:
        """Fill ``out`` (int64, shape (4, n)) with bid prices, bid qtys, ask prices, ask
        qtys best first; returns (bid levels written, ask levels written)."""
        if out.dtype != np.int64 or out.ndim != 2 or out.shape[0] != 4:
            raise InvalidInputError(f"expected an int64 array of shape (4, n), got {out.dtype} {out.shape}")
        return self.top(BID, out[0], out[1]), self.top(ASK, out[2], out[3])

    def depth_until(self, side: int, limit_price: int) -> int:
        """Total qty of the side's levels at or better than ``limit_price``."""
        _check_side(side)
        keys, qtys = self.keys[side], self.qtys[side]
        limit_key = limit_price if side == BID else -limit_price
        i = bisect_left(keys, limit_key)
        return sum(qtys[i:])

    def sweep(self, side: int, notional: float, price_divisor: float, qty_divisor: float) -> tuple[float, float, float, int]:
        """Walk the side best-first until ``notional`` (quote) is filled.

        Returns (filled_qty, filled_notional, worst_price, levels_used); the prices are
        real numbers (scaled integers divided by the given powers of ten).
        """
        _check_side(side)
        keys, qtys = self.keys[side], self.qtys[side]
        sign = 1 if side == BID else -1
        filled_qty = 0.0
        filled_notional = 0.0
        worst = 0.0
        used = 0
        for j in range(len(keys) - 1, -1, -1):
            if filled_notional >= notional:
                break
            price = sign * keys[j] / price_divisor
            qty = qtys[j] / qty_divisor
            take = min(qty, (notional - filled_notional) / price)
            filled_qty += take
            filled_notional += take * price
            worst = price
            used += 1
        return filled_qty, filled_notional, worst, used
