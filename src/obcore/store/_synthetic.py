"""A synthetic stream of snapshots (a random-walk book with Poisson activity).

For tests, benches and warm-up; not a market model. Deterministic for a given seed.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from obcore.store.snapshot import DEPTH, Snapshot

__all__ = ["synthetic_snapshots"]

N_COUNTERS = 20


def synthetic_snapshots(
    symbol: str = "BTCUSDT",
    start_s: int = 1_723_161_600,
    seconds: int = 600,
    *,
    seed: int = 7,
    price_scale: int = 2,
    qty_scale: int = 5,
    mid_ticks: int = 6_000_000,
    updates_per_second: float = 8.0,
    gap_every: int = 0,
) -> Iterator[Snapshot]:
    """Yield ``seconds`` snapshots of one symbol, one per second from ``start_s``.

    Parameters
    ----------
    symbol : str
    start_s : int
    seconds : int
    seed : int
    price_scale, qty_scale : int
    mid_ticks : int
        Starting best bid in price units (1 unit = one tick).
    updates_per_second : float
        Mean number of level changes near the touch per second.
    gap_every : int
        If > 0, skip every ``gap_every``-th second (a missing snapshot).
    """
    rng = np.random.default_rng(seed)
    best_bid = mid_ticks
    bids = {best_bid - i * int(rng.integers(1, 4)): 0 for i in range(60)}
    bids = {p: int(rng.integers(1, 200_000)) for p in sorted(set(bids), reverse=True)}
    asks = {best_bid + 1 + i * int(rng.integers(1, 4)): int(rng.integers(1, 200_000)) for i in range(60)}
    update_id = 40_000_000_000
    for offset in range(seconds):
        second = start_s + offset
        move = int(rng.choice((-1, 0, 0, 0, 1)))
        if move:
            # The touch moves: levels on one side are taken out, a new level appears.
            if move > 0:
                for price in [p for p in asks if p <= max(bids) + 1]:
                    del asks[price]
                bids[max(bids) + 1] = int(rng.integers(1, 200_000))
                asks.setdefault(max(bids) + 1, int(rng.integers(1, 200_000)))
            else:
                for price in [p for p in bids if p >= min(asks) - 1]:
                    del bids[price]
                asks[min(asks) - 1] = int(rng.integers(1, 200_000))
                bids.setdefault(min(asks) - 1, int(rng.integers(1, 200_000)))
        n_updates = int(rng.poisson(updates_per_second))
        for _ in range(n_updates):
            side = bids if rng.random() < 0.5 else asks
            touch = max(bids) if side is bids else min(asks)
            direction = -1 if side is bids else 1
            price = touch + direction * int(rng.integers(0, 30))
            if rng.random() < 0.25 and price in side and len(side) > 25:
                del side[price]
            else:
                side[price] = int(rng.integers(1, 200_000))
        update_id += int(rng.integers(5, 400))
        if gap_every and offset % gap_every == gap_every - 1:
            continue
        bid_prices = np.array(sorted(bids, reverse=True)[:DEPTH], dtype=np.int64)
        ask_prices = np.array(sorted(asks)[:DEPTH], dtype=np.int64)
        counters = rng.poisson(3.0, N_COUNTERS).astype(np.int64)
        counters[[4, 5, 6, 11, 12, 13, 17, 18]] *= int(rng.integers(1_000, 90_000))
        yield Snapshot(
            symbol=symbol,
            time_s=second,
            price_scale=price_scale,
            qty_scale=qty_scale,
            bid_prices=bid_prices,
            bid_qtys=np.array([bids[p] for p in bid_prices.tolist()], dtype=np.int64),
            ask_prices=ask_prices,
            ask_qtys=np.array([asks[p] for p in ask_prices.tolist()], dtype=np.int64),
            counters=counters,
            state=1,
            last_update_id=update_id,
            last_event_time_ms=second * 1000 + int(rng.integers(0, 1000)),
            gap_count=0,
            resync_count=0,
            bid_count=len(bids),
            ask_count=len(asks),
        )
