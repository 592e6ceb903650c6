"""Synthetic markets generated on demand, deterministic for a given ``seed``.

Every scenario works on an integer tick grid around ``mid`` and emits one depth event per
``tick_ms`` (scaled by the emulator's speed) through :meth:`Market.apply_changes`, so ids,
bookTicker and ``/depth`` stay consistent exactly as for a replay. Content per event
depends only on the seed; timing follows the wall clock.

- ``calm``: a few size changes near the touch per event, a trade now and then.
- ``quote_stuffing``: ``updates_per_s`` (default 1000) level updates/s of add-then-cancel
  flicker a few ticks off the touch, with at most one trade per event (fill rate < 10 %).
- ``iceberg``: the best ask (``iceberg_price`` if given) shows ``display_qty``; buyers take
  it every ``refill_every`` events and it refills to the same size at the same price.
- ``flash_crash``: calm for ``calm_s``, then within ``crash_s`` sellers hit the best bids
  while the book is cancelled best level first (mass cancels, > 90 % of updates) until one
  small level per side is left ``25 + levels // 2`` ticks from the mid (depth drained,
  spread blown out many times); then the thin, wide book stays quiet.
- ``liquidity_vacuum``: a band of ``vacuum_ticks`` ticks above the mid holds no asks and
  no trades ever print inside it; price trades on both sides of the band.
- ``absorption``: a bid wall of ``wall_qty`` at ``wall_price`` (default 3 ticks under the
  mid) absorbs ``hits_per_s`` taker sells of ``hit_qty`` each (from ``start_s`` for
  ``duration_s``, default forever) and refills to its full size after each; the levels
  above it are thin, so sellers reach it, and nothing ever trades below it.

Parameters come as keyword options (``Emulator.add_scenario(name, symbol, **params)``)
or, on the command line, ``--scenario NAME:SYMBOL:k=v,k=v``.
"""

from __future__ import annotations

import asyncio
import math
import random
from decimal import Decimal
from typing import Any

from obcore.emulator.market import Market, SymbolRules, split_symbol
from obcore.errors import InvalidInputError

__all__ = ["SCENARIOS", "Scenario", "make_scenario", "parse_scenario_spec"]

_ZERO = Decimal(0)


class Scenario:
    """Base: a tick-grid book and a loop of events. Subclasses implement ``step``.

    Parameters
    ----------
    symbol : str
        Symbol served, e.g. ``"SIMUSDT"`` (base/quote split from it).
    seed : int
        Seed of the scenario's own random generator (same seed, same events).
    mid : str
        Starting mid price, decimal string.
    tick, step : str
        Tick size and lot step, decimal strings (> 0).
    levels : int
        Starting levels per side.
    tick_ms : float
        Milliseconds between events at speed 1.
    **params
        Options of the subclass (e.g. ``updates_per_s``, ``display_qty``).

    Raises
    ------
    InvalidInputError
        ``tick``, ``step``, ``levels`` or ``tick_ms`` not > 0.
    """

    name = "calm"

    def __init__(self, symbol: str, *, seed: int = 0, mid: str = "100.00", tick: str = "0.01",
                 step: str = "0.001", levels: int = 50, tick_ms: float = 100.0, **params: Any):
        self.random = random.Random(seed)
        self.tick = Decimal(tick)
        self.step = Decimal(step)
        self.mid_ticks = int(Decimal(mid) / self.tick)
        self.levels = int(levels)
        self.tick_ms = float(tick_ms)
        if self.tick <= 0 or self.step <= 0 or self.levels <= 0 or self.tick_ms <= 0:
            raise InvalidInputError(f"scenario {self.name!r}: tick, step, levels and tick_ms must be > 0")
        self.params = params
        base, quote = split_symbol(symbol)
        self.rules = SymbolRules(symbol=symbol, base_asset=base, quote_asset=quote, tick_size=self.tick,
                                 step_size=self.step, min_notional=Decimal("1"))
        self.events = 0

    # ---------------------------------------------------------------- helpers
    def price(self, ticks: int) -> Decimal:
        return self.tick * ticks

    def qty(self, low: float = 0.5, high: float = 5.0) -> Decimal:
        units = self.random.randint(max(1, int(low / float(self.step))), int(high / float(self.step)))
        return self.step * units

    def prime(self, market: Market) -> None:
        """Load the starting book (update id 1000)."""
        bids = [(self.price(self.mid_ticks - 1 - i), self.qty()) for i in range(self.levels)]
        asks = [(self.price(self.mid_ticks + 1 + i), self.qty()) for i in range(self.levels)]
        market.load_book(1000, bids, asks)

    def trade_at_touch(self, market: Market, side: str, qty: Decimal | None = None) -> list[tuple[Decimal, Decimal]]:
        """A taker ``side`` trade at the best opposite level; returns the level change."""
        book = market.base_asks if side == "BUY" else market.base_bids
        if not book:
            return []
        price = min(book) if side == "BUY" else max(book)
        available = book[price]
        take = min(available, qty if qty is not None else self.qty(0.01, 0.5))
        market.add_trade(price, take, side == "SELL")
        return [(price, available - take)]

    def calm_step(self, market: Market) -> tuple[list, list]:
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        for _ in range(self.random.randint(1, 4)):
            offset = self.random.randint(1, 10)
            if self.random.random() < 0.5:
                bids.append((self.price(self.mid_ticks - offset), self.qty()))
            else:
                asks.append((self.price(self.mid_ticks + offset), self.qty()))
        if self.random.random() < 0.3:
            side = "BUY" if self.random.random() < 0.5 else "SELL"
            change = self.trade_at_touch(market, side)
            (asks if side == "BUY" else bids).extend(change)
        return bids, asks

    def step_event(self, market: Market) -> tuple[list, list]:
        return self.calm_step(market)

    async def run(self, market: Market, speed: float, gate: asyncio.Event | None = None) -> None:
        """Emit events forever, one per ``tick_ms / speed`` (waiting while ``gate`` is clear)."""
        loop = asyncio.get_running_loop()
        interval = self.tick_ms / 1000.0 / speed
        next_at = loop.time()
        while True:
            if gate is not None and not gate.is_set():
                await gate.wait()
                next_at = loop.time()
            bids, asks = self.step_event(market)
            self.events += 1
            if bids or asks:
                market.apply_changes(_dedupe(bids), _dedupe(asks))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))


def _dedupe(levels: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    # One event carries each price once, with its final quantity.
    return list(dict(levels).items())


class Calm(Scenario):
    name = "calm"


class QuoteStuffing(Scenario):
    name = "quote_stuffing"

    def step_event(self, market: Market) -> tuple[list, list]:
        per_event = max(1, round(float(self.params.get("updates_per_s", 1000)) * self.tick_ms / 1000.0))
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        # Flicker on a ring of prices 2..40 ticks away: each update adds or removes a
        # small quote; every price appears once per event.
        offsets = self.random.sample(range(2, 2 + max(per_event, 40)), per_event)
        for offset in offsets:
            side_bid = self.random.random() < 0.5
            price = self.price(self.mid_ticks - offset if side_bid else self.mid_ticks + offset)
            book = market.base_bids if side_bid else market.base_asks
            qty = _ZERO if price in book and self.random.random() < 0.5 else self.qty(0.001, 0.05)
            (bids if side_bid else asks).append((price, qty))
        if self.random.random() < 0.5:
            side = "BUY" if self.random.random() < 0.5 else "SELL"
            book_changes = self.trade_at_touch(market, side, self.step * 10)
            # The touch level is never in the flicker ring (offset >= 2 except touch 1).
            (asks if side == "BUY" else bids).extend(book_changes)
        return bids, asks


class Iceberg(Scenario):
    name = "iceberg"

    def __init__(self, symbol: str, **params: Any):
        super().__init__(symbol, **params)
        self.display = Decimal(str(self.params.get("display_qty", "1.0")))
        price = self.params.get("iceberg_price")
        self.iceberg_ticks = int(Decimal(price) / self.tick) if price else self.mid_ticks + 1
        self.refill_every = int(self.params.get("refill_every", 2))
        self.refills = 0

    def prime(self, market: Market) -> None:
        super().prime(market)
        market.base_asks[self.price(self.iceberg_ticks)] = self.display

    def step_event(self, market: Market) -> tuple[list, list]:
        bids, asks = self.calm_step(market)
        price = self.price(self.iceberg_ticks)
        asks = [(p, q) for p, q in asks if p != price]
        if self.events % self.refill_every == 0:
            shown = market.base_asks.get(price, self.display)
            market.add_trade(price, shown, False)  # a taker buyer lifts the whole displayed size
            self.refills += 1
            asks.append((price, self.display))  # ... and the hidden reserve shows the same size again
        return bids, asks


class FlashCrash(Scenario):
    name = "flash_crash"

    def __init__(self, symbol: str, **params: Any):
        super().__init__(symbol, **params)
        self.calm_events = int(float(self.params.get("calm_s", 2.0)) * 1000 / self.tick_ms)
        self.crash_events = max(1, int(float(self.params.get("crash_s", 1.0)) * 1000 / self.tick_ms))

    def step_event(self, market: Market) -> tuple[list, list]:
        n = self.events
        if n < self.calm_events or n >= self.calm_events + self.crash_events:
            if n == self.calm_events + self.crash_events:
                self.mid_ticks = self._crashed_mid(market)
            return self.calm_step(market) if n < self.calm_events else self._thin_calm(market)
        # Crash: sellers hit the best bids, then the best levels are cancelled, best first,
        # a growing share each event, until only one small level per side is left far away.
        part = (n - self.calm_events + 1) / self.crash_events
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        all_bids = sorted(market.base_bids, reverse=True)
        all_asks = sorted(market.base_asks)
        for price in all_bids[:2]:
            market.add_trade(price, min(market.base_bids[price], self.step * 100), True)
        cancel_bids = len(all_bids) if part >= 1 else math.ceil(len(all_bids) * part)
        cancel_asks = len(all_asks) if part >= 1 else math.ceil(len(all_asks) * part)
        bids.extend((price, _ZERO) for price in all_bids[:cancel_bids])
        asks.extend((price, _ZERO) for price in all_asks[:cancel_asks])
        if part >= 1:
            spread = 25 + self.levels // 2
            bids.append((self.price(self.mid_ticks - spread), self.step * 10))
            asks.append((self.price(self.mid_ticks + spread), self.step * 10))
        return bids, asks

    def _crashed_mid(self, market: Market) -> int:
        bid, ask = market.best_base("bid"), market.best_base("ask")
        if bid is None or ask is None:
            return self.mid_ticks
        return int(((bid + ask) / 2) / self.tick)

    def _thin_calm(self, market: Market) -> tuple[list, list]:
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        best_bid, best_ask = market.best_base("bid"), market.best_base("ask")
        if best_bid is not None and self.random.random() < 0.5:
            bids.append((best_bid, self.qty(0.001, 0.02)))
        if best_ask is not None and self.random.random() < 0.5:
            asks.append((best_ask, self.qty(0.001, 0.02)))
        return bids, asks


class LiquidityVacuum(Scenario):
    name = "liquidity_vacuum"

    def __init__(self, symbol: str, **params: Any):
        super().__init__(symbol, **params)
        self.vacuum_low = self.mid_ticks + 3
        self.vacuum_high = self.vacuum_low + int(self.params.get("vacuum_ticks", 20))
        self.upper = False

    def in_vacuum(self, ticks: int) -> bool:
        return self.vacuum_low <= ticks <= self.vacuum_high

    def prime(self, market: Market) -> None:
        bids = [(self.price(self.mid_ticks - 1 - i), self.qty()) for i in range(self.levels)]
        asks = [(self.price(self.mid_ticks + 1 + i), self.qty()) for i in range(self.levels + 40)
                if not self.in_vacuum(self.mid_ticks + 1 + i)]
        market.load_book(1000, bids, asks)

    def step_event(self, market: Market) -> tuple[list, list]:
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        # Trades print below the band or above it, never inside: the regime flips rarely.
        if self.random.random() < 0.02:
            self.upper = not self.upper
        centre = self.vacuum_high + 5 if self.upper else self.vacuum_low - 5
        for _ in range(2):
            ticks = centre + self.random.randint(-3, 3)
            market.add_trade(self.price(ticks), self.qty(0.01, 0.5), self.random.random() < 0.5)
        for _ in range(self.random.randint(1, 3)):
            offset = self.random.randint(1, 10)
            bids.append((self.price(self.mid_ticks - offset), self.qty()))
            ticks = self.mid_ticks + offset
            if not self.in_vacuum(ticks):
                asks.append((self.price(ticks), self.qty()))
        return bids, asks


class Absorption(Scenario):
    name = "absorption"

    def __init__(self, symbol: str, **params: Any):
        super().__init__(symbol, **params)
        price = self.params.get("wall_price")
        self.wall_ticks = int(Decimal(str(price)) / self.tick) if price else self.mid_ticks - 3
        self.wall_qty = Decimal(str(self.params.get("wall_qty", "50")))
        self.hit_qty = Decimal(str(self.params.get("hit_qty", "5")))
        self.hits_per_event = float(self.params.get("hits_per_s", 5)) * self.tick_ms / 1000.0
        self.start_events = int(float(self.params.get("start_s", 0)) * 1000 / self.tick_ms)
        duration = self.params.get("duration_s")
        self.stop_events = None if duration is None else self.start_events + int(float(duration) * 1000 / self.tick_ms)
        if self.wall_qty <= 0 or self.hit_qty <= 0 or self.hits_per_event < 0:
            raise InvalidInputError(f"scenario {self.name!r}: wall_qty and hit_qty must be > 0, hits_per_s >= 0")
        self.owed = 0.0

    def prime(self, market: Market) -> None:
        super().prime(market)
        wall = self.price(self.wall_ticks)
        for price in list(market.base_bids):
            if price > wall:
                market.base_bids[price] = self.step * 10  # thin above the wall
        market.base_bids[wall] = self.wall_qty

    def step_event(self, market: Market) -> tuple[list, list]:
        wall = self.price(self.wall_ticks)
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        for _ in range(self.random.randint(1, 3)):  # ask-side churn; the bids above the wall stay thin
            offset = self.random.randint(1, 10)
            asks.append((self.price(self.mid_ticks + offset), self.qty()))
        active = self.events >= self.start_events and (self.stop_events is None or self.events < self.stop_events)
        if active:
            self.owed += self.hits_per_event
            hits = int(self.owed)
            self.owed -= hits
            for _ in range(hits):
                market.add_trade(wall, min(self.hit_qty, self.wall_qty), True)  # a taker sell into the wall
            if hits:
                bids.append((wall, self.wall_qty))  # ... which shows its full size again
        return bids, asks


SCENARIOS: dict[str, type[Scenario]] = {
    "calm": Calm, "quote_stuffing": QuoteStuffing, "iceberg": Iceberg, "flash_crash": FlashCrash,
    "liquidity_vacuum": LiquidityVacuum, "absorption": Absorption,
}


def parse_scenario_spec(spec: str) -> tuple[str, str, dict[str, Any]]:
    """``NAME:SYMBOL[:k=v,k=v]`` -> (name, symbol, params); integers become ints.

    Raises
    ------
    InvalidInputError
        No symbol, or an option that is not ``k=v``.
    """
    name, sep, rest = spec.partition(":")
    symbol, _, options = rest.partition(":")
    if not sep or not symbol:
        raise InvalidInputError(f"--scenario expects NAME:SYMBOL[:k=v,...], got {spec!r}")
    params: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise InvalidInputError(f"scenario option {item!r} in {spec!r}: expected k=v")
        value = value.strip()
        params[key.strip()] = int(value) if value.lstrip("-").isdigit() else value
    return name, symbol, params


def make_scenario(name: str, symbol: str, **params: Any) -> Scenario:
    """Build scenario ``name`` for ``symbol``; unknown names raise InvalidInputError.

    Parameters
    ----------
    name : str
        A key of :data:`SCENARIOS`.
    symbol : str
        Symbol the scenario's market serves (e.g. ``"SIMUSDT"``).
    **params
        Passed to the scenario's constructor (see :class:`Scenario`).

    Returns
    -------
    Scenario
        Not yet primed or running (:meth:`Emulator.add_scenario` does both).

    Raises
    ------
    InvalidInputError
        Unknown ``name`` or a non-positive ``tick``/``step``/``levels``/``tick_ms``.
    """
    cls = SCENARIOS.get(name)
    if cls is None:
        raise InvalidInputError(f"unknown scenario {name!r}; expected one of {sorted(SCENARIOS)}")
    return cls(symbol, **params)
