"""The kernel room's layout: every constant the kernels and their facades share, once.

Status codes the book kernel returns, the counter ring's fields, the book sides and the
dtypes of the arrays kernels read and write. The plain-Python twins and the facades
(``obcore.book``, ``obcore.session``, ``obcore.counters``) import them from here. The
Cython kernel (``_book.pyx``) needs compile-time values, so it declares the same numbers
as C enums and exports them; ``tests/obcore/test_kernels.py`` checks that every one of
them equals the value here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ADDED_QTY",
    "ADDITIONS",
    "ASK",
    "BID",
    "BUY_QTY",
    "BUY_TRADES",
    "CANCELLATIONS",
    "CANCELLED_QTY",
    "COUNTER_DTYPE",
    "FIELD_NAMES",
    "MAX_HIT_LEVELS",
    "MAX_PENDING_TRADES",
    "MESSAGES",
    "N_FIELDS",
    "N_REFILL_FIELDS",
    "PRICE_DTYPE",
    "QTY_DTYPE",
    "QTY_FIELDS",
    "REDUCED_QTY",
    "REDUCTIONS",
    "REFILL_DISPLAYED",
    "REFILL_DTYPE",
    "REFILL_FIELD_NAMES",
    "REFILL_PRICE",
    "REFILL_QTY",
    "REFILL_SIDE",
    "REFILL_TIME",
    "REFILL_TRADED",
    "REFILL_WINDOW_MS",
    "SELL_QTY",
    "SELL_TRADES",
    "SIDE_DTYPE",
    "SIDE_FIELDS",
    "STATUS_APPLIED",
    "STATUS_CROSSED",
    "STATUS_GAP",
    "STATUS_NAMES",
    "STATUS_NOT_DEPTH",
    "STATUS_PARSE_ERROR",
    "STATUS_PRECISION",
    "STATUS_STALE",
    "STATUS_TRADE",
    "TIME_DTYPE",
    "TRADES",
    "TRADE_ID_DTYPE",
    "UPDATES",
]

# ------------------------------------------------------------------ statuses
# What a book kernel call did; kernels never raise on data, they return one of these.
STATUS_APPLIED = 0
STATUS_STALE = 1  # u <= last update id: already applied, ignored
STATUS_GAP = 2  # U > last update id + 1: events were missed
STATUS_CROSSED = 3  # applied, and now best bid >= best ask
STATUS_PARSE_ERROR = 4
STATUS_PRECISION = 5  # a number has more decimals than the scale; nothing applied
STATUS_NOT_DEPTH = 6  # a well-formed payload that is not a depthUpdate (nor a trade, with a tape)
STATUS_TRADE = 7  # a trade frame parsed, counted and written to the attached trade tape

STATUS_NAMES: dict[int, str] = {
    STATUS_APPLIED: "applied",
    STATUS_STALE: "stale",
    STATUS_GAP: "gap",
    STATUS_CROSSED: "crossed",
    STATUS_PARSE_ERROR: "parse_error",
    STATUS_PRECISION: "precision",
    STATUS_NOT_DEPTH: "not_depth",
    STATUS_TRADE: "trade",
}

# --------------------------------------------------------------------- sides
BID = 0
ASK = 1

# ------------------------------------------------------------------ counters
# Per side: the bid block at 0, the ask block at +SIDE_FIELDS; then the trade fields.
UPDATES = 0
ADDITIONS = 1
REDUCTIONS = 2
CANCELLATIONS = 3
ADDED_QTY = 4
REDUCED_QTY = 5
CANCELLED_QTY = 6
SIDE_FIELDS = 7
TRADES = 14
BUY_TRADES = 15
SELL_TRADES = 16
BUY_QTY = 17
SELL_QTY = 18
MESSAGES = 19
N_FIELDS = 20

FIELD_NAMES: tuple[str, ...] = (
    "bid_updates", "bid_additions", "bid_reductions", "bid_cancellations",
    "bid_added_qty", "bid_reduced_qty", "bid_cancelled_qty",
    "ask_updates", "ask_additions", "ask_reductions", "ask_cancellations",
    "ask_added_qty", "ask_reduced_qty", "ask_cancelled_qty",
    "trades", "buy_trades", "sell_trades", "buy_qty", "sell_qty", "messages",
)  # fmt: skip

#: The fields holding quantities (scaled by 10**qty_scale): a rescale multiplies them.
QTY_FIELDS: tuple[int, ...] = (
    ADDED_QTY, REDUCED_QTY, CANCELLED_QTY,
    SIDE_FIELDS + ADDED_QTY, SIDE_FIELDS + REDUCED_QTY, SIDE_FIELDS + CANCELLED_QTY,
    BUY_QTY, SELL_QTY,
)  # fmt: skip

#: Trades remembered so the depth reduction they cause is not counted as a cancel.
MAX_PENDING_TRADES = 256

# ------------------------------------------------------------------- refills
# A refill: a trade took size at a level, and the level was topped up again — in the
# same depth event (the new size is above the size minus the traded qty) or in a later
# one within REFILL_WINDOW_MS of the trade being seen. Each refill is one column of the
# refill ring, an int64 (N_REFILL_FIELDS, 2 * capacity) array written at column
# ``total % capacity`` and ``+ capacity`` (like the counter ring), so the newest n rows
# are one contiguous slice.
REFILL_SIDE = 0  # the book side refilled: BID or ASK
REFILL_PRICE = 1  # scaled price
REFILL_TIME = 2  # the depth event time that showed the refill, Unix ms
REFILL_TRADED = 3  # qty traded at the level since it was last full (scaled)
REFILL_QTY = 4  # qty added back (scaled)
REFILL_DISPLAYED = 5  # the level's displayed size after the refill (scaled)
N_REFILL_FIELDS = 6
REFILL_FIELD_NAMES: tuple[str, ...] = ("side", "price", "time_ms", "traded_qty", "refilled_qty", "displayed_qty")
#: Levels hit by trades and not yet refilled, remembered per book (oldest dropped).
MAX_HIT_LEVELS = 64
#: A hit level topped up later than this after the trade is a new order, not a refill.
REFILL_WINDOW_MS = 5_000

# -------------------------------------------------------------------- dtypes
COUNTER_DTYPE = np.dtype(np.int64)  # the ring: (N_FIELDS, 2 * capacity)
PRICE_DTYPE = np.dtype(np.int64)  # scaled by 10**price_scale
QTY_DTYPE = np.dtype(np.int64)  # scaled by 10**qty_scale
TIME_DTYPE = np.dtype(np.int64)  # Unix ms (events, trades) or s (counter seconds)
SIDE_DTYPE = np.dtype(np.int8)  # the trade tape's taker side: +1 buy, -1 sell
TRADE_ID_DTYPE = np.dtype(np.int64)
REFILL_DTYPE = np.dtype(np.int64)  # the refill ring: (N_REFILL_FIELDS, 2 * capacity)

assert len(REFILL_FIELD_NAMES) == N_REFILL_FIELDS
assert len(FIELD_NAMES) == N_FIELDS == 2 * SIDE_FIELDS + 6
assert all(FIELD_NAMES[field].endswith("_qty") for field in QTY_FIELDS)
assert sum(name.endswith("_qty") for name in FIELD_NAMES) == len(QTY_FIELDS)
