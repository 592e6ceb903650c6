"""Sans-I/O book session: Binance's spot snapshot + diff procedure for one symbol.

The session never touches a socket. The I/O shell (stream manager, replay, recorder,
tests) hands it stream payloads or raw frames and, when ``needs_snapshot`` says so, a
REST ``/depth?limit=5000`` answer. The procedure is Binance's (binance-protocol.md §6):

1. Buffer depth events until a snapshot arrives.
2. A snapshot whose ``lastUpdateId`` is older than the first buffered event it must
   bridge to (``U > lastUpdateId + 1``) is too old: drop it and ask for another.
3. Drop events with ``u <= lastUpdateId``; the first one applied satisfies
   ``U <= lastUpdateId + 1 <= u``.
4. Then every event must satisfy ``U == previous u + 1`` (more precisely: events with
   ``u <= bookId`` are ignored, ``U > bookId + 1`` is a gap). On a gap or a crossed book
   the session goes to RESYNCING, says why, and asks for a fresh snapshot.

Trades (``aggTrade`` or ``trade``) go to the trade tape and the per-second counters
whatever the book state.
"""

from __future__ import annotations

import re
from collections import deque
from enum import Enum
from typing import Any

import orjson

from obcore._kernels import _layout as _status
from obcore.book import Book
from obcore.counters import RefillRing, SecondCounters, TradeTape
from obcore.errors import InvalidInputError, PrecisionError
from obcore.numbers import MAX_SCALE, decimal_places, parse_decimal
from obcore.validation import SYMBOL_RE

__all__ = ["STALE_AFTER_MS", "BookSession", "SyncState", "event_second", "frame_second"]

#: The one stale limit: a synced book whose last diff is older than this (ms) is STALE.
STALE_AFTER_MS = 5_000
_TRADE_TIME = re.compile(rb'"T":(\d+)')
_EVENT_TIME = re.compile(rb'"E":(\d+)')
_HEAD = 512


def frame_second(raw: bytes | str) -> int | None:
    """The exchange second a raw stream frame counts in, without parsing the JSON.

    A trade counts at its trade time ``T``, any other event at its event time ``E`` — the
    times the per-second counters use. ``None`` when the frame has neither.

    Examples
    --------
    >>> frame_second(b'{"e":"depthUpdate","E":1723161600123,"s":"ETHUSDT"}')
    1723161600
    >>> frame_second(b'{"e":"trade","E":1723161601002,"T":1723161600999}')
    1723161600
    """
    data = raw.encode() if isinstance(raw, str) else raw
    # Both keys sit near the start (a trade frame is ~250 bytes; a depth frame's levels
    # come after "E"), so only the head is searched.
    found = _TRADE_TIME.search(data, 0, _HEAD) or _EVENT_TIME.search(data, 0, _HEAD)
    return None if found is None else int(found.group(1)) // 1000


def event_second(payload: dict[str, Any]) -> int | None:
    """:func:`frame_second` of a parsed payload (``T`` for a trade, else ``E``)."""
    key = "T" if payload.get("e") in ("trade", "aggTrade") else "E"
    value = payload.get(key)
    return int(value) // 1000 if isinstance(value, int) else None


class SyncState(str, Enum):
    """Where a session stands in the sync procedure.

    The one string form of a state, everywhere (status and health reports, stored
    snapshots, tool outputs), is its value, which equals its upper-case name:
    ``SyncState.LIVE.value == "LIVE"``. The declaration order is the stored code
    (``obcore.store.snapshot.STATE_CODES``).
    """

    SYNCING = "SYNCING"  # buffering diffs, waiting for (or bridging to) the first snapshot
    LIVE = "LIVE"  # every diff since the snapshot applied, no gap
    RESYNCING = "RESYNCING"  # a gap or crossed book was seen; waiting for a fresh snapshot
    STALE = "STALE"  # synced, but no diff for longer than the stale limit (STALE_AFTER_MS)


class BookSession:
    """One symbol's live book, kept exactly as Binance documents.

    Parameters
    ----------
    symbol : str
        Binance symbol, upper case (``"ETHUSDT"``).
    price_scale, qty_scale : int, optional
        Decimals of ``tickSize`` / ``stepSize`` (exchangeInfo). Inferred from the snapshot
        when not given; any finer number seen later rescales the book exactly.
    history_seconds : int
        Seconds of per-second counters kept in memory.
    trade_capacity : int
        Trades kept on the tape.
    max_buffer : int
        Depth events buffered while waiting for a snapshot; older ones are dropped
        (the bridge then fails and a newer snapshot is asked for).
    """

    def __init__(
        self,
        symbol: str,
        *,
        price_scale: int | None = None,
        qty_scale: int | None = None,
        history_seconds: int = 3600,
        trade_capacity: int = 1 << 18,
        max_buffer: int = 10_000,
    ):
        if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
            raise InvalidInputError(f"symbol {symbol!r} must match {SYMBOL_RE.pattern}")
        self.symbol = symbol
        self.counters = SecondCounters(history_seconds)
        self.trades = TradeTape(trade_capacity)
        self.book = Book(price_scale or 0, qty_scale or 0, self.counters)
        self._kernel = self.book._kernel
        self.trades.attach(self._kernel)  # the fast path tapes trade frames in the kernel
        self.refills = RefillRing()  # the kernel records each level a trade hit and that refilled
        self.refills.attach(self._kernel)
        self._buffer: deque[dict[str, Any]] = deque()
        self._max_buffer = max_buffer
        self._has_snapshot = False
        self._state = SyncState.SYNCING
        # True while LIVE on a loaded snapshot: frames then go straight to the kernel.
        self._fast = False
        self._apply_json = self._kernel.apply_json
        self.gap_count = 0
        self.resync_count = 0
        self.stale_snapshot_count = 0
        self.crossed_count = 0
        self.buffer_dropped = 0
        self.reason = "waiting for the first snapshot"

    # --------------------------------------------------------------- status
    @property
    def state(self) -> SyncState:
        return self._state

    @state.setter
    def state(self, value: SyncState) -> None:
        self._state = value
        self._fast = value is SyncState.LIVE and self._has_snapshot

    @property
    def events_applied(self) -> int:
        """Depth events applied since the session started (across resyncs)."""
        return int(self._kernel.events_applied)

    @property
    def events_ignored(self) -> int:
        """Duplicates and events older than the book (``u <= lastUpdateId``)."""
        return int(self._kernel.events_stale)

    @property
    def last_event_time_ms(self) -> int:
        """Exchange time (``E``) of the last applied depth event, 0 before any."""
        return int(self._kernel.last_event_time)

    @property
    def price_scale(self) -> int:
        return self.book.price_scale

    @property
    def qty_scale(self) -> int:
        return self.book.qty_scale

    @property
    def last_update_id(self) -> int:
        return self.book.last_update_id

    @property
    def is_synced(self) -> bool:
        """True when the book reflects every diff since its snapshot (LIVE or STALE)."""
        return self.state in (SyncState.LIVE, SyncState.STALE)

    @property
    def needs_snapshot(self) -> bool:
        """The shell should GET ``/depth?symbol=S&limit=5000`` and call ``receive_snapshot``."""
        return not self.is_synced and not self._has_snapshot and len(self._buffer) > 0

    @property
    def buffered_events(self) -> int:
        return len(self._buffer)

    def book_age_ms(self, now_ms: int) -> int | None:
        """Milliseconds since the last applied diff's event time, None before any."""
        if self.last_event_time_ms == 0:
            return None
        return max(0, int(now_ms) - self.last_event_time_ms)

    def mark_stale(self, now_ms: int, limit_ms: int = STALE_AFTER_MS) -> bool:
        """Flag a synced book whose last diff is older than ``limit_ms``; returns the flag.

        Parameters
        ----------
        now_ms : int
            Current time, ms since the epoch (same clock as the events' ``E``).
        limit_ms : int
            Age in ms beyond which a LIVE book becomes STALE.

        Returns
        -------
        bool
            True when the session is STALE (now or already before the call).
        """
        age = self.book_age_ms(now_ms)
        if self.state is SyncState.LIVE and age is not None and age > limit_ms:
            self.state = SyncState.STALE
            self.reason = f"no depth update for {age} ms"
        return self.state is SyncState.STALE

    def reset(self, reason: str) -> None:
        """Throw the book away and start over from a fresh snapshot (e.g. after a restart)."""
        self._resync(reason)

    def status(self) -> dict[str, Any]:
        """A plain dict of the sync status (for health reports)."""
        return {
            "symbol": self.symbol,
            "state": self.state.value,
            "last_update_id": self.last_update_id,
            "last_event_time_ms": self.last_event_time_ms,
            "events_applied": self.events_applied,
            "events_ignored": self.events_ignored,
            "gap_count": self.gap_count,
            "resync_count": self.resync_count,
            "stale_snapshot_count": self.stale_snapshot_count,
            "crossed_count": self.crossed_count,
            "buffered_events": len(self._buffer),
            "reason": self.reason,
        }

    # -------------------------------------------------------------- feeding
    def receive_frame(self, raw: bytes | str) -> bool:
        """Feed one raw WebSocket frame (bare payload or combined envelope).

        Returns True when it was a depth event applied to a synced book. While the book is
        live, depth and trade frames are parsed in the compiled kernel without building
        Python objects (a trade goes to the counters and the tape there).
        """
        if self._fast:
            status = self._apply_json(raw)
            if status == _status.STATUS_APPLIED:
                return True
            if status == _status.STATUS_TRADE:
                return False  # counted and taped by the kernel
            if status in (_status.STATUS_STALE, _status.STATUS_GAP, _status.STATUS_CROSSED):
                return self._after_kernel_status(status, raw)
            # NOT_DEPTH, PRECISION, PARSE_ERROR: take the general path below.
        return self.receive(self._payload_of(raw))

    def _payload_of(self, raw: bytes | str) -> dict[str, Any]:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise InvalidInputError(f"{self.symbol}: frame is not JSON: {bytes(raw[:80]) if isinstance(raw, bytes) else raw[:80]!r}") from None
        if not isinstance(obj, dict):
            raise InvalidInputError(f"{self.symbol}: frame is not a JSON object: {str(obj)[:80]!r}")
        data = obj.get("data")
        return data if isinstance(data, dict) else obj

    def _after_kernel_status(self, status: int, raw: bytes | str) -> bool:
        """Handle what the compiled fast path left to Python (rare: a gap or crossed book).

        A gapped event is parsed here so that it is buffered whole: it may still bridge
        to the next snapshot, and then its levels must be applied.
        """
        kernel = self._kernel
        payload = self._payload_of(raw) if status == _status.STATUS_GAP else None
        return self._after_apply(status, kernel.event_first_id, kernel.event_last_id, payload)

    def receive_frames(self, frames: list[bytes | str]) -> int:
        """Feed a list of raw frames in order; returns how many depth events were applied.

        The batch form of :meth:`receive_frame`: while the book is live, runs of depth
        frames are applied by the kernel without returning to Python per frame.
        """
        applied = 0
        i, n = 0, len(frames)
        while i < n:
            if not self._fast:
                applied += self.receive_frame(frames[i])
                i += 1
                continue
            i, status, count = self._kernel.apply_json_batch(frames, i)
            applied += count
            if status in (_status.STATUS_GAP, _status.STATUS_CROSSED):
                self._after_kernel_status(status, frames[i - 1])
                applied -= status == _status.STATUS_CROSSED  # counted by the kernel, not live
            elif status not in (_status.STATUS_APPLIED, _status.STATUS_STALE, _status.STATUS_TRADE):
                # A finer number, another event or something unexpected: the general path.
                self._fast = False
                try:
                    applied += self.receive_frame(frames[i - 1])
                finally:
                    self._fast = self._state is SyncState.LIVE and self._has_snapshot
        return applied

    def receive(self, payload: dict[str, Any]) -> bool:
        """Feed one parsed stream payload; returns True for a depth event applied live."""
        event = payload.get("e")
        if event == "depthUpdate":
            return self._receive_depth(payload)
        if event in ("aggTrade", "trade"):
            self._receive_trade(payload)
        elif "lastUpdateId" in payload and "bids" in payload:
            self.receive_snapshot(payload)
        return False

    def receive_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Load a REST ``/depth`` answer and bridge the buffered diffs to it."""
        try:
            last_update_id = int(snapshot["lastUpdateId"])
            bids, asks = snapshot["bids"], snapshot["asks"]
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(f"{self.symbol}: not a depth snapshot: {str(snapshot)[:120]!r}") from None
        if self.is_synced and last_update_id <= self.last_update_id:
            return  # an older snapshot than the live book: nothing to learn from it
        self._fit_scales([p for p, *_ in bids] + [p for p, *_ in asks], [q for _, q, *_ in bids] + [q for _, q, *_ in asks])
        price_scale, qty_scale = self.price_scale, self.qty_scale
        self._kernel.load(
            [parse_decimal(p, price_scale) for p, *_ in bids],
            [parse_decimal(q, qty_scale) for _, q, *_ in bids],
            [parse_decimal(p, price_scale) for p, *_ in asks],
            [parse_decimal(q, qty_scale) for _, q, *_ in asks],
            last_update_id,
        )
        self._has_snapshot = True
        self._fast = False
        if self.state is not SyncState.RESYNCING:
            self.state = SyncState.SYNCING
        self.reason = f"snapshot {last_update_id} loaded; bridging"
        buffered, self._buffer = self._buffer, deque()
        while buffered:
            self._receive_depth(buffered.popleft())
            if not self._has_snapshot:  # the snapshot was too old: keep the rest buffered
                self._buffer.extend(buffered)
                break

    # -------------------------------------------------------------- internal
    def _receive_depth(self, payload: dict[str, Any]) -> bool:
        if not self._has_snapshot:
            self._buffer.append(payload)
            if len(self._buffer) > self._max_buffer:
                self._buffer.popleft()
                self.buffer_dropped += 1
            return False
        try:
            first_id, last_id, event_time = int(payload["U"]), int(payload["u"]), int(payload["E"])
            bid_levels, ask_levels = payload["b"], payload["a"]
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(f"{self.symbol}: malformed depthUpdate {str(payload)[:120]!r}") from None
        try:
            bids = self._parse_levels(bid_levels)
            asks = self._parse_levels(ask_levels)
        except PrecisionError:
            self._fit_scales([p for p, *_ in bid_levels + ask_levels], [q for _, q, *_ in bid_levels + ask_levels])
            bids = self._parse_levels(bid_levels)
            asks = self._parse_levels(ask_levels)
        status = self._kernel.apply_event(first_id, last_id, event_time, bids, asks)
        if status == _status.STATUS_APPLIED:
            self._applied()
            return True
        return self._after_apply(status, first_id, last_id, payload)

    def _after_apply(self, status: int, first_id: int, last_id: int, payload: dict | None) -> bool:
        if status == _status.STATUS_STALE:
            return False  # counted by the kernel
        if status == _status.STATUS_GAP:
            expected = self.last_update_id + 1
            if not self.is_synced:
                # Bridge failed: the snapshot is older than the events we hold.
                self.stale_snapshot_count += 1
                self._has_snapshot = False
                self._fast = False
                self.reason = f"snapshot {self.last_update_id} too old for event U={first_id}; refetching"
            else:
                self.gap_count += 1
                self._resync(f"gap: event U={first_id} u={last_id}, expected U <= {expected}")
            assert payload is not None  # a gapped event is always kept whole
            self._buffer.append(payload)
            return False
        if status == _status.STATUS_CROSSED:
            self.crossed_count += 1
            self._resync(f"crossed book after event u={last_id}")
            return False
        raise InvalidInputError(f"{self.symbol}: unexpected kernel status {status}")  # pragma: no cover

    def _applied(self) -> None:
        if self.state is not SyncState.LIVE:
            self.state = SyncState.LIVE
            self.reason = "in sync"

    def _resync(self, reason: str) -> None:
        self.resync_count += 1
        self._has_snapshot = False
        self.state = SyncState.RESYNCING
        self._buffer.clear()
        self.reason = reason

    def _parse_levels(self, levels: list) -> list[tuple[int, int]]:
        price_scale, qty_scale = self.price_scale, self.qty_scale
        return [(parse_decimal(p, price_scale), parse_decimal(q, qty_scale)) for p, q, *_ in levels]

    def _fit_scales(self, prices: list, qtys: list) -> None:
        """Raise the book's scales (exactly) to hold every given number."""
        price_scale = max([self.price_scale] + [decimal_places(p) for p in prices])
        qty_scale = max([self.qty_scale] + [decimal_places(q) for q in qtys])
        if price_scale > MAX_SCALE or qty_scale > MAX_SCALE:
            finest = max(list(prices) + list(qtys), key=decimal_places)
            raise PrecisionError(f"{self.symbol}: {finest!r} has more than {MAX_SCALE} decimals")
        if (price_scale, qty_scale) != (self.price_scale, self.qty_scale):
            price_factor = 10 ** (price_scale - self.price_scale)
            qty_factor = 10 ** (qty_scale - self.qty_scale)
            self._kernel.rescale(price_scale, qty_scale)
            self.trades.rescale(price_factor, qty_factor)

    def _receive_trade(self, payload: dict[str, Any]) -> None:
        try:
            price_text, qty_text = payload["p"], payload["q"]
            time_ms = int(payload["T"])
            side = -1 if payload["m"] else 1  # m: buyer is maker, so the taker sold
            trade_id = int(payload["a"] if payload.get("e") == "aggTrade" else payload["t"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(f"{self.symbol}: malformed trade {str(payload)[:120]!r}") from None
        try:
            price = parse_decimal(price_text, self.price_scale)
            qty = parse_decimal(qty_text, self.qty_scale)
        except PrecisionError:
            self._fit_scales([price_text], [qty_text])
            price = parse_decimal(price_text, self.price_scale)
            qty = parse_decimal(qty_text, self.qty_scale)
        self._kernel.add_trade(price, qty, time_ms, side)
        self.trades.append(price, qty, time_ms, side, trade_id)
