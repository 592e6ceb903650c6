"""Order-flow kernel, plain Python: trades binned by exchange second (for trade arrays that
do not come with the session's per-second counters, e.g. aggTrade files or back-fill).

Compiled by ``obcore._kernels._flow``; same rules as every kernel (``# IN`` / ``# OUT``,
no allocation, never raises).
"""

from __future__ import annotations

import numpy as np

__all__ = ["BUY_COUNT", "BUY_QTY", "N_TRADE_FIELDS", "SELL_COUNT", "SELL_QTY", "bin_trade_seconds"]

BUY_QTY = 0
SELL_QTY = 1
BUY_COUNT = 2
SELL_COUNT = 3
N_TRADE_FIELDS = 4


def bin_trade_seconds(
    times_ms: np.ndarray,  # IN int64 (n,) trade time, Unix ms
    qtys: np.ndarray,  # IN int64 (n,) scaled quantities
    sides: np.ndarray,  # IN int8 (n,) +1 taker buy, -1 taker sell
    first_second: int,  # IN the second of column 0
    out: np.ndarray,  # OUT int64 (N_TRADE_FIELDS, n_seconds), zeroed by the caller
) -> int:
    """Per-second taker buy/sell quantity and count; returns trades inside the columns.

    A trade's second is ``time_ms // 1000`` (the counters' rule); trades outside the
    columns are skipped.
    """
    n_seconds = out.shape[1]
    inside = 0
    for i in range(times_ms.shape[0]):
        column = times_ms[i] // 1000 - first_second
        if 0 <= column < n_seconds:
            if sides[i] > 0:
                out[BUY_QTY, column] += qtys[i]
                out[BUY_COUNT, column] += 1
            else:
                out[SELL_QTY, column] += qtys[i]
                out[SELL_COUNT, column] += 1
            inside += 1
    return inside
