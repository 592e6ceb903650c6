"""The bundled real recordings replayed into sessions plus their 1-s snapshots (analytics II tests)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from obcore.analytics.anomalies import BookSeries
from obcore.recording import Message, merge_by_time
from obcore.replay import route
from obcore.session import BookSession
from obcore.store.recorded import snapshots_from_routed

from .conftest import BTC_FILE, ETH_FILES, MULTI_WS


def _btc_diff_only(session: BookSession):
    """BTCUSDT 2023 has no REST snapshot: an empty stand-in one just before the first diff."""
    started = False
    for message in merge_by_time([BTC_FILE]):
        if message.kind not in ("depth", "trade", "aggTrade"):
            continue
        if not started and message.kind == "depth":
            stand_in = {"lastUpdateId": int(message.payload["U"]) - 1, "bids": [], "asks": []}
            yield Message(message.receive_time_ns, None, "BTCUSDT", "snapshot", stand_in), session
            started = True
        yield message, session


def book_series(rows) -> BookSeries:
    two_sided = [r.spread is not None for r in rows]
    return BookSeries(
        np.array([r.time_s for r in rows], dtype=np.int64),
        np.array([r.spread if ok else -1 for r, ok in zip(rows, two_sided)], dtype=np.int64),
        np.array([r.bid_depth + r.ask_depth if ok else -1 for r, ok in zip(rows, two_sided)], dtype=np.int64),
        np.array([r.best_bid or 0 for r in rows], dtype=np.int64),
        np.array([r.best_ask or 0 for r in rows], dtype=np.int64),
    )


@lru_cache(maxsize=None)
def replayed(name: str) -> dict[str, tuple[BookSession, BookSeries]]:
    """symbol -> (session after the replay, its per-second book series) for ``eth``, ``btc``, ``multi``."""
    sessions: dict[str, BookSession] = {}
    if name == "eth":
        routed = route(ETH_FILES, None, sessions)
    elif name == "btc":
        sessions["BTCUSDT"] = BookSession("BTCUSDT")
        routed = _btc_diff_only(sessions["BTCUSDT"])
    else:
        routed = route(MULTI_WS, None, sessions)
    rows: dict[str, list] = {}
    for row in snapshots_from_routed(routed):
        rows.setdefault(row.symbol, []).append(row)
    return {symbol: (sessions[symbol], book_series(kept)) for symbol, kept in rows.items()}
