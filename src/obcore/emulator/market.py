"""The emulator's market state per symbol: the true book, update ids, trades.

This is the oracle our own ``obcore.book`` is compared against, so it deliberately shares
no code with it: plain dicts keyed by ``Decimal`` price, quantities as ``Decimal``.

The true book is ``base + own``: ``base`` is what the replay or scenario drives (its
diffs carry absolute quantities), ``own`` is the quantity of the emulated account's
resting orders at each price. Every depth event carries the sum, so a resting order shows
up in the stream and in ``/depth`` and survives replay diffs that rewrite the level.

Every change is published through ``publish(stream_name, payload)`` with ``U`` = previous
``u`` + 1; the caller (the server) fans it out to WebSocket subscribers.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["AggTrade", "Market", "SymbolRules", "Trade", "format_number", "server_time_ms"]

_EIGHT = Decimal("0.00000001")
_ZERO = Decimal(0)
_KEEP_TRADES = 200_000

# Set by the fault injector: server clock offset in ms (affects /time, E and -1021).
_clock_skew_ms = [0]


def server_time_ms() -> int:
    """Current emulator server time in ms (wall clock plus any injected skew)."""
    return int(time.time() * 1000) + _clock_skew_ms[0]


def set_clock_skew(ms: int) -> None:
    """Offset the server clock by ``ms`` milliseconds (fault injection)."""
    _clock_skew_ms[0] = int(ms)


def format_number(value: Decimal) -> str:
    """Binance's fixed 8-decimal string: ``Decimal("2683.8") -> "2683.80000000"``."""
    return format(value.quantize(_EIGHT), "f")


@dataclass(slots=True)
class SymbolRules:
    """Exchange-info facts of one symbol (filters derived from the data's decimals)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = Decimal("0")
    max_qty: Decimal = Decimal("9000000")
    min_price: Decimal = Decimal("0")
    max_price: Decimal = Decimal("1000000")
    min_notional: Decimal = Decimal("5")
    max_notional: Decimal = Decimal("9000000")
    market_max_qty: Decimal = Decimal("9000000")
    # PERCENT_PRICE_BY_SIDE around the 5-min average price, and MAX_NUM_ORDERS / MAX_NUM_ALGO_ORDERS.
    bid_multiplier_up: Decimal = Decimal("5")
    bid_multiplier_down: Decimal = Decimal("0.2")
    ask_multiplier_up: Decimal = Decimal("5")
    ask_multiplier_down: Decimal = Decimal("0.2")
    max_num_orders: int = 200
    max_num_algo_orders: int = 5

    def __post_init__(self) -> None:
        if self.min_qty == 0:
            self.min_qty = self.step_size
        if self.min_price == 0:
            self.min_price = self.tick_size


@dataclass(slots=True)
class Trade:
    """One trade as kept for /trades, klines and tickers."""

    id: int
    price: Decimal
    qty: Decimal
    time: int
    is_buyer_maker: bool
    price_text: str
    qty_text: str


@dataclass(slots=True)
class AggTrade:
    """One aggregate trade (for /aggTrades)."""

    id: int
    price_text: str
    qty_text: str
    first_id: int
    last_id: int
    time: int
    is_buyer_maker: bool


@dataclass
class _DepthAccumulator:
    """Merges 100 ms depth events into one ``@depth`` (1000 ms) event."""

    first_id: int = 0
    last_id: int = 0
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)


_QUOTES = ("USDT", "FDUSD", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "TRY", "RUB", "EUR", "DAI")


def split_symbol(symbol: str) -> tuple[str, str]:
    """Guess base and quote assets from a symbol name (``ETHUSDT -> ("ETH", "USDT")``)."""
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol[:-3], symbol[-3:]


class Market:
    """True book, update ids and trade history of one symbol.

    Parameters
    ----------
    rules : SymbolRules
        Filters and assets of the symbol.
    publish : callable
        ``publish(stream_name, payload_dict)``; called for every emitted event.
    wants : callable, optional
        ``wants(stream_name) -> bool``: whether anyone listens (skips needless work).
    """

    def __init__(self, rules: SymbolRules, publish: Callable[[str, dict[str, Any]], None],
                 wants: Callable[[str], bool] = lambda stream: True):
        self.rules = rules
        self._wants = wants
        self.symbol = rules.symbol
        self.stream_prefix = rules.symbol.lower()
        self._publish = publish
        self.base_bids: dict[Decimal, Decimal] = {}
        self.base_asks: dict[Decimal, Decimal] = {}
        self.own_bids: dict[Decimal, Decimal] = {}
        self.own_asks: dict[Decimal, Decimal] = {}
        # Base liquidity the account's resting orders used up, by price (kept by the matcher).
        self.used_bids: dict[Decimal, Decimal] = {}
        self.used_asks: dict[Decimal, Decimal] = {}
        self.last_update_id = 0
        self.trades: deque[Trade] = deque(maxlen=_KEEP_TRADES)
        self.agg_trades: deque[AggTrade] = deque(maxlen=_KEEP_TRADES)
        # Aggregate trades loaded from files (``--agg-trades``): older than every live one,
        # sorted by id (and so by time), with the ids and times for bisection.
        self.history_agg_trades: list[AggTrade] = []
        self._history_ids: list[int] = []
        self._history_times: list[int] = []
        self.next_trade_id = 1
        self.next_agg_id = 1
        self.accumulator: _DepthAccumulator | None = None
        self._last_top: tuple[Any, ...] | None = None
        # Observers called after each depth change, *before* its event is emitted (the
        # matcher fills crossed resting orders); they may change levels and add the prices
        # they touched to ``changing`` so the one event carries them: the stream and
        # /depth never show a state the matcher has not settled yet.
        self.after_depth: list[Callable[[Market], None]] = []
        # Observers of each trade (price), e.g. the stop-order trigger; run after it is published.
        self.after_trade: list[Callable[[Market, Decimal], None]] = []
        self.changing: tuple[set[Decimal], set[Decimal]] | None = None
        # Prices whose base quantity the current change wrote (bids, asks).
        self.base_written: tuple[set[Decimal], set[Decimal]] = (set(), set())
        self.depth_events = 0
        self.level_updates = 0

    # ------------------------------------------------------------------ book
    def load_book(self, last_update_id: int, bids: Iterable[tuple[Decimal, Decimal]],
                  asks: Iterable[tuple[Decimal, Decimal]]) -> None:
        """Replace the base book without emitting anything (start of a replay).

        Parameters
        ----------
        last_update_id : int
            Update id of the loaded book (the next event starts after it).
        bids, asks : iterable of (Decimal, Decimal)
            ``(price, qty)`` levels; zero quantities are skipped.
        """
        self.base_bids = {p: q for p, q in bids if q > 0}
        self.base_asks = {p: q for p, q in asks if q > 0}
        self.used_bids.clear()  # a fresh book owes nothing to earlier fills
        self.used_asks.clear()
        self.last_update_id = last_update_id
        self._last_top = None

    def total_qty(self, side: str, price: Decimal) -> Decimal:
        """Displayed quantity at ``price`` on ``side`` (``"bid"``/``"ask"``), base + own.

        Parameters
        ----------
        side : {"bid", "ask"}
        price : Decimal
            Exact level price.

        Returns
        -------
        Decimal
            Replayed/generated quantity plus the account's resting orders (0 if none).
        """
        if side == "bid":
            return self.base_bids.get(price, _ZERO) + self.own_bids.get(price, _ZERO)
        return self.base_asks.get(price, _ZERO) + self.own_asks.get(price, _ZERO)

    def sorted_levels(self, side: str, limit: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Levels of the true book, best first."""
        if side == "bid":
            prices = set(self.base_bids) | set(self.own_bids)
            ordered = sorted(prices, reverse=True)
        else:
            prices = set(self.base_asks) | set(self.own_asks)
            ordered = sorted(prices)
        out = []
        for price in ordered:
            qty = self.total_qty(side, price)
            if qty > 0:
                out.append((price, qty))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def best(self, side: str) -> tuple[Decimal, Decimal] | None:
        """Best level of the true book on ``side`` or None."""
        # Both dicts only ever hold positive quantities, so the best price is the best
        # of either dict; max/min over dict keys runs in C (the hot path of bookTicker).
        pick = max if side == "bid" else min
        base, own = (self.base_bids, self.own_bids) if side == "bid" else (self.base_asks, self.own_asks)
        if own:
            price = pick(pick(base), pick(own)) if base else pick(own)
        elif base:
            price = pick(base)
        else:
            return None
        return price, base.get(price, _ZERO) + own.get(price, _ZERO)

    def best_base(self, side: str) -> Decimal | None:
        """Best price of the base (non-own) liquidity."""
        book = self.base_bids if side == "bid" else self.base_asks
        if not book:
            return None
        return max(book) if side == "bid" else min(book)

    def apply_changes(self, bids: Iterable[tuple[Decimal, Decimal]], asks: Iterable[tuple[Decimal, Decimal]],
                      *, ids: int = 1, event_time: int | None = None,
                      own_changed: Iterable[tuple[str, Decimal]] = ()) -> None:
        """Set base levels (qty 0 removes) and emit one depth event covering ``ids`` update ids.

        ``own_changed`` lists ``(side, price)`` whose own-order quantity already changed
        and must be re-announced. The ``after_depth`` observers run before the event is
        emitted; a call made from inside one joins the event being built.
        """
        changed_bids: set[Decimal] = set()
        changed_asks: set[Decimal] = set()
        for price, qty in bids:
            if qty > 0:
                self.base_bids[price] = qty
            else:
                self.base_bids.pop(price, None)
            changed_bids.add(price)
        for price, qty in asks:
            if qty > 0:
                self.base_asks[price] = qty
            else:
                self.base_asks.pop(price, None)
            changed_asks.add(price)
        written = (set(changed_bids), set(changed_asks))
        for side, price in own_changed:
            (changed_bids if side == "bid" else changed_asks).add(price)
        outer = self.changing
        if outer is not None:
            # Called from inside an observer: join the event being built.
            outer[0].update(changed_bids)
            outer[1].update(changed_asks)
            return
        self.changing = (changed_bids, changed_asks)
        self.base_written = written
        try:
            for observer in self.after_depth:
                observer(self)
        finally:
            self.changing = None
        self.emit_depth(changed_bids, changed_asks, ids=ids, event_time=event_time)

    def emit_depth(self, changed_bids: Iterable[Decimal], changed_asks: Iterable[Decimal], *,
                   ids: int = 1, event_time: int | None = None) -> None:
        """Publish a depthUpdate for the given prices (their current true quantities)."""
        b = [[format_number(p), format_number(self.total_qty("bid", p))] for p in changed_bids]
        a = [[format_number(p), format_number(self.total_qty("ask", p))] for p in changed_asks]
        if not b and not a:
            return
        first = self.last_update_id + 1
        self.last_update_id += max(1, ids)
        event_time = server_time_ms() if event_time is None else event_time
        payload = {"e": "depthUpdate", "E": event_time, "s": self.symbol, "U": first,
                   "u": self.last_update_id, "b": b, "a": a}
        self.depth_events += 1
        self.level_updates += len(b) + len(a)
        self._publish(f"{self.stream_prefix}@depth@100ms", payload)
        acc = self.accumulator
        if acc is None:
            acc = self.accumulator = _DepthAccumulator(first_id=first)
        acc.last_id = self.last_update_id
        for price, qty in b:
            acc.bids[price] = qty
        for price, qty in a:
            acc.asks[price] = qty
        self._maybe_book_ticker()

    def flush_depth_1000ms(self) -> None:
        """Publish the merged ``@depth`` event of the last second (called by a 1 s timer)."""
        acc = self.accumulator
        if acc is None:
            return
        self.accumulator = None
        payload = {"e": "depthUpdate", "E": server_time_ms(), "s": self.symbol, "U": acc.first_id,
                   "u": acc.last_id, "b": [[p, q] for p, q in acc.bids.items()],
                   "a": [[p, q] for p, q in acc.asks.items()]}
        self._publish(f"{self.stream_prefix}@depth", payload)

    def _maybe_book_ticker(self) -> None:
        if not self._wants(f"{self.stream_prefix}@bookTicker"):
            self._last_top = None
            return
        bid = self.best("bid")
        ask = self.best("ask")
        top = (bid, ask)
        if top == self._last_top:
            return
        self._last_top = top
        self._publish(f"{self.stream_prefix}@bookTicker", self.book_ticker())

    def book_ticker(self) -> dict[str, Any]:
        """The bookTicker payload of the current true book."""
        bid = self.best("bid")
        ask = self.best("ask")
        return {
            "u": self.last_update_id, "s": self.symbol,
            "b": format_number(bid[0]) if bid else "0.00000000",
            "B": format_number(bid[1]) if bid else "0.00000000",
            "a": format_number(ask[0]) if ask else "0.00000000",
            "A": format_number(ask[1]) if ask else "0.00000000",
        }

    def partial_depth(self, levels: int) -> dict[str, Any]:
        """The ``@depth<N>`` payload: top ``levels`` per side, no e/E/s."""
        return {
            "lastUpdateId": self.last_update_id,
            "bids": [[format_number(p), format_number(q)] for p, q in self.sorted_levels("bid", levels)],
            "asks": [[format_number(p), format_number(q)] for p, q in self.sorted_levels("ask", levels)],
        }

    def snapshot(self, limit: int) -> dict[str, Any]:
        """The REST ``/depth`` answer (consistent with every event published so far)."""
        return self.partial_depth(limit)

    # ---------------------------------------------------------------- trades
    def add_trade(self, price: Decimal, qty: Decimal, is_buyer_maker: bool, *,
                  trade_time: int | None = None, trade_id: int | None = None,
                  emit_agg: bool = True) -> Trade:
        """Record and publish one trade (``@trade``; ``@aggTrade`` too unless told not to)."""
        now = server_time_ms()
        trade_time = now if trade_time is None else trade_time
        if trade_id is None or trade_id < self.next_trade_id:
            trade_id = self.next_trade_id
        self.next_trade_id = trade_id + 1
        trade = Trade(trade_id, price, qty, trade_time, is_buyer_maker, format_number(price), format_number(qty))
        self.trades.append(trade)
        self._publish(f"{self.stream_prefix}@trade", {
            "e": "trade", "E": now, "s": self.symbol, "t": trade_id, "p": trade.price_text,
            "q": trade.qty_text, "T": trade_time, "m": is_buyer_maker, "M": True})
        if emit_agg:
            self.add_agg_trade(trade.price_text, trade.qty_text, trade_id, trade_id, trade_time, is_buyer_maker,
                               agg_id=trade_id)
        for observer in self.after_trade:
            observer(self, price)
        return trade

    def add_agg_trade(self, price_text: str, qty_text: str, first_id: int, last_id: int,
                      trade_time: int, is_buyer_maker: bool, agg_id: int | None = None) -> AggTrade:
        """Record and publish one aggregate trade."""
        if agg_id is None or agg_id < self.next_agg_id:
            agg_id = self.next_agg_id
        self.next_agg_id = agg_id + 1
        agg = AggTrade(agg_id, price_text, qty_text, first_id, last_id, trade_time, is_buyer_maker)
        self.agg_trades.append(agg)
        self._publish(f"{self.stream_prefix}@aggTrade", {
            "e": "aggTrade", "E": server_time_ms(), "s": self.symbol, "a": agg_id, "p": price_text,
            "q": qty_text, "f": first_id, "l": last_id, "T": trade_time, "m": is_buyer_maker, "M": True})
        return agg

    def load_agg_history(self, rows: Iterable[AggTrade]) -> int:
        """Add aggregate trades from files to the ``/aggTrades`` history; returns the new total.

        Rows are kept sorted by id, each id once; live aggregate ids continue after the
        newest one, so history and live trades form one increasing id sequence.

        Parameters
        ----------
        rows : iterable of AggTrade
            Trades of this symbol (any order).

        Raises
        ------
        ValueError
            Two rows with one id but different contents, or history that would not be
            older than live trades already served (ids or times).
        """
        merged = {t.id: t for t in self.history_agg_trades}
        for row in rows:
            known = merged.get(row.id)
            if known is not None and known != row:
                raise ValueError(f"{self.symbol}: aggregate trade id {row.id} appears twice with different contents")
            merged[row.id] = row
        ordered = [merged[i] for i in sorted(merged)]
        times = [t.time for t in ordered]
        if any(b < a for a, b in zip(times, times[1:])):
            at = next(i for i, (a, b) in enumerate(zip(times, times[1:])) if b < a)
            raise ValueError(f"{self.symbol}: aggregate trade {ordered[at + 1].id} is older than trade {ordered[at].id}")
        if ordered and self.agg_trades and (ordered[-1].id >= self.agg_trades[0].id
                                            or ordered[-1].time > self.agg_trades[0].time):
            raise ValueError(f"{self.symbol}: trade files must be older than the live aggregate trades")
        self.history_agg_trades = ordered
        self._history_ids = [t.id for t in ordered]
        self._history_times = times
        if ordered:
            self.next_agg_id = max(self.next_agg_id, ordered[-1].id + 1)
        return len(ordered)

    def select_agg_trades(self, from_id: int | None, start: int | None, end: int | None,
                          limit: int) -> list[AggTrade]:
        """Binance's ``/aggTrades`` selection over history then live trades.

        ``fromId``: trades with id >= it, oldest first. ``startTime`` / ``endTime``
        (inclusive, either alone or both): trades in that time range, oldest first. None
        of them: the most recent ``limit``. At most ``limit`` rows in every case.
        """
        history, live = self.history_agg_trades, self.agg_trades
        if from_id is None and start is None and end is None:
            recent = list(live)[-limit:]
            if len(recent) < limit:
                recent = history[max(0, len(history) - (limit - len(recent))):] + recent
            return recent
        if from_id is not None:
            first = bisect_left(self._history_ids, from_id)
            out = history[first : first + limit]
            if len(out) < limit:
                out += [t for t in live if t.id >= from_id][: limit - len(out)]
            return out
        low = 0 if start is None else start
        first = bisect_left(self._history_times, low)
        last = len(history) if end is None else bisect_right(self._history_times, end)
        out = history[first : min(last, first + limit)]
        if len(out) < limit:
            out += [t for t in live if t.time >= low and (end is None or t.time <= end)][: limit - len(out)]
        return out

    def true_book(self) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
        """``(last_update_id, bids, asks)`` with 8-decimal strings, best first, full book."""
        return (
            self.last_update_id,
            [(format_number(p), format_number(q)) for p, q in self.sorted_levels("bid")],
            [(format_number(p), format_number(q)) for p, q in self.sorted_levels("ask")],
        )
